// Statistics of dpm validate-points (papers/002): percentiles, ANOVA, lognormal fragility MLE, optimal threshold.
import test from 'node:test';
import assert from 'node:assert/strict';
import { DpmError } from '../host/core/errors.js';
import {
  boxStats,
  classifyAt,
  fitFragility,
  fragilityProbability,
  logPhi,
  oneWayAnova,
  optimalThreshold,
  Phi,
  percentileSorted,
  probitLogLik,
} from '../host/eval/points/stats.js';
import { jStat } from '../host/eval/points/jstat.js';

import { mulberry32 as rng } from './random.js';
function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

test('percentiles follow numpy (linear interpolation, type 7)', () => {
  // numpy.percentile([1, 2, 3, 4], [0, 25, 50, 95, 100]) = 1, 1.75, 2.5, 3.85, 4
  const s = [1, 2, 3, 4];
  assert.equal(percentileSorted(s, 0), 1);
  assert.equal(percentileSorted(s, 25), 1.75);
  assert.equal(percentileSorted(s, 50), 2.5);
  assert.ok(Math.abs(percentileSorted(s, 95) - 3.85) < 1e-12); // float rounding of 0.95·3 only
  assert.equal(percentileSorted(s, 100), 4);
  const b = boxStats([5, 1, 4, 2, 3, 100, -50, 3, 3, 2, 4, 1, 2, 3, 4, 5, 3, 2, 3, 4]);
  assert.equal(b.n, 20);
  assert.equal(b.p50, 3);
  // 5th/95th of the 20 sorted values: -50 + 0.95·(1 − (−50)) and 5 + 0.05·(100 − 5) → only the two extremes are outliers
  assert.deepEqual(b.outliers, [-50, 100]);
});

test('one-way ANOVA equals the hand-derived F and p (df1 = 2 gives p in closed form)', () => {
  // Textbook example: means 5, 9, 10, grand mean 8; SSB = 6·(9 + 1 + 4) = 84, SSW = 16 + 24 + 28 = 68,
  // F = (84/2)/(68/15). With df1 = 2 the F survival function is (df2/(df2 + 2F))^(df2/2).
  const a = oneWayAnova([
    [6, 8, 4, 5, 3, 4],
    [8, 12, 9, 11, 6, 8],
    [13, 9, 11, 8, 7, 12],
  ]);
  assert.equal(a.ssBetween, 84);
  assert.ok(Math.abs(a.ssWithin - 68) < 1e-12);
  assert.ok(Math.abs(a.f - 42 / (68 / 15)) < 1e-12);
  const pHand = (15 / (15 + 2 * a.f)) ** 7.5;
  assert.ok(Math.abs(a.p - pHand) < 1e-12 * 1e3, `p ${a.p} vs ${pHand}`); // incomplete-beta evaluation, ~1e-12 relative
  assert.ok(Math.abs(a.p - 0.0023987773293929083) < 1e-12); // scipy.stats.f_oneway (1.17.1)
  // notes/dpm-methods.md §5.2 test vector: F = 13, p = (6/32)³ exactly
  const b = oneWayAnova([
    [1, 2, 3],
    [2, 3, 4],
    [5, 6, 7],
  ]);
  assert.ok(Math.abs(b.f - 13) < 1e-12);
  assert.ok(Math.abs(b.p - 0.006591796875) < 1e-13);
  // two unequal groups with negative values (df1 = 1: F = t², cross-checked with scipy: 8.35176714565163, 0.034189104039220555)
  const c = oneWayAnova([
    [0.12, 0.3, -0.05, 0.2],
    [0.4, 0.35, 0.52],
  ]);
  assert.ok(Math.abs(c.f - 8.35176714565163) < 1e-9);
  assert.ok(Math.abs(c.p - 0.034189104039220555) < 1e-9);
});

test('ANOVA edge cases: constant groups, empty group, too few observations', () => {
  const a = oneWayAnova([
    [1, 1],
    [2, 2],
  ]);
  assert.equal(a.f, Infinity);
  assert.equal(a.p, 0);
  assert.ok(
    Number.isNaN(
      oneWayAnova([
        [1, 1],
        [1, 1],
      ]).f,
    ),
  );
  assert.throws(
    () => oneWayAnova([[1, 2], []], 'crit 1'),
    (e: Error) => e instanceof DpmError && /crit 1: group 2 of 2 is empty/.test(e.message),
  );
  assert.throws(() => oneWayAnova([[1], [2]]), /no degree of freedom/);
});

