// Monitoring (dpm monitor-init, dpm monitor-update): each pixel's GRU state kept between acquisitions so that a new
// pair costs one GRU step and one decode per pixel, without re-reading the history.
//
// The state after bands 0..K−1 is h_{K−1} (the GRU has read steps 0..K−2) plus the last logit x_{K−1}, not yet fed:
// with --time-baseline the GRU input of step K−1 carries the span of pair K, known only when pair K arrives. An
// update with pair K feeds (x_{K−1} or, when missing, the state's own μ; span of pair K) → h_K, decodes h_K into the
// forecast (μ_K, σ_K) of pair K, scores z = (μ_K − x_K)/σ_K and keeps x_K. This is exactly the one-step forecast of
// a full `dpm forecast` over the extended stack (bands 0..K−1 pre-event, pair K co-event): same z, also for pixels
// with fewer than MIN_VALID valid values before pair K (NaN), whose state still advances.
import { createHash } from 'node:crypto';
import { DpmError } from '../core/errors.js';
import { checkpoint, silentFeedback, throwIfCanceled, type Feedback } from '../core/feedback.js';
import type { ModelConfig } from '../model/params.js';
import { readSafetensors, writeSafetensors, type Tensor } from '../model/safetensors.js';
import type { GruStepper } from '../model/step.js';
import { MIN_VALID, SPAN_SCALE_DAYS, buildSeries, coherenceToLogit, type TimeFeature } from '../model/series.js';
import { daysBetween, type Pair } from '../raster/pairs.js';
import type { CoherenceStack, Georef } from '../raster/types.js';
import { emptyAlerts, type AlertRules, type AlertState } from './alerts.js';
import { stepAllPixels } from './parallel.js';

export interface MonitorState {
  config: ModelConfig;
  timeFeatures: TimeFeature[];
  /** the model's packed parameters (a few thousand floats for the fast model): updates need no model file */
  params: Float32Array;
  /** sha256 of `params`, checked on reading */
  modelHash: string;
  width: number;
  height: number;
  georef: Georef;
  /** every pair monitored so far, in time order (the init stack's, then one per update) */
  pairs: Pair[];
  /** how many of `pairs` came from the init stack (pass number p ≥ 1 is pairs[initPairs + p − 1]) */
  initPairs: number;
  rules: AlertRules;
  /** σ multiplier of the model (dpm calibrate --fit-scale; 1 without) */
  sigmaScale: number;
  /** [N, H] the GRU state after every pair but the last */
  hidden: Float32Array;
  /** [N] logit coherence of the last pair (NaN = missing), fed at the next update */
  last: Float32Array;
  /** [N] valid values so far */
  valid: Float32Array;
  alerts: AlertState;
  /** set when the state was made from SLCs (monitor-init --slc): what monitor-update --slc needs for the next pair */
  slc?: SlcSource;
}

/** The newest SLC monitored and the coherence settings of every pair (as dpm coherence's --chip/--stride/--window). */
export interface SlcSource {
  /** absolute path and YYYYMMDD date of the newest acquisition: the first SLC of the next pair */
  last: { path: string; date: string };
  chip: string;
  stride?: string;
  window?: string;
}

export function paramsHash(params: Float32Array): string {
  return createHash('sha256')
    .update(new Uint8Array(params.buffer, params.byteOffset, params.byteLength))
    .digest('hex')
    .slice(0, 32);
}

const CHUNK = 16384; // pixels between progress reports and cancellation checks
const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

/** The state after a forecast over every band of `stack` (the last band is kept as `last`). */
export async function initMonitor(
  stepper: GruStepper,
  modelParams: Float32Array,
  stack: CoherenceStack,
  timeFeatures: TimeFeature[],
  rules: AlertRules,
  sigmaScale: number,
  feedback: Feedback = silentFeedback,
): Promise<MonitorState> {
  const K = stack.bands.length;
  if (stack.pairs.length !== K)
    throw new DpmError(`${stack.source ?? 'coherence stack'}: monitoring needs the acquisition dates of every band`);
  const pre = Array.from({ length: K - 1 }, (_, k) => k);
  const series = buildSeries(stack, { pre, coEvent: K - 1, describe: `${K} pairs` }, undefined, timeFeatures);
  const { N, T, F } = series;
  const H = stepper.H;
  const hidden = new Float32Array(N * H);
  for (let from = 0; from < N; from += CHUNK) {
    throwIfCanceled(feedback);
    const n = Math.min(CHUNK, N - from);
    hidden.set(stepper.run(series.x.subarray(from * T * F, (from + n) * T * F), n, T), from * H);
    feedback.progress((100 * (from + n)) / N, 'monitor state');
    await yieldToEventLoop();
  }
  const valid = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    let v = Number.isNaN(series.obs[i]!) ? 0 : 1;
    for (let t = 0; t < T; t++) if (!Number.isNaN(series.x[(i * T + t) * F]!)) v++;
    valid[i] = v;
  }
  return {
    config: stepper.config,
    timeFeatures,
    params: modelParams,
    modelHash: paramsHash(modelParams),
    width: stack.width,
    height: stack.height,
    georef: { geoTransform: stack.georef.geoTransform, epsg: stack.georef.epsg },
    pairs: stack.pairs.slice(),
    initPairs: K,
    rules,
    sigmaScale,
    hidden,
    last: series.obs,
    valid,
    alerts: emptyAlerts(N),
  };
}

