// `dpm landslide --cube C --event-date D --out-dir O`: unsupervised landslide maps from a SAR datacube
// (host/landslide/scores.ts), their evaluation against the cube's mask (host/landslide/evaluate.ts) and the
// early-detection table of papers/003 Fig. 4. Outputs in O:
//
//   maps/<method>.tif (+ .qml)   each method's score after --passes post-event passes, single band, cube grid
//   early_detection.csv          AUPRC (test blocks and all pixels) and PR AUC of every method after 1–4 passes
//   early_detection.svg/.png     AUPRC against passes, one line per method
//   pr_curves.svg/.png           PR curves after --passes passes
//   report.md, report.json
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Algorithm, AlgorithmParams, Outputs } from './algorithm.js';
import { stage, type Feedback } from '../core/feedback.js';
import { DpmError } from '../core/errors.js';
import { PAPER_TRAINING, PRESETS, type PresetName } from '../core/defaults.js';
import { withOutputs } from '../io/outputs.js';
import { writeGeoTiff } from '../raster/geotiff.js';
import { engineOptions, selectEngine } from '../engines/select.js';
import { PAPER_ADAM, type ForecasterEngine } from '../model/engine.js';
import { forecastSequences } from '../model/forecast.js';
import { trainModel } from '../model/train.js';
import { loadLandslideCube } from '../landslide/cube.js';
import {
  type LandslideCube,
  landslideScores,
  METHODS,
  type ForecastNext,
  type LandslideScores,
} from '../landslide/scores.js';
import { blockSplit, earlyDetectionChartSpec, scoreMethod, type MethodScore } from '../landslide/evaluate.js';
import { scoreStyleQml } from '../landslide/style.js';
import { evaluateScore } from '../eval/metrics.js';
import { prChartSpec } from '../eval/charts.js';
import { renderVegaLiteBoth } from '../eval/plots.js';

/** The early-detection axis: papers/003 averages 1–4 passes. */
const PASSES = [1, 2, 3, 4];

