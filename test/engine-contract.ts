// Checks every ForecasterEngine must pass, shared by the engines' tests (the WebAssembly engine's today; the WGSL
// engine's test/gpu-engine.test.ts repeats the same checks and can call these): the PyTorch float32 fixtures
// (forward, z, loss, gradients) and the float64 reference on small random models with missing steps.
import assert from 'node:assert/strict';
import { PAPER_ADAM, type ForecasterEngine } from '../host/model/engine.js';
import { paramCount, paramLayout, type ModelConfig } from '../host/model/params.js';
import { ReferenceEngine } from '../host/model/reference.js';
import { Rng } from '../host/model/rng.js';
import { initParams } from '../host/model/init.js';
import { DpmError } from '../host/core/errors.js';
import { columns, f32, fixtureConfig, maxAbsErr, packParams, readFixture, relErr } from './gpu-helpers.js';

/** random sequences [B, T, F]; feature 0 gets NaN at the listed (b, k) */
export function randomX(rng: Rng, B: number, T: number, F: number, nan: [number, number][]): Float32Array {
  const x = new Float32Array(B * T * F);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform(-2, 3);
  for (const [b, k] of nan) x[(b * T + k) * F] = NaN;
  return x;
}

export interface ReferenceCase {
  config: ModelConfig;
  B: number;
  T: number;
  nan: [number, number][];
  zeroParams?: boolean;
}

export const REFERENCE_CASES: ReferenceCase[] = [
  { config: { hidden: 5, mlp: 3, features: 1 }, B: 7, T: 6, nan: [] },
  // NaN at the first and last step, two in a row, and a sequence that is missing entirely
  {
    config: { hidden: 9, mlp: 7, features: 1 },
    B: 6,
    T: 5,
    nan: [
      [0, 0],
      [1, 4],
      [2, 2],
      [2, 3],
      [5, 0],
      [5, 1],
      [5, 2],
      [5, 3],
      [5, 4],
    ],
  },
  // two input features; B not a multiple of the kernels' blocks
  { config: { hidden: 6, mlp: 5, features: 2 }, B: 5, T: 4, nan: [[3, 1]] },
  { config: { hidden: 8, mlp: 6, features: 1 }, B: 1, T: 1, nan: [] },
  // all-zero weights: every ReLU input is exactly 0 (its gradient must be 0 there, as torch's threshold_backward)
  { config: { hidden: 5, mlp: 3, features: 1 }, B: 3, T: 4, nan: [[1, 1]], zeroParams: true },
];

/**
 * Forecast (both modes), z, loss, gradient norm and gradients of `e` at the fixture's initial weights against the
 * PyTorch float32 run of config `cfg` (../shared/fixtures). Leaves the initial weights set.
 */
export async function checkFixtureForward(e: ForecasterEngine, cfg: string): Promise<void> {
  const { config, T, B } = fixtureConfig(cfg);
  const p0 = packParams(config, readFixture(cfg, 'params_init.json'));
  const input = readFixture(cfg, 'input.json');
  const x = f32(input.tensors.x!.data);
  const xObs = f32(input.tensors.x_obs!.data);
  const fw = readFixture(cfg, 'f32/forward.json');
  const grads = readFixture(cfg, 'f32/grads.json');
  await e.setParams(p0);
  // forecast mode decodes [h_0..h_T]; its first T columns are the training-mode outputs
  const fc = await e.forecast(x, B, T);
  const fcT = fw.forecast!.tensors;
  // 1e-5: float32 through the GRU and 4 decoder layers in other summation orders than BLAS; the fixtures' own
  // f32-vs-f64 gap is ≤ 4e-7 (manifest tolerance_guidance)
  assert.ok(relErr(columns(fc.mu, B, T + 1, T), f32(fw.tensors.mu!.data)) <= 1e-5, 'training-mode mu');
  assert.ok(relErr(columns(fc.logvar, B, T + 1, T), f32(fw.tensors.logvar!.data)) <= 1e-5, 'training-mode logvar');
  assert.ok(relErr(fc.mu, f32(fcT.mu_fc!.data)) <= 1e-5, 'forecast mu');
  assert.ok(relErr(fc.logvar, f32(fcT.logvar_fc!.data)) <= 1e-5, 'forecast logvar');
  const z = Array.from({ length: B }, (_, b) => {
    const mu = fc.mu[b * (T + 1) + T]!;
    return (mu - xObs[b]!) / Math.sqrt(Math.exp(fc.logvar[b * (T + 1) + T]!));
  });
  // 1e-5: z inherits the forecast's float32 error (the anomalous sequence has z ≈ 5)
  assert.ok(relErr(z, f32(fcT.z!.data)) <= 1e-5, `z ${z}`);

  const lg = await e.lossAndGrad(x, B, T);
  // 1e-5: sum of B·T float32 NLL terms (added in float64 here, in float32 by torch)
  assert.ok(Math.abs(lg.loss - fw.scalars!.loss!) / Math.abs(fw.scalars!.loss!) <= 1e-5, `loss ${lg.loss}`);
  const norm = grads.scalars!.grad_norm!;
  assert.ok(Math.abs(lg.gradNorm - norm) / norm <= 1e-5, `grad norm ${lg.gradNorm}`);
  for (const s of paramLayout(config)) {
    const err = relErr(lg.grad.subarray(s.offset, s.offset + s.size), f32(grads.tensors[s.fixtureName]!.data));
    // 1e-4 (issue 2): BPTT accumulates float32 rounding over T steps and B·T-row weight-gradient sums in another
    // order than torch
    assert.ok(err <= 1e-4, `gradient ${s.fixtureName}: rel ${err}`);
  }
}

