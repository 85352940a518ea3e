// The training loop of the authors' train.py on any ForecasterEngine: seeded random pixel split (80/20, seed 128),
// seeded shuffling, batches of 256, clipped Adam steps, validation loss after every epoch, the weights of the best
// validation loss (strictly lower) and the final ones, a checkpoint after every epoch (resume), progress and
// cancellation between batches. Same seed and same engine → identical weights.
import { createHash } from 'node:crypto';
import { DpmError } from '../core/errors.js';
import { throwIfCanceled, silentFeedback, type Feedback } from '../core/feedback.js';
import type { AdamOptions, ForecasterEngine } from './engine.js';
import { PAPER_TRAINING } from '../core/defaults.js';
import { PAPER_ADAM } from './engine.js';
import { Rng } from './rng.js';
import { initParams } from './init.js';
import { MIN_VALID } from './series.js';
import { checkpointExists, readCheckpoint, writeCheckpoint, type EpochLog } from './checkpoint.js';

export type { EpochLog } from './checkpoint.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  adam: AdamOptions;
  /** fraction of pixels held out for validation (0.2) */
  valFraction: number;
  /** seeds the split, the initial weights, the subsample and the shuffling (128) */
  seed: number;
  /** train on a seeded random subsample of at most this many sequences */
  maxSequences?: number;
  /** initial weights (else PyTorch's default initialisation, seeded) */
  init?: Float32Array;
  /** checkpoint file written after every epoch */
  checkpoint?: string;
  /** continue from `checkpoint` when it exists */
  resume?: boolean;
}

export const DEFAULT_TRAIN: TrainOptions = { ...PAPER_TRAINING, adam: PAPER_ADAM };

export interface TrainData {
  /** [N, T, F] row-major, feature 0 = logit coherence, NaN = missing */
  x: Float32Array;
  N: number;
  T: number;
}

export interface TrainResult {
  best: Float32Array;
  final: Float32Array;
  bestEpoch: number;
  bestValLoss: number;
  history: EpochLog[];
  nTrain: number;
  nVal: number;
  /** sequences left out for having fewer than MIN_VALID valid values */
  nDropped: number;
  /** epoch training started from (0 unless resumed) */
  resumedFrom: number;
}

/**
 * The usable sequences trained on (ascending): all of them, or a seeded random subsample of `maxSequences`. The same
 * draw whether the sequences are held whole (trainModel) or picked from a stack read by row blocks.
 */
export function trainingSample<A extends number[] | Int32Array>(
  usable: A,
  maxSequences: number | undefined,
  seed: number,
  feedback: Feedback = silentFeedback,
): A {
  if (maxSequences === undefined || usable.length <= maxSequences) return usable;
  const chosen = new Rng(seed, 1)
    .shuffle(usable)
    .slice(0, maxSequences)
    .sort((a: number, b: number) => a - b) as A;
  feedback.log('info', `using a seeded random subsample of ${chosen.length} sequences`);
  return chosen;
}

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

