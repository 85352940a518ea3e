// Baseline damage proxies on the coherence grid, each oriented so that larger = more likely damaged (like the RNN z):
//
//   ccd         γ_pre − γ_co                               ARIA DPM1 "COD" (notes/dpm-methods.md §2.1, aria-jpl/slcp2cod):
//                                                          pre = the last pre-event pair, co = the co-event pair.
//   nd          (γ_pre − γ_co) / (γ_pre + γ_co + 1e-8)      normalised coherence difference (notes §2.3; Jung & Yun 2020,
//                                                          yunjunz/2025-Myanmar-EQ calculate_difference), in [−1, 1].
//   zscore      (mean_pre − γ_co) / max(std_pre, σ_min)     multi-temporal z of the co-event coherence against all
//                                                          pre-event pairs (notes §4.1; std with K−1, σ_min 0.02).
//   percentile  1 − (#{γ_k < γ_co} + ½·#{γ_k = γ_co}) / K   1 − mid-rank percentile of γ_co in the pixel's own
//                                                          pre-event history (Olen & Bookhagen 2018; notes §4.2), [0, 1].
//
// NaN handling: NaN is nodata (the stack contract). ccd and nd are NaN where γ_pre or γ_co is NaN. zscore and
// percentile skip NaN pre-event values and need at least MIN_HISTORY valid ones (else NaN); NaN γ_co → NaN.
// A coherence of 0 is a value, not nodata (files that use 0 as nodata are read with --nodata 0 upstream).
// Sums are accumulated in float64; outputs are float32.
import { SIGMA_MIN } from '../core/defaults.js';
import { DpmError } from '../core/errors.js';
import { checkpoint, silentFeedback, type Feedback } from '../core/feedback.js';
import type { CoherenceStack } from '../raster/types.js';

export type BaselineMethod = 'ccd' | 'nd' | 'zscore' | 'percentile';
export const BASELINE_METHODS: readonly BaselineMethod[] = ['ccd', 'nd', 'zscore', 'percentile'];

/** Which bands are pre-event and which is the co-event pair (host/model/series.ts splitBands gives one). */
export interface BaselineSplit {
  pre: number[];
  coEvent?: number;
}

export const ND_EPSILON = 1e-8;
export const DEFAULT_SIGMA_MIN = SIGMA_MIN;
/** zscore and percentile need this many valid pre-event values in a pixel */
export const MIN_HISTORY = 2;

export interface BaselineOptions {
  /** zscore: floor of the pre-event standard deviation, so a very stable pixel does not blow up (default 0.02) */
  sigmaMin?: number;
  feedback?: Feedback;
}

/** The pre-event bands (the last one apart) and the co-event band, each checked to cover the whole grid: a read at
 *  a pixel index below width × height is then never out of range. */
function bandsOf(
  stack: CoherenceStack,
  split: BaselineSplit,
  what: string,
): { pre: Float32Array[]; last: Float32Array; co: Float32Array } {
  if (split.coEvent === undefined) throw new DpmError(`${what}: needs a co-event band (the pair spanning the event)`);
  if (split.pre.length === 0) throw new DpmError(`${what}: needs at least one pre-event band`);
  const n = stack.width * stack.height;
  const get = (k: number) => {
    const b = stack.bands[k];
    if (!b || b.length !== n) throw new Error(`internal: band ${k} missing or of the wrong size`);
    return b;
  };
  const pre = split.pre.map(get);
  const last = pre.at(-1);
  if (!last) throw new DpmError(`${what}: needs at least one pre-event band`);
  return { pre, last, co: get(split.coEvent) };
}

/** Band values read per block between two cancellation checkpoints: a few ms of work, so the yields cost nothing. */
const VALUES_PER_BLOCK = 1 << 20;

