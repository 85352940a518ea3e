// Statistics of papers/002 (O'Donnell et al.): percentiles, box-and-whisker summaries, one-way ANOVA, lognormal
// fragility functions fitted by maximum likelihood, and the index threshold that best separates two classes.
// Everything in float64; distributions from jstat.
import { valueAt } from '../../core/arrays.js';
import { DpmError } from '../../core/errors.js';
import { prCurve } from '../metrics.js';
import { jStat } from './jstat.js';

/** Linear-interpolation percentile of sorted values (Hyndman–Fan type 7, numpy's default); p in [0, 100]. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = ((n - 1) * p) / 100;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const a = valueAt(sorted, lo);
  return a + (h - lo) * (valueAt(sorted, hi) - a);
}

export function sortedCopy(values: ArrayLike<number>): number[] {
  return Array.from(values).sort((a, b) => a - b);
}

export interface BoxStats {
  n: number;
  mean: number;
  sd: number;
  min: number;
  max: number;
  p5: number;
  p25: number;
  p50: number;
  p75: number;
  p95: number;
  /** values outside the whiskers, which the paper draws at the 5th and 95th percentiles */
  outliers: number[];
}

/** Box-and-whisker summary as in papers/002: box 25th–75th, line at the median, whiskers at the 5th and 95th. */
export function boxStats(values: ArrayLike<number>): BoxStats {
  const s = sortedCopy(values);
  const n = s.length;
  let sum = 0;
  for (const v of s) sum += v;
  const mean = n > 0 ? sum / n : NaN;
  let ss = 0;
  for (const v of s) ss += (v - mean) ** 2;
  const p5 = percentileSorted(s, 5);
  const p95 = percentileSorted(s, 95);
  return {
    n,
    mean,
    sd: n > 1 ? Math.sqrt(ss / (n - 1)) : NaN,
    min: s[0] ?? NaN,
    max: s.at(-1) ?? NaN,
    p5,
    p25: percentileSorted(s, 25),
    p50: percentileSorted(s, 50),
    p75: percentileSorted(s, 75),
    p95,
    outliers: s.filter((v) => v < p5 || v > p95),
  };
}

export interface AnovaResult {
  /** number of groups and of observations */
  k: number;
  n: number;
  ssBetween: number;
  ssWithin: number;
  df1: number;
  df2: number;
  f: number;
  /** P(F(df1, df2) > f) */
  p: number;
}

/**
 * One-way ANOVA (the F-test of papers/002, as scipy.stats.f_oneway): F = [SSB/(k−1)] / [SSW/(N−k)],
 * p from the F distribution. Needs ≥ 2 groups, none empty, and N > k. When every group is constant (SSW = 0),
 * F is +∞ (p = 0) if the group means differ and undefined (NaN) if they do not.
 */
export function oneWayAnova(groups: ArrayLike<number>[], what = 'ANOVA'): AnovaResult {
  const k = groups.length;
  if (k < 2) throw new DpmError(`${what}: one-way ANOVA needs at least 2 groups, got ${k}`);
  let n = 0;
  let total = 0;
  const means: number[] = [];
  groups.forEach((g, i) => {
    if (g.length === 0) throw new DpmError(`${what}: group ${i + 1} of ${k} is empty`);
    let s = 0;
    for (const v of Array.from(g)) s += v;
    means.push(s / g.length);
    n += g.length;
    total += s;
  });
  if (n <= k) throw new DpmError(`${what}: ${n} observations in ${k} groups leave no degree of freedom within groups`);
  const grand = total / n;
  let ssb = 0;
  let ssw = 0;
  groups.forEach((g, i) => {
    const mean = valueAt(means, i);
    ssb += g.length * (mean - grand) ** 2;
    for (const v of Array.from(g)) ssw += (v - mean) ** 2;
  });
  const df1 = k - 1;
  const df2 = n - k;
  let f: number;
  let p: number;
  // relative test: float rounding leaves SSW ≈ 1e-30 for constant groups
  if (ssw <= 1e-14 * (ssb + ssw) || ssw === 0) {
    f = ssb > 0 ? Infinity : NaN;
    p = ssb > 0 ? 0 : NaN;
  } else {
    f = ssb / df1 / (ssw / df2);
    p = jStat.ftest(f, df1, df2);
  }
  return { k, n, ssBetween: ssb, ssWithin: ssw, df1, df2, f, p };
}

