// `dpm train`: learn each pixel's normal coherence behaviour from the pre-event bands of a coherence stack.
// Writes the best-validation weights to --out and the final weights beside it (<out>.final.safetensors), and the
// per-epoch history as <out>.history.csv with its plot (.svg/.png).
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { CanceledError, DpmError } from '../core/errors.js';
import type { Algorithm, AlgorithmParams } from './algorithm.js';
import { stage, type Feedback } from '../core/feedback.js';
import { type OutputSet, withOutputs } from '../io/outputs.js';
import { packageVersion } from '../paths.js';
import { historyChartSpec } from '../eval/charts.js';
import { renderVegaLiteBoth } from '../eval/plots.js';
import { openCoherenceStack } from '../raster/stack.js';
import { splitPairs, type TimeFeature } from '../model/series.js';
import { readTrainingSeries } from '../model/training-series.js';
import { trainModel, type EpochLog } from '../model/train.js';
import { engineOptions, presetAdvice, selectEngine } from '../engines/select.js';
import { loadModel, saveModel } from '../model/safetensors.js';
import { paramCount, PAPER_CONFIG, type ModelConfig } from '../model/params.js';
import { PAPER_ADAM } from '../model/engine.js';

/** `model.safetensors` → `model.final.safetensors` */
export function finalModelPath(out: string): string {
  return out.replace(/(\.safetensors)?$/i, '.final.safetensors');
}
/** `model.safetensors` → `model.checkpoint.safetensors` */
export function checkpointPath(out: string): string {
  return out.replace(/(\.safetensors)?$/i, '.checkpoint.safetensors');
}

