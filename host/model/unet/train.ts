// The U-Net training loop (papers/003) on any UNetEngine: epochs over the training chips in a seeded shuffled order,
// batches of at most engine.maxBatch, Adam with weight decay, ReduceLROnPlateau on the validation loss, class-weighted
// cross-entropy (inverse pixel frequency by default), the weights of the best validation loss (strictly lower), a
// history row per epoch, a checkpoint per epoch (resume), progress with an ETA and cancellation between batches.
// Same seed, data and engine → the same weights.
import { createHash } from 'node:crypto';
import { DpmError } from '../../core/errors.js';
import { checkpoint, type Feedback, silentFeedback } from '../../core/feedback.js';
import { Rng } from '../rng.js';
import { IGNORE_LABEL } from './config.js';
import { PAPER_UNET_ADAM, type SegmentationBatch, type UNetAdamOptions, type UNetEngine } from './engine.js';
import { initUNetBuffers, initUNetParams } from './init.js';
import { initialPlateauState, PAPER_PLATEAU, type PlateauOptions, type PlateauState, plateauStep } from './plateau.js';
import {
  historyCsvRow,
  readUNetCheckpoint,
  unetCheckpointExists,
  type UNetEpochLog,
  type Weights,
  writeUNetCheckpoint,
} from './train-checkpoint.js';

export type { UNetEpochLog, Weights } from './train-checkpoint.js';
export { UNET_HISTORY_CSV_HEADER, historyCsvRow } from './train-checkpoint.js';

export interface UNetTrainOptions {
  epochs: number;
  /** chips per Adam step (lowered to the engine's maxBatch) */
  batchSize: number;
  adam: UNetAdamOptions;
  plateau: PlateauOptions;
  /** seeds the initial weights and the shuffling */
  seed: number;
  /** per class; default: inverse frequency of the training pixels (inverseFrequencyWeights) */
  classWeights?: Float32Array;
  /** initial weights (else PyTorch's default initialisation, seeded) */
  init?: Weights;
  /** checkpoint file written after every epoch */
  checkpoint?: string;
  /** continue from `checkpoint` when it exists */
  resume?: boolean;
  /** scores the validation probabilities of class 1 against labels 0/1 (e.g. host/eval's PR AUC); NaN without it */
  validationScore?: (probability: Float32Array, labels: Uint8Array) => number;
  /** called after every epoch with its history entry and CSV row (UNET_HISTORY_CSV_HEADER); not for resumed ones */
  onEpoch?: (entry: UNetEpochLog, csvRow: string) => void;
}

/** papers/003: Adam lr 0.01, weight decay 1e-4; ReduceLROnPlateau factor 0.1, patience 10, threshold 1e-4 */
export const PAPER_UNET_TRAINING: UNetTrainOptions = {
  epochs: 50,
  batchSize: 16,
  adam: PAPER_UNET_ADAM,
  plateau: PAPER_PLATEAU,
  seed: 128,
};

export interface UNetTrainData {
  /** training chips [B, C, H, W] with labels */
  train: SegmentationBatch;
  /** validation chips (the scheduler and the best weights need them; without, best = final) */
  validation?: SegmentationBatch;
}

export interface UNetTrainResult {
  best: Weights;
  final: Weights;
  /** 0 when no epoch was better than nothing (no validation: the last epoch) */
  bestEpoch: number;
  bestValLoss: number;
  history: UNetEpochLog[];
  classWeights: Float32Array;
  /** epochs completed before this run (0 unless resumed) */
  resumedFrom: number;
  /** the learning rate the next epoch would use */
  lr: number;
}

/**
 * sklearn's 'balanced' weights N / (K · n_k) over the pixels not ignored, so every class weighs as much in the loss;
 * a class with no pixel gets weight 0 (nothing to weigh). An error when no pixel is labelled at all.
 */
export function inverseFrequencyWeights(labels: Uint8Array, classes: number): Float32Array {
  const counts = new Float64Array(classes);
  for (const l of labels) if (l !== IGNORE_LABEL && l < classes) counts[l]!++;
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) throw new DpmError('the training chips hold no labelled pixel: nothing to learn from');
  return Float32Array.from(counts, (n) => (n === 0 ? 0 : total / (classes * n)));
}

