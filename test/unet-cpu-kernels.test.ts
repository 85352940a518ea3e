// The U-Net's wasm layers one by one (assembly/unet/index.ts) against the float64 reference layers
// (host/model/unet/reference-layers.ts), on random inputs at sizes that are not multiples of the sgemm's 12-column
// panel or of the weight gradient's pixel chunk, and edge cases (ties in the max-pool, every label ignored); each in
// the relaxed, plain and debug (bounds-checked) builds. The whole network is checked through the engine against
// PyTorch (unet-cpu-engine.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instantiateUNet, unetModule, type UNetExports } from '../host/cpu/unet-wasm.js';
import { sharedMemory } from '../host/cpu/wasm.js';
import { Rng } from '../host/model/rng.js';
import { unetParamLayout } from '../host/model/unet/config.js';
import {
  actOf,
  adamStep,
  batchNormEvalForward,
  batchNormTrainBackward,
  batchNormTrainForward,
  convBackward,
  convForward,
  crossEntropy,
  maxPoolBackward,
  maxPoolForward,
  reluBackward,
  reluForward,
  updateRunningStats,
  upBackward,
  upForward,
} from '../host/model/unet/reference-layers.js';
import { close, loadUNetFixture, type UNetFixture } from './unet-fixtures.js';

interface Kernels {
  ex: UNetExports;
  put(a: Float32Array | Uint8Array): number;
  zeros(floats: number): number;
  get(at: number, n: number): Float32Array;
  f64(at: number, n: number): Float64Array;
  tile: number;
}