/**
 * One reference case on a fresh engine from `open`: forecasts, loss, gradients and three clipped Adam steps against
 * the float64 reference started from the same weights.
 */
export async function checkAgainstReference(
  c: ReferenceCase,
  seed: number,
  open: (config: ModelConfig) => Promise<ForecasterEngine>,
): Promise<void> {
  const { config, B, T } = c;
  const rng = new Rng(seed);
  const p0 = c.zeroParams ? new Float32Array(paramCount(config)) : initParams(config, rng);
  const x = randomX(rng, B, T, config.features, c.nan);
  const ref = new ReferenceEngine(config);
  await ref.setParams(p0);
  const e = await open(config);
  try {
    await e.setParams(p0);
    const what = `H ${config.hidden}, M ${config.mlp}, F ${config.features}, B ${B}, T ${T}`;
    const [fg, fr] = [await e.forecast(x, B, T), await ref.forecast(x, B, T)];
    // 1e-5: float32 engine vs float64 reference, a few float32 roundings per layer
    assert.ok(relErr(fg.mu, fr.mu) <= 1e-5, `${what}: mu ${relErr(fg.mu, fr.mu)}`);
    assert.ok(relErr(fg.logvar, fr.logvar) <= 1e-5, `${what}: logvar`);
    const [lg, lr] = [await e.lossAndGrad(x, B, T), await ref.lossAndGrad(x, B, T)];
    // masked steps are excluded: the loss must be finite even with a whole sequence missing
    assert.ok(Number.isFinite(lg.loss));
    assert.ok(Math.abs(lg.loss - lr.loss) <= 1e-5 * Math.abs(lr.loss), `${what}: loss ${lg.loss} vs ${lr.loss}`);
    assert.ok(Math.abs(lg.gradNorm - lr.gradNorm) <= 1e-5 * lr.gradNorm, `${what}: grad norm`);
    for (const s of paramLayout(config)) {
      const err = relErr(lg.grad.subarray(s.offset, s.offset + s.size), lr.grad.subarray(s.offset, s.offset + s.size));
      // 1e-4 as for the fixtures (float32 BPTT vs float64)
      assert.ok(err <= 1e-4, `${what}: gradient ${s.name} rel ${err}`);
    }
    const loss = await e.loss(x, B, T);
    assert.ok(Math.abs(loss - lr.loss) <= 1e-5 * Math.abs(lr.loss), `${what}: loss()`);
    for (let i = 0; i < 3; i++) {
      const [sg, sr] = [await e.trainStep(x, B, T, PAPER_ADAM), await ref.trainStep(x, B, T, PAPER_ADAM)];
      assert.ok(Math.abs(sg.loss - sr.loss) <= 1e-5 * Math.abs(sr.loss), `${what}: train loss, step ${i + 1}`);
    }
    const err = maxAbsErr(await e.getParams(), await ref.getParams());
    // 2e-6 absolute after 3 clipped Adam steps (as for the fixtures: lr·g/(|g| + eps) near eps)
    assert.ok(err <= 2e-6, `${what}: params after 3 Adam steps, max abs ${err}`);
  } finally {
    e.destroy();
  }
}

/**
 * A missing step is fed the forecast mean: replacing the NaN by the engine's own μ_k gives the same forecast to the
 * bit, and the loss drops that step's NLL term (to `lossTol` relative: the sums' order may differ).
 */
export async function checkMissingStepFeedsMean(e: ForecasterEngine, lossTol: number): Promise<void> {
  const rng = new Rng(77);
  await e.setParams(initParams(e.config, rng));
  const B = 3,
    T = 6;
  const x = randomX(rng, B, T, e.config.features, [[1, 2]]);
  const a = await e.forecast(x, B, T);
  const filled = x.slice();
  filled[(1 * T + 2) * e.config.features] = a.mu[1 * (T + 1) + 2]!;
  const b = await e.forecast(filled, B, T);
  assert.deepEqual(Array.from(b.mu), Array.from(a.mu));
  const la = await e.loss(x, B, T);
  const lb = await e.loss(filled, B, T);
  const lv = a.logvar[1 * (T + 1) + 2]!;
  assert.ok(Math.abs(lb - 0.5 * (Math.log(2 * Math.PI) + lv) - la) <= lossTol * Math.abs(la));
}

/** Wrong shapes, parameter counts, sequence lengths, NaN in an extra feature: one clear DpmError each. */
export async function checkBadCalls(open: (config: ModelConfig) => Promise<ForecasterEngine>): Promise<void> {
  const e = await open({ hidden: 8, mlp: 6, features: 1 });
  try {
    const says = (re: RegExp) => (err: Error) => err instanceof DpmError && re.test(err.message);
    await assert.rejects(e.forecast(new Float32Array(5), 2, 3), says(/x holds 5 values, expected/));
    await assert.rejects(e.setParams(new Float32Array(3)), says(/parameters/));
    assert.throws(() => e.maxBatch(0), DpmError);
  } finally {
    e.destroy();
  }
  const e2 = await open({ hidden: 6, mlp: 5, features: 2 });
  try {
    const x = new Float32Array(2 * 3 * 2);
    x[3] = NaN; // feature 1 of sequence 0, step 1
    const says = (err: Error) => err instanceof DpmError && /feature 1 of sequence 0, step 1/.test(err.message);
    await assert.rejects(e2.loss(x, 2, 3), says);
  } finally {
    e2.destroy();
  }
  await assert.rejects(open({ hidden: 0, mlp: 4, features: 1 }), DpmError);
}
