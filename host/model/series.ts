// From a coherence stack to the forecaster's sequences (ARCHITECTURE.md data flow, host/series step).
// x = log(γ²/(1−γ²)) with γ clipped to [1e-6, 1 − 1e-6], computed in float64; NaN stays NaN (a missing step).
// Which bands are pre-event: `preEventBands` N (bands 0..N−1, band N is the co-event pair), or `eventDate`
// (bands whose pair ends on/before the date are pre-event; the co-event pair is the one spanning the date), or by
// default the last band is the co-event pair and all earlier ones are pre-event.
import { DpmError } from '../core/errors.js';
import type { Feedback } from '../core/feedback.js';
import { daysBetween } from '../raster/pairs.js';
import type { CoherenceStack } from '../raster/types.js';

export const GAMMA_MIN = 1e-6;
export const GAMMA_MAX = 1 - 1e-6;

/** logit of squared coherence, γ clipped to [1e-6, 1 − 1e-6]; NaN → NaN */
export function coherenceToLogit(gamma: number): number {
  if (Number.isNaN(gamma)) return NaN;
  const g = Math.min(GAMMA_MAX, Math.max(GAMMA_MIN, gamma));
  const g2 = g * g;
  return Math.log(g2 / (1 - g2));
}

/** the inverse: γ = √(sigmoid(x)) (expected coherence from a forecast mean μ) */
export function logitToCoherence(x: number): number {
  if (Number.isNaN(x)) return NaN;
  // sigmoid written to stay finite for large |x|
  const s = x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
  return Math.sqrt(s);
}

export interface BandSplit {
  /** indices of the pre-event bands, in time order */
  pre: number[];
  /** index of the co-event band, undefined when none is needed/present (training on all bands) */
  coEvent?: number;
  /** one line for the log */
  describe: string;
}

export interface SplitOptions {
  preEventBands?: number;
  eventDate?: string;
}

/**
 * Chooses the pre-event and co-event bands. `needCoEvent` (forecast) requires a co-event band; training accepts
 * preEventBands equal to the band count (all bands are pre-event).
 */
export function splitBands(stack: CoherenceStack, opts: SplitOptions, needCoEvent: boolean): BandSplit {
  const K = stack.bands.length;
  const src = stack.source ?? 'coherence stack';
  const label = (k: number) => {
    const p = stack.pairs[k];
    return p ? `${p.first}_${p.second}` : `band ${k + 1}`;
  };
  if (opts.preEventBands !== undefined && opts.eventDate !== undefined) {
    throw new DpmError('give either --pre-event-bands or --event-date, not both');
  }
  let pre: number[];
  let coEvent: number | undefined;
  if (opts.eventDate !== undefined) {
    const d = opts.eventDate;
    if (!/^\d{8}$/.test(d)) throw new DpmError(`--event-date must be YYYYMMDD, got '${d}'`);
    if (stack.pairs.length !== K) throw new DpmError(`${src}: --event-date needs the acquisition dates of every band`);
    pre = [];
    for (let k = 0; k < K; k++) if (stack.pairs[k]!.second <= d) pre.push(k);
    const span = stack.pairs.findIndex((p) => p.first <= d && d < p.second);
    coEvent = span >= 0 ? span : undefined;
    if (needCoEvent && coEvent === undefined) {
      const first = stack.pairs[0]!.first,
        last = stack.pairs[K - 1]!.second;
      throw new DpmError(`${src}: no band's pair spans the event date ${d} (the stack covers ${first}–${last})`);
    }
    if (coEvent !== undefined && pre.some((k) => k > coEvent!))
      throw new DpmError(`${src}: bands are not in time order`);
  } else if (opts.preEventBands !== undefined) {
    const n = opts.preEventBands;
    if (!Number.isInteger(n) || n < 1) throw new DpmError(`--pre-event-bands must be a whole number ≥ 1, got ${n}`);
    const maxN = needCoEvent ? K - 1 : K;
    if (n > maxN) {
      throw new DpmError(
        `--pre-event-bands ${n}: ${src} has ${K} band${K === 1 ? '' : 's'}` +
          (needCoEvent ? `; at most ${K - 1} can be pre-event, one must remain for the co-event pair` : ''),
      );
    }
    pre = Array.from({ length: n }, (_, k) => k);
    coEvent = n < K ? n : undefined;
  } else {
    if (K < 2) {
      throw new DpmError(
        `${src}: has ${K} band${K === 1 ? '' : 's'}; at least 2 are needed (pre-event pairs and the co-event pair as the last band)`,
      );
    }
    pre = Array.from({ length: K - 1 }, (_, k) => k);
    coEvent = K - 1;
  }
  if (pre.length < 1) throw new DpmError(`${src}: no pre-event band before ${opts.eventDate ?? 'the co-event pair'}`);
  const describe =
    `pre-event: ${pre.length} band${pre.length === 1 ? '' : 's'} (${label(pre[0]!)} … ${label(pre[pre.length - 1]!)})` +
    (coEvent !== undefined ? `; co-event: ${label(coEvent)}` : '; no co-event band');
  return { pre, coEvent, describe };
}

/** splitBands from the pairs alone, before any pixel is read (one band per pair). */
export function splitPairs(
  stack: Pick<CoherenceStack, 'pairs' | 'source'>,
  opts: SplitOptions,
  needCoEvent: boolean,
): BandSplit {
  const { pairs, source } = stack;
  const bands = pairs.map(() => new Float32Array(0));
  return splitBands({ width: 0, height: 0, bands, descriptions: [], georef: {}, pairs, source }, opts, needCoEvent);
}

