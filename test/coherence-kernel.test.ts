// The wasm coherence kernel against the float64 reference (random data, several chips and strides, edge cases),
// on both builds (release: what the tools run; debug: unoptimised, assertions kept), and the estimator against the
// known expectation on correlated speckle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coherenceWasm, KERNEL_BUILDS, outputSize, type ChipSpec, type KernelBuild } from '../host/sar/kernel.js';
import { coherenceReference } from '../host/sar/reference.js';
import { expectedSampleCoherence } from '../host/sar/stats.js';
import { gaussian, maxDiff, rng, specklePair } from './sar-helpers.js';
import { at } from './at.js';

// The kernel sums in float64 like the reference but in another order (running sums) and rounds γ to float32:
// differences are a few float32 ulps of γ ≤ 1 (6e-8 each); 1e-6 leaves room without hiding a wrong sample.
const TOL = 1e-6;

function chip(cr: number, ca: number, sr = cr, sa = ca): ChipSpec {
  return { cr, ca, sr, sa };
}

function randomImages(width: number, height: number, seed: number) {
  const g = gaussian(rng(seed));
  const s1 = new Float32Array(width * height * 2).map(() => g());
  // partly correlated so γ covers (0, 1)
  const s2 = s1.map((v) => 0.6 * v + 0.8 * g());
  return { s1, s2 };
}

async function compare(
  s1: Float32Array,
  s2: Float32Array,
  w: number,
  h: number,
  c: ChipSpec,
  label: string,
  build: KernelBuild,
) {
  const fast = await coherenceWasm(s1, s2, w, h, c, build);
  const ref = coherenceReference(s1, s2, w, h, c);
  assert.equal(fast.outW, ref.outW, `${label}: outW`);
  assert.equal(fast.outH, ref.outH, `${label}: outH`);
  const d = maxDiff(fast.data, ref.data);
  assert.equal(d.nanMismatch, 0, `${label}: NaN positions differ`);
  assert.ok(d.max <= TOL, `${label}: max |wasm − ref| = ${d.max}`);
  return { fast, ref };
}