// ---------------------------------------------------------------------------------------------------------------
// Lognormal fragility: P(D > d | x) = Φ((ln x − ln θ)/β), fitted by maximum likelihood on binary outcomes.
// Written as a probit GLM on u = ln x: P = Φ(a + b·u), θ = exp(−a/b), β = 1/b; solved by Fisher scoring (IRLS)
// with step halving so the log-likelihood never decreases.

const SQRT2PI = Math.sqrt(2 * Math.PI);
function phi(z: number): number {
  return Math.exp(-0.5 * z * z) / SQRT2PI;
}
/** Continued fraction x + 1/(x + 2/(x + 3/(x + …))) = φ(x)/Q(x), the inverse Mills ratio of the upper tail (x ≥ 5). */
function millsCf(x: number): number {
  let t = x;
  for (let k = 60; k >= 1; k--) t = x + k / t;
  return t;
}
/** Φ(z). jstat's normal CDF underflows to 0 below z ≈ −9 (true Φ(−10) = 7.6e-24); the tails use the continued fraction. */
export function Phi(z: number): number {
  if (z < -5) return phi(z) / millsCf(-z);
  if (z > 5) return 1 - phi(z) / millsCf(z);
  return jStat.normal.cdf(z, 0, 1);
}
/** φ(z)/Φ(z) without underflow. */
function hazardLow(z: number): number {
  return z < -5 ? millsCf(-z) : phi(z) / Phi(z);
}
/** ln Φ(z), accurate in the far lower tail where Φ underflows. */
export function logPhi(z: number): number {
  if (z < -5) return -0.5 * z * z - Math.log(SQRT2PI) - Math.log(millsCf(-z));
  return Math.log(Phi(z));
}

export interface FragilityFit {
  /** median index θ (P = 0.5) on the fitted scale x' (after any shift); see FragilityPoints */
  theta: number;
  /** dispersion β (standard deviation of ln x'); negative when exceedance falls with the index */
  beta: number;
  /** probit coefficients P = Φ(a + b ln x') and their covariance (inverse Fisher information) */
  a: number;
  b: number;
  covAB: [number, number, number];
  /** standard errors of ln θ and β (delta method) */
  seLnTheta: number;
  seBeta: number;
  logLik: number;
  iterations: number;
  /** the classes are perfectly separated by the index: the MLE has β → 0; θ is the midpoint of the gap.
   *  `reversed`: every exceedance lies BELOW every non-exceedance (β → 0 from below). */
  separated: boolean;
  reversed: boolean;
  n: number;
  positives: number;
}

/** Probit log-likelihood Σ y ln Φ(η) + (1−y) ln Φ(−η) with η = a + b·u. */
export function probitLogLik(u: ArrayLike<number>, y: ArrayLike<number>, a: number, b: number): number {
  let ll = 0;
  for (let i = 0; i < u.length; i++) {
    const eta = a + b * valueAt(u, i);
    ll += y[i] ? logPhi(eta) : logPhi(-eta);
  }
  return ll;
}

/**
 * Maximum-likelihood lognormal fragility from positive index values `x` and outcomes `y` (1 = exceeded).
 * Throws a DpmError when the fit is impossible: fewer than 2 points, a non-positive x, all outcomes equal.
 */
