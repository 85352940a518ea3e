// PWTT statistics (host/landslide/stats.ts): Welch's t and its two-sided p against scipy.stats.ttest_ind(post, pre,
// equal_var=False) on constructed cases (test/fixtures/welch-scipy.json, made by scripts/make-welch-cases.py),
// the single-post-value prediction t, z of a two-sided p, and Stouffer's Z = Σ z / √k.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../host/paths.js';
import { stouffer, welchT, zOfTwoSidedP, zOfWelch, Z_CAP } from '../host/landslide/stats.js';

interface Case {
  pre: number[];
  post: number[];
  t: number;
  p: number;
}
const cases = (
  JSON.parse(readFileSync(join(packageRoot, 'test', 'fixtures', 'welch-scipy.json'), 'utf8')) as { cases: Case[] }
).cases;

test('Welch t and two-sided p equal scipy ttest_ind(equal_var=False)', () => {
  assert.ok(cases.length >= 8);
  for (const c of cases) {
    const r = welchT(c.pre, c.post);
    // float64 sums in a different order than numpy: 1e-9 relative on t; jstat's incomplete beta is good to ~1e-10
    assert.ok(Math.abs(r.t - c.t) <= 1e-9 * Math.max(1, Math.abs(c.t)), `t ${r.t} vs scipy ${c.t}`);
    assert.ok(Math.abs(r.p - c.p) <= 1e-8 * Math.max(1e-3, c.p) + 1e-12, `p ${r.p} vs scipy ${c.p}`);
  }
});

test('one post value: the prediction t against the pre window; too few values: NaN', () => {
  const pre = [1, 2, 3, 4, 5];
  const r = welchT(pre, [9]);
  // mean 3, s² 2.5: t = 6 / √(2.5 · 1.2), df 4
  assert.ok(Math.abs(r.t - 6 / Math.sqrt(3)) < 1e-12);
  assert.equal(r.df, 4);
  assert.ok(r.p > 0 && r.p < 0.05);
  assert.ok(Number.isNaN(welchT([1], [2, 3]).t));
  assert.ok(Number.isNaN(welchT([1, 1, 1], [1, 1]).t), 'no variance anywhere: no t');
});

test('z of a two-sided p and of a Welch t; Stouffer as defined', () => {
  assert.ok(Math.abs(zOfTwoSidedP(0.05) - 1.959963984540054) < 1e-9);
  assert.ok(Math.abs(zOfTwoSidedP(1) - 0) < 1e-12);
  assert.equal(zOfTwoSidedP(0), Z_CAP);
  for (const c of cases) {
    const r = welchT(c.pre, c.post);
    // the same |z| from the tail directly as from p (where p is not tiny)
    if (c.p > 1e-12) assert.ok(Math.abs(zOfWelch(r) - zOfTwoSidedP(r.p)) < 1e-6);
  }
  assert.ok(Math.abs(stouffer([1, 2, 3]) - 6 / Math.sqrt(3)) < 1e-15);
  assert.ok(Math.abs(stouffer([2, Number.NaN, -1]) - 1 / Math.sqrt(2)) < 1e-15, 'NaN left out');
  assert.ok(Number.isNaN(stouffer([])));
});
