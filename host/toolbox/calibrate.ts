// `dpm calibrate`: calibration of the forecast distribution on held-out pairs without an event (host/eval/
// calibration.ts), and an optional variance scaling stored in a copy of the model.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DpmError } from '../core/errors.js';
import { stage, type Feedback } from '../core/feedback.js';
import { createEngine, engineOptions } from '../engines/select.js';
import {
  COVERAGE_LEVELS,
  PIT_BINS,
  calibrationByLevel,
  calibrationStats,
  fitSigmaScale,
  type CalibrationStats,
} from '../eval/calibration.js';
import { withOutputs } from '../io/outputs.js';
import { forecastSequences, modelSigmaScale } from '../model/forecast.js';
import { loadModel, saveModel } from '../model/safetensors.js';
import { buildSeries, logitToCoherence, modelTimeFeatures, splitBands } from '../model/series.js';
import { readCoherenceStack } from '../raster/stack.js';
import type { Algorithm, AlgorithmParams } from './algorithm.js';

/** expected-coherence bands of the per-level table */
const LEVEL_EDGES = [0, 0.2, 0.4, 0.6, 0.8, 1.0001];

const describe = (c: CalibrationStats) =>
  `n ${c.n}, mean z ${c.meanZ.toFixed(3)}, sd z ${c.sdZ.toFixed(3)}, coverage ` +
  COVERAGE_LEVELS.map((p, k) => `${Math.round(p * 100)} %: ${(100 * c.coverage[k]!).toFixed(1)} %`).join(', ');

async function run(params: AlgorithmParams['calibrate'], fb: Feedback) {
  const model = loadModel(params.model);
  const source = `--model ${params.model}`;
  const timeFeatures = modelTimeFeatures(model.config.features, model.training, source);
  const stack = await readCoherenceStack(params.coherence, {
    nodata: params.nodata,
    feedback: stage(fb, 0, 5, 'reading'),
  });
  const K = stack.bands.length;
  const h = params.holdout;
  if (h >= K - 1) {
    throw new DpmError(
      `--holdout ${h}: ${stack.source ?? 'the stack'} has ${K} bands; at least 2 must come before the held-out ones`,
    );
  }
  const trainedT = model.training?.T;
  if (typeof trainedT === 'number' && trainedT > K - h)
    fb.log('warning', `the model was trained on ${trainedT} pairs: some held-out pairs may have been trained on`);
  const series = buildSeries(stack, splitBands(stack, { preEventBands: K }, false), fb, timeFeatures);
  const engine = await createEngine(model.config, engineOptions(params, fb));
  const scale = modelSigmaScale(model.training, source);
  let f: Awaited<ReturnType<typeof forecastSequences>>;
  try {
    await engine.setParams(model.params);
    f = await forecastSequences(engine, series.x, series.N, series.T, {
      series: true,
      sigmaScale: scale,
      feedback: stage(fb, 5, 90, 'forecast'),
    });
  } finally {
    engine.destroy();
  }
  const T1 = K + 1;
  const column = (a: Float32Array, k: number) => Float64Array.from({ length: series.N }, (_, i) => a[i * T1 + k]!);
  const held = Array.from({ length: h }, (_, j) => K - h + j);
  const zs = held.map((k) => column(f.series!.z, k));
  const expected = held.map((k) => column(f.series!.mu, k).map(logitToCoherence));
  const zAll = Float64Array.from(zs.flatMap((z) => [...z]));
  const overall = calibrationStats(zAll);
  const report: Record<string, unknown> = {
    model: params.model,
    stack: stack.source,
    sigmaScaleInModel: scale,
    heldOut: held.map((k) => stack.descriptions[k]),
    overall,
    perPair: held.map((k, j) => ({ pair: stack.descriptions[k], ...calibrationStats(zs[j]!) })),
    perLevel: calibrationByLevel(zAll, Float64Array.from(expected.flatMap((e) => [...e])), LEVEL_EDGES),
  };
  fb.log('info', `held-out ${held.map((k) => stack.descriptions[k]).join(', ')}: ${describe(overall)}`);
  let fitted: number | undefined;
  let outModel: string | undefined;
  if (params['fit-scale']) {
    fitted = fitSigmaScale(zAll);
    if (!Number.isFinite(fitted) || fitted <= 0) throw new DpmError('no finite held-out z: cannot fit a scale');
    const check =
      h >= 2
        ? (() => {
            const s = fitSigmaScale(zs[0]!);
            const rest = Float64Array.from(zs.slice(1).flatMap((z) => [...z]));
            return {
              fittedOn: stack.descriptions[held[0]!],
              scale: s,
              before: calibrationStats(rest),
              after: calibrationStats(rest.map((v) => v / s)),
            };
          })()
        : undefined;
    report.fit = {
      // relative: fitted on z that already carry the model's scale; sigmaScale: what the copy stores
      relative: fitted,
      sigmaScale: fitted * scale,
      scaledInSample: calibrationStats(zAll.map((v) => v / fitted!)),
      outOfSample: check,
    };
    fb.log(
      'info',
      `fitted σ scale ${fitted.toFixed(4)} (σ → s σ); in sample: ${describe(calibrationStats(zAll.map((v) => v / fitted!)))}`,
    );
    if (check)
      fb.log(
        'info',
        `fitted on the first held-out pair (s ${check.scale.toFixed(4)}), scored on the others: before ${describe(check.before)}; after ${describe(check.after)}`,
      );
    outModel = params['out-model'] ?? params.model.replace(/(\.safetensors)?$/i, '.calibrated.safetensors');
  }
  const dir = params['out-dir'];
  const reportPath = join(dir, 'calibration.json');
  await withOutputs(async (outs) => {
    writeFileSync(
      outs.path(reportPath),
      `${JSON.stringify(report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1)}\n`,
    );
    const pitRows = Array.from({ length: PIT_BINS }, (_, b) =>
      [(b / PIT_BINS).toFixed(2), ((b + 1) / PIT_BINS).toFixed(2), overall.pitHistogram[b]!].join(','),
    );
    writeFileSync(outs.path(join(dir, 'pit.csv')), `${['from,to,share', ...pitRows].join('\n')}\n`);
    if (outModel && fitted !== undefined)
      saveModel(
        outs.path(outModel),
        model.config,
        model.params,
        { ...model.training, sigmaScale: fitted * scale },
        false,
      );
  }, fb);
  fb.progress(100);
  return {
    report: reportPath,
    'mean-z': overall.meanZ,
    'sd-z': overall.sdZ,
    'coverage-95': overall.coverage[1]!,
    'sigma-scale': fitted !== undefined ? fitted * scale : null,
    'calibrated-model': outModel ?? null,
  };
}

export const algorithm: Algorithm<'calibrate'> = { id: 'calibrate', run };
