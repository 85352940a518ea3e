// The CPU engine's wasm kernels one by one (assembly/forecaster/index.ts) against slow float64 TypeScript
// references: the packed sgemm in every init mode and at sizes that are not multiples of its 3 × 12 tile, the
// packing (transposed or not, columns of a wider block), exp/σ/tanh, the gradient norm and Adam. Each in the
// relaxed, plain and debug (bounds-checked) builds. The fused GRU/decoder phases and the weight gradients are checked
// through the engine (cpu-engine.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forecasterModule, instantiate, sharedMemory, type ForecasterExports } from '../host/cpu/wasm.js';
import { globalNorm } from '../host/model/reference.js';
import { paramCount, type ModelConfig } from '../host/model/params.js';
import { Rng } from '../host/model/rng.js';

interface Kernels {
  ex: ForecasterExports;
  mem: WebAssembly.Memory;
  /** bump allocator over the memory, 64-byte aligned */
  alloc(floats: number): number;
  f32(at: number, n: number): Float32Array;
}

function kernels(simd: 'relaxed' | 'plain', debug = false): Kernels {
  const mem = sharedMemory(64 * 2 ** 20);
  const ex = instantiate(forecasterModule(simd, debug), mem);
  let top = Math.ceil(ex.heapBase() / 64) * 64;
  return {
    ex,
    mem,
    alloc(floats) {
      const at = top;
      top = Math.ceil((top + floats * 4) / 64) * 64;
      return at;
    },
    f32: (at, n) => new Float32Array(mem.buffer, at, n),
  };
}

const BUILDS = [
  ['relaxed', false],
  ['plain', false],
  ['plain', true],
] as const;

function random(rng: Rng, n: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform(lo, hi));
}

/** Σ_k a[i, k] b[k, j] in float64, plus init */
function gemmRef(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  K: number,
  init: (i: number, j: number) => number,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = init(i, j);
      for (let k = 0; k < K; k++) s += a[i * K + k]! * b[k * n + j]!;
      c[i * n + j] = s;
    }
  }
  return c;
}