for (const build of KERNEL_BUILDS) {
  const wasm = (s1: Float32Array, s2: Float32Array, w: number, h: number, c: ChipSpec) =>
    coherenceWasm(s1, s2, w, h, c, build);

  test(`kernel = float64 reference on random data, several chips and strides (${build}.wasm)`, async () => {
    const w = 67,
      h = 41; // odd width exercises the single-column tail of the SIMD loop
    const { s1, s2 } = randomImages(w, h, 1);
    const cases: ChipSpec[] = [
      chip(15, 5),
      chip(15, 5, 1, 1),
      chip(15, 5, 4, 2),
      chip(15, 5, 20, 7), // stride = chip, dense, overlap, gaps
      chip(1, 1),
      chip(1, 1, 1, 1),
      chip(3, 2, 1, 1),
      chip(2, 3, 2, 1),
      chip(9, 3, 5, 2),
      chip(7, 7, 3, 3),
      chip(67, 41),
      chip(66, 40, 1, 1), // whole image, and a 2×2 grid of nearly whole-image chips
    ];
    for (const c of cases) {
      const { ref } = await compare(s1, s2, w, h, c, `chip ${c.cr}x${c.ca} stride ${c.sr}x${c.sa}`, build);
      assert.ok(
        ref.data.every((v) => v > 0 && v <= 1),
        'random data: every chip valid, γ in (0, 1]',
      );
    }
  });

  test(`output grid: whole chips only, partial chips at the right/bottom edge are not emitted (${build}.wasm)`, async () => {
    assert.deepEqual(outputSize(100, 50, chip(15, 5)), { outW: 6, outH: 10 });
    assert.deepEqual(outputSize(100, 50, chip(15, 5, 1, 1)), { outW: 86, outH: 46 });
    assert.deepEqual(outputSize(14, 50, chip(15, 5)), { outW: 0, outH: 10 });
    const { s1, s2 } = randomImages(10, 4, 2);
    const r = await wasm(s1, s2, 10, 4, chip(15, 5));
    assert.equal(r.data.length, 0, 'image smaller than one chip → empty output');
    // the last emitted chip ends inside the image; a sample past it changes nothing
    const big = randomImages(31, 11, 3);
    const a = await wasm(big.s1, big.s2, 31, 11, chip(15, 5));
    big.s1[2 * (10 * 31 + 30)] = 1e6; // row 10, column 30: outside the 2×2 whole chips
    const b = await wasm(big.s1, big.s2, 31, 11, chip(15, 5));
    assert.deepEqual(Array.from(a.data), Array.from(b.data));
  });

  test(`edge cases: zeros, NaN, Inf, all-invalid chips, coherence 1 and 0, scene borders (${build}.wasm)`, async () => {
    const w = 45,
      h = 20;
    const { s1, s2 } = randomImages(w, h, 4);
    const rand = rng(5);
    // scattered invalid samples in either image: zero, NaN in one component, Inf
    for (let k = 0; k < 120; k++) {
      const i = 2 * Math.floor(rand() * w * h);
      const which = k % 4;
      if (which === 0) {
        s1[i] = 0;
        s1[i + 1] = 0;
      } else if (which === 1) s2[i + 1] = NaN;
      else if (which === 2) {
        s2[i] = 0;
        s2[i + 1] = 0;
      } else s1[i] = Infinity;
    }
    // an all-zero chip (rows 5–9, columns 15–29) and an all-NaN chip in s2 at the top-left scene corner
    for (let r = 5; r < 10; r++)
      for (let c = 15; c < 30; c++) {
        s1[2 * (r * w + c)] = 0;
        s1[2 * (r * w + c) + 1] = 0;
      }
    for (let r = 0; r < 5; r++) for (let c = 0; c < 15; c++) s2[2 * (r * w + c)] = NaN;
    for (const c of [chip(15, 5), chip(15, 5, 1, 1), chip(5, 3, 2, 2)]) {
      const { ref, fast } = await compare(
        s1,
        s2,
        w,
        h,
        c,
        `invalid samples, chip ${c.cr}x${c.ca}/${c.sr}x${c.sa}`,
        build,
      );
      assert.ok(
        ref.data.some((v) => Number.isNaN(v)),
        'some chips have no valid sample',
      );
      assert.ok(fast.data.every((v) => Number.isNaN(v) || (v >= 0 && v <= 1)));
    }
    const grid = await wasm(s1, s2, w, h, chip(15, 5));
    assert.ok(Number.isNaN(grid.data[0]), 'all-NaN chip at the scene corner → NaN');
    assert.ok(Number.isNaN(grid.data[1 * grid.outW + 1]), 'all-zero chip → NaN');
    assert.ok(!Number.isNaN(grid.data[1]), 'neighbouring chip stays valid');

    // a dense pass over a fully invalid image: every output NaN (the running count returns exactly to 0)
    const zero = new Float32Array(w * h * 2);
    const z = await wasm(zero, zero, w, h, chip(15, 5, 1, 1));
    assert.ok(z.data.length > 0 && z.data.every((v) => Number.isNaN(v)));

    // γ = 1: s2 = s1 · a constant phase and gain (clipped, never above 1)
    const rot = s1.map((_, i) =>
      i % 2 === 0 ? 0.3 * at(s1, i) - 0.4 * at(s1, i + 1) : 0.4 * at(s1, i - 1) + 0.3 * at(s1, i),
    );
    const one = await wasm(s1, rot, w, h, chip(3, 3, 1, 1));
    const valid = Array.from(one.data).filter((v) => !Number.isNaN(v));
    assert.ok(valid.length > one.data.length / 2, `${valid.length} of ${one.data.length} chips valid`); // else the loop proves nothing
    for (const v of valid) assert.ok(Math.abs(v - 1) < 1e-6 && v <= 1, `γ(s, a·s) = ${v}`);
    // γ = 0 exactly: the cross products of the two samples cancel (s2 = s1 at one, −s1 at the other)
    const c0 = await wasm(new Float32Array([1, 0, 2, 0]), new Float32Array([1, 0, -2, 0]), 2, 1, chip(2, 1));
    assert.ok(Math.abs(at(c0.data, 0) - 3 / 5) < 1e-7, `|1−4| / sqrt(5·5) = 0.6, got ${c0.data[0]}`);
    const c1 = await wasm(new Float32Array([1, 0, 1, 0]), new Float32Array([1, 0, -1, 0]), 2, 1, chip(2, 1));
    assert.equal(c1.data[0], 0, 'exact cancellation gives γ = 0');
  });

  test(`running sums do not drift: a bright scatterer (80 dB) in a dark scene, dense stride (${build}.wasm)`, async () => {
    const w = 120,
      h = 60;
    const { s1, s2 } = randomImages(w, h, 6);
    for (let i = 0; i < s1.length; i++) {
      s1[i] = at(s1, i) * 1e-2;
      s2[i] = at(s2, i) * 1e-2;
    }
    for (const [r, c] of [
      [10, 20],
      [30, 70],
      [31, 71],
    ] as const) {
      const k = 2 * (r * w + c);
      s1[k] = 100;
      s1[k + 1] = -50;
      s2[k] = 80;
      s2[k + 1] = 60;
    }
    await compare(s1, s2, w, h, chip(15, 5, 1, 1), 'bright scatterer', build);
    await compare(s1, s2, w, h, chip(4, 9, 1, 2), 'bright scatterer, tall chip', build);
  });
}

test('estimates on correlated speckle match the expected sample coherence E[γ̂](γ, N looks)', async () => {
  // independent samples → N = 75 independent looks per 15×5 chip; 600 chips per level
  const w = 300,
    h = 150,
    N = 75;
  for (const [i, gamma] of [0, 0.3, 0.6, 0.9, 0.99].entries()) {
    const { s1, s2 } = specklePair(w, h, gamma, 100 + i);
    const r = await coherenceWasm(s1, s2, w, h, chip(15, 5));
    const vals = Array.from(r.data);
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    const sd = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / (vals.length - 1));
    const expect = expectedSampleCoherence(gamma, N);
    // 4.5 standard errors of the mean: a false alarm about 1 in 150,000 runs; a wrong N (e.g. 60 or 90 looks)
    // moves E[γ̂|γ=0] by ≥ 0.009, several times this bound
    const tol = (4.5 * sd) / Math.sqrt(vals.length);
    assert.ok(
      Math.abs(mean - expect) <= tol,
      `γ=${gamma}: mean γ̂ ${mean.toFixed(4)} vs E ${expect.toFixed(4)} ± ${tol.toFixed(4)}`,
    );
    if (gamma === 0) assert.ok(mean > 0.09, 'the estimator is biased upward at γ = 0 (≈ sqrt(π/4N) = 0.102)');
  }
});

test('E[γ̂] series matches the tabulated values of dpm-methods.md §1.3', () => {
  // table quoted to 4 decimals → tolerance 6e-5
  const table: [number, number, number][] = [
    [4, 0, 0.4571],
    [8, 0.2, 0.3591],
    [16, 0.5, 0.5196],
    [32, 0.8, 0.8013],
    [64, 0.95, 0.95],
    [64, 0, 0.111],
  ];
  for (const [L, g, e] of table) assert.ok(Math.abs(expectedSampleCoherence(g, L) - e) < 6e-5, `L=${L} γ=${g}`);
});
