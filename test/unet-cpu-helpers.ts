// The U-Net CPU tests' comparison (test/unet-cpu-*.test.ts).
import assert from 'node:assert/strict';

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
