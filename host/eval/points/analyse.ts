// The analyses of papers/002 for one displacement column against one DPM: three binning criteria with
// box-and-whisker statistics and a one-way ANOVA each, lognormal fragility functions for several displacement
// thresholds, and the optimal index threshold with precision and recall.
import { valueAt } from '../../core/arrays.js';
import { DpmError } from '../../core/errors.js';
import {
  boxStats,
  classifyAt,
  fitFragility,
  fragilityProbability,
  oneWayAnova,
  optimalThreshold,
  percentileSorted,
  sortedCopy,
  type AnovaResult,
  type BoxStats,
  type FragilityFit,
  type ThresholdResult,
} from './stats.js';

export interface DisplacementPercentiles {
  /** percentiles of the NON-ZERO displacements of the column (all points with a value, whatever the raster) */
  p25: number;
  p50: number;
  p75: number;
  nonZero: number;
  zero: number;
}

export function displacementPercentiles(disp: ArrayLike<number>): DisplacementPercentiles {
  const nz: number[] = [];
  let zero = 0;
  for (const d of Array.from(disp)) {
    if (Number.isNaN(d)) continue;
    if (d === 0) zero++;
    else nz.push(d);
  }
  const s = sortedCopy(nz);
  return {
    p25: percentileSorted(s, 25),
    p50: percentileSorted(s, 50),
    p75: percentileSorted(s, 75),
    nonZero: s.length,
    zero,
  };
}

export interface Bin {
  label: string;
  /** displacement range (lo, hi]; lo = hi = 0 for the zero bin */
  lo: number;
  hi: number;
  stats: BoxStats;
}

export interface Criterion {
  id: 1 | 2 | 3;
  name: string;
  bins: Bin[];
  anova: AnovaResult;
}

export type NonPositivePolicy = 'shift' | 'drop';

export interface FragilityThreshold {
  label: string;
  /** exceedance means displacement > d */
  d: number;
}

export interface FragilityResult {
  threshold: FragilityThreshold;
  fit: FragilityFit;
  /** median index in the DPM's own units (θ of the fit minus the shift) */
  medianIndex: number;
  /** empirical exceedance fractions in equal-count index bins (for the plot), in DPM units */
  empirical: { index: number; fraction: number; n: number }[];
  /** best separating index threshold (Youden's J) with precision/recall, and P̂ there */
  optimal: ThresholdResult & { probability: number };
  /** classification at the fragility median (P̂ ≥ 0.5) */
  atMedian: ThresholdResult;
}

export interface Analysis {
  column: string;
  raster: string;
  /** buffers used: finite mean index and a displacement value */
  buffers: number;
  percentiles: DisplacementPercentiles;
  criteria: Criterion[];
  nonPositive: { policy: NonPositivePolicy; shift: number; count: number; dropped: number };
  fragility: FragilityResult[];
  /** the buffers behind the statistics: mean index and displacement magnitude */
  samples: { index: number[]; displacement: number[] };
}

export interface AnalysisOptions {
  nonPositive: NonPositivePolicy;
  /** explicit shift for 'shift' (default: automatic, see chooseShift) */
  shift?: number;
  /** extra displacement thresholds (column units) besides "any" and the quartiles */
  thresholds?: number[];
}

/**
 * Shift that makes every index positive for the lognormal fit: 0 when all are already > 0; 1 when all are > −1
 * (DPM1's [−1, 1] range: x + 1 is then the ARIA coherence difference measured from its floor); otherwise the
 * smallest whole number s with min + s ≥ 1.
 */
export function chooseShift(x: ArrayLike<number>): number {
  let min = Infinity;
  for (const v of Array.from(x)) min = Math.min(min, v);
  if (min > 0) return 0;
  if (min > -1) return 1;
  return Math.ceil(-min) + 1;
}

