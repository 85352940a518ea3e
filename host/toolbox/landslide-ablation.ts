// `dpm landslide-ablation --cube C --out-dir D`: papers/003 Fig. 4 on one cube. For each input set (VV, VH, VV+VH,
// VV+VH+DEM) and 1–4 passes averaged on each side of the event, one U-Net trained on the same spatial split and
// scored by AUPRC on its test blocks; beside them the unsupervised maps of `dpm landslide` after as many post-event
// passes on the same blocks, and the landslide share of those blocks. Outputs in D:
//
//   ablation.csv, ablation.md     every cell; the table as the figure reads
//   ablation.svg/.png             AUPRC against passes, one line per input set (unsupervised maps dashed)
//   models/<set>_<n>.safetensors  each cell's model (landslide-predict runs any of them)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Algorithm, AlgorithmParams, Outputs } from './algorithm.js';
import { DpmError } from '../core/errors.js';
import { stage, type Feedback } from '../core/feedback.js';
import { withOutputs } from '../io/outputs.js';
import { renderVegaLiteBoth } from '../eval/plots.js';
import { createUNetEngine } from '../engines/unet.js';
import { loadLandslideCube } from '../landslide/cube.js';
import { ABLATION_SETS, type InputSource, MAX_PASSES, ROLE_TEST, type SpatialSplit } from '../landslide/chips.js';
import { splitEvent } from '../landslide/scores.js';
import { scoreMethod } from '../landslide/evaluate.js';
import {
  ablationChartSpec,
  ablationCsv,
  ablationMarkdown,
  type AblationRow,
  unsupervisedRow,
} from '../landslide/ablation.js';
import { encodeInputs, INPUTS_METADATA_KEY, prepareLandslideData, scoreOnRole } from '../landslide/unet.js';
import { saveUNetModel } from '../model/unet/model-file.js';
import { fitUNet, predictProbability, unetConfig } from './landslide-unet.js';
import { unsupervisedScores } from './landslide.js';
import { resolveAlgorithmParams } from './manifest.js';

