// PR curve, PR AUC, average precision and F_β against hand-computed values and an independent brute-force
// computation (every threshold recounted from scratch, O(n²), no sorting tricks).
import test from 'node:test';
import assert from 'node:assert/strict';
import { averagePrecision, evaluateScore, fbeta, fbetaCurve, prAuc, prCurve } from '../host/eval/metrics.js';
import { DpmError } from '../host/core/errors.js';
import { thin } from '../host/eval/charts.js';
import { flaggedAt, mulberry32 } from './eval-helpers.js';
import { at } from './at.js';

/** Brute force: for every distinct finite score t, count score ≥ t among labelled pixels. */
function bruteForce(scores: number[], labels: number[]) {
  const pts: { t: number; p: number; r: number }[] = [];
  const valid = scores.map((s, i) => Number.isFinite(s) && (labels[i] === 0 || labels[i] === 1));
  const P = labels.filter((l, i) => valid[i] && l === 1).length;
  const ts = [...new Set(scores.filter((_, i) => valid[i]))].sort((a, b) => b - a);
  for (const t of ts) {
    const [tp, fp] = flaggedAt(scores, labels, t);
    pts.push({ t, p: tp / (tp + fp), r: tp / P });
  }
  // AP as the mean over damaged pixels of the precision at that pixel's own score (ties: all pixels ≥ it)
  let ap = 0;
  scores.forEach((s, i) => {
    if (!valid[i] || labels[i] !== 1) return;
    ap += pts.find((q) => q.t === s)!.p;
  });
  return { pts, ap: ap / P };
}

