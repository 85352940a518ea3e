// The statistics of the pixel-wise t-test (PWTT) baseline: Welch's t between a pre- and a post-event window with its
// two-sided p-value (as scipy.stats.ttest_ind(a, b, equal_var=False)), the z-score of a two-sided p, and Stouffer's
// method Z = Σ z_i / √k. Float64; the t distribution from jstat.
import { jStat } from '../eval/points/jstat.js';

export interface WelchResult {
  /** (mean(b) − mean(a)) / √(s_a²/n_a + s_b²/n_b): positive = the post window (b) is higher */
  t: number;
  /** Welch–Satterthwaite degrees of freedom */
  df: number;
  /** two-sided p-value */
  p: number;
}

function meanVar(x: ArrayLike<number>): { n: number; mean: number; variance: number } {
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i] ?? NaN;
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += ((x[i] ?? NaN) - mean) ** 2;
  return { n, mean, variance: n > 1 ? ss / (n - 1) : NaN };
}

/** Lower tail P(T ≤ −|t|) of Student's t; small tails stay accurate (no 1 − cdf cancellation). */
function tailOf(t: number, df: number): number {
  return jStat.studentt.cdf(-Math.abs(t), df);
}

/**
 * Welch's unequal-variance t-test of `b` against `a` (scipy's ttest_ind(b, a, equal_var=False)). With a single post
 * value (|b| = 1, no variance of its own) it falls back to the prediction t of that value against the pre window:
 * t = (b − mean a) / (s_a √(1 + 1/n_a)), df = n_a − 1. NaN when a has fewer than 2 values or both variances are 0.
 */
export function welchT(a: ArrayLike<number>, b: ArrayLike<number>): WelchResult {
  const A = meanVar(a),
    B = meanVar(b);
  if (A.n < 2 || B.n < 1) return { t: NaN, df: NaN, p: NaN };
  let t: number, df: number;
  if (B.n === 1) {
    t = (B.mean - A.mean) / Math.sqrt(A.variance * (1 + 1 / A.n));
    df = A.n - 1;
  } else {
    const va = A.variance / A.n,
      vb = B.variance / B.n;
    t = (B.mean - A.mean) / Math.sqrt(va + vb);
    df = (va + vb) ** 2 / (va ** 2 / (A.n - 1) + vb ** 2 / (B.n - 1));
  }
  if (!Number.isFinite(t)) return { t: NaN, df, p: NaN };
  return { t, df, p: Math.min(1, 2 * tailOf(t, df)) };
}

/** Largest |z| reported: Φ⁻¹ of the smallest tail float64 keeps (beyond it every pixel ties). */
export const Z_CAP = 37;

/** The |z| of a two-sided test with the same p: Φ⁻¹(1 − p/2), computed from the tail; capped at Z_CAP. */
export function zOfTwoSidedP(p: number): number {
  if (Number.isNaN(p)) return NaN;
  if (p <= 0) return Z_CAP;
  return Math.min(Z_CAP, -jStat.normal.inv(Math.min(0.5, p / 2), 0, 1));
}

/** The same from Welch's t directly (the tail without forming p first: no underflow of 2·tail). */
export function zOfWelch(r: WelchResult): number {
  if (Number.isNaN(r.t)) return NaN;
  const tail = tailOf(r.t, r.df);
  return tail <= 0 ? Z_CAP : Math.min(Z_CAP, -jStat.normal.inv(tail, 0, 1));
}

/** Stouffer's method: Z = Σ z_i / √k over the finite z_i (NaN when none). */
export function stouffer(zs: readonly number[]): number {
  let s = 0,
    k = 0;
  for (const z of zs) {
    if (!Number.isFinite(z)) continue;
    s += z;
    k++;
  }
  return k > 0 ? s / Math.sqrt(k) : NaN;
}
