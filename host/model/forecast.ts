// Forecasting with a trained model.
//
// API for other modules (e.g. `dpm inspect`):
//
//   forecastSequences(engine, x, N, T, { obs?, series?, feedback? }): Promise<ForecastResult>
//     x [N, T, F] logit coherence (NaN = missing step); obs [N] the co-event logit coherence (optional).
//     Returns per sequence the co-event forecast mu, sigma (logit space) and z = (mu − obs)/sigma (NaN without obs),
//     and with `series` the one-step forecasts of every step, [N, T+1] row-major: column k < T forecasts x_k from
//     x_0..x_{k−1}, column T is the co-event forecast; z_k = (mu_k − x_k)/sigma_k (column T uses obs).
//     Sequences with fewer than 2 valid values get NaN everywhere (counted in `nUnusable`). Chunked by
//     engine.maxBatch(T), so any N runs; progress and cancellation between chunks.
//
//   forecastPixels(engine, stack, pixels: {row, col}[], split, timeFeatures?, sigmaScale?): Promise<PixelForecast[]>
//     A few pixels of a CoherenceStack (split from series.ts splitBands): per pixel the pair labels, observed
//     coherence and logit, and mu/sigma/z/expected coherence for every step plus the co-event one.
//
// Missing data: a NaN step is fed the model's own forecast mean (engine contract) and has z_k = NaN.
import { DpmError } from '../core/errors.js';
import { throwIfCanceled, silentFeedback, type Feedback } from '../core/feedback.js';
import type { ForecasterEngine } from './engine.js';
import type { CoherenceStack } from '../raster/types.js';
import {
  MIN_VALID,
  coherenceToLogit,
  fillTimeFeatures,
  logitToCoherence,
  type BandSplit,
  type TimeFeature,
} from './series.js';

export interface ForecastOptions {
  obs?: Float32Array;
  series?: boolean;
  feedback?: Feedback;
  /** multiplies every σ (a variance scaling fitted by dpm calibrate, `training.sigmaScale` in the model file) */
  sigmaScale?: number;
  /** largest chunk per engine call (default engine.maxBatch(T), at most 65,536 for responsive progress) */
  chunk?: number;
}

/** `training.sigmaScale` of a model file (dpm calibrate --fit-scale), 1 when absent */
export function modelSigmaScale(training: Record<string, unknown> | undefined, source: string): number {
  const s = training?.sigmaScale ?? 1;
  if (typeof s !== 'number' || !(s > 0) || !Number.isFinite(s))
    throw new DpmError(`${source}: training.sigmaScale must be a positive number, got ${JSON.stringify(s)}`);
  return s;
}

export interface ForecastResult {
  mu: Float32Array;
  sigma: Float32Array;
  z: Float32Array;
  series?: { mu: Float32Array; sigma: Float32Array; z: Float32Array };
  nUnusable: number;
}

export async function forecastSequences(
  engine: ForecasterEngine,
  x: Float32Array,
  N: number,
  T: number,
  opts: ForecastOptions = {},
): Promise<ForecastResult> {
  const F = engine.config.features;
  const stride = T * F;
  const fb = opts.feedback ?? silentFeedback;
  if (x.length !== N * stride) throw new Error(`internal: x has ${x.length} values for ${N}×${T}×${F}`);
  if (opts.obs && opts.obs.length !== N) throw new Error('internal: obs length');
  const mu = new Float32Array(N).fill(NaN);
  const sigma = new Float32Array(N).fill(NaN);
  const z = new Float32Array(N).fill(NaN);
  const T1 = T + 1;
  const series = opts.series
    ? {
        mu: new Float32Array(N * T1).fill(NaN),
        sigma: new Float32Array(N * T1).fill(NaN),
        z: new Float32Array(N * T1).fill(NaN),
      }
    : undefined;
  // usable sequences, in order
  const ids: number[] = [];
  for (let i = 0; i < N; i++) {
    let n = 0;
    for (let t = 0; t < T; t++) if (!Number.isNaN(x[i * stride + t * F]!)) n++;
    if (n >= MIN_VALID) ids.push(i);
  }
  const chunk = Math.max(1, opts.chunk ?? Math.min(engine.maxBatch(T), 65536));
  const scale = opts.sigmaScale ?? 1;
  for (let from = 0; from < ids.length; from += chunk) {
    throwIfCanceled(fb);
    const n = Math.min(chunk, ids.length - from);
    const batch = new Float32Array(n * stride);
    for (let j = 0; j < n; j++)
      batch.set(x.subarray(ids[from + j]! * stride, (ids[from + j]! + 1) * stride), j * stride);
    const out = await engine.forecast(batch, n, T);
    for (let j = 0; j < n; j++) {
      const i = ids[from + j]!;
      const m = out.mu[j * T1 + T]!;
      const s = scale * Math.sqrt(Math.exp(out.logvar[j * T1 + T]!));
      mu[i] = m;
      sigma[i] = s;
      if (opts.obs) z[i] = (m - opts.obs[i]!) / s;
      if (series) {
        for (let k = 0; k <= T; k++) {
          const mk = out.mu[j * T1 + k]!;
          const sk = scale * Math.sqrt(Math.exp(out.logvar[j * T1 + k]!));
          const xk = k < T ? x[i * stride + k * F]! : opts.obs ? opts.obs[i]! : NaN;
          series.mu[i * T1 + k] = mk;
          series.sigma[i * T1 + k] = sk;
          series.z[i * T1 + k] = (mk - xk) / sk;
        }
      }
    }
    fb.progress((100 * (from + n)) / ids.length, 'forecast');
    await new Promise<void>((r) => setImmediate(r));
  }
  return { mu, sigma, z, series, nUnusable: N - ids.length };
}