for (const [simd, debug] of BUILDS) {
  const name = `${simd}${debug ? ' debug' : ''}`;

  test(`sgemm matches float64 in every init mode, at sizes off its tile (${name})`, () => {
    const k = kernels(simd, debug);
    const rng = new Rng(17);
    for (const [m, n, K] of [
      [1, 1, 1],
      [3, 12, 5],
      [7, 13, 64],
      [10, 25, 65],
      [4, 24, 300],
      [35, 37, 129],
      [5, 20, 70], // a last panel of 8 columns (two vectors), of 5
      [6, 17, 33],
    ] as const) {
      const a = random(rng, m * K),
        b = random(rng, K * n),
        bias = random(rng, n),
        c0 = random(rng, m * n);
      const pa = k.alloc(m * K),
        pb = k.alloc(K * n),
        pp = k.alloc(k.ex.packedFloats(K, n));
      const pc = k.alloc(m * n + 16),
        pbias = k.alloc(n),
        tile = k.alloc(128);
      k.f32(pa, m * K).set(a);
      k.f32(pb, K * n).set(b);
      k.f32(pbias, n).set(bias);
      // B given row-major [K, n]: rs = n, cs = 1
      k.ex.packB(pb, n, 1, K, n, pp);
      const guard = k.f32(pc + m * n * 4, 16);
      guard.fill(7);
      for (const mode of ['zero', 'bias', 'accumulate'] as const) {
        k.f32(pc, m * n).set(c0);
        k.ex.gemm(pa, K, pp, K, pc, n, m, n, mode === 'bias' ? pbias : 0, mode === 'accumulate' ? 1 : 0, tile);
        const initOf = (i: number, j: number) =>
          mode === 'bias' ? bias[j]! : mode === 'accumulate' ? c0[i * n + j]! : 0;
        const want = gemmRef(a, b, m, n, K, initOf);
        const got = k.f32(pc, m * n);
        for (let i = 0; i < m * n; i++) {
          // float32 products summed in blocks of 64, the blocks and init in a float32 total: ≤ 64 + K/64 + 1
          // roundings of sums ≤ K + 1 in size (terms ≤ 1)
          const what = `${m}×${n}×${K} ${mode}: [${i}] ${got[i]} vs ${want[i]}`;
          assert.ok(Math.abs(got[i]! - want[i]!) <= (65 + K / 64) * 2 ** -24 * (K + 1), what);
        }
        assert.ok(
          guard.every((v) => v === 7),
          `${m}×${n}×${K} ${mode}: wrote past C`,
        );
      }
    }
  });

  test(`sgemm: a row's result does not depend on its place in the tile; NaN stays in its row (${name})`, () => {
    const k = kernels(simd, debug);
    const rng = new Rng(3);
    const m = 8,
      n = 14,
      K = 70;
    const a = random(rng, m * K),
      b = random(rng, K * n);
    const pa = k.alloc(m * K),
      pb = k.alloc(K * n),
      pp = k.alloc(k.ex.packedFloats(K, n));
    const pc = k.alloc(m * n),
      p1 = k.alloc(n),
      tile = k.alloc(128);
    k.f32(pa, m * K).set(a);
    k.f32(pb, K * n).set(b);
    k.ex.packB(pb, n, 1, K, n, pp);
    k.f32(pa, m * K)[2 * K + 5] = NaN; // row 2
    k.ex.gemm(pa, K, pp, K, pc, n, m, n, 0, 0, tile);
    const all = k.f32(pc, m * n).slice();
    for (let i = 0; i < m; i++) {
      k.ex.gemm(pa + i * K * 4, K, pp, K, p1, n, 1, n, 0, 0, tile);
      assert.deepEqual(Array.from(k.f32(p1, n)), Array.from(all.subarray(i * n, (i + 1) * n)), `row ${i} alone`);
    }
    for (let i = 0; i < m * n; i++) assert.equal(Number.isNaN(all[i]!), Math.floor(i / n) === 2, `NaN at ${i}`);
  });

  test(`packing: weights, transposed or not, and columns of a wider row-major block (${name})`, () => {
    const k = kernels(simd, debug);
    const rng = new Rng(8);
    const K = 5,
      N = 14,
      ld = 31;
    const w = random(rng, K * ld); // W [N, K]: B = Wᵀ (rs = 1, cs = K); also [K, ld] row-major
    const src = k.alloc(K * ld),
      dst = k.alloc(k.ex.packedFloats(K, 26));
    k.f32(src, K * ld).set(w);
    const panelsOf = (cols: number) => Math.ceil(cols / 12);
    const check = (cols: number, want: (kk: number, j: number) => number, what: string) => {
      const got = k.f32(dst, panelsOf(cols) * K * 12);
      for (let jp = 0; jp < panelsOf(cols); jp++) {
        for (let kk = 0; kk < K; kk++) {
          for (let jj = 0; jj < 12; jj++) {
            const j = jp * 12 + jj;
            assert.equal(got[(jp * K + kk) * 12 + jj], j < cols ? want(kk, j) : 0, `${what}: k ${kk} j ${j}`);
          }
        }
      }
    };
    k.ex.packB(src, 1, K, K, N, dst);
    check(N, (kk, j) => w[j * K + kk]!, 'Wᵀ');
    k.ex.packB(src, N, 1, K, N, dst); // the same floats read as [K, N] row-major
    check(N, (kk, j) => w[kk * N + j]!, 'W');
    // columns j0 … j0 + n of the [K, ld] block (a weight gradient's dY): whole panels, and whole plus a partial one
    for (const [j0, n] of [
      [3, 24],
      [5, 26],
      [0, 7],
    ] as const) {
      k.ex.packB(src + j0 * 4, ld, 1, K, n, dst);
      check(n, (kk, j) => w[kk * ld + j0 + j]!, `columns ${j0}…${j0 + n}`);
    }
  });

  test(`exp, σ and tanh stay within 2 float32 ulp of float64 over their range, saturate cleanly (${name})`, () => {
    const k = kernels(simd, debug);
    const n = 4096;
    const src = k.alloc(n),
      dst = k.alloc(n);
    const fns = [Math.exp, (x: number) => 1 / (1 + Math.exp(-x)), Math.tanh];
    for (const [kind, fn] of fns.entries()) {
      const xs = Float32Array.from({ length: n }, (_, i) => (kind === 0 ? -80 + (160 * i) / n : -12 + (24 * i) / n));
      xs[0] = 0;
      xs[1] = -0;
      xs[2] = 1e-30;
      k.f32(src, n).set(xs);
      k.ex.activation(kind, src, dst, n);
      const got = k.f32(dst, n);
      for (let i = 0; i < n; i++) {
        const want = fn(xs[i]!);
        // 2 ulp of the result; tanh below |x| = 0.4 and σ at large −x: relative to max(|want|, 1e-38)
        const ulp = Math.max(Math.abs(want), 1e-38) * 2 ** -23;
        assert.ok(Math.abs(got[i]! - want) <= 2 * ulp, `kind ${kind} at ${xs[i]}: ${got[i]} vs ${want}`);
      }
      const edges = Float32Array.from([200, -200, Infinity, -Infinity]);
      k.f32(src, 4).set(edges);
      k.ex.activation(kind, src, dst, 4);
      const e = Array.from(k.f32(dst, 4));
      // the exp clamps to [e^−87.3, e^88.4]: finite, and σ / tanh reach their limits
      if (kind === 0)
        assert.ok(
          e.every((v) => Number.isFinite(v) && v >= 0),
          `exp edges ${e}`,
        );
      if (kind === 1)
        assert.deepEqual(
          e.map((v) => Math.round(v * 1e6) / 1e6),
          [1, 0, 1, 0],
        );
      if (kind === 2) assert.deepEqual(e, [1, -1, 1, -1]);
    }
  });

  test(`gradient norm and Adam match the float64 reference formulas (${name})`, () => {
    const k = kernels(simd, debug);
    const config: ModelConfig = { hidden: 5, mlp: 3, features: 2 };
    const P = paramCount(config);
    assert.equal(k.ex.paramCount(5, 3, 2), P);
    const rng = new Rng(21);
    const g = random(rng, P, -3, 3),
      p = random(rng, P),
      m = random(rng, P, -0.1, 0.1),
      v = random(rng, P, 0, 0.01);
    g[4] = 0;
    const [pg, pp, pm, pv] = [k.alloc(P), k.alloc(P), k.alloc(P), k.alloc(P)];
    k.f32(pg, P).set(g);
    k.f32(pp, P).set(p);
    k.f32(pm, P).set(m);
    k.f32(pv, P).set(v);
    const norm = Math.sqrt(k.ex.gradNormSquared(pg, 5, 3, 2));
    // float64 sums of the same float32 squares, in the same per-tensor order
    assert.ok(Math.abs(norm - globalNorm(g, config)) <= 1e-12 * norm);
    const [b1, b2, eps, lr, step, coef] = [0.9, 0.999, 1e-8, 5e-4, 3, 0.25];
    const bc1 = 1 - b1 ** step,
      bc2 = 1 - b2 ** step;
    k.ex.adam(pp, pg, pm, pv, P, coef, 0, b1, b2, eps, lr / bc1, Math.sqrt(bc2));
    for (let i = 0; i < P; i++) {
      const gi = g[i]! * coef;
      const mi = b1 * m[i]! + (1 - b1) * gi,
        vi = b2 * v[i]! + (1 - b2) * gi * gi;
      const pi = p[i]! - ((lr / bc1) * mi) / (Math.sqrt(vi) / Math.sqrt(bc2) + eps);
      // computed in float64, stored as float32: exactly the rounded float64 value
      assert.equal(k.f32(pm, P)[i], Math.fround(mi));
      assert.equal(k.f32(pv, P)[i], Math.fround(vi));
      assert.equal(k.f32(pp, P)[i], Math.fround(pi));
    }
  });
}

test('a kernel that reaches past the memory traps instead of writing elsewhere (debug build)', () => {
  const k = kernels('plain', true);
  const past = k.mem.buffer.byteLength;
  assert.throws(() => k.ex.activation(0, past, past, 4));
});