export function analyse(
  column: string,
  raster: string,
  disp: ArrayLike<number>,
  index: ArrayLike<number>,
  pct: DisplacementPercentiles,
  opts: AnalysisOptions,
): Analysis {
  const what = `column '${column}' vs ${raster}`;
  // the buffers with both values: displacement d and DPM index x, one sample each
  const samples: { d: number; x: number }[] = [];
  Array.from(disp).forEach((dv, i) => {
    const xv = valueAt(index, i);
    if (!Number.isNaN(dv) && Number.isFinite(xv)) samples.push({ d: dv, x: xv });
  });
  const d = samples.map((s) => s.d),
    x = samples.map((s) => s.x);
  if (x.length === 0) throw new DpmError(`${what}: no buffer has both a displacement and a valid DPM index`);
  if (pct.nonZero === 0)
    throw new DpmError(
      `${what}: the column has no non-zero displacement; criteria 2–3 and the fragility functions need some`,
    );

  const pick = (keep: (di: number) => boolean) => samples.filter((s) => keep(s.d)).map((s) => s.x);
  const makeBins = (cid: number, defs: [string, number, number, (di: number) => boolean][]): Bin[] =>
    defs.map(([label, lo, hi, keep]) => {
      const values = pick(keep);
      if (values.length === 0) {
        const range = lo === hi ? `displacement = ${lo}` : `displacement in (${lo}, ${hi === Infinity ? '∞' : hi}]`;
        throw new DpmError(
          `${what}: criterion ${cid} bin '${label}' (${range}) is empty: no buffer with a valid index falls in it (tied displacement values collapse percentile bins; points off the raster or on nodata are left out)`,
        );
      }
      return { label, lo, hi, stats: boxStats(values) };
    });
  const { p25, p50, p75 } = pct;
  const f = (v: number) => v.toPrecision(3);
  const c1 = makeBins(1, [
    ['zero', 0, 0, (v) => v === 0],
    ['> 0', 0, Infinity, (v) => v > 0],
  ]);
  const c2 = makeBins(2, [
    [`> 0–50th (≤ ${f(p50)})`, 0, p50, (v) => v > 0 && v <= p50],
    [`50th–100th (> ${f(p50)})`, p50, Infinity, (v) => v > p50],
  ]);
  const c3 = makeBins(3, [
    [`> 0–25th (≤ ${f(p25)})`, 0, p25, (v) => v > 0 && v <= p25],
    [`25th–50th`, p25, p50, (v) => v > p25 && v <= p50],
    [`50th–75th`, p50, p75, (v) => v > p50 && v <= p75],
    [`75th–100th (> ${f(p75)})`, p75, Infinity, (v) => v > p75],
  ]);
  const anova = (cid: number, bins: Bin[], keep: (di: number) => boolean, edges: number[]) => {
    const groups: number[][] = bins.map(() => []);
    for (const s of samples) {
      if (!keep(s.d)) continue;
      // the group: how many bin edges the displacement lies above
      const g = edges.filter((e) => s.d > e).length;
      groups[g]?.push(s.x);
    }
    return oneWayAnova(groups, `${what}, criterion ${cid}`);
  };
  const criteria: Criterion[] = [
    { id: 1, name: 'zero vs non-zero displacement', bins: c1, anova: anova(1, c1, () => true, [0]) },
    {
      id: 2,
      name: 'non-zero displacement: > 0–50th vs 50th–100th percentile',
      bins: c2,
      anova: anova(2, c2, (v) => v > 0, [p50]),
    },
    { id: 3, name: 'non-zero displacement quartiles', bins: c3, anova: anova(3, c3, (v) => v > 0, [p25, p50, p75]) },
  ];

  // --- fragility: non-positive indices are shifted (default) or dropped, and counted either way
  let nonPos = 0;
  for (const v of x) if (!(v > 0)) nonPos++;
  const shift = opts.nonPositive === 'shift' ? (opts.shift ?? chooseShift(x)) : 0;
  const fx: number[] = [],
    fd: number[] = [];
  for (const s of samples) {
    const v = s.x + shift;
    if (!(v > 0)) {
      if (opts.nonPositive === 'shift')
        throw new DpmError(`${what}: --shift ${shift} leaves index ${s.x} non-positive; use a larger shift`);
      continue;
    }
    fx.push(v);
    fd.push(s.d);
  }
  const thresholds: FragilityThreshold[] = [
    { label: 'any (> 0)', d: 0 },
    { label: `25th percentile (${f(p25)})`, d: p25 },
    { label: `50th percentile (${f(p50)})`, d: p50 },
    { label: `75th percentile (${f(p75)})`, d: p75 },
    ...(opts.thresholds ?? []).map((t) => ({ label: `${t}`, d: t })),
  ];
  const fragility = thresholds.map((t): FragilityResult => {
    const label = `${what}, fragility for displacement > ${t.label}`;
    const y = fd.map((v) => (v > t.d ? 1 : 0));
    const fit = fitFragility(fx, y, label);
    const yAll = d.map((v) => (v > t.d ? 1 : 0));
    const opt = optimalThreshold(x, yAll, label);
    const medianIndex = fit.theta - shift;
    return {
      threshold: t,
      fit,
      medianIndex,
      empirical: empiricalFractions(fx, y, shift),
      optimal: { ...opt, probability: fragilityProbability(fit, opt.threshold + shift) },
      atMedian: classifyAt(x, yAll, medianIndex),
    };
  });
  return {
    column,
    raster,
    buffers: x.length,
    percentiles: pct,
    criteria,
    nonPositive: { policy: opts.nonPositive, shift, count: nonPos, dropped: x.length - fx.length },
    fragility,
    samples: { index: x, displacement: d },
  };
}

/** Exceedance fraction in up to 10 equal-count bins of the index (the bars of papers/002 Figs. 6–7). */
function empiricalFractions(x: number[], y: number[], shift: number): { index: number; fraction: number; n: number }[] {
  const order = x.map((xv, i) => ({ x: xv, y: valueAt(y, i) })).sort((a, b) => a.x - b.x);
  const nb = Math.min(10, Math.max(1, Math.floor(order.length / 5)));
  const out: { index: number; fraction: number; n: number }[] = [];
  for (let b = 0; b < nb; b++) {
    const lo = Math.floor((b * order.length) / nb),
      hi = Math.floor(((b + 1) * order.length) / nb);
    if (hi <= lo) continue;
    let sx = 0,
      sy = 0;
    for (const o of order.slice(lo, hi)) {
      sx += o.x;
      sy += o.y;
    }
    out.push({ index: sx / (hi - lo) - shift, fraction: sy / (hi - lo), n: hi - lo });
  }
  return out;
}