export interface PixelForecast {
  row: number;
  col: number;
  /** band labels YYYYMMDD_YYYYMMDD of the pre-event steps and then the co-event pair */
  pairs: string[];
  /** observed coherence and its logit, T pre-event values then the co-event one (NaN = missing) */
  coherence: number[];
  x: number[];
  /** one-step forecasts for the same T + 1 steps */
  mu: number[];
  sigma: number[];
  z: number[];
  /** √sigmoid(μ): the coherence the model expected */
  expectedCoherence: number[];
  /** fewer than 2 valid pre-event values: everything NaN */
  usable: boolean;
}

export async function forecastPixels(
  engine: ForecasterEngine,
  stack: CoherenceStack,
  pixels: { row: number; col: number }[],
  split: BandSplit,
  timeFeatures: readonly TimeFeature[] = [],
  sigmaScale = 1,
): Promise<PixelForecast[]> {
  const F = 1 + timeFeatures.length;
  if (engine.config.features !== F)
    throw new DpmError(`this model takes ${engine.config.features} features per step; forecastPixels builds ${F}`);
  const T = split.pre.length;
  const N = pixels.length;
  const x = new Float32Array(N * T * F);
  const obs = new Float32Array(N).fill(NaN);
  const bands = split.coEvent !== undefined ? [...split.pre, split.coEvent] : split.pre;
  for (const [j, p] of pixels.entries()) {
    if (
      !(
        p.row >= 0 &&
        p.row < stack.height &&
        p.col >= 0 &&
        p.col < stack.width &&
        Number.isInteger(p.row) &&
        Number.isInteger(p.col)
      )
    ) {
      throw new DpmError(
        `pixel (row ${p.row}, col ${p.col}) is outside ${stack.source ?? 'the stack'} (${stack.height} rows × ${stack.width} columns)`,
      );
    }
    const at = p.row * stack.width + p.col;
    for (let t = 0; t < T; t++) x[(j * T + t) * F] = coherenceToLogit(stack.bands[split.pre[t]!]![at]!);
    if (split.coEvent !== undefined) obs[j] = coherenceToLogit(stack.bands[split.coEvent]![at]!);
  }
  fillTimeFeatures(x, N, stack, split.pre, split.coEvent, timeFeatures);
  const r = await forecastSequences(engine, x, N, T, { obs, series: true, sigmaScale });
  const label = (k: number) =>
    stack.pairs[k] ? `${stack.pairs[k]!.first}_${stack.pairs[k]!.second}` : `band ${k + 1}`;
  return pixels.map((p, j) => {
    const at = p.row * stack.width + p.col;
    const coherence = bands.map((k) => stack.bands[k]![at]!);
    const xs = coherence.map(coherenceToLogit);
    const sl = (a: Float32Array) => Array.from(a.subarray(j * (T + 1), j * (T + 1) + bands.length));
    const mu = sl(r.series!.mu);
    return {
      row: p.row,
      col: p.col,
      pairs: bands.map(label),
      coherence,
      x: xs,
      mu,
      sigma: sl(r.series!.sigma),
      z: sl(r.series!.z),
      expectedCoherence: mu.map(logitToCoherence),
      usable: !Number.isNaN(r.mu[j]!),
    };
  });
}