async function landslide(p: AlgorithmParams['landslide'], fb: Feedback): Promise<Outputs> {
  const dir = p['out-dir'];
  const { cube, eventDate: cubeEvent } = await loadLandslideCube(p.cube, { dem: p.dem, truth: p.truth });
  const eventDate = p['event-date'] ?? cubeEvent;
  if (!eventDate) throw new DpmError(`${p.cube}: no event_date attribute; give --event-date YYYYMMDD`);
  fb.log(
    'info',
    `${cube.source}: ${cube.width} × ${cube.height}, ${cube.dates.length} passes ${cube.dates[0]}…${cube.dates.at(-1)}` +
      `${cube.coherence ? `, ${cube.coherence.pairs.length} coherence pairs` : ''}; event ${eventDate}`,
  );

  const { scores, forecaster } = await unsupervisedScores(cube, eventDate, p, stage(fb, 0, 80, 'scores'));
  const mapPasses = Math.min(p.passes, scores.postPasses);
  if (mapPasses < p.passes)
    fb.log('warning', `--passes ${p.passes}: the cube has ${scores.postPasses} post-event passes; maps use them all`);

  // evaluation
  const labels = cube.landslides;
  const split = blockSplit(cube.width, cube.height, p.block, p['test-fraction'], p.seed);
  const table: (MethodScore & { passes: number })[] = [];
  const combos: (MethodScore & { passes: number })[] = [];
  const passes = PASSES.filter((n) => n <= scores.postPasses);
  if (labels) {
    for (const n of passes) {
      for (const [name, s] of scores.after(n)) table.push({ ...scoreMethod(name, s, labels, split), passes: n });
      for (const [name, s] of scores.combinations(n))
        combos.push({ ...scoreMethod(name, s, labels, split), passes: n });
    }
  } else fb.log('warning', `${cube.source}: no landslides mask (--truth): maps only, no evaluation`);

  const maps = scores.after(mapPasses);
  const out: Outputs = { 'out-dir': dir };
  await withOutputs(async (outs) => {
    for (const [name, band] of maps) {
      const label = METHODS.find((m) => m.name === name)?.label ?? name;
      const file = join(dir, 'maps', `${name}.tif`);
      await writeGeoTiff(outs.path(file), {
        width: cube.width,
        height: cube.height,
        bands: [band],
        descriptions: [`${label}, after ${mapPasses} post-event pass(es)`],
        georef: cube.georef,
        metadata: { DPM_METHOD: name, DPM_EVENT_DATE: eventDate, DPM_POST_PASSES: String(mapPasses) },
      });
      writeFileSync(outs.path(join(dir, 'maps', `${name}.qml`)), scoreStyleQml(band));
    }
    out.map = join(dir, 'maps', maps.has('gru_combined') ? 'gru_combined.tif' : 'gru_vvvh.tif');
    const report = {
      cube: cube.source,
      eventDate,
      size: [cube.width, cube.height],
      passes: { pre: scores.split.pre.length, post: scores.postPasses, maps: mapPasses },
      split: { block: split.block, testBlocks: split.testBlocks, blocks: split.blocks, seed: p.seed },
      forecaster,
      methods: METHODS.filter((m) => maps.has(m.name)),
      table,
      combinations: combos,
    };
    writeFileSync(outs.path(join(dir, 'report.json')), `${JSON.stringify(report, null, 2)}\n`);
    if (labels && table.length) {
      const csv = ['method,passes,auprc_test,pr_auc_test,auprc_all,pr_auc_all,prevalence_test,prevalence_all'];
      for (const r of table)
        csv.push(
          [r.name, r.passes, r.auprcTest, r.prAucTest, r.auprcAll, r.prAucAll, r.prevalenceTest, r.prevalenceAll]
            .map((v) => (typeof v === 'number' ? Number(v.toFixed(4)) : v))
            .join(','),
        );
      const tableFile = join(dir, 'early_detection.csv');
      writeFileSync(outs.path(tableFile), `${csv.join('\n')}\n`);
      out.table = tableFile;
      const prevalence = table[0]?.prevalenceTest ?? NaN;
      const chart = await renderVegaLiteBoth(
        earlyDetectionChartSpec(
          table.map((r) => ({ method: r.name, passes: r.passes, auprc: r.auprcTest })),
          prevalence,
          'Early detection: AUPRC on the test blocks',
        ),
      );
      const plotFile = join(dir, 'early_detection.png');
      writeFileSync(outs.path(join(dir, 'early_detection.svg')), chart.svg);
      writeFileSync(outs.path(plotFile), chart.png);
      out.plot = plotFile;
      const evals = [...maps].map(([name, s]) => evaluateScore(name, s, labels));
      const pr = await renderVegaLiteBoth(prChartSpec(evals, `Precision–recall after ${mapPasses} post-event passes`));
      writeFileSync(outs.path(join(dir, 'pr_curves.svg')), pr.svg);
      writeFileSync(outs.path(join(dir, 'pr_curves.png')), pr.png);
    }
    const reportFile = join(dir, 'report.md');
    writeFileSync(outs.path(reportFile), reportMarkdown(report, table, combos, passes));
    out.report = reportFile;
  }, fb);
  const at1 = (name: string) => table.find((r) => r.name === name && r.passes === 1)?.auprcTest ?? NaN;
  out['gru-auprc-1'] = at1('gru_vvvh');
  out['log-ratio-auprc-1'] = at1('log_ratio');
  fb.log('info', `report: ${join(dir, 'report.md')}`);
  return out;
}

/** Per series trained: the kept epoch, its validation loss, the training sequences and their length. */
type GruHistory = Record<string, { bestEpoch: number; bestValLoss: number; nTrain: number; T: number }>;

/** dpm landslide's scores: the GRU forecaster of the preset trained per series on the engine `p` picks, every map
 *  of METHODS; `forecaster` is the report's description of the model and its training. */
export async function unsupervisedScores(
  cube: LandslideCube,
  eventDate: string,
  p: { preset: PresetName; epochs?: number; seed: number; 'max-sequences'?: number } & Parameters<
    typeof engineOptions
  >[0],
  fb: Feedback,
): Promise<{ scores: LandslideScores; forecaster: Record<string, unknown> }> {
  const preset = PRESETS[p.preset];
  const config = { hidden: preset.hidden, mlp: preset.mlp, features: 1 };
  const { engine } = await selectEngine(config, engineOptions(p, fb));
  const history: GruHistory = {};
  const forecast = gruForecaster(engine, {
    epochs: p.epochs ?? preset.epochs,
    batchSize: preset.batchSize,
    lr: preset.lr,
    seed: p.seed,
    maxSequences: p['max-sequences'],
    history,
  });
  try {
    const scores = await landslideScores(cube, eventDate, forecast, fb);
    return { scores, forecaster: { preset: p.preset, ...config, engine: engine.description, training: history } };
  } finally {
    engine.destroy();
  }
}