export function fitFragility(x: ArrayLike<number>, y: ArrayLike<number>, what = 'fragility'): FragilityFit {
  const n = x.length;
  if (y.length !== n) throw new Error(`internal: ${n} index values but ${y.length} outcomes`);
  const u = new Float64Array(n);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const xi = valueAt(x, i);
    if (!(xi > 0) || !Number.isFinite(xi))
      throw new DpmError(`${what}: index value ${xi} is not positive; a lognormal fragility needs x > 0`);
    u[i] = Math.log(xi);
    if (y[i]) pos++;
  }
  if (n < 2) throw new DpmError(`${what}: ${n} buffer(s) are too few to fit a fragility function`);
  if (pos === 0 || pos === n) {
    throw new DpmError(
      `${what}: all ${n} buffers have the same outcome (${pos === 0 ? 'none' : 'all'} exceed the threshold); the fragility function is undefined`,
    );
  }
  // Perfect separation (every non-exceedance below every exceedance): the likelihood rises without bound as β → 0.
  let max0 = -Infinity,
    min1 = Infinity,
    min0 = Infinity,
    max1 = -Infinity;
  for (let i = 0; i < n; i++) {
    const ui = valueAt(u, i);
    if (y[i]) {
      min1 = Math.min(min1, ui);
      max1 = Math.max(max1, ui);
    } else {
      max0 = Math.max(max0, ui);
      min0 = Math.min(min0, ui);
    }
  }
  const reversed = max1 < min0;
  const separated = max0 < min1 || reversed;
  let umin = Infinity,
    umax = -Infinity;
  for (const v of u) {
    umin = Math.min(umin, v);
    umax = Math.max(umax, v);
  }
  if (umax - umin <= 1e-12 * Math.max(1, Math.abs(umax))) {
    throw new DpmError(
      `${what}: every one of the ${n} buffers has the same index (${Math.exp(umin)}); the exceedance probability cannot depend on it`,
    );
  }

  // Work with centred u (η = c + b·(u − ū)): the information matrix is then well conditioned even when the
  // index spans a narrow range far from 1, where a and b of the raw parameterisation are almost collinear.
  let mean = 0;
  for (const v of u) mean += v;
  mean /= n;
  const uc = u.map((v) => v - mean);
  let sd = 0;
  for (const v of uc) sd += v * v;
  sd = Math.sqrt(sd / n) || 1;
  // start: θ at the geometric mean, β at the spread of ln x
  let b = 1 / sd;
  let c = 0;
  let ll = probitLogLik(uc, y, c, b);
  let iterations = 0;
  let info: [number, number, number] = [0, 0, 0];
  for (; iterations < 200; iterations++) {
    // Fisher scoring: gradient g and expected information I = Xᵀ W X with W = φ²/(Φ(1−Φ))
    let g0 = 0,
      g1 = 0,
      i00 = 0,
      i01 = 0,
      i11 = 0;
    for (let i = 0; i < n; i++) {
      const ui = valueAt(uc, i);
      const eta = c + b * ui;
      // h1 = φ/Φ(η), h2 = φ/(1 − Φ(η)) from the tail-safe ratios: d ln L/dη = h1 or −h2, weight W = h1·h2
      const h1 = hazardLow(eta),
        h2 = hazardLow(-eta);
      const r = y[i] ? h1 : -h2;
      const w = h1 * h2;
      g0 += r;
      g1 += r * ui;
      i00 += w;
      i01 += w * ui;
      i11 += w * ui * ui;
    }
    info = [i00, i01, i11];
    const det = i00 * i11 - i01 * i01;
    if (!(det > 0)) break;
    let dc = (i11 * g0 - i01 * g1) / det;
    let db = (-i01 * g0 + i00 * g1) / det;
    let step = 1;
    let next = probitLogLik(uc, y, c + dc, b + db);
    while (!(next >= ll) && step > 1e-10) {
      step /= 2;
      dc /= 2;
      db /= 2;
      next = probitLogLik(uc, y, c + dc, b + db);
    }
    if (!(next >= ll)) break;
    c += dc;
    b += db;
    const gain = next - ll;
    ll = next;
    if (gain < 1e-12 && Math.abs(dc) + Math.abs(db) < 1e-9 * (1 + Math.abs(c) + Math.abs(b))) break;
    // separated data: |b| grows without bound; stop once the likelihood is essentially 1
    if (separated && ll > -1e-8) break;
  }
  const det = info[0] * info[2] - info[1] * info[1];
  const cov: [number, number, number] = det > 0 ? [info[2] / det, -info[1] / det, info[0] / det] : [NaN, NaN, NaN];
  // back to P = Φ(a + b ln x): a = c − b·ū; ln θ = ū − c/b, β = 1/b (delta method on the centred pair)
  const a = c - b * mean;
  const gc = -1 / b,
    gb = c / (b * b);
  const seLnTheta = Math.sqrt(Math.max(0, gc * gc * cov[0] + 2 * gc * gb * cov[1] + gb * gb * cov[2]));
  const seBeta = Math.sqrt(cov[2]) / (b * b);
  // covariance of (a, b) from that of (c, b): a = c − ū·b
  const covAB: [number, number, number] = [
    cov[0] - 2 * mean * cov[1] + mean * mean * cov[2],
    cov[1] - mean * cov[2],
    cov[2],
  ];
  if (separated) {
    return {
      theta: Math.exp(reversed ? (max1 + min0) / 2 : (max0 + min1) / 2),
      beta: reversed ? -0 : 0,
      a,
      b,
      covAB: [NaN, NaN, NaN],
      seLnTheta: NaN,
      seBeta: NaN,
      logLik: 0,
      iterations,
      separated,
      reversed,
      n,
      positives: pos,
    };
  }
  return {
    theta: Math.exp(mean - c / b),
    beta: 1 / b,
    a,
    b,
    covAB,
    seLnTheta,
    seBeta,
    logLik: ll,
    iterations,
    separated,
    reversed,
    n,
    positives: pos,
  };
}

