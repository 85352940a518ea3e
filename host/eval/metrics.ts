// Precision–recall evaluation of a damage proxy against binary truth (papers/001 §V-A, Fig. 4, Table I).
// A pixel is predicted damaged when its score ≥ threshold; every distinct score is one threshold, so tied scores
// enter or leave the damaged class together (no arbitrary order among ties).
import { valueAt } from '../core/arrays.js';
import { DpmError } from '../core/errors.js';

export interface PrCurve {
  /** distinct finite scores, descending: point k predicts damaged for score ≥ thresholds[k] */
  thresholds: Float64Array;
  /** true and false positives at each threshold (cumulative) */
  tp: Float64Array;
  fp: Float64Array;
  precision: Float64Array;
  /** increasing with k; the last point has recall 1 */
  recall: Float64Array;
  /** damaged and undamaged pixels that entered the curve (finite score, label 0 or 1) */
  positives: number;
  negatives: number;
  /** labelled pixels left out because their score was NaN or ±Infinity */
  nanScores: number;
  /** pixels left out because their label was neither 0 nor 1 (no truth) */
  unlabelled: number;
  /** points at bin edges only (ScoreCounts past its exact limit), not at every distinct score */
  binned: boolean;
}

/** Labelled pixels whose scores are held exactly; beyond, ScoreCounts counts them per bin (bounded memory). */
export const EXACT_SCORES = 1 << 22;
/** Bins beyond EXACT_SCORES: the top 20 bits of a score's float32 order key, each 2^-11 of its value wide. */
const BIN_SHIFT = 12;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Order key of the largest float32 ≤ v (finite v, −0 as 0): unsigned keys sort as the values do. */
function orderKey(v: number): number {
  f32[0] = v;
  if (valueAt(f32, 0) > v) u32[0] = valueAt(u32, 0) === 0 ? 0x80000001 : valueAt(u32, 0) + (v < 0 ? 1 : -1);
  const bits = valueAt(u32, 0);
  return (bits & 0x80000000 ? ~bits : bits | 0x80000000) >>> 0;
}

/** The float32 of an order key: at a bin's first key, the bin's lower edge. The lowest bin holds scores below
 *  −3.4e38 (float64 only), floored to −Infinity; its first key is a NaN pattern, and its edge is −Infinity. */
function keyValue(key: number): number {
  u32[0] = key & 0x80000000 ? key & 0x7fffffff : ~key >>> 0;
  const v = valueAt(f32, 0);
  return Number.isNaN(v) ? -Infinity : v;
}

/** A growable list of float64 values. */
class Values {
  data = new Float64Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.data.length) {
      const grown = new Float64Array(2 * this.n);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.n++] = v;
  }
  /** ascending */
  sorted(): Float64Array {
    return this.data.subarray(0, this.n).sort();
  }
}

/**
 * Damaged and undamaged scores gathered block by block (a frame's score rasters are read by rows) for one PR curve.
 * Up to `exactLimit` labelled pixels every score is kept, and the curve has a point at every distinct score. Past it
 * the scores are counted per bin of the float32 order (2^20 bins a class, 16 MB), and the curve has a point at the
 * lower edge of every occupied bin: each such point is exact (flagging score ≥ that edge flags exactly the pixels
 * counted at and above it), only the points between edges are missing. Scores at and above each of `cuts` (the
 * threshold tables' values) are also counted, so the curve has an exact point at each cut between two bin edges.
 */
export class ScoreCounts {
  positives = 0;
  negatives = 0;
  nanScores = 0;
  unlabelled = 0;
  private exact: { pos: Values; neg: Values } | undefined = { pos: new Values(), neg: new Values() };
  private bins: { pos: Float64Array; neg: Float64Array } | undefined;
  /** damaged and undamaged pixels scored ≥ each cut (ascending), while binned */
  private readonly cuts: { at: number; pos: number; neg: number }[];

  constructor(
    readonly what = 'score',
    private readonly exactLimit = EXACT_SCORES,
    cuts: readonly number[] = [],
  ) {
    this.cuts = [...new Set(cuts)].sort((a, b) => a - b).map((at) => ({ at, pos: 0, neg: 0 }));
  }

  /** Whether the curve comes from bins (more than exactLimit scored pixels). */
  get binned(): boolean {
    return this.bins !== undefined;
  }

