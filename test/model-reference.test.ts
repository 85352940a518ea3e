// The float64 reference forecaster against the PyTorch f64 fixtures (both configs) and finite differences.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { needsShared, sharedPath } from './shared.js';
import { paramCount, paramLayout, PAPER_CONFIG, type ModelConfig } from '../host/model/params.js';
import { ReferenceEngine, globalNorm } from '../host/model/reference.js';
import { PAPER_ADAM } from '../host/model/engine.js';
import { Rng } from '../host/model/rng.js';
import { initParams } from '../host/model/init.js';

const fixtures = sharedPath('fixtures');
// the PyTorch fixtures (/work/shared/fixtures): the tests that compare with them skip without it
const withFixtures = needsShared('fixtures', 'manifest.json');
type Tensors = Record<string, { shape: number[]; data: number[] }>;
const readJson = (p: string) => JSON.parse(readFileSync(join(fixtures, p), 'utf8'));

/** max |a − b| / max |b| (the fixtures' relative error) */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let num = 0,
    den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return den === 0 ? num : num / den;
}
function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
function packed(config: ModelConfig, t: Tensors): Float64Array {
  const out = new Float64Array(paramCount(config));
  for (const s of paramLayout(config)) out.set(t[s.fixtureName]!.data, s.offset);
  return out;
}
/** columns [0, cols) of a [B, T+1] array */
function columns(a: Float64Array, B: number, T1: number, cols: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < B; b++) for (let k = 0; k < cols; k++) out.push(a[b * T1 + k]!);
  return out;
}

test('265,090 parameters at the paper defaults', () => {
  assert.equal(paramCount(PAPER_CONFIG), 265090);
});

for (const name of ['small', 'full'] as const) {
  test(`reference engine matches the PyTorch f64 fixtures (${name})`, withFixtures, () => {
    const man = readJson('manifest.json').configs[name];
    const config: ModelConfig = { hidden: man.hidden, mlp: man.mlp, features: 1 };
    const B = man.batch as number,
      T = man.T as number;
    const init = packed(config, readJson(`${name}/params_init.json`).tensors);
    const input = readJson(`${name}/input.json`).tensors as Tensors;
    const x = input.x!.data,
      xObs = input.x_obs!.data;
    const fwd = readJson(`${name}/f64/forward.json`);
    const eng = new ReferenceEngine(config);
    eng.setParams64(init);
    const r = eng.run(x, B, T, true);

    // Both sides compute in float64 with different summation orders: differences are rounding-level (~1e-15 rel);
    // 1e-10 leaves room for error growth through T recurrent steps and still catches any real discrepancy.
    const TIGHT = 1e-10;
    assert.ok(
      Math.abs(r.loss - fwd.scalars.loss) / Math.abs(fwd.scalars.loss) < TIGHT,
      `loss ${r.loss} vs ${fwd.scalars.loss}`,
    );
    assert.ok(relErr(columns(r.mu, B, T + 1, T), fwd.tensors.mu.data) < TIGHT, 'training-mode mu');
    assert.ok(relErr(columns(r.logvar, B, T + 1, T), fwd.tensors.logvar.data) < TIGHT, 'training-mode logvar');
    assert.ok(relErr(r.mu, fwd.forecast.tensors.mu_fc.data) < TIGHT, 'forecast-mode mu');
    assert.ok(relErr(r.logvar, fwd.forecast.tensors.logvar_fc.data) < TIGHT, 'forecast-mode logvar');
    const z = Array.from(
      { length: B },
      (_, b) => (r.mu[b * (T + 1) + T]! - xObs[b]!) / Math.sqrt(Math.exp(r.logvar[b * (T + 1) + T]!)),
    );
    assert.ok(relErr(z, fwd.forecast.tensors.z.data) < TIGHT, `z ${z} vs ${fwd.forecast.tensors.z.data}`);
    assert.ok(
      Math.abs(z[man.anomalous_index]! - 5) < 1e-6,
      'the anomalous sequence has z ≈ 5 (x_obs is a float32 of μ − 5σ)',
    );

    const grads = readJson(`${name}/f64/grads.json`);
    for (const s of paramLayout(config)) {
      const e = relErr(r.grad!.subarray(s.offset, s.offset + s.size), grads.tensors[s.fixtureName].data);
      assert.ok(e < TIGHT, `gradient ${s.name}: rel ${e}`);
    }
    assert.ok(
      Math.abs(globalNorm(r.grad!, config) - grads.scalars.grad_norm) / grads.scalars.grad_norm < TIGHT,
      'grad norm',
    );

    // Adam: 1 and 5 clipped steps on the same batch. Absolute 1e-12: parameters are O(0.1–1) and move by ~lr per
    // step; float64 rounding of the update is ~1e-16; leaving out the clipping moves them by ≥ 5e-6.
    const losses = readJson(`${name}/f64/adam_trace.json`).scalars.losses_before_step as number[];
    for (let s = 1; s <= 5; s++) {
      const { loss } = eng.trainStep64(x, B, T, PAPER_ADAM);
      assert.ok(Math.abs(loss - losses[s - 1]!) / losses[s - 1]! < TIGHT, `loss before step ${s}`);
      if (s === 1 || s === 5) {
        const want = packed(config, readJson(`${name}/f64/params_adam${s}.json`).tensors);
        const e = maxAbs(eng.p, want);
        assert.ok(e < 1e-12, `params after ${s} Adam steps: max abs ${e}`);
      }
    }
    // without clipping the same steps land ≥ 5e-6 away: the comparison above can detect missing clipping
    const noClip = new ReferenceEngine(config);
    noClip.setParams64(init);
    noClip.trainStep64(x, B, T, { ...PAPER_ADAM, clipNorm: Infinity });
    const want1 = packed(config, readJson(`${name}/f64/params_adam1.json`).tensors);
    assert.ok(maxAbs(noClip.p, want1) > 4e-6);
  });
}