const close = (a: number, b: number, tol: number, msg?: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${msg ?? ''} ${a} vs ${b}`);

test('hand case: four pixels, values worked out on paper', () => {
  const c = prCurve([0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0]);
  assert.deepEqual([...c.thresholds], [0.9, 0.8, 0.7, 0.6]);
  assert.deepEqual([...c.recall], [0.5, 0.5, 1, 1]);
  // precision 1, 1/2, 2/3, 1/2 — exact rationals, float64 division rounding only
  [1, 0.5, 2 / 3, 0.5].forEach((p, k) => close(at(c.precision, k), p, 1e-15));
  // trapezoid: (0,1)→(.5,1): .5; (.5,1)→(.5,.5): 0; (.5,.5)→(1,2/3): .5·(.5+2/3)/2 = 7/24; then 0 → 19/24
  close(prAuc(c), 19 / 24, 1e-15, 'trapezoid');
  // AP: .5·1 + .5·2/3 = 5/6
  close(averagePrecision(c), 5 / 6, 1e-15, 'AP');
  const f = fbetaCurve(c, 0.5);
  // F0.5 at (P=1, R=.5) = 1.25·.5/(.25+.5) = 5/6; at (2/3, 1) = 1.25·(2/3)/(1/6+1) = 5/7
  close(at(f.fbeta, 0), 5 / 6, 1e-15);
  close(at(f.fbeta, 2), 5 / 7, 1e-15);
  assert.equal(f.best.index, 0);
  assert.equal(f.best.threshold, 0.9);
  // β = 2 weights recall: at (2/3, 1) F2 = 5·(2/3)/(4·2/3+1) = 10/11 beats (1, .5) = 2.5/4.5
  assert.equal(fbetaCurve(c, 2).best.threshold, 0.7);
});

test('ties form one threshold and the result does not depend on input order', () => {
  const scores = [1, 1, 0, 0, 1, 0.5];
  const labels = [1, 0, 1, 0, 1, 0];
  const c = prCurve(scores, labels);
  assert.deepEqual([...c.thresholds], [1, 0.5, 0]);
  assert.deepEqual([...c.tp], [2, 2, 3]);
  assert.deepEqual([...c.fp], [1, 2, 3]);
  const rng = mulberry32(7);
  for (let rep = 0; rep < 5; rep++) {
    const perm = scores.map((_, i) => i).sort(() => rng() - 0.5);
    const c2 = prCurve(
      perm.map((i) => at(scores, i)),
      perm.map((i) => at(labels, i)),
    );
    assert.deepEqual([...c2.precision], [...c.precision]);
    assert.deepEqual([...c2.recall], [...c.recall]);
  }
});

test('random inputs with heavy ties, NaN scores and unlabelled pixels equal the brute force', () => {
  const rng = mulberry32(42);
  for (let rep = 0; rep < 20; rep++) {
    const n = 50 + Math.floor(rng() * 150);
    const scores: number[] = [],
      labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const u = rng();
      scores.push(u < 0.05 ? NaN : u < 0.08 ? -Infinity : Math.round(rng() * 10) / 10); // ~11 distinct values
      labels.push(rng() < 0.05 ? NaN : rng() < 0.3 ? 1 : 0);
    }
    labels[0] = 1;
    labels[1] = 0;
    scores[0] = 0.5;
    scores[1] = 0.5; // never degenerate
    const c = prCurve(scores, labels);
    const ref = bruteForce(scores, labels);
    assert.equal(c.thresholds.length, ref.pts.length);
    ref.pts.forEach((q, k) => {
      assert.equal(c.thresholds[k], q.t);
      close(at(c.precision, k), q.p, 1e-15, 'precision');
      close(at(c.recall, k), q.r, 1e-15, 'recall');
    });
    // sums of ≤ 200 terms: rounding stays far below 1e-12
    close(averagePrecision(c), ref.ap, 1e-12, 'AP');
    // trapezoid reference written out separately from the (0, P_first) start
    let area = 0,
      r0 = 0,
      p0 = at(ref.pts, 0).p;
    for (const q of ref.pts) {
      area += ((q.r - r0) * (q.p + p0)) / 2;
      r0 = q.r;
      p0 = q.p;
    }
    close(prAuc(c), area, 1e-12, 'trapezoid');
    const nan = scores.filter((s, i) => !Number.isFinite(s) && (labels[i] === 0 || labels[i] === 1)).length;
    assert.equal(c.nanScores, nan);
    assert.equal(c.unlabelled, labels.filter((l) => l !== 0 && l !== 1).length);
    const f = fbetaCurve(c, 0.5);
    let best = -1;
    ref.pts.forEach((q) => {
      best = Math.max(best, q.p + q.r > 0 ? (1.25 * q.p * q.r) / (0.25 * q.p + q.r) : 0);
    });
    close(f.best.fbeta, best, 1e-15, 'max F0.5');
  }
});

test('perfect scorer: PR AUC = AP = 1; constant scorer: PR AUC = damaged fraction', () => {
  const labels = [0, 1, 0, 0, 1, 1, 0, 0, 0, 0];
  const perfect = labels.map((l, i) => l + i / 100);
  const e = evaluateScore('perfect', perfect, labels);
  assert.equal(e.prAucTrapezoid, 1);
  assert.equal(e.averagePrecision, 1);
  assert.equal(e.fbeta.best.precision, 1);
  assert.equal(e.fbeta.best.recall, 1);
  const flat = evaluateScore(
    'constant',
    labels.map(() => 3),
    labels,
  );
  close(flat.prAucTrapezoid, 0.3, 1e-15);
  close(flat.averagePrecision, 0.3, 1e-15);
});

test('random scorer: AP near the damaged fraction', () => {
  const rng = mulberry32(3);
  const n = 20000,
    scores = new Float64Array(n),
    labels = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    scores[i] = rng();
    labels[i] = rng() < 0.2 ? 1 : 0;
  }
  const e = evaluateScore('random', scores, labels);
  // 4000 positives: the AP of a random ranking has standard error ≈ 0.01 here; 0.03 is 3σ
  close(e.averagePrecision, e.prevalence, 0.03, 'AP');
  close(e.prAucTrapezoid, e.prevalence, 0.03, 'trapezoid');
});

test('degenerate truth is one clear DpmError', () => {
  assert.throws(
    () => prCurve([1, 2, 3], [0, 0, 0], 'ccd'),
    (e: unknown) => e instanceof DpmError && /ccd: the truth has no damaged pixel/.test(e.message),
  );
  assert.throws(
    () => prCurve([1, 2, 3], [1, 1, 1], 'ccd'),
    (e: unknown) => e instanceof DpmError && /every one of the 3 scored pixels is damaged/.test(e.message),
  );
  assert.throws(
    () => prCurve([NaN, NaN], [1, 0], 'z'),
    (e: unknown) => e instanceof DpmError && /no pixel has both a finite score/.test(e.message),
  );
  // damaged pixels whose score is NaN do not count: what is left has no positive
  assert.throws(() => prCurve([NaN, 1, 2], [1, 0, 0]), DpmError);
  assert.throws(() => prCurve([1, 2], [1, 0, 0]), DpmError);
  assert.throws(() => fbetaCurve(prCurve([1, 2], [0, 1]), 0), DpmError);
});

test('fbeta formula', () => {
  close(fbeta(0.72, 0.56, 0.5), (1.25 * 0.72 * 0.56) / (0.25 * 0.72 + 0.56), 1e-16);
  assert.equal(fbeta(0, 0, 0.5), 0);
});

test('thinning of long curves for plots and JSON keeps the ends and the optimum', () => {
  const k = thin(10000, 500, 1234);
  assert.ok(k.length <= 503 && k.length >= 500);
  assert.deepEqual([k[0], k[k.length - 1]], [0, 9999]);
  assert.ok(k.includes(1234));
  for (let i = 1; i < k.length; i++) assert.ok(at(k, i) > at(k, i - 1));
  assert.deepEqual(thin(5, 500, 2), [0, 1, 2, 3, 4]);
});