/** chips `ids` of `batch` as one batch */
export function gatherChips(batch: SegmentationBatch, C: number, ids: readonly number[]): SegmentationBatch {
  const { H, W } = batch;
  const plane = H * W;
  const x = new Float32Array(ids.length * C * plane);
  const labels = new Uint8Array(ids.length * plane);
  ids.forEach((id, j) => {
    x.set(batch.x.subarray(id * C * plane, (id + 1) * C * plane), j * C * plane);
    labels.set(batch.labels.subarray(id * plane, (id + 1) * plane), j * plane);
  });
  return { x, labels, B: ids.length, H, W };
}

function checkBatch(batch: SegmentationBatch, C: number, what: string): void {
  const plane = batch.H * batch.W;
  if (batch.x.length !== batch.B * C * plane || batch.labels.length !== batch.B * plane)
    throw new Error(
      `internal: ${what} chips: ${batch.x.length} inputs / ${batch.labels.length} labels for ${batch.B} × ${C} × ` +
        `${batch.H} × ${batch.W}`,
    );
}

/** Σ w_label over the pixels not ignored: the denominator of a batch's weighted mean loss */
function labelWeight(labels: Uint8Array, classWeights: Float32Array): number {
  let s = 0;
  for (const l of labels) if (l !== IGNORE_LABEL) s += classWeights[l] ?? 0;
  return s;
}

function digest(...arrays: ArrayBufferView[]): string {
  const h = createHash('sha256');
  for (const a of arrays) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex').slice(0, 32);
}

/** What a resumed run must share with the checkpoint: data and settings, not the number of epochs. */
function fingerprintOf(engine: UNetEngine, data: UNetTrainData, opts: UNetTrainOptions, weights: Float32Array) {
  const v = data.validation;
  return {
    config: engine.config,
    chips: [data.train.B, data.train.H, data.train.W, v?.B ?? 0],
    data: digest(data.train.x, data.train.labels, ...(v ? [v.x, v.labels] : [])),
    seed: opts.seed,
    batchSize: opts.batchSize,
    adam: opts.adam,
    plateau: opts.plateau,
    classWeights: Array.from(weights),
    init: opts.init ? digest(opts.init.params, opts.init.buffers) : null,
  };
}

interface LoopState {
  epoch: number;
  best: Weights;
  bestEpoch: number;
  bestValLoss: number;
  plateau: PlateauState;
  shuffler: Rng;
  history: UNetEpochLog[];
}

async function startState(
  engine: UNetEngine,
  opts: UNetTrainOptions,
  fingerprint: Record<string, unknown>,
  fb: Feedback,
): Promise<LoopState> {
  if (opts.resume && opts.checkpoint && unetCheckpointExists(opts.checkpoint)) {
    const ck = readUNetCheckpoint(opts.checkpoint);
    if (JSON.stringify(ck.fingerprint) !== JSON.stringify(fingerprint))
      throw new DpmError(
        `${opts.checkpoint}: this checkpoint was made with other data or settings; remove it or train without resume`,
      );
    await engine.setParams(ck.current.params);
    await engine.setBuffers(ck.current.buffers);
    await engine.setOptimizerState(ck.adam);
    fb.log('info', `resuming from ${opts.checkpoint} after epoch ${ck.epoch}`);
    const { epoch, best, bestEpoch, bestValLoss, plateau, history } = ck;
    return { epoch, best, bestEpoch, bestValLoss, plateau, history, shuffler: Rng.fromState(ck.rng) };
  }
  if (opts.resume) fb.log('info', `no checkpoint at ${opts.checkpoint ?? '(none given)'}: starting from epoch 1`);
  const init = opts.init ?? {
    params: initUNetParams(engine.config, new Rng(opts.seed, 1)),
    buffers: initUNetBuffers(engine.config),
  };
  await engine.setParams(init.params);
  await engine.setBuffers(init.buffers);
  await engine.setOptimizerState(undefined);
  return {
    epoch: 0,
    best: { params: init.params.slice(), buffers: init.buffers.slice() },
    bestEpoch: 0,
    bestValLoss: Infinity,
    plateau: initialPlateauState(opts.adam.lr),
    shuffler: new Rng(opts.seed, 2),
    history: [],
  };
}