test('small fixture: Adam moments after 5 steps equal PyTorch exp_avg / exp_avg_sq', withFixtures, () => {
  const man = readJson('manifest.json').configs.small;
  const config: ModelConfig = { hidden: man.hidden, mlp: man.mlp, features: 1 };
  const eng = new ReferenceEngine(config);
  eng.setParams64(packed(config, readJson('small/params_init.json').tensors));
  const x = readJson('small/input.json').tensors.x.data;
  for (let s = 0; s < 5; s++) eng.trainStep64(x, man.batch, man.T, PAPER_ADAM);
  const trace = readJson('small/f64/adam_trace.json').tensors as Tensors;
  const { m, v, step } = eng.moments();
  assert.equal(step, 5);
  for (const s of paramLayout(config)) {
    // relative 1e-10: float64 rounding only (see above)
    assert.ok(
      relErr(m.subarray(s.offset, s.offset + s.size), trace[`after5.exp_avg.${s.fixtureName}`]!.data) < 1e-10,
      `m ${s.name}`,
    );
    assert.ok(
      relErr(v.subarray(s.offset, s.offset + s.size), trace[`after5.exp_avg_sq.${s.fixtureName}`]!.data) < 1e-10,
      `v ${s.name}`,
    );
  }
});

/** central differences of the loss with the fed inputs fixed: gradient entries vs analytic */
function fdCheck(config: ModelConfig, B: number, T: number, nanRate: number, seed: number) {
  const rng = new Rng(seed);
  const eng = new ReferenceEngine(config);
  eng.setParams64(initParams(config, rng));
  // scale up the parameters a little so that gates are not all near their linear regime
  for (let i = 0; i < eng.p.length; i++) eng.p[i] = eng.p[i]! * 1.5;
  const F = config.features;
  const x = new Float64Array(B * T * F);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal() * 1.5 + 1;
  let nNan = 0;
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < T; k++) {
      if (rng.next() < nanRate) {
        x[(b * T + k) * F] = NaN;
        nNan++;
      }
    }
  }
  const analytic = eng.run(x, B, T, true);
  // The model feeds its own μ_k at a NaN step as a constant: freeze those inputs at their current values and
  // leave the steps out of the loss; the finite differences then see exactly the function whose gradient we claim.
  const fed = Float64Array.from(x);
  const scored = new Uint8Array(B * T).fill(1);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < T; k++) {
      if (Number.isNaN(x[(b * T + k) * F]!)) {
        fed[(b * T + k) * F] = analytic.mu[b * (T + 1) + k]!;
        scored[b * T + k] = 0;
      }
    }
  }
  const frozen = eng.run(fed, B, T, true, scored);
  // same function, same gradient (up to summation order)
  assert.ok(Math.abs(frozen.loss - analytic.loss) < 1e-12 * Math.abs(analytic.loss));
  assert.ok(relErr(frozen.grad!, analytic.grad!) < 1e-12);
  const eps = 1e-6;
  let worst = 0;
  for (let i = 0; i < eng.p.length; i++) {
    const keep = eng.p[i]!;
    eng.p[i] = keep + eps;
    const lp = eng.run(fed, B, T, false, scored).loss;
    eng.p[i] = keep - eps;
    const lm = eng.run(fed, B, T, false, scored).loss;
    eng.p[i] = keep;
    const fd = (lp - lm) / (2 * eps);
    const a = analytic.grad![i]!;
    // central-difference truncation ~eps²·f''' ≈ 1e-12 and cancellation ~1e-16·|loss|/eps ≈ 1e-9: 1e-7 absolute
    // plus 1e-6 relative covers both with a wide margin; a wrong term in the backward pass is off by O(|g|).
    const err = Math.abs(fd - a) - (1e-7 + 1e-6 * Math.abs(a));
    worst = Math.max(worst, err);
    assert.ok(err <= 0, `param ${i}: finite difference ${fd} vs analytic ${a}`);
  }
  return { nNan, worst };
}

