// float16 decoding (host/core/float16.ts): the bit-level float32 decoder and its lookup table against the float64
// definition, on every one of the 65536 halves, and on the edge cases by value.
import test from 'node:test';
import assert from 'node:assert/strict';
import { halfTable, halfToFloat32, halfToNumber } from '../host/core/float16.js';

const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

test('every half: bit decoder and table equal the float64 definition exactly (±0 and NaN included)', () => {
  const table = halfTable();
  let nan = 0;
  for (let h = 0; h < 0x10000; h++) {
    const want = halfToNumber(h);
    // exact, no tolerance: every half is a float32, so the float64 value must come out unrounded
    assert.ok(Object.is(Math.fround(want), want) || Number.isNaN(want), `0x${h.toString(16)} is a float32`);
    assert.ok(same(halfToFloat32(h), want), `0x${h.toString(16)}: ${halfToFloat32(h)} vs ${want}`);
    assert.ok(same(table[h] ?? 0, want), `table 0x${h.toString(16)}`);
    if (Number.isNaN(want)) nan++;
  }
  assert.equal(nan, 2 * 1023, 'exponent 31 with a non-zero fraction, both signs');
});

test('edge cases by value: zeros, subnormals, smallest normal, one, max, infinities, NaN', () => {
  const cases: [number, number][] = [
    [0x0000, 0],
    [0x8000, -0],
    [0x0001, 2 ** -24], // smallest subnormal
    [0x8001, -(2 ** -24)],
    [0x0200, 2 ** -15], // a subnormal with one bit: 512 · 2^−24
    [0x03ff, 1023 * 2 ** -24], // largest subnormal
    [0x0400, 2 ** -14], // smallest normal
    [0x3555, 0.333251953125], // nearest half to 1/3
    [0x3c00, 1],
    [0x3c01, 1 + 2 ** -10],
    [0xc000, -2],
    [0x7bff, 65504], // largest finite
    [0xfbff, -65504],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ];
  for (const [h, v] of cases) {
    assert.ok(Object.is(halfToNumber(h), v), `reference 0x${h.toString(16)}`);
    assert.ok(Object.is(halfToFloat32(h), v), `float32 0x${h.toString(16)}: ${halfToFloat32(h)} vs ${v}`);
  }
  for (const h of [0x7c01, 0x7e00, 0x7fff, 0xfe00])
    assert.ok(Number.isNaN(halfToFloat32(h)), `NaN 0x${h.toString(16)}`);
});