/** Progress over the whole run (this session's batches) with an ETA from the time per batch so far. */
function progressReporter(fb: Feedback, totalBatches: number) {
  const t0 = performance.now();
  let done = 0;
  return (epochText: string) => {
    done++;
    const left = ((performance.now() - t0) / done) * (totalBatches - done);
    fb.progress((100 * done) / totalBatches, `${epochText}, ETA ${formatDuration(left / 1000)}`);
  };
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

async function trainEpoch(
  engine: UNetEngine,
  train: SegmentationBatch,
  order: number[],
  batchSize: number,
  step: { weights: Float32Array; adam: UNetAdamOptions },
  fb: Feedback,
  tick: () => void,
  epoch: number,
): Promise<number> {
  const C = engine.config.inChannels;
  let sum = 0;
  for (let from = 0; from < order.length; from += batchSize) {
    await checkpoint(fb);
    const batch = gatherChips(train, C, order.slice(from, from + batchSize));
    const { loss } = await engine.trainStep(batch, step.weights, step.adam);
    if (!Number.isFinite(loss))
      throw new DpmError(`training diverged: loss ${loss} in epoch ${epoch}, chips ${from + 1}… (try a lower lr)`);
    sum += loss * batch.B;
    tick();
  }
  return sum / order.length;
}

/** Eval-mode loss over every validation pixel (exact weighted mean across chunks) and the score of class 1. */
export async function validate(
  engine: UNetEngine,
  val: SegmentationBatch,
  weights: Float32Array,
  score: UNetTrainOptions['validationScore'],
  fb: Feedback,
): Promise<{ loss: number; auprc: number }> {
  const C = engine.config.inChannels;
  const chunk = Math.max(1, engine.maxBatch(val.H, val.W));
  const plane = val.H * val.W;
  const probability = new Float32Array(val.B * plane);
  let lossSum = 0;
  let weightSum = 0;
  for (let from = 0; from < val.B; from += chunk) {
    await checkpoint(fb);
    const ids = Array.from({ length: Math.min(chunk, val.B - from) }, (_, j) => from + j);
    const batch = gatherChips(val, C, ids);
    const w = labelWeight(batch.labels, weights);
    lossSum += (await engine.loss(batch, weights)) * w;
    weightSum += w;
    if (score) {
      const p = await engine.predict(batch.x, batch.B, batch.H, batch.W);
      for (let j = 0; j < batch.B; j++)
        probability.set(p.subarray((j * 2 + 1) * plane, (j * 2 + 2) * plane), (from + j) * plane);
    }
  }
  const loss = weightSum > 0 ? lossSum / weightSum : Number.NaN;
  return { loss, auprc: score ? score(probability, val.labels) : Number.NaN };
}

export async function trainUNet(
  engine: UNetEngine,
  data: UNetTrainData,
  opts: UNetTrainOptions,
  fb: Feedback = silentFeedback,
): Promise<UNetTrainResult> {
  const { config } = engine;
  if (config.classes !== 2 && opts.validationScore)
    throw new Error('internal: the validation score reads class 1 of a two-class U-Net');
  checkBatch(data.train, config.inChannels, 'training');
  if (data.validation) checkBatch(data.validation, config.inChannels, 'validation');
  if (data.train.B < 1) throw new DpmError('no training chips: nothing to learn from');
  const weights = opts.classWeights ?? inverseFrequencyWeights(data.train.labels, config.classes);
  const val = data.validation && data.validation.B > 0 ? data.validation : undefined;
  const fingerprint = fingerprintOf(engine, data, opts, weights);
  const s = await startState(engine, opts, fingerprint, fb);
  const resumedFrom = s.epoch;

  const batchSize = Math.max(1, Math.min(opts.batchSize, engine.maxBatch(data.train.H, data.train.W)));
  if (batchSize < opts.batchSize) fb.log('warning', `batch size lowered to ${batchSize}: the engine's limit`);
  fb.log(
    'info',
    `training on ${data.train.B} chips of ${data.train.H} × ${data.train.W}, validating on ${val?.B ?? 0}; ` +
      `class weights ${Array.from(weights, (w) => w.toFixed(3)).join(', ')}; engine: ${engine.description}`,
  );
  const perEpoch = Math.ceil(data.train.B / batchSize);
  const tick = progressReporter(fb, Math.max(1, perEpoch * (opts.epochs - s.epoch)));
  const all = Array.from({ length: data.train.B }, (_, i) => i);

  for (let epoch = s.epoch + 1; epoch <= opts.epochs; epoch++) {
    const t0 = performance.now();
    const lr = s.plateau.lr;
    const order = s.shuffler.shuffle(all.slice());
    const text = `epoch ${epoch}/${opts.epochs}`;
    const step = { weights, adam: { ...opts.adam, lr } };
    const trainLoss = await trainEpoch(engine, data.train, order, batchSize, step, fb, () => tick(text), epoch);
    const v = val ? await validate(engine, val, weights, opts.validationScore, fb) : undefined;
    const current = { params: await engine.getParams(), buffers: await engine.getBuffers() };
    const isBest = v !== undefined && v.loss < s.bestValLoss; // strictly lower
    if (isBest || !v) {
      s.best = current;
      s.bestEpoch = epoch;
      if (v) s.bestValLoss = v.loss;
    }
    if (v) s.plateau = plateauStep(s.plateau, v.loss, opts.plateau);
    const entry: UNetEpochLog = {
      epoch,
      trainLoss,
      valLoss: v?.loss ?? Number.NaN,
      valAuprc: v?.auprc ?? Number.NaN,
      lr,
      seconds: (performance.now() - t0) / 1000,
      best: isBest,
    };
    s.history.push(entry);
    s.epoch = epoch;
    logEpoch(fb, entry, opts.epochs, s.plateau.lr);
    opts.onEpoch?.(entry, historyCsvRow(entry));
    if (opts.checkpoint) await saveCheckpoint(engine, opts.checkpoint, s, current, weights, fingerprint);
  }
  fb.progress(100);
  if (!val)
    fb.log('warning', 'no validation chips: the learning rate stays fixed and the best weights are the final ones');
  const final = { params: await engine.getParams(), buffers: await engine.getBuffers() };
  const { best, bestEpoch, bestValLoss, history } = s;
  return { best, final, bestEpoch, bestValLoss, history, classWeights: weights, resumedFrom, lr: s.plateau.lr };
}

function logEpoch(fb: Feedback, e: UNetEpochLog, epochs: number, nextLr: number): void {
  const val = Number.isNaN(e.valLoss) ? '' : `, validation ${e.valLoss.toFixed(4)}`;
  const auprc = Number.isNaN(e.valAuprc) ? '' : `, AUPRC ${e.valAuprc.toFixed(3)}`;
  const lr = nextLr !== e.lr ? `, lr → ${nextLr.toPrecision(3)}` : '';
  fb.log(
    'info',
    `epoch ${e.epoch}/${epochs}: train ${e.trainLoss.toFixed(4)}${val}${auprc}, ${e.seconds.toFixed(1)} s` +
      `${e.best ? ' (best)' : ''}${lr}`,
  );
}

async function saveCheckpoint(
  engine: UNetEngine,
  path: string,
  s: LoopState,
  current: Weights,
  weights: Float32Array,
  fingerprint: Record<string, unknown>,
): Promise<void> {
  writeUNetCheckpoint(path, {
    config: engine.config,
    epoch: s.epoch,
    current,
    best: s.best,
    bestEpoch: s.bestEpoch,
    bestValLoss: s.bestValLoss,
    adam: await engine.getOptimizerState(),
    plateau: s.plateau,
    rng: s.shuffler.state(),
    classWeights: Array.from(weights),
    history: s.history,
    fingerprint,
  });
}

/** The `training` metadata of a model file: settings and outcome (history included: it is small). */
export function trainingSummary(
  engine: UNetEngine,
  opts: UNetTrainOptions,
  result: UNetTrainResult,
): Record<string, unknown> {
  return {
    engine: engine.description,
    epochs: result.history.length,
    batchSize: opts.batchSize,
    seed: opts.seed,
    adam: opts.adam,
    plateau: opts.plateau,
    classWeights: Array.from(result.classWeights),
    bestEpoch: result.bestEpoch,
    bestValLoss: Number.isFinite(result.bestValLoss) ? result.bestValLoss : null,
    finalLr: result.lr,
    history: result.history.map((e) => ({
      ...e,
      valLoss: Number.isNaN(e.valLoss) ? null : e.valLoss,
      valAuprc: Number.isNaN(e.valAuprc) ? null : e.valAuprc,
    })),
  };
}