async function run(params: AlgorithmParams['train'], fb: Feedback) {
  const { out } = params;
  if (!/\.safetensors$/i.test(out)) throw new DpmError(`--out ${out}: the model file must end in .safetensors`);
  const init = params.init !== undefined ? loadModel(params.init) : undefined;
  const timeFeatures: TimeFeature[] = params['time-baseline'] ? ['span'] : [];
  const config: ModelConfig = {
    hidden: params.hidden ?? init?.config.hidden ?? PAPER_CONFIG.hidden,
    mlp: params.mlp ?? init?.config.mlp ?? PAPER_CONFIG.mlp,
    features: 1 + timeFeatures.length,
  };
  if (
    init &&
    (init.config.hidden !== config.hidden || init.config.mlp !== config.mlp || init.config.features !== config.features)
  ) {
    throw new DpmError(
      `--init ${params.init}: the model has H=${init.config.hidden}, M=${init.config.mlp}, F=${init.config.features} but ` +
        `training asks for H=${config.hidden}, M=${config.mlp}, F=${config.features} ` +
        `(leave out --hidden/--mlp to take the file's sizes; F = 2 with --time-baseline)`,
    );
  }
  const stack = await openCoherenceStack(params.coherence, {
    nodata: params.nodata,
    align: params['align-grids'],
    feedback: stage(fb, 0, 1, 'opening'),
  });
  const { header } = stack;
  const split = splitPairs(
    header,
    { preEventBands: params['pre-event-bands'], eventDate: params['event-date'] },
    false,
  );
  // the stack by row blocks: only the sampled pixels' sequences are held
  const series = await readTrainingSeries(
    stack,
    split,
    { maxSequences: params['max-sequences'], seed: params.seed, timeFeatures },
    stage(fb, 1, 5, 'reading'),
  );
  const { engine, kind } = await selectEngine(config, engineOptions(params, fb));
  const advice = presetAdvice(kind);
  if (advice.preset === 'fast' && config.hidden * config.mlp > 32 * 32) {
    fb.log('warning', `${advice.why}; for a quicker run use --hidden 32 --mlp 32 (dpm run --preset fast)`);
  }
  fb.log(
    'info',
    `model: H=${config.hidden}, M=${config.mlp}: ${paramCount(config).toLocaleString('en-US')} parameters`,
  );
  const checkpoint = params.checkpoint ?? checkpointPath(out);
  const clip = params['clip-norm'];
  try {
    const opts = {
      epochs: params.epochs,
      batchSize: params['batch-size'],
      adam: { ...PAPER_ADAM, lr: params.lr, clipNorm: clip > 0 ? clip : Infinity },
      valFraction: params['val-fraction'],
      seed: params.seed,
      init: init?.params,
      checkpoint,
      resume: params.resume,
    };
    if (!opts.resume && existsSync(checkpoint))
      fb.log('warning', `${checkpoint} exists and will be overwritten (use --resume to continue from it)`);
    const result = await withOutputs(async (outs) => {
      const r = await trainModel(engine, { x: series.x, N: series.N, T: series.T }, opts, stage(fb, 5, 99, 'training'));
      const summary = {
        software: 'insar-dpm',
        version: packageVersion,
        engine: engine.description,
        stack: header.source,
        pairs: split.pre.map((k) => header.descriptions[k]),
        T: series.T,
        timeFeatures,
        epochs: opts.epochs,
        batchSize: opts.batchSize,
        lr: opts.adam.lr,
        clipNorm: clip,
        valFraction: opts.valFraction,
        seed: opts.seed,
        maxSequences: params['max-sequences'] ?? null,
        init: params.init ?? null,
        nTrain: r.nTrain,
        nVal: r.nVal,
        nDropped: series.dropped,
        bestEpoch: r.bestEpoch,
        bestValLoss: Number.isFinite(r.bestValLoss) ? r.bestValLoss : null,
        history: r.history.map((h) => ({ ...h, valLoss: Number.isFinite(h.valLoss) ? h.valLoss : null })),
      };
      saveModel(outs.path(out), config, r.best, { ...summary, weights: 'best validation loss' }, false);
      saveModel(outs.path(finalModelPath(out)), config, r.final, { ...summary, weights: 'final' }, false);
      await writeHistory(outs, out, r.history);
      return r;
    }, fb);
    rmSync(checkpoint, { force: true }); // finished: nothing left to resume
    const last = result.history[result.history.length - 1];
    fb.log('info', `training history: ${historyPaths(out).csv} and ${historyPaths(out).png}`);
    return {
      model: out,
      'final-model': finalModelPath(out),
      'best-epoch': result.bestEpoch,
      'validation-loss': Number.isFinite(result.bestValLoss) ? result.bestValLoss : null,
      'train-loss': last ? last.trainLoss : null,
    };
  } catch (err) {
    if (err instanceof CanceledError && existsSync(checkpoint)) {
      fb.log(
        'info',
        `checkpoint of the last finished epoch kept at ${checkpoint}: continue with --resume (dpm run resumes by itself)`,
      );
    }
    throw err;
  } finally {
    engine.destroy();
  }
}

/** Beside the model: <stem>.history.csv (one row per epoch) and its plot <stem>.history.svg/.png. */
export function historyPaths(model: string): { csv: string; svg: string; png: string } {
  const stem = model.replace(/\.safetensors$/i, '');
  return { csv: `${stem}.history.csv`, svg: `${stem}.history.svg`, png: `${stem}.history.png` };
}

async function writeHistory(outs: OutputSet, model: string, history: EpochLog[]): Promise<void> {
  const files = historyPaths(model);
  const num = (v: number) => (Number.isFinite(v) ? String(v) : '');
  const rows = history.map((h) =>
    [h.epoch, num(h.trainLoss), num(h.valLoss), num(h.seconds), h.best ? 1 : 0].join(','),
  );
  writeFileSync(outs.path(files.csv), `${['epoch,train_loss,validation_loss,seconds,best', ...rows].join('\n')}\n`);
  const chart = await renderVegaLiteBoth(historyChartSpec(history, `Training history of ${basename(model)}`));
  writeFileSync(outs.path(files.svg), chart.svg);
  writeFileSync(outs.path(files.png), chart.png);
}

export const algorithm: Algorithm<'train'> = { id: 'train', run };