  /** Adds pixels: labels 1 damaged, 0 undamaged, anything else no truth (skipped); non-finite scores counted. */
  add(scores: ArrayLike<number>, labels: ArrayLike<number>): void {
    if (scores.length !== labels.length) {
      throw new DpmError(`${this.what}: ${scores.length} scores but ${labels.length} truth labels (grids differ)`);
    }
    for (let i = 0; i < scores.length; i++) {
      const l = labels[i];
      const score = valueAt(scores, i);
      if (l !== 0 && l !== 1) {
        this.unlabelled++;
        continue;
      }
      if (!Number.isFinite(score)) {
        this.nanScores++;
        continue;
      }
      if (l === 1) this.positives++;
      else this.negatives++;
      const v = score === 0 ? 0 : score; // −0 and 0 are one threshold
      if (this.exact) {
        (l === 1 ? this.exact.pos : this.exact.neg).push(v);
        if (this.positives + this.negatives > this.exactLimit) this.toBins();
      } else this.toBin(v, l === 1);
    }
  }

  private toBin(v: number, damaged: boolean): void {
    if (!this.bins) throw new Error('internal: ScoreCounts has no bins yet');
    const b = orderKey(v) >>> BIN_SHIFT;
    const counts = damaged ? this.bins.pos : this.bins.neg;
    counts[b] = valueAt(counts, b) + 1;
    for (const c of this.cuts) {
      if (v < c.at) break;
      if (damaged) c.pos++;
      else c.neg++;
    }
  }

  private toBins(): void {
    const { pos, neg } = this.exact ?? { pos: new Values(), neg: new Values() };
    const size = 2 ** (32 - BIN_SHIFT);
    this.bins = { pos: new Float64Array(size), neg: new Float64Array(size) };
    this.exact = undefined;
    for (let i = 0; i < pos.n; i++) this.toBin(valueAt(pos.data, i), true);
    for (let i = 0; i < neg.n; i++) this.toBin(valueAt(neg.data, i), false);
  }

  /** The PR curve (thresholds descending). A degenerate truth is a DpmError. */
  curve(): PrCurve {
    const { positives, negatives, nanScores, unlabelled, what } = this;
    const scored = positives + negatives;
    if (scored === 0)
      throw new DpmError(
        `${what}: no pixel has both a finite score and a truth label (${nanScores} NaN scores, ${unlabelled} without truth)`,
      );
    if (positives === 0)
      throw new DpmError(
        `${what}: the truth has no damaged pixel among the ${scored} scored pixels; precision and recall are undefined`,
      );
    if (negatives === 0)
      throw new DpmError(
        `${what}: every one of the ${scored} scored pixels is damaged in the truth; precision–recall cannot rank anything`,
      );
    const th: number[] = [],
      tps: number[] = [],
      fps: number[] = [];
    let tp = 0,
      fp = 0;
    if (this.bins) {
      const { pos, neg } = this.bins;
      const cuts = [...this.cuts].reverse(); // descending, as the bins are walked
      for (let b = pos.length - 1; b >= 0; b--) {
        const p = valueAt(pos, b),
          q = valueAt(neg, b);
        if (p === 0 && q === 0) continue;
        const edge = keyValue((b << BIN_SHIFT) >>> 0);
        // a cut above this edge (and below the last) flags what the bins above hold and part of this one
        for (let c = cuts[0]; c && c.at > edge; c = cuts[0]) {
          cuts.shift();
          if (c.pos + c.neg > tp + fp) {
            th.push(c.at);
            tps.push(c.pos);
            fps.push(c.neg);
          }
        }
        tp += p;
        fp += q;
        th.push(edge);
        tps.push(tp);
        fps.push(fp);
      }
    } else if (this.exact) {
      // both classes ascending; walk down from the top, one threshold per distinct score
      const pos = this.exact.pos.sorted(),
        neg = this.exact.neg.sorted();
      let i = pos.length - 1,
        j = neg.length - 1;
      while (i >= 0 || j >= 0) {
        const v = Math.max(i >= 0 ? valueAt(pos, i) : -Infinity, j >= 0 ? valueAt(neg, j) : -Infinity);
        for (; i >= 0 && pos[i] === v; i--) tp++;
        for (; j >= 0 && neg[j] === v; j--) fp++;
        th.push(v);
        tps.push(tp);
        fps.push(fp);
      }
    }
    return {
      thresholds: Float64Array.from(th),
      tp: Float64Array.from(tps),
      fp: Float64Array.from(fps),
      precision: Float64Array.from(tps, (t, k) => t / (t + valueAt(fps, k))),
      recall: Float64Array.from(tps, (t) => t / positives),
      positives,
      negatives,
      nanScores,
      unlabelled,
      binned: this.binned,
    };
  }
}