/** P(D > d | x) of a fitted fragility at index x' (fitted scale). */
export function fragilityProbability(fit: FragilityFit, x: number): number {
  if (!(x > 0)) return 0;
  if (fit.separated) {
    const above = x > fit.theta ? 1 : x < fit.theta ? 0 : 0.5;
    return fit.reversed ? 1 - above : above;
  }
  return Phi((Math.log(x) - Math.log(fit.theta)) / fit.beta);
}

// ---------------------------------------------------------------------------------------------------------------

export interface ThresholdResult {
  /** index threshold: predict "exceeded" when x ≥ threshold */
  threshold: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  precision: number;
  recall: number;
  f1: number;
  /** Youden's J = recall − false-positive rate */
  youden: number;
}

function confusion(tp: number, fp: number, positives: number, negatives: number, threshold: number): ThresholdResult {
  const fn = positives - tp;
  const tn = negatives - fp;
  const precision = tp + fp > 0 ? tp / (tp + fp) : NaN;
  const recall = positives > 0 ? tp / positives : NaN;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { threshold, tp, fp, fn, tn, precision, recall, f1, youden: recall - (negatives > 0 ? fp / negatives : 0) };
}

/** Precision and recall when buffers with x ≥ threshold are predicted to exceed. */
export function classifyAt(x: ArrayLike<number>, y: ArrayLike<number>, threshold: number): ThresholdResult {
  let tp = 0,
    fp = 0,
    pos = 0;
  for (let i = 0; i < x.length; i++) {
    if (y[i]) pos++;
    if (valueAt(x, i) >= threshold) {
      if (y[i]) tp++;
      else fp++;
    }
  }
  return confusion(tp, fp, pos, x.length - pos, threshold);
}

/**
 * The index threshold that best separates buffers below and above a displacement threshold (papers/002 Fig. 10):
 * the cut maximising Youden's J = recall − false-positive rate, i.e. where the two class-normalised cumulative
 * histograms are furthest apart. Every distinct index value is a candidate ("x ≥ value"); among equal J the highest cut (fewest false positives) wins.
 */
export function optimalThreshold(x: ArrayLike<number>, y: ArrayLike<number>, what = 'threshold'): ThresholdResult {
  const c = prCurve(
    x,
    Array.from(y, (v) => (v ? 1 : 0)),
    what,
  );
  let best = -1;
  let bestJ = -Infinity;
  for (let k = 0; k < c.thresholds.length; k++) {
    const j = valueAt(c.tp, k) / c.positives - valueAt(c.fp, k) / c.negatives;
    if (j > bestJ + 1e-12) {
      bestJ = j;
      best = k;
    }
  }
  return confusion(valueAt(c.tp, best), valueAt(c.fp, best), c.positives, c.negatives, valueAt(c.thresholds, best));
}