export async function trainModel(
  engine: ForecasterEngine,
  data: TrainData,
  opts: TrainOptions,
  feedback: Feedback = silentFeedback,
): Promise<TrainResult> {
  const { config } = engine;
  const F = config.features;
  const { N, T } = data;
  const stride = T * F;
  if (data.x.length !== N * stride) throw new Error(`internal: x has ${data.x.length} values for ${N}×${T}×${F}`);
  if (T < MIN_VALID) throw new DpmError(`training needs sequences of at least ${MIN_VALID} pre-event steps, got ${T}`);

  // usable sequences: at least MIN_VALID valid values (the rest would teach nothing but the prior)
  let idx: number[] = [];
  for (let i = 0; i < N; i++) {
    let n = 0;
    for (let t = 0; t < T; t++) if (!Number.isNaN(data.x[i * stride + t * F]!)) n++;
    if (n >= MIN_VALID) idx.push(i);
  }
  const nDropped = N - idx.length;
  if (nDropped > 0)
    feedback.log('warning', `${nDropped} of ${N} sequences have fewer than ${MIN_VALID} valid values: not trained on`);
  idx = trainingSample(idx, opts.maxSequences, opts.seed, feedback);
  const perm = new Rng(opts.seed, 2).shuffle(idx.slice());
  const nVal = Math.round(perm.length * opts.valFraction);
  const val = perm.slice(0, nVal).sort((a, b) => a - b);
  const train = perm.slice(nVal).sort((a, b) => a - b);
  if (train.length < 1)
    throw new DpmError(`no sequences left to train on (${idx.length} usable, ${nVal} held out for validation)`);
  feedback.log(
    'info',
    `training on ${train.length} sequences of ${T} steps, validating on ${val.length}; engine: ${engine.description}`,
  );

  const fingerprint = {
    N,
    T,
    F,
    hidden: config.hidden,
    mlp: config.mlp,
    seed: opts.seed,
    batchSize: opts.batchSize,
    valFraction: opts.valFraction,
    maxSequences: opts.maxSequences ?? null,
    adam: { ...opts.adam, clipNorm: String(opts.adam.clipNorm) },
    data: createHash('sha256')
      .update(new Uint8Array(data.x.buffer, data.x.byteOffset, data.x.byteLength))
      .digest('hex')
      .slice(0, 32),
    init: opts.init
      ? createHash('sha256')
          .update(new Uint8Array(opts.init.buffer, opts.init.byteOffset, opts.init.byteLength))
          .digest('hex')
          .slice(0, 32)
      : null,
  };

  let shuffler = new Rng(opts.seed, 4);
  let startEpoch = 0;
  let best: Float32Array;
  let bestEpoch = 0;
  let bestValLoss = Infinity;
  let history: EpochLog[] = [];
  if (opts.resume && opts.checkpoint && checkpointExists(opts.checkpoint)) {
    const ck = readCheckpoint(opts.checkpoint);
    if (JSON.stringify(ck.fingerprint) !== JSON.stringify(fingerprint)) {
      throw new DpmError(
        `${opts.checkpoint}: this checkpoint was made with other data or settings; remove it or train without --resume`,
      );
    }
    await engine.setParams(ck.params);
    await engine.setOptimizerState(ck.adam);
    shuffler = Rng.fromState(ck.rng);
    startEpoch = ck.epoch;
    best = ck.best;
    bestEpoch = ck.bestEpoch;
    bestValLoss = ck.bestValLoss;
    history = ck.history;
    feedback.log('info', `resuming from ${opts.checkpoint} after epoch ${startEpoch}`);
  } else {
    if (opts.resume)
      feedback.log('info', `no checkpoint at ${opts.checkpoint ?? '(none given)'}: starting from the first epoch`);
    const init = opts.init ?? initParams(config, new Rng(opts.seed, 3));
    await engine.setParams(init);
    await engine.setOptimizerState(undefined);
    best = init.slice();
  }

  const B = Math.max(1, Math.min(opts.batchSize, engine.maxBatch(T)));
  if (B < opts.batchSize) feedback.log('warning', `batch size lowered to ${B}: the engine's limit at T = ${T}`);
  const nBatches = Math.ceil(train.length / B);
  const buf = new Float32Array(B * stride);
  const gather = (ids: number[], from: number, n: number) => {
    const out = n === B ? buf : new Float32Array(n * stride);
    for (let j = 0; j < n; j++)
      out.set(data.x.subarray(ids[from + j]! * stride, (ids[from + j]! + 1) * stride), j * stride);
    return out;
  };
  const valChunk = Math.max(1, engine.maxBatch(T));

  for (let epoch = startEpoch; epoch < opts.epochs; epoch++) {
    const t0 = performance.now();
    const order = shuffler.shuffle(train.slice());
    let trainLoss = 0;
    for (let bi = 0; bi < nBatches; bi++) {
      throwIfCanceled(feedback);
      const from = bi * B,
        n = Math.min(B, order.length - from);
      const { loss } = await engine.trainStep(gather(order, from, n), n, T, opts.adam);
      if (!Number.isFinite(loss))
        throw new DpmError(`training diverged: loss ${loss} in epoch ${epoch + 1}, batch ${bi + 1} (try a lower --lr)`);
      trainLoss += loss;
      feedback.progress(
        (100 * (epoch - startEpoch + (bi + 1) / (nBatches + 1))) / (opts.epochs - startEpoch),
        `epoch ${epoch + 1}/${opts.epochs}`,
      );
      await yieldToEventLoop();
    }
    let valLoss = NaN;
    if (val.length > 0) {
      let sum = 0;
      for (let from = 0; from < val.length; from += valChunk) {
        throwIfCanceled(feedback);
        const n = Math.min(valChunk, val.length - from);
        const chunk = new Float32Array(n * stride);
        for (let j = 0; j < n; j++)
          chunk.set(data.x.subarray(val[from + j]! * stride, (val[from + j]! + 1) * stride), j * stride);
        sum += await engine.loss(chunk, n, T);
        await yieldToEventLoop();
      }
      valLoss = sum / val.length;
    }
    const isBest = val.length > 0 && valLoss < bestValLoss; // strictly lower, as the authors' code
    const params = await engine.getParams();
    if (isBest) {
      best = params.slice();
      bestValLoss = valLoss;
      bestEpoch = epoch + 1;
    } else if (val.length === 0) {
      best = params.slice(); // no validation: best = final
      bestEpoch = epoch + 1;
    }
    const seconds = (performance.now() - t0) / 1000;
    const entry: EpochLog = { epoch: epoch + 1, trainLoss: trainLoss / train.length, valLoss, seconds, best: isBest };
    history.push(entry);
    feedback.log(
      'info',
      `epoch ${epoch + 1}/${opts.epochs}: train ${entry.trainLoss.toFixed(4)}, validation ${Number.isNaN(valLoss) ? '—' : valLoss.toFixed(4)} ` +
        `per sequence, ${seconds.toFixed(1)} s${isBest ? ' (best)' : ''}`,
    );
    if (opts.checkpoint) {
      writeCheckpoint(opts.checkpoint, {
        config,
        epoch: epoch + 1,
        params,
        best,
        bestEpoch,
        bestValLoss,
        adam: await engine.getOptimizerState(),
        rng: shuffler.state(),
        history,
        fingerprint,
      });
    }
  }
  feedback.progress(100);
  const final = await engine.getParams();
  if (val.length === 0)
    // say why: a fraction of 0, or one that rounds to no pixel of a small set (it once printed 0 for a given 0.2)
    feedback.log(
      'warning',
      `no validation pixels (--val-fraction ${opts.valFraction} of ${perm.length} pixels): ` +
        'the best weights are the final ones',
    );
  return {
    best,
    final,
    bestEpoch,
    bestValLoss,
    history,
    nTrain: train.length,
    nVal: val.length,
    nDropped,
    resumedFrom: startEpoch,
  };
}