test('finite differences: every gradient entry of small random models (F = 1 and 2, with NaN steps)', () => {
  fdCheck({ hidden: 5, mlp: 4, features: 1 }, 3, 6, 0, 11);
  const { nNan } = fdCheck({ hidden: 6, mlp: 5, features: 1 }, 4, 7, 0.25, 12);
  assert.ok(nNan >= 3, 'the NaN case really has missing steps');
  fdCheck({ hidden: 4, mlp: 3, features: 2 }, 3, 5, 0.2, 13);
});

test("a NaN step is fed the model's own forecast mean and left out of the loss", () => {
  const config: ModelConfig = { hidden: 6, mlp: 5, features: 1 };
  const rng = new Rng(5);
  const eng = new ReferenceEngine(config);
  eng.setParams64(initParams(config, rng));
  const T = 6;
  const x = Array.from({ length: T }, () => rng.normal());
  x[2] = NaN;
  const r = eng.run(x, 1, T, false);
  const filled = x.slice();
  filled[2] = r.mu[2]!;
  const r2 = eng.run(filled, 1, T, false);
  // identical inputs downstream → identical forecasts; the loss differs by exactly the NLL of step 2
  assert.deepEqual(Array.from(r.mu), Array.from(r2.mu));
  const lv = r.logvar[2]!;
  assert.ok(Math.abs(r2.loss - r.loss - 0.5 * (Math.log(2 * Math.PI) + lv)) < 1e-12);
  // all NaN: zero loss, finite forecasts
  const allNan = eng.run(new Array(T).fill(NaN), 1, T, true);
  assert.equal(allNan.loss, 0);
  assert.ok(allNan.grad!.every((g) => g === 0));
  assert.ok(allNan.mu.every(Number.isFinite));
});
