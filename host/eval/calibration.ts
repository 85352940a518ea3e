// Is the forecast distribution right on data without an event? On held-out pre-event pairs z = (μ − x)/σ should be
// standard normal: mean 0, sd 1, the central 68/95/99 % intervals μ ± q σ cover 68/95/99 % of the observations, and
// the probability integral transform PIT = Φ((x − μ)/σ) = Φ(−z) is uniform (flat histogram). Calibration by
// level: the same numbers per band of the model's expected coherence √sigmoid(μ).
// A variance scale s (σ → s σ) fitted by maximum likelihood on held-out z is √(mean z²).
import { jStat } from './points/jstat.js';

export const COVERAGE_LEVELS = [0.68, 0.95, 0.99] as const;
export const PIT_BINS = 10;

export interface CalibrationStats {
  /** finite z values used */
  n: number;
  meanZ: number;
  sdZ: number;
  /** share of |z| ≤ Φ⁻¹((1 + level)/2), per COVERAGE_LEVELS */
  coverage: number[];
  /** share of PIT values per bin [k/PIT_BINS, (k+1)/PIT_BINS) */
  pitHistogram: number[];
}

/** Calibration numbers of a set of z-scores (NaN and ±Infinity left out). */
export function calibrationStats(z: ArrayLike<number>): CalibrationStats {
  const q = COVERAGE_LEVELS.map((p) => jStat.normal.inv((1 + p) / 2, 0, 1));
  const covered = new Array<number>(q.length).fill(0);
  const pit = new Array<number>(PIT_BINS).fill(0);
  let n = 0,
    sum = 0,
    sum2 = 0;
  for (let i = 0; i < z.length; i++) {
    const v = z[i]!;
    if (!Number.isFinite(v)) continue;
    n++;
    sum += v;
    sum2 += v * v;
    for (let k = 0; k < q.length; k++) if (Math.abs(v) <= q[k]!) covered[k]!++;
    const u = jStat.normal.cdf(-v, 0, 1);
    pit[Math.min(PIT_BINS - 1, Math.floor(u * PIT_BINS))]!++;
  }
  const mean = n ? sum / n : NaN;
  const sd = n > 1 ? Math.sqrt(Math.max(0, (sum2 - n * mean * mean) / (n - 1))) : NaN;
  return {
    n,
    meanZ: mean,
    sdZ: sd,
    coverage: covered.map((c) => (n ? c / n : NaN)),
    pitHistogram: pit.map((c) => (n ? c / n : NaN)),
  };
}

/** The maximum-likelihood scale of σ for zero-mean z: s = √(mean z²) (z/s then has mean square 1). */
export function fitSigmaScale(z: ArrayLike<number>): number {
  let n = 0,
    s2 = 0;
  for (let i = 0; i < z.length; i++) {
    const v = z[i]!;
    if (!Number.isFinite(v)) continue;
    n++;
    s2 += v * v;
  }
  return n ? Math.sqrt(s2 / n) : NaN;
}

export interface LevelCalibration extends CalibrationStats {
  /** expected-coherence band [from, to) */
  from: number;
  to: number;
}

/** Calibration per band of expected coherence (edges ascending, e.g. [0, 0.3, 0.5, 0.7, 1.0001]). */
export function calibrationByLevel(
  z: ArrayLike<number>,
  expectedCoherence: ArrayLike<number>,
  edges: readonly number[],
): LevelCalibration[] {
  const out: LevelCalibration[] = [];
  for (let b = 0; b + 1 < edges.length; b++) {
    const from = edges[b]!,
      to = edges[b + 1]!;
    const sel: number[] = [];
    for (let i = 0; i < z.length; i++) {
      const g = expectedCoherence[i]!;
      if (g >= from && g < to) sel.push(z[i]!);
    }
    out.push({ from, to, ...calibrationStats(sel) });
  }
  return out;
}