test('normal CDF keeps its relative accuracy in the tails (jstat alone underflows below −9)', () => {
  // scipy.stats.norm.cdf / logcdf; relative tolerance 1e-12 (the continued fraction is exact to ~1e-15 for x ≥ 5)
  const ref: [number, number, number][] = [
    [-30, 4.906713927147908e-198, -454.32124395634327],
    [-20, 2.7536241186061556e-89, -203.9171553710973],
    [-10, 7.61985302416047e-24, -53.23128515051248],
    [-6, 9.865876450376946e-10, -20.73676894997471],
    [-3, 0.0013498980316300933, -6.60772622151035],
    [1.5, 0.9331927987311419, -0.06914345561223399],
  ];
  for (const [z, p, lp] of ref) {
    assert.ok(Math.abs(Phi(z) / p - 1) < 1e-9, `Φ(${z}) = ${Phi(z)}`); // jstat's erfc is good to ~1e-10 inside |z| ≤ 5
    assert.ok(Math.abs(logPhi(z) - lp) < 1e-9 * Math.max(1, Math.abs(lp)), `ln Φ(${z})`);
  }
});

test('fragility MLE reproduces the reference fit (scipy Nelder–Mead on the same likelihood)', () => {
  // notes/dpm-methods.md §5.2: θ = 0.359716, β = 0.809446, −ln L = 6.848001 (scipy: 0.35971597, 0.80944572, 6.848001305893)
  const x = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
  const y = [0, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 1];
  const f = fitFragility(x, y);
  // Nelder–Mead converged to ~1e-8 in the parameters; IRLS to ~1e-9
  assert.ok(Math.abs(f.theta - 0.35971597) < 1e-6, `θ ${f.theta}`);
  assert.ok(Math.abs(f.beta - 0.80944572) < 1e-6, `β ${f.beta}`);
  assert.ok(Math.abs(-f.logLik - 6.848001305893) < 1e-8);
  // it is a maximum: every small step in (θ, β) lowers the likelihood (independent of the solver)
  const u = x.map(Math.log);
  for (const [dt, db] of [
    [1.01, 1],
    [0.99, 1],
    [1, 1.01],
    [1, 0.99],
  ] as const) {
    const th = f.theta * dt,
      be = f.beta * db;
    assert.ok(probitLogLik(u, y, -Math.log(th) / be, 1 / be) < f.logLik);
  }
});

test('fragility MLE recovers the generating median and β within sampling error', () => {
  // x ~ lognormal(median 0.3, σ_ln 0.7), y ~ Bernoulli(Φ(ln(x/θ)/β)) with θ = 0.35, β = 0.5, N = 1500.
  // Bound: each estimate within 4 asymptotic standard errors (inverse Fisher information at the fit; a 4σ miss
  // has probability 6e-5 per estimate), and over 12 replicates the RMS of the standardised errors lies in
  // [0.5, 1.6] (it is ≈ 1 when the standard errors are right; the χ²₁₂/12 99.9% range is [0.27, 2.7] for the mean square).
  const theta = 0.35,
    beta = 0.5;
  const zs: number[] = [];
  for (let rep = 0; rep < 12; rep++) {
    const r = rng(1000 + rep);
    const x: number[] = [],
      y: number[] = [];
    for (let i = 0; i < 1500; i++) {
      const xi = 0.3 * Math.exp(0.7 * gauss(r));
      x.push(xi);
      y.push(r() < jStat.normal.cdf(Math.log(xi / theta) / beta, 0, 1) ? 1 : 0);
    }
    const f = fitFragility(x, y);
    const zt = (Math.log(f.theta) - Math.log(theta)) / f.seLnTheta;
    const zb = (f.beta - beta) / f.seBeta;
    assert.ok(Math.abs(zt) < 4, `rep ${rep}: θ ${f.theta} (z ${zt})`);
    assert.ok(Math.abs(zb) < 4, `rep ${rep}: β ${f.beta} (z ${zb})`);
    zs.push(zt, zb);
  }
  const rms = Math.sqrt(zs.reduce((s, z) => s + z * z, 0) / zs.length);
  assert.ok(rms > 0.5 && rms < 1.6, `RMS standardised error ${rms}`);
});