/** One baseline as a float32 band of the stack's grid. Yields between blocks so that Ctrl-C is heard (checkpoint). */
export async function computeBaseline(
  method: BaselineMethod,
  stack: CoherenceStack,
  split: BaselineSplit,
  opts: BaselineOptions = {},
): Promise<Float32Array> {
  const fb = opts.feedback ?? silentFeedback;
  const { pre, last, co } = bandsOf(stack, split, method);
  const n = stack.width * stack.height;
  const out = new Float32Array(n);
  const sigmaMin = opts.sigmaMin ?? DEFAULT_SIGMA_MIN;
  if (!(sigmaMin >= 0)) throw new DpmError(`--sigma-min must be ≥ 0, got ${sigmaMin}`);
  const K = pre.length;
  if ((method === 'zscore' || method === 'percentile') && K < MIN_HISTORY) {
    throw new DpmError(`${method}: needs at least ${MIN_HISTORY} pre-event bands, the split has ${K}`);
  }
  const block = Math.max(4096, Math.floor(VALUES_PER_BLOCK / (K + 1)));
  for (let i0 = 0; i0 < n; i0 += block) {
    await checkpoint(fb);
    fb.progress((100 * i0) / n, method);
    const i1 = Math.min(n, i0 + block);
    for (let i = i0; i < i1; i++) {
      // i < n and bandsOf checked every band's length: `?? NaN` never fires (NaN is nodata anyway)
      const c = co[i] ?? NaN;
      if (Number.isNaN(c)) {
        out[i] = NaN;
        continue;
      }
      const lastPre = last[i] ?? NaN;
      switch (method) {
        case 'ccd':
          out[i] = lastPre - c;
          break; // NaN γ_pre propagates
        case 'nd':
          out[i] = (lastPre - c) / (lastPre + c + ND_EPSILON);
          break;
        case 'zscore': {
          let s = 0,
            m = 0;
          for (const band of pre) {
            const v = band[i] ?? NaN;
            if (!Number.isNaN(v)) {
              s += v;
              m++;
            }
          }
          if (m < MIN_HISTORY) {
            out[i] = NaN;
            break;
          }
          const mean = s / m;
          let ss = 0;
          for (const band of pre) {
            const v = band[i] ?? NaN;
            if (!Number.isNaN(v)) ss += (v - mean) * (v - mean);
          }
          out[i] = (mean - c) / Math.max(Math.sqrt(ss / (m - 1)), sigmaMin);
          break;
        }
        case 'percentile': {
          let below = 0,
            equal = 0,
            m = 0;
          for (const band of pre) {
            const v = band[i] ?? NaN;
            if (Number.isNaN(v)) continue;
            m++;
            if (v < c) below++;
            else if (v === c) equal++;
          }
          out[i] = m < MIN_HISTORY ? NaN : 1 - (below + 0.5 * equal) / m;
          break;
        }
      }
    }
  }
  fb.progress(100, method);
  return out;
}

/** Band description for the output GeoTIFF, naming the pairs used. */
export function describeBaseline(
  method: BaselineMethod,
  stack: CoherenceStack,
  split: BaselineSplit,
  sigmaMin = DEFAULT_SIGMA_MIN,
): string {
  const lab = (k: number | undefined) => {
    const p = k === undefined ? undefined : stack.pairs[k];
    return p ? `${p.first}_${p.second}` : `band ${(k ?? -1) + 1}`;
  };
  const co = lab(split.coEvent),
    last = lab(split.pre[split.pre.length - 1]);
  // ASCII only: band descriptions travel through GDAL, QGIS and shell tools
  const hist = `${split.pre.length} pre-event pairs ${lab(split.pre[0])}..${last}`;
  switch (method) {
    case 'ccd':
      return `CCD coherence loss ${last} - ${co}`;
    case 'nd':
      return `normalised coherence difference (${last} - ${co})/(sum + 1e-8)`;
    case 'zscore':
      return `coherence z-score (mean - ${co})/max(std, ${sigmaMin}) over ${hist}`;
    case 'percentile':
      return `1 - percentile rank of ${co} among ${hist}`;
  }
}