async function run(p: AlgorithmParams['landslide-ablation'], fb: Feedback): Promise<Outputs> {
  const dir = p['out-dir'];
  const loaded = await loadLandslideCube(p.cube, { dem: p.dem, truth: p.truth });
  const { cube } = loaded;
  const truth = cube.landslides;
  if (!truth) throw new DpmError(`${p.cube}: no landslides variable (or --truth mask): nothing to score`);
  const eventDate = p['event-date'] ?? loaded.eventDate;
  if (!eventDate) throw new DpmError(`${p.cube}: no event_date attribute; give --event-date YYYYMMDD`);
  const event = splitEvent(cube, eventDate);
  const maxPasses = Math.min(MAX_PASSES, event.pre.length, event.post.length);
  const passes = Array.from({ length: maxPasses }, (_, k) => k + 1);
  const has = (src: InputSource) =>
    src === 'dem' ? loaded.dem && cube.slope && loaded.aspect && loaded.curvature : cube[src];
  const sets = ABLATION_SETS.filter((s) => s.sources.every(has));
  for (const s of ABLATION_SETS)
    if (!sets.includes(s)) fb.log('warning', `${cube.source}: input set ${s.name} left out (the cube lacks it)`);
  const block = p.block ?? p.chip;
  const cells = sets.flatMap((set) => passes.map((n) => ({ set, n })));
  const share = p.unsupervised ? 70 : 95; // progress: the unsupervised scores after the U-Nets
  const rows: AblationRow[] = [];
  const models: { file: string; save: (path: string) => void }[] = [];
  let split: SpatialSplit | undefined; // one for every cell: it depends on the grid, block, fractions and seed only
  const net = unetConfig(p, 1); // width and depth (the input channels differ per set)
  let engineName = '';
  for (const [k, { set, n }] of cells.entries()) {
    const cfb = stage(fb, (share * k) / cells.length, (share * (k + 1)) / cells.length, `${set.name}, ${n} pass(es)`);
    const data = prepareLandslideData(loaded, eventDate, {
      sources: [...set.sources],
      passes: n,
      chip: p.chip,
      block,
      testFraction: p['test-fraction'],
      valFraction: p['val-fraction'],
      seed: p.seed,
    });
    split ??= data.split;
    const config = unetConfig(p, data.stack.C);
    const { engine } = await createUNetEngine(config, { device: p.device, threads: p.threads, feedback: cfb });
    engineName = engine.description;
    try {
      const r = await fitUNet(
        engine,
        data,
        { epochs: p.epochs, batchSize: p['batch-size'], lr: p.lr, seed: p.seed },
        stage(cfb, 0, 90),
      );
      const probability = await predictProbability(engine, data.stack, p.chip, stage(cfb, 90, 100));
      const test = scoreOnRole(probability, truth, data.split, ROLE_TEST);
      fb.log(
        'info',
        `${set.name}, ${n} pass(es): test AUPRC ${test.auprc.toFixed(3)} (share ${test.prevalence.toFixed(3)})`,
      );
      rows.push({
        kind: 'unet',
        name: set.name,
        passes: n,
        auprcTest: test.auprc,
        prAucTest: test.prAuc,
        prevalenceTest: test.prevalence,
        bestEpoch: r.bestEpoch,
        validationLoss: r.bestValLoss,
        trainChips: data.train.B,
      });
      const model = {
        config,
        ...r.best,
        training: { epochs: p.epochs, bestEpoch: r.bestEpoch, bestValLoss: r.bestValLoss, testAuprc: test.auprc },
        metadata: { [INPUTS_METADATA_KEY]: encodeInputs(data.inputs) },
      };
      models.push({
        file: join(dir, 'models', `${set.name.replace(/\+/g, '_')}_${n}.safetensors`),
        save: (path) => saveUNetModel(path, model, false),
      });
    } finally {
      engine.destroy();
    }
  }

  if (p.unsupervised && split) {
    // exactly dpm landslide's maps: its defaults (fast GRU preset, its sample of series) with this seed and engine
    const gru = resolveAlgorithmParams('landslide', { cube: p.cube, 'out-dir': dir, seed: p.seed });
    const { device, threads } = p;
    const maps = stage(fb, share, 99, 'unsupervised maps');
    const { scores } = await unsupervisedScores(cube, eventDate, { ...gru, device, threads }, maps);
    for (const n of passes.filter((n) => n <= scores.postPasses))
      for (const [name, s] of scores.after(n)) rows.push(unsupervisedRow(scoreMethod(name, s, truth, split), n));
  }

  const out: Outputs = { 'out-dir': dir };
  await withOutputs(async (outs) => {
    for (const m of models) m.save(outs.path(m.file));
    const table = join(dir, 'ablation.csv'),
      report = join(dir, 'ablation.md'),
      plot = join(dir, 'ablation.png');
    writeFileSync(outs.path(table), ablationCsv(rows));
    const intro = [
      `# Landslide U-Net ablation: ${cube.source}`,
      '',
      `Event ${eventDate}; ${cube.width} × ${cube.height} pixels; spatial split in blocks of ${block} px ` +
        `(test share ${p['test-fraction']}, validation ${p['val-fraction']} of the rest, seed ${p.seed}); chips of ` +
        `${p.chip} px holding landslide pixels; U-Net width ${net.width}, depth ${net.depth} (${engineName}), ` +
        `${p.epochs} epochs, batch ${p['batch-size']}, initial lr ${p.lr}.`,
    ];
    writeFileSync(outs.path(report), ablationMarkdown(rows, intro));
    const chart = await renderVegaLiteBoth(ablationChartSpec(rows, 'AUPRC on the test blocks (papers/003 Fig. 4)'));
    writeFileSync(outs.path(join(dir, 'ablation.svg')), chart.svg);
    writeFileSync(outs.path(plot), chart.png);
    Object.assign(out, { table, report, plot });
  }, fb);
  const unet = rows.filter((r) => r.kind === 'unet');
  out['best-auprc'] = Math.max(...unet.map((r) => r.auprcTest));
  out.prevalence = unet[0]?.prevalenceTest ?? NaN;
  fb.log('info', `table: ${join(dir, 'ablation.md')}`);
  return out;
}

export const algorithm: Algorithm<'landslide-ablation'> = { id: 'landslide-ablation', run };