function kernels(simd: 'relaxed' | 'plain', debug = false): Kernels {
  const mem = sharedMemory(256 * 2 ** 20);
  const ex = instantiateUNet(unetModule(simd, debug), mem);
  let top = Math.ceil(ex.heapBase() / 64) * 64;
  const zeros = (floats: number) => {
    const at = top;
    top = Math.ceil((top + floats * 4) / 64) * 64;
    new Float32Array(mem.buffer, at, floats).fill(0);
    return at;
  };
  return {
    ex,
    zeros,
    put(a) {
      const at = zeros(Math.ceil(a.byteLength / 4));
      new Uint8Array(mem.buffer, at, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      return at;
    },
    get: (at, n) => new Float32Array(mem.buffer, at, n).slice(),
    f64: (at, n) => new Float64Array(mem.buffer, at, n).slice(),
    tile: zeros(128),
  };
}

const BUILDS = [
  ['relaxed', false],
  ['plain', false],
  ['plain', true],
] as const;

function random(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
}

// sizes: an odd 3 × 5, a row longer than one panel (13), one with more than a weight-gradient chunk (512) pixels;
// all but the last take several output rows per product (rowsPerProduct), with a shorter last group
const CONV_CASES = [
  { C: 2, O: 3, H: 16, W: 16 },
  { C: 3, O: 5, H: 3, W: 5 },
  { C: 4, O: 7, H: 6, W: 13 },
  { C: 5, O: 16, H: 24, W: 30 },
];

for (const [simd, debug] of BUILDS) {
  const build = `${simd}${debug ? ' debug' : ''}`;

  test(`unet kernels (${build}): 3×3 convolution forward, data and weight gradients against float64 loops`, () => {
    const k = kernels(simd, debug);
    const rng = new Rng(3);
    for (const { C, O, H, W } of CONV_CASES) {
      const x = random(rng, C * H * W);
      const w = random(rng, O * C * 9);
      const dy = random(rng, O * H * W);
      const { ex } = k;
      const pad = k.zeros(ex.paddedFloats(Math.max(C, O), H, W));
      const pack = k.zeros(ex.packFloats(Math.max(C, O), H, W));
      const stage = k.zeros(ex.stageFloats(Math.max(C, O), H, W));
      const out = k.zeros(O * H * W);
      const xp = k.put(x);
      const wp = k.put(w);
      ex.padPlanes(xp, C, H, W, pad);
      ex.conv3x3(pad, C, H, W, wp, O, out, pack, stage, k.tile);
      // float32 products summed in float32 blocks of 64 then float64: C·9 ≤ 45 terms of size ≤ 1
      const xAct = actOf(x, 1, C, H, W);
      close(k.get(out, O * H * W), convForward(xAct, w, O, 3).data, 1e-6, `forward ${C}→${O} ${H}×${W}`);
      const ref = convBackward(xAct, w, actOf(dy, 1, O, H, W), 3);

      // data gradient: dx[c] = Σ_o w[o, c] ⋆ dy[o] flipped = conv of dy with the flipped, transposed weights
      const flip = k.zeros(O * C * 9);
      ex.flipConvWeights(wp, O, C, flip);
      const dyp = k.put(dy);
      const dx = k.zeros(C * H * W);
      ex.padPlanes(dyp, O, H, W, pad);
      ex.conv3x3(pad, O, H, W, flip, C, dx, pack, stage, k.tile);
      close(k.get(dx, C * H * W), ref.dx.data, 1e-6, `data gradient ${C}→${O} ${H}×${W}`);

      // weight gradient, called twice (first, then accumulate): 2 · Σ_pixels dy · x
      const grid = k.zeros(O * H * (W + 2));
      const sums = k.zeros(2 * O * C * 9);
      const tmp = k.zeros(O * C * 9);
      ex.padPlanes(xp, C, H, W, pad);
      ex.gridPlanes(dyp, O, H, W, grid);
      for (const first of [1, 0]) ex.conv3x3WeightGrad(pad, grid, C, O, H, W, sums, first, pack, tmp, k.tile);
      // sums over H·W ≤ 720 pixels: float32 blocks of 64, float64 across blocks and chunks
      close(
        k.f64(sums, O * C * 9),
        ref.dweight.map((v) => 2 * v),
        1e-6,
        `weight gradient ${C}→${O} ${H}×${W}`,
      );
      // the same over a batch of two (x, dy twice) in two row blocks, as threads split it: bit-identical sums
      const x2 = k.put(new Float32Array([...x, ...x]));
      const dy2 = k.put(new Float32Array([...dy, ...dy]));
      const sums2 = k.zeros(2 * O * C * 9);
      for (const [c0, c1] of [
        [0, 3],
        [3, O],
      ]) {
        ex.conv3x3WeightGradRows(x2, dy2, 2, C, O, H, W, c0!, c1!, sums2, pad, grid, pack, tmp, k.tile);
      }
      assert.deepEqual(k.f64(sums2, O * C * 9), k.f64(sums, O * C * 9), 'row blocks give the same sums');
    }
  });

  test(`unet kernels (${build}): BatchNorm (training, eval) + ReLU and its backward against float64`, () => {
    const k = kernels(simd, debug);
    const { ex } = k;
    const rng = new Rng(5);
    const B = 3,
      C = 4,
      HW = 7;
    const N = B * HW;
    // an offset mean and a spread per channel, as conv outputs have
    const z = Float32Array.from(
      { length: B * C * HW },
      (_, i) => 3 + rng.uniform(-1, 1) * (1 + (Math.floor(i / HW) % C)),
    );
    const gamma = random(rng, C);
    const beta = random(rng, C);
    const rm0 = random(rng, C);
    const rv0 = Float32Array.from({ length: C }, () => rng.uniform(0.5, 2));
    const da = random(rng, B * C * HW);
    for (const relu of [0, 1]) {
      const zp = k.put(z);
      const rm = k.put(rm0);
      const rv = k.put(rv0);
      const out = k.zeros(B * C * HW);
      const stats = k.zeros(2 * C);
      ex.batchNorm(zp, B, C, HW, k.put(gamma), k.put(beta), rm, rv, 0.1, 1, relu, out, stats, stats + 4 * C, 0, C);
      const y = k.get(out, B * C * HW);
      // the reference: BatchNorm in training mode (then ReLU) and its backward
      const zAct = actOf(z, B, C, 1, HW);
      const bn = batchNormTrainForward(zAct, gamma, beta);
      const rmRef = Float64Array.from(rm0);
      const rvRef = Float64Array.from(rv0);
      updateRunningStats(bn.cache, N, rmRef, rvRef);
      for (let c = 0; c < C; c++) {
        // each channel on its own scale
        close(k.get(rm, C).subarray(c, c + 1), rmRef.subarray(c, c + 1), 1e-6, 'running mean');
        close(k.get(rv, C).subarray(c, c + 1), rvRef.subarray(c, c + 1), 1e-6, 'running var');
      }
      const yRef = (relu ? reluForward(bn.y) : bn.y).data;
      const daAct = actOf(da, B, C, 1, HW);
      const dzRef = batchNormTrainBackward(relu ? reluBackward(bn.y, daAct) : daAct, gamma, bn.cache).dx.data;
      close(y, yRef, 1e-5, `batchNorm relu ${relu}`);
      const dz = k.zeros(B * C * HW);
      const dg = k.zeros(C);
      const db = k.zeros(C);
      ex.batchNormBackward(zp, out, k.put(da), B, C, HW, k.put(gamma), stats, stats + 4 * C, relu, dz, dg, db, 0, C);
      // float32 x̂ and the difference of three terms: 1e-5 of the gradient's scale
      close(k.get(dz, B * C * HW), dzRef, 1e-5, `batchNorm backward relu ${relu}`);
      // eval: the running statistics as given, not updated
      const before = k.get(rm, C);
      ex.batchNorm(zp, B, C, HW, k.put(gamma), k.put(beta), rm, rv, 0.1, 0, relu, out, stats, stats + 4 * C, 0, C);
      assert.deepEqual(k.get(rm, C), before, 'eval leaves the running mean alone');
      const rvNow = k.get(rv, C);
      const evalBn = batchNormEvalForward(zAct, gamma, beta, before, rvNow);
      const evalRef = (relu ? reluForward(evalBn) : evalBn).data;
      close(k.get(out, B * C * HW), evalRef, 1e-5, `batchNorm eval relu ${relu}`);
    }
  });

  test(`unet kernels (${build}): max-pool gives the gradient to the first maximum in row-major order`, () => {
    const k = kernels(simd, debug);
    const { ex } = k;
    // window 0: all equal (→ top left); window 1: tie between bottom left and bottom right (→ bottom left)
    const x = new Float32Array([1, 1, 0, 2, 1, 1, 5, 5]);
    const xp = k.put(x);
    const out = k.zeros(2);
    ex.maxPool(xp, 1, 2, 4, out);
    assert.deepEqual([...k.get(out, 2)], [1, 5]);
    const dx = k.zeros(8);
    ex.maxPoolBackward(xp, k.put(new Float32Array([3, 4])), 1, 2, 4, dx);
    assert.deepEqual([...k.get(dx, 8)], [3, 0, 0, 0, 0, 0, 4, 0]);
    // the reference layers agree (the spelled-out values above keep the rule itself in view)
    const ref = maxPoolForward(actOf(x, 1, 1, 2, 4));
    assert.deepEqual([...ref.y.data], [1, 5]);
    assert.deepEqual(
      [...maxPoolBackward(actOf(x, 1, 1, 2, 4), ref.argmax, actOf([3, 4], 1, 1, 1, 2)).data],
      [3, 0, 0, 0, 0, 0, 4, 0],
    );
  });

  test(`unet kernels (${build}): ConvTranspose2d 2×2 stride 2 forward and backward against float64`, () => {
    const k = kernels(simd, debug);
    const { ex } = k;
    const rng = new Rng(9);
    const Cin = 6,
      Cout = 5,
      h = 3,
      w = 5;
    const hw = h * w;
    const x = random(rng, Cin * hw);
    const wt = random(rng, Cin * Cout * 4);
    const bias = random(rng, Cout);
    const dout = random(rng, Cout * 4 * hw);
    const xAct = actOf(x, 1, Cin, h, w);
    const ref = upForward(xAct, wt, bias).data;
    const grads = upBackward(xAct, wt, actOf(dout, 1, Cout, 2 * h, 2 * w));
    const wp = k.put(wt);
    const wT = k.zeros(Cin * Cout * 4);
    ex.transpose(wp, Cin, Cout * 4, wT);
    const pack = k.zeros(4096);
    const tmp = k.zeros(Cout * 4 * hw);
    const out = k.zeros(Cout * 4 * hw);
    const xp = k.put(x);
    ex.convTranspose(xp, Cin, h, w, wT, k.put(bias), Cout, out, pack, tmp, k.tile);
    close(k.get(out, Cout * 4 * hw), ref, 1e-6, 'forward');
    const dT = k.zeros(Cout * 4 * hw);
    ex.gatherTaps(k.put(dout), Cout, h, w, dT);
    const dx = k.zeros(Cin * hw);
    ex.convTransposeBackwardData(dT, Cout, hw, wp, Cin, dx, pack, k.tile);
    close(k.get(dx, Cin * hw), grads.dx.data, 1e-6, 'data gradient');
    const sums = k.zeros(2 * Cin * Cout * 4);
    const db = k.zeros(Cout);
    const tmp2 = k.zeros(Cin * Cout * 4);
    // rows in two blocks (as two threads would take them)
    for (const [c0, c1] of [
      [0, 3],
      [3, Cin],
    ]) {
      ex.convTransposeWeightGradRows(xp, dT, 1, Cin, Cout, hw, c0!, c1!, sums, pack, tmp2, k.tile);
    }
    close(k.f64(sums, Cin * Cout * 4), grads.dweight, 1e-6, 'weight gradient');
    ex.tapSums(dT, 1, Cout, hw, db);
    close(k.get(db, Cout), grads.dbias, 1e-6, 'bias gradient (float64 sums rounded to float32)');
  });

  test(`unet kernels (${build}): head, weighted cross-entropy (ignore 255) and Adam against float64`, () => {
    const k = kernels(simd, debug);
    const { ex } = k;
    const rng = new Rng(11);
    const B = 2,
      C = 3,
      K = 2,
      HW = 9;
    const a = random(rng, B * C * HW);
    const w = random(rng, K * C);
    const bias = random(rng, K);
    const logits = k.zeros(B * K * HW);
    const ap = k.put(a);
    ex.head(ap, B, C, HW, k.put(w), k.put(bias), K, logits);
    const aAct = actOf(a, B, C, 1, HW);
    const lRef = convForward(aAct, w, K, 1, bias).data;
    close(k.get(logits, B * K * HW), lRef, 1e-6, 'head');
    const l = k.get(logits, B * K * HW);
    const labels = Uint8Array.from({ length: B * HW }, (_, i) => [0, 1, 255][i % 3]!);
    const cw = new Float32Array([0.4, 1.6]);
    const dl = k.zeros(B * K * HW);
    const loss = ex.crossEntropy(logits, k.put(labels), B, K, HW, k.put(cw), dl);
    // the reference from the kernel's own float32 logits: loss in float64 on both sides
    const xent = crossEntropy(actOf(l, B, K, 1, HW), labels, cw);
    assert.ok(Math.abs(loss - xent.loss) < 1e-12, `loss ${loss} vs ${xent.loss}`);
    const dRef = xent.dlogits.data;
    close(k.get(dl, B * K * HW), dRef, 1e-6, 'loss gradient');
    // every label ignored: loss 0, gradient 0 (no division by a zero weight sum)
    const none = new Uint8Array(B * HW).fill(255);
    const lossNone = ex.crossEntropy(logits, k.put(none), B, K, HW, k.put(cw), dl);
    assert.equal(lossNone, 0);
    assert.ok(k.get(dl, B * K * HW).every((v) => v === 0));
    // head backward
    const da = k.zeros(B * C * HW);
    const dw = k.zeros(K * C);
    const db = k.zeros(K);
    ex.headBackward(ap, k.put(Float32Array.from(dRef)), B, C, HW, k.put(w), K, da, dw, db);
    // the kernel's gradient input is dRef rounded to float32
    const head = convBackward(aAct, w, actOf(Float32Array.from(dRef), B, K, 1, HW), 1);
    close(k.get(dw, K * C), head.dweight, 1e-6, 'head weight gradient');
    close(k.get(da, B * C * HW), head.dx.data, 1e-6, 'head data gradient');

    // Adam, step 2 from given moments, against the float64 formula
    const n = 37;
    const p0 = random(rng, n),
      g = random(rng, n),
      m0 = random(rng, n);
    const v0 = Float32Array.from({ length: n }, () => rng.uniform(0, 1));
    const [pp, gp, mp, vp] = [k.put(p0), k.put(g), k.put(m0), k.put(v0)];
    const lr = 0.01,
      b1 = 0.9,
      b2 = 0.999,
      eps = 1e-8,
      wd = 1e-4,
      t = 2;
    ex.adam(pp, gp, mp, vp, n, 1, wd, b1, b2, eps, lr / (1 - b1 ** t), Math.sqrt(1 - b2 ** t));
    // the reference's Adam from the state after step 1 (the given moments)
    const pRef = Float64Array.from(p0);
    const state = { step: t - 1, m: Float64Array.from(m0), v: Float64Array.from(v0) };
    adamStep(pRef, g, state, { lr, beta1: b1, beta2: b2, eps, weightDecay: wd });
    // float64 inside, the parameter rounded to float32 once
    close(k.get(pp, n), pRef, 1e-7, 'adam');
  });

  test(`unet kernels (${build}): BatchNorm on the PyTorch fixtures' conv outputs (act.*.bn1, act.*.relu1)`, () => {
    const k = kernels(simd, debug);
    const { ex } = k;
    for (const name of ['small', 'medium']) {
      const f = loadUNetFixture(name);
      const z = f.act.get('bottom.conv1')!;
      const C = f.config.width * 2 ** f.config.depth;
      const HW = z.length / (f.B * C);
      // γ, β from the fixture's packed parameters (unetParamLayout order)
      const bn = fixtureParams(f, 'bottom.bn1');
      const g = k.put(bn.weight);
      const b = k.put(bn.bias);
      for (const [relu, node] of [
        [0, 'bottom.bn1'],
        [1, 'bottom.relu1'],
      ] as const) {
        const out = k.zeros(z.length);
        const stats = k.zeros(2 * C);
        const rm = k.zeros(C);
        const rv = k.put(new Float32Array(C).fill(1));
        ex.batchNorm(k.put(z), f.B, C, HW, g, b, rm, rv, 0.1, 1, relu, out, stats, stats + 4 * C, 0, C);
        // docs/unet.md: relative 1e-4 for activations (BatchNorm divides by small batch variances)
        close(k.get(out, z.length), f.act.get(node)!, 1e-4, `${name} ${node}`);
      }
    }
  });
}

function fixtureParams(f: UNetFixture, bn: string): { weight: Float32Array; bias: Float32Array } {
  const layout = unetParamLayout(f.config);
  const get = (n: string) => {
    const s = layout.find((l) => l.name === n)!;
    return f.params.subarray(s.offset, s.offset + s.size);
  };
  return { weight: get(`${bn}.weight`), bias: get(`${bn}.bias`) };
}