export interface PassResult {
  /** [N] forecast of the new pair (logit) and its z; NaN where the pixel had < MIN_VALID valid values */
  mu: Float32Array;
  sigma: Float32Array;
  z: Float32Array;
  /** pass number of this update (1 = the first after init) */
  pass: number;
}

/**
 * Advances every pixel one step with the new pair's coherence [N] on `threads` worker threads (parallel.ts);
 * updates `state` in place (not the alerts).
 */
export async function advanceMonitor(
  state: MonitorState,
  coherence: Float32Array,
  pair: Pair,
  feedback: Feedback = silentFeedback,
  threads?: number,
): Promise<PassResult> {
  const N = state.width * state.height;
  if (coherence.length !== N) throw new Error('internal: coherence size');
  const prev = state.pairs[state.pairs.length - 1]!;
  if (pair.first !== prev.second) {
    throw new DpmError(
      `pair ${pair.first}_${pair.second} does not follow the last monitored pair ${prev.first}_${prev.second}: ` +
        `the next pair must start on ${prev.second}`,
    );
  }
  const F = state.config.features;
  const u = new Float32Array(N * F);
  const span = daysBetween(pair.first, pair.second) / SPAN_SCALE_DAYS;
  for (let i = 0; i < N; i++) {
    u[i * F] = state.last[i]!;
    for (let f = 1; f < F; f++) u[i * F + f] = span; // 'span', the only time feature
  }
  const step = await stepAllPixels(state.config, state.params, state.hidden, u, threads, feedback);
  const mu = new Float32Array(N).fill(NaN);
  const sigma = new Float32Array(N).fill(NaN);
  const z = new Float32Array(N).fill(NaN);
  for (let i = 0; i < N; i++) {
    const x = coherenceToLogit(coherence[i]!);
    if (state.valid[i]! >= MIN_VALID) {
      const m = step.mu[i]!;
      const s = state.sigmaScale * Math.sqrt(Math.exp(step.logvar[i]!));
      mu[i] = m;
      sigma[i] = s;
      z[i] = (m - x) / s;
    }
    state.last[i] = x;
    if (!Number.isNaN(x)) state.valid[i]!++;
  }
  state.pairs.push(pair);
  return { mu, sigma, z, pass: state.pairs.length - state.initPairs };
}

// ---- the state file: one safetensors file, arrays as float32 tensors (integers < 2^24 are exact) ----

const KIND = 'insar-dpm monitor state';

/** Writes the state file; converts one tensor per event-loop turn so that Ctrl-C is heard on large grids. */
export async function writeMonitorState(
  path: string,
  s: MonitorState,
  atomic = true,
  fb: Feedback = silentFeedback,
): Promise<void> {
  const N = s.width * s.height;
  const tensors: Tensor[] = [];
  const t = async (name: string, data: ArrayLike<number>, shape = [N]) => {
    await checkpoint(fb);
    tensors.push({ name, shape, data: data instanceof Float32Array ? data : Float32Array.from(data) });
  };
  const { hidden, last, valid, alerts, params, ...meta } = s;
  await t('params', params, [params.length]);
  await t('hidden', hidden, [N, s.config.hidden]);
  await t('last', last);
  await t('valid', valid);
  await t('alert.state', alerts.state);
  await t('alert.count', alerts.count);
  await t('alert.quiet', alerts.quiet);
  await t('alert.first', alerts.first);
  await t('alert.last', alerts.last);
  await checkpoint(fb);
  writeSafetensors(path, tensors, { kind: KIND, state: JSON.stringify(meta) }, atomic);
}

/** Reads the state file; converts one tensor per event-loop turn so that Ctrl-C is heard on large grids. */
export async function readMonitorState(path: string, fb: Feedback = silentFeedback): Promise<MonitorState> {
  await checkpoint(fb);
  const { tensors, metadata } = readSafetensors(path);
  if (metadata.kind !== KIND || !metadata.state)
    throw new DpmError(`${path}: not an insar-dpm monitor state (make one with dpm monitor-init)`);
  let meta: Omit<MonitorState, 'hidden' | 'last' | 'valid' | 'alerts' | 'params'>;
  try {
    meta = JSON.parse(metadata.state);
  } catch {
    throw new DpmError(`${path}: monitor state metadata is not JSON`);
  }
  const N = meta.width * meta.height;
  const get = async (name: string, size = N) => {
    await checkpoint(fb);
    const x = tensors.get(name);
    if (!x || x.data.length !== size) throw new DpmError(`${path}: tensor ${name} is missing or has the wrong size`);
    return x.data;
  };
  const params = tensors.get('params')?.data;
  if (!params || paramsHash(params) !== meta.modelHash)
    throw new DpmError(`${path}: the model parameters in the state are missing or damaged`);
  return {
    ...meta,
    params,
    hidden: await get('hidden', N * meta.config.hidden),
    last: await get('last'),
    valid: await get('valid'),
    alerts: {
      state: Uint8Array.from(await get('alert.state')),
      count: Uint16Array.from(await get('alert.count')),
      quiet: Uint16Array.from(await get('alert.quiet')),
      first: Uint32Array.from(await get('alert.first')),
      last: Uint32Array.from(await get('alert.last')),
    },
  };
}
