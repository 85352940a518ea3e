// The U-Net CPU tests' comparison (test/unet-cpu-*.test.ts).
import assert from 'node:assert/strict';
import { unetParamLayout } from '../host/model/unet/config.js';
import type { UNetFixture } from './unet-fixtures.js';

/** max |a − e| ≤ rel · max |e|: relative to the tensor's scale (single elements near 0 carry the sums' rounding) */
export function close(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let d = 0;
  let s = 1e-30;
  for (let i = 0; i < expected.length; i++) {
    d = Math.max(d, Math.abs(actual[i]! - expected[i]!));
    s = Math.max(s, Math.abs(expected[i]!));
  }
  assert.ok(d <= rel * s, `${what}: max error ${d.toExponential(2)} > ${rel} × ${s.toExponential(2)}`);
}

/**
 * Parameters after the fixture's Adam steps (docs/unet.md on main, as test/unet-reference.test.ts there asserts it):
 * within 1e-5, except where a gradient entry is tiny next to its tensor's largest: Adam's step lr·m̂/√v̂ does not depend
 * on the gradient's scale, so the float32 gradient error (1e-4 · max |g| of the tensor) becomes a step error of
 * lr · 1e-4·max|g|/|g_i| per step (capped at 2 lr); and at least 99.9 % of the parameters within 1e-5.
 */
export function assertAdamParams(f: UNetFixture, params: Float32Array): void {
  const ABS = 1e-5;
  const REL = 1e-4;
  const lrSteps = f.adam.lr * f.adam.steps;
  for (const s of unetParamLayout(f.config)) {
    const g = f.grad.subarray(s.offset, s.offset + s.size);
    const gmax = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let i = 0; i < s.size; i++) {
      const tol = ABS + lrSteps * Math.min(2, (REL * gmax) / Math.abs(g[i]!));
      const err = Math.abs(params[s.offset + i]! - f.adam.params[s.offset + i]!);
      assert.ok(err <= tol, `${s.name}[${i}] after ${f.adam.steps} Adam steps: error ${err} > ${tol}`);
    }
  }
  let within = 0;
  for (let i = 0; i < params.length; i++) if (Math.abs(params[i]! - f.adam.params[i]!) <= ABS) within++;
  assert.ok(within >= 0.999 * params.length, `only ${within} of ${params.length} parameters within ${ABS}`);
}
