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
}

/**
 * The PR curve of `scores` against `labels` (1 = damaged, 0 = undamaged, anything else = no truth, skipped).
 * Non-finite scores are excluded and counted. Throws a DpmError when the truth is degenerate (no damaged or no
 * undamaged pixel among the scored ones): precision and recall say nothing then. `what` names the score in messages.
 */
export function prCurve(scores: ArrayLike<number>, labels: ArrayLike<number>, what = 'score'): PrCurve {
  if (scores.length !== labels.length) {
    throw new DpmError(`${what}: ${scores.length} scores but ${labels.length} truth labels (grids differ)`);
  }
  // the labelled pixels with a finite score, in pixel order
  const idx: { score: number; damaged: boolean }[] = [];
  let nanScores = 0;
  let unlabelled = 0;
  let positives = 0;
  for (let i = 0; i < scores.length; i++) {
    const l = labels[i];
    const score = valueAt(scores, i);
    if (l !== 0 && l !== 1) {
      unlabelled++;
      continue;
    }
    if (!Number.isFinite(score)) {
      nanScores++;
      continue;
    }
    idx.push({ score, damaged: l === 1 });
    if (l === 1) positives++;
  }
  const negatives = idx.length - positives;
  if (idx.length === 0)
    throw new DpmError(
      `${what}: no pixel has both a finite score and a truth label (${nanScores} NaN scores, ${unlabelled} without truth)`,
    );
  if (positives === 0)
    throw new DpmError(
      `${what}: the truth has no damaged pixel among the ${idx.length} scored pixels; precision and recall are undefined`,
    );
  if (negatives === 0)
    throw new DpmError(
      `${what}: every one of the ${idx.length} scored pixels is damaged in the truth; precision–recall cannot rank anything`,
    );

  idx.sort((a, b) => b.score - a.score); // stable: equal scores keep pixel order
  const th: number[] = [],
    tps: number[] = [],
    fps: number[] = [];
  let tp = 0,
    fp = 0;
  for (const [k, { score, damaged }] of idx.entries()) {
    if (damaged) tp++;
    else fp++;
    // close a threshold only after the last of a run of equal scores
    if (idx[k + 1]?.score !== score) {
      th.push(score);
      tps.push(tp);
      fps.push(fp);
    }
  }
  const precision = Float64Array.from(tps, (t, k) => t / (t + valueAt(fps, k)));
  const recall = Float64Array.from(tps, (t) => t / positives);
  return {
    thresholds: Float64Array.from(th),
    tp: Float64Array.from(tps),
    fp: Float64Array.from(fps),
    precision,
    recall,
    positives,
    negatives,
    nanScores,
    unlabelled,
  };
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
  const curve = prCurve(scores, labels, name);
  return {
    name,
    curve,
    prAucTrapezoid: prAuc(curve),
    averagePrecision: averagePrecision(curve),
    fbeta: fbetaCurve(curve, beta),
    prevalence: curve.positives / (curve.positives + curve.negatives),
  };
}
