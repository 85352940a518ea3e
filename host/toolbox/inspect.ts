// `dpm inspect`: the paper's Fig. 6 for chosen pixels: observed logit coherence, the one-step forecast μ ± σ and
// the z-score through time (host/model/forecast.ts forecastPixels), one SVG + PNG per pixel and a JSON of the series.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Algorithm, AlgorithmParams } from './algorithm.js';
import { stage, throwIfCanceled, type Feedback } from '../core/feedback.js';
import { DpmError } from '../core/errors.js';
import { withOutputs } from '../io/outputs.js';
import { readCoherenceStack } from '../raster/stack.js';
import { splitBands } from '../model/series.js';
import { forecastPixels, type PixelForecast } from '../model/forecast.js';
import { createEngine, engineOptions } from '../engines/select.js';
import { loadModel } from '../model/safetensors.js';
import { inspectChartSpec } from '../eval/inspect-chart.js';
import { renderVegaLiteBoth } from '../eval/plots.js';

/** `--pixel 3,4 --pixel 10,2` (or "3,4;10,2") arrives as a flat list of numbers: consecutive (row, col) pairs. */
export function parsePixels(values: unknown[]): { row: number; col: number }[] {
  const nums = values.flatMap((v) => String(v).split(/[,;\s]+/)).filter((s) => s.length > 0);
  if (nums.length === 0 || nums.length % 2 !== 0) {
    throw new DpmError(`--pixel takes ROW,COL pairs (e.g. --pixel 12,40 --pixel 3,7), got '${values.join(',')}'`);
  }
  const out: { row: number; col: number }[] = [];
  for (let k = 0; k < nums.length; k += 2) {
    const row = Number(nums[k]),
      col = Number(nums[k + 1]);
    if (!Number.isInteger(row) || !Number.isInteger(col) || row < 0 || col < 0) {
      throw new DpmError(`--pixel ${nums[k]},${nums[k + 1]}: row and column must be whole numbers ≥ 0 (0-based)`);
    }
    out.push({ row, col });
  }
  return out;
}

async function run(p: AlgorithmParams['inspect'], fb: Feedback) {
  const pixels = parsePixels(p.pixel);
  const modelPath = p.model;
  const model = loadModel(modelPath);
  if (model.config.features !== 1) {
    throw new DpmError(
      `--model ${modelPath}: the model takes ${model.config.features} features per step; coherence stacks give 1`,
    );
  }
  const stack = await readCoherenceStack(p.coherence, {
    nodata: p.nodata,
    align: p['align-grids'],
    feedback: stage(fb, 0, 20, 'reading the coherence stack'),
  });
  const split = splitBands(stack, { preEventBands: p['pre-event-bands'], eventDate: p['event-date'] }, true);
  fb.log('info', split.describe);
  for (const px of pixels) {
    if (px.row >= stack.height || px.col >= stack.width) {
      throw new DpmError(
        `--pixel ${px.row},${px.col} is outside ${stack.source ?? 'the stack'} (${stack.height} rows × ${stack.width} columns, 0-based)`,
      );
    }
  }
  const engine = await createEngine(model.config, engineOptions(p, fb));
  let series: PixelForecast[];
  try {
    await engine.setParams(model.params);
    fb.progress(30, 'forecasting');
    series = await forecastPixels(engine, stack, pixels, split);
  } finally {
    engine.destroy();
  }
  const dir = p['out-dir'];
  const files: string[] = [];
  await withOutputs(async (outs) => {
    for (const [k, s] of series.entries()) {
      throwIfCanceled(fb);
      fb.progress(40 + (55 * k) / series.length, `plotting pixel ${s.row},${s.col}`);
      if (!s.usable)
        fb.log('warning', `pixel ${s.row},${s.col}: fewer than 2 valid pre-event values, no forecast (NaN)`);
      const chart = await renderVegaLiteBoth(inspectChartSpec({ ...s, coEvent: s.pairs.length - 1 }));
      const stem = join(dir, `inspect_r${s.row}_c${s.col}`);
      writeFileSync(outs.path(`${stem}.svg`), chart.svg);
      writeFileSync(outs.path(`${stem}.png`), chart.png);
      files.push(`${stem}.svg`, `${stem}.png`);
      fb.log('info', `pixel ${s.row},${s.col}: co-event z = ${s.z[s.z.length - 1]?.toFixed(2)} → ${stem}.svg`);
    }
    const json = join(dir, 'inspect.json');
    const clean = (a: number[]) => a.map((v) => (Number.isFinite(v) ? v : null)); // JSON has no NaN
    writeFileSync(
      outs.path(json),
      `${JSON.stringify(
        {
          model: modelPath,
          split: split.describe,
          pixels: series.map((s) => ({
            row: s.row,
            col: s.col,
            usable: s.usable,
            pairs: s.pairs,
            coherence: clean(s.coherence),
            x: clean(s.x),
            mu: clean(s.mu),
            sigma: clean(s.sigma),
            z: clean(s.z),
            expectedCoherence: clean(s.expectedCoherence),
          })),
        },
        null,
        1,
      )}\n`,
    );
    files.push(json);
  }, fb);
  fb.progress(100, 'done');
  return { folder: dir, files: files.join(',') };
}

export const algorithm: Algorithm<'inspect'> = { id: 'inspect', run };