test('fragility: steep curves on a narrow index range keep finite standard errors', () => {
  // index in [0.8, 1.7] with β = 0.07: η reaches ±10, where a naive Φ underflows and the information matrix breaks
  const r = rng(3);
  const x: number[] = [],
    y: number[] = [];
  for (let i = 0; i < 400; i++) {
    const xi = 0.8 + 0.9 * r();
    x.push(xi);
    y.push(r() < Phi(Math.log(xi / 1.2) / 0.07) ? 1 : 0);
  }
  const f = fitFragility(x, y);
  assert.ok(Number.isFinite(f.seLnTheta) && f.seLnTheta > 0 && Number.isFinite(f.seBeta) && f.seBeta > 0);
  assert.ok(Math.abs(Math.log(f.theta / 1.2)) < 4 * f.seLnTheta, `θ ${f.theta} ± ${f.seLnTheta}`);
  assert.ok(Math.abs(f.beta - 0.07) < 4 * f.seBeta, `β ${f.beta} ± ${f.seBeta}`);
});

test('fragility: separation, equal outcomes and non-positive indices', () => {
  const sep = fitFragility([0.1, 0.2, 0.3, 0.5, 0.6], [0, 0, 0, 1, 1]);
  assert.ok(sep.separated);
  assert.equal(sep.beta, 0);
  assert.ok(Math.abs(sep.theta - Math.sqrt(0.3 * 0.5)) < 1e-12); // geometric midpoint of the gap
  const rev = fitFragility([0.1, 0.2, 0.3, 0.5, 0.6], [1, 1, 0, 0, 0]);
  assert.ok(rev.separated && rev.reversed);
  assert.ok(Math.abs(rev.theta - Math.sqrt(0.2 * 0.3)) < 1e-12);
  assert.equal(fragilityProbability(rev, 0.1), 1);
  assert.equal(fragilityProbability(rev, 0.5), 0);
  assert.throws(
    () => fitFragility([0.1, 0.2, 0.3], [1, 1, 1], 'd > 5'),
    (e: Error) => e instanceof DpmError && /d > 5: all 3 buffers have the same outcome/.test(e.message),
  );
  assert.throws(
    () => fitFragility([0.1, -0.2, 0.3], [0, 1, 1]),
    (e: Error) => e instanceof DpmError && /not positive/.test(e.message),
  );
  assert.throws(
    () => fitFragility([0.4, 0.4, 0.4, 0.4], [0, 1, 0, 1], 'd > 0'),
    /d > 0: every one of the 4 buffers has the same index/,
  );
  // an index that falls with exceedance gives β < 0 (reported as such), with the same |β| as the mirrored data
  const up = fitFragility([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0, 1, 0, 1, 1, 1]);
  const down = fitFragility([1 / 0.1, 1 / 0.2, 1 / 0.3, 1 / 0.4, 1 / 0.5, 1 / 0.6], [0, 1, 0, 1, 1, 1]);
  assert.ok(down.beta < 0 && Math.abs(down.beta + up.beta) < 1e-8 && Math.abs(down.theta * up.theta - 1) < 1e-8);
});

test('optimal threshold maximises Youden J (checked by brute force) and reports precision/recall', () => {
  const x = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7];
  const y = [0, 0, 1, 0, 1, 1, 1];
  const t = optimalThreshold(x, y);
  // by hand: x ≥ 0.5 → TP 3, FP 0, J = 3/4; x ≥ 0.3 → TP 4, FP 1, J = 1 − 1/3
  assert.equal(t.threshold, 0.5);
  assert.deepEqual([t.tp, t.fp, t.fn, t.tn], [3, 0, 1, 3]);
  assert.equal(t.precision, 1);
  assert.equal(t.recall, 0.75);
  // random cases against an exhaustive search over every cut
  const r = rng(7);
  for (let rep = 0; rep < 20; rep++) {
    const xs = Array.from({ length: 40 }, () => Math.round(r() * 20) / 20);
    const ys = xs.map((v) => (r() < v ? 1 : 0));
    if (!ys.includes(0) || !ys.includes(1)) continue;
    const best = Math.max(...xs.map((c) => classifyAt(xs, ys, c).youden));
    assert.ok(Math.abs(optimalThreshold(xs, ys).youden - best) < 1e-12);
  }
});