/**
 * The PR curve of `scores` against `labels` (1 = damaged, 0 = undamaged, anything else = no truth, skipped), a
 * point at every distinct score. Non-finite scores are excluded and counted. Throws a DpmError when the truth is
 * degenerate (no damaged or no undamaged pixel among the scored ones): precision and recall say nothing then.
 * `what` names the score in messages.
 */
export function prCurve(scores: ArrayLike<number>, labels: ArrayLike<number>, what = 'score'): PrCurve {
  const counts = new ScoreCounts(what, Infinity);
  counts.add(scores, labels);
  return counts.curve();
}

/**
 * Area under the PR curve by the trapezoid rule over recall. The curve is extended from its first point
 * horizontally to recall 0 (precision unchanged), so a constant scorer gets exactly the damaged fraction — the
 * paper's "random classifier" value — rather than sklearn's (1 + fraction)/2 from anchoring at precision 1.
 */
export function prAuc(c: PrCurve): number {
  let area = 0;
  let r0 = 0,
    p0 = valueAt(c.precision, 0);
  c.recall.forEach((r, k) => {
    const p = valueAt(c.precision, k);
    area += ((r - r0) * (p + p0)) / 2;
    r0 = r;
    p0 = p;
  });
  return area;
}

/** Average precision: Σ_k (R_k − R_{k−1}) · P_k with R_0 = 0 (step-wise, no interpolation; as sklearn). */
export function averagePrecision(c: PrCurve): number {
  let ap = 0,
    r0 = 0;
  c.recall.forEach((r, k) => {
    ap += (r - r0) * valueAt(c.precision, k);
    r0 = r;
  });
  return ap;
}

/** F_β = (1+β²)·P·R / (β²·P + R) at one point; 0 when P = R = 0. */
export function fbeta(precision: number, recall: number, beta: number): number {
  const b2 = beta * beta;
  const den = b2 * precision + recall;
  return den > 0 ? ((1 + b2) * precision * recall) / den : 0;
}

export interface FbetaResult {
  beta: number;
  /** F_β at each threshold of the curve (same order as the curve) */
  fbeta: Float64Array;
  /** the maximum; ties go to the highest threshold (fewest pixels flagged) */
  best: { index: number; threshold: number; precision: number; recall: number; fbeta: number };
}

/** F_β against threshold (papers/001 eq. 11; β = 0.5 weights precision twice as much as recall). */
export function fbetaCurve(c: PrCurve, beta = 0.5): FbetaResult {
  if (!(beta > 0) || !Number.isFinite(beta)) throw new DpmError(`--beta must be a positive number, got ${beta}`);
  const f = Float64Array.from(c.thresholds, (_, k) => fbeta(valueAt(c.precision, k), valueAt(c.recall, k), beta));
  let bi = 0;
  f.forEach((v, k) => {
    if (v > valueAt(f, bi)) bi = k;
  });
  const best = {
    index: bi,
    threshold: valueAt(c.thresholds, bi),
    precision: valueAt(c.precision, bi),
    recall: valueAt(c.recall, bi),
    fbeta: valueAt(f, bi),
  };
  return { beta, fbeta: f, best };
}

export interface ScoreEvaluation {
  name: string;
  curve: PrCurve;
  prAucTrapezoid: number;
  averagePrecision: number;
  fbeta: FbetaResult;
  /** damaged fraction among the scored pixels: the PR AUC of a random scorer */
  prevalence: number;
}

/** Everything Table I reports for one score. */
export function evaluateScore(
  name: string,
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  beta = 0.5,
): ScoreEvaluation {
  return evaluateCurve(name, prCurve(scores, labels, name), beta);
}

/** Everything Table I reports, from a curve (e.g. ScoreCounts' of a score read by row blocks). */
export function evaluateCurve(name: string, curve: PrCurve, beta = 0.5): ScoreEvaluation {
  return {
    name,
    curve,
    prAucTrapezoid: prAuc(curve),
    averagePrecision: averagePrecision(curve),
    fbeta: fbetaCurve(curve, beta),
    prevalence: curve.positives / (curve.positives + curve.negatives),
  };
}