/** The ForecastNext of the GRU scores: trains `engine` on each set of series (best validation weights), then
 *  forecasts every series one step; `settings.history` collects what each training did. */
function gruForecaster(
  engine: ForecasterEngine,
  settings: { epochs: number; batchSize: number; lr: number; seed: number; maxSequences?: number; history: GruHistory },
): ForecastNext {
  return async (x, N, T, what, sfb) => {
    const r = await trainModel(
      engine,
      { x, N, T },
      {
        epochs: settings.epochs,
        batchSize: settings.batchSize,
        adam: { ...PAPER_ADAM, lr: settings.lr },
        valFraction: PAPER_TRAINING.valFraction,
        seed: settings.seed,
        maxSequences: settings.maxSequences,
      },
      stage(sfb, 0, 80, `training on ${what}`),
    );
    settings.history[what] = { bestEpoch: r.bestEpoch, bestValLoss: r.bestValLoss, nTrain: r.nTrain, T };
    await engine.setParams(r.best);
    const f = await forecastSequences(engine, x, N, T, { feedback: stage(sfb, 80, 100, `forecasting ${what}`) });
    return { mu: f.mu, sigma: f.sigma };
  };
}

function reportMarkdown(
  r: { cube: string; eventDate: string; size: number[]; passes: { pre: number; post: number; maps: number } },
  table: (MethodScore & { passes: number })[],
  combos: (MethodScore & { passes: number })[],
  passes: number[],
): string {
  const f = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '—' : v.toFixed(3));
  const lines = [
    `# Landslide maps: ${r.cube}`,
    '',
    `Event ${r.eventDate}; ${r.size[0]} × ${r.size[1]} pixels; ${r.passes.pre} pre-event and ${r.passes.post} post-event ` +
      `passes; maps in maps/ use ${r.passes.maps} post-event pass(es).`,
    '',
  ];
  if (table.length === 0) return `${lines.join('\n')}No landslide mask: no evaluation.\n`;
  const methods = [...new Set(table.map((t) => t.name))];
  const cell = (rows: typeof table, name: string, n: number, key: 'auprcTest' | 'auprcAll') =>
    f(rows.find((t) => t.name === name && t.passes === n)?.[key]);
  const prev = table[0]!;
  lines.push(
    '## Early detection: AUPRC (average precision) after n post-event passes',
    '',
    `Test blocks (random map: ${f(prev.prevalenceTest)}) | all finite pixels (random: ${f(prev.prevalenceAll)}).`,
    '',
    `| method | ${passes.map((n) => `${n} (test)`).join(' | ')} | ${passes.map((n) => `${n} (all)`).join(' | ')} |`,
    `|---|${passes.map(() => '---:').join('|')}|${passes.map(() => '---:').join('|')}|`,
    ...methods.map(
      (m) =>
        `| ${m} | ${passes.map((n) => cell(table, m, n, 'auprcTest')).join(' | ')} | ` +
        `${passes.map((n) => cell(table, m, n, 'auprcAll')).join(' | ')} |`,
    ),
    '',
    '## How anomalies are combined (AUPRC on the test blocks)',
    '',
    `| combination | ${passes.join(' | ')} |`,
    `|---|${passes.map(() => '---:').join('|')}|`,
    ...[...new Set(combos.map((c) => c.name))].map(
      (m) => `| ${m} | ${passes.map((n) => cell(combos, m, n, 'auprcTest')).join(' | ')} |`,
    ),
    '',
    'Plots: early_detection.png (AUPRC against passes), pr_curves.png. Table: early_detection.csv.',
    '',
  );
  return lines.join('\n');
}

export const algorithm: Algorithm<'landslide'> = { id: 'landslide', run: landslide };