/**
 * Extra input features a model may take after the logit coherence (feature 0), recorded in the model file
 * (`training.timeFeatures`). 'span': the temporal baseline of the NEXT pair in the sequence, days / SPAN_SCALE_DAYS.
 * The GRU reads step k's features before the decoder forecasts step k + 1 from h_{k+1}, so the forecast of a pair
 * knows that pair's own time span (the co-event forecast knows the co-event span). The gap since the previous pair
 * is not a separate feature: stacks are chains of consecutive pairs (raster/stack.ts), where it equals the span.
 * An unknown span (no dates, or after the last band) is 0: engines refuse NaN in features other than feature 0.
 */
export type TimeFeature = 'span';
export const TIME_FEATURES: readonly TimeFeature[] = ['span'];
/** span feature = days / 36 (the longest span of a 12-day Sentinel-1 chain missing two passes): values near 1 */
export const SPAN_SCALE_DAYS = 36;

/** Reads `training.timeFeatures` of a model file; checks it against the model's feature count. */
export function modelTimeFeatures(features: number, training: Record<string, unknown> | undefined, source: string) {
  const raw = training?.timeFeatures ?? [];
  const list = Array.isArray(raw) ? raw : [];
  const known = list.filter((f): f is TimeFeature => (TIME_FEATURES as readonly unknown[]).includes(f));
  if (known.length !== list.length || known.length + 1 !== features) {
    throw new DpmError(
      `${source}: the model takes ${features} features per step but its metadata names the time features ` +
        `${JSON.stringify(raw)} (known: logit coherence first, then ${TIME_FEATURES.join(', ')})`,
    );
  }
  return known;
}

/**
 * [T] values of one time feature along a sequence of bands `seq` (time order): step t carries the span of band
 * seq[t + 1] (0 after the last band unless `next` names the band that follows, e.g. the co-event pair).
 */
export function spanFeature(stack: CoherenceStack, seq: number[], next?: number): Float64Array {
  const out = new Float64Array(seq.length);
  for (let t = 0; t < seq.length; t++) {
    const k = t + 1 < seq.length ? seq[t + 1] : next;
    const p = k !== undefined ? stack.pairs[k] : undefined;
    if (p) out[t] = daysBetween(p.first, p.second) / SPAN_SCALE_DAYS;
  }
  return out;
}

/** Writes the time features into x [N, T, F] (features 1…F−1) for the pixels' common band sequence. */
export function fillTimeFeatures(
  x: Float32Array,
  N: number,
  stack: CoherenceStack,
  seq: number[],
  next: number | undefined,
  features: readonly TimeFeature[],
): void {
  const T = seq.length,
    F = features.length + 1;
  features.forEach((_kind, j) => {
    const values = spanFeature(stack, seq, next); // the only kind today
    for (let i = 0; i < N; i++) for (let t = 0; t < T; t++) x[(i * T + t) * F + 1 + j] = values[t]!;
  });
}

export interface PixelSeries {
  width: number;
  height: number;
  /** pixels = width × height, row-major */
  N: number;
  /** pre-event steps */
  T: number;
  /** features per step: 1 (logit coherence) + the time features */
  F: number;
  /** [N, T, F] logit coherence of the pre-event bands, float32 (computed in float64), NaN = missing; then the time
   *  features of each step */
  x: Float32Array;
  /** [N] logit coherence of the co-event band (NaN if none or missing) */
  obs: Float32Array;
  /** [N] 1 when the pixel has at least MIN_VALID pre-event values */
  usable: Uint8Array;
  /** pixels with fewer than MIN_VALID valid pre-event values */
  nUnusable: number;
  split: BandSplit;
}

/** a pixel needs this many valid pre-event values to be trained on or forecast */
export const MIN_VALID = 2;

/** Builds per-pixel sequences; logs how many pixels have too few valid values. */
export function buildSeries(
  stack: CoherenceStack,
  split: BandSplit,
  feedback?: Feedback,
  timeFeatures: readonly TimeFeature[] = [],
): PixelSeries {
  const { width, height } = stack;
  const N = width * height,
    T = split.pre.length,
    F = 1 + timeFeatures.length;
  const x = new Float32Array(N * T * F);
  const obs = new Float32Array(N).fill(NaN);
  const usable = new Uint8Array(N);
  let nUnusable = 0;
  for (let t = 0; t < T; t++) {
    const band = stack.bands[split.pre[t]!]!;
    for (let i = 0; i < N; i++) x[(i * T + t) * F] = coherenceToLogit(band[i]!);
  }
  if (F > 1) {
    if (stack.pairs.length !== stack.bands.length)
      feedback?.log('warning', `${stack.source ?? 'coherence stack'}: no pair dates: time spans fed as 0`);
    fillTimeFeatures(x, N, stack, split.pre, split.coEvent, timeFeatures);
  }
  if (split.coEvent !== undefined) {
    const band = stack.bands[split.coEvent]!;
    for (let i = 0; i < N; i++) obs[i] = coherenceToLogit(band[i]!);
  }
  for (let i = 0; i < N; i++) {
    let n = 0;
    for (let t = 0; t < T; t++) if (!Number.isNaN(x[(i * T + t) * F]!)) n++;
    if (n >= MIN_VALID) usable[i] = 1;
    else nUnusable++;
  }
  feedback?.log('info', split.describe);
  if (nUnusable > 0) {
    feedback?.log(
      'warning',
      `${nUnusable} of ${N} pixels have fewer than ${MIN_VALID} valid pre-event values: left out (NaN outputs)`,
    );
  }
  return { width, height, N, T, F, x, obs, usable, nUnusable, split };
}
