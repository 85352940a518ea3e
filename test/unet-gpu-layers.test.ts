// The U-Net's WGSL layers one by one (host/gpu/ops/: conv2d, conv-transpose, batchnorm, maxpool, softmax-xent,
// adam) on random inputs against the float64 reference layers (host/model/unet/reference-layers.ts), with the
// shapes that find indexing mistakes:
// channel counts that are not multiples of any tile, non-square and odd sizes, inputs and outputs that are channel
// slices of wider buffers (the skip concatenation), several tile and split settings (K not a multiple of the K slice,
// many splits of the weight gradients), ties and NaN in the max-pool, every label ignored. On every Dawn backend
// present.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openGpu, type Gpu } from '../host/gpu/device.js';
import { submitAndRead } from '../host/gpu/chunks.js';
import { AdamOp } from '../host/gpu/ops/adam.js';
import { batchNormBackward, batchNormForward, batchNormPartFloats, batchNormStats } from '../host/gpu/ops/batchnorm.js';
import { conv2dBackwardData, conv2dForward, conv2dWeightGrad, type Conv2dShape } from '../host/gpu/ops/conv2d.js';
import {
  convTransposeBackwardData,
  convTransposeForward,
  convTransposeWeightGrad,
  type ConvTransposeShape,
} from '../host/gpu/ops/conv-transpose.js';
import { DEFAULT_TUNING, splitsOf, type UNetGpuTuning } from '../host/gpu/ops/gemm.js';
import { maxPoolBackward, maxPoolForward } from '../host/gpu/ops/maxpool.js';
import { SoftmaxXentOp } from '../host/gpu/ops/softmax-xent.js';
import { dimsUniform, storage, writeDims, type Encodable, type View } from '../host/gpu/ops/unet-kernel.js';
import {
  actOf,
  adamStep,
  batchNormEvalForward,
  batchNormTrainBackward,
  batchNormTrainForward,
  convBackward,
  convForward,
  crossEntropy,
  maxPoolBackward as maxPoolBackward64,
  maxPoolForward as maxPoolForward64,
  reluBackward,
  reluForward,
  softmax,
  updateRunningStats,
  upBackward,
  upForward,
} from '../host/model/unet/reference-layers.js';
import { backendSkip, maxAbsErr, relErr } from './gpu-helpers.js';
import { mulberry32 } from './random.js';

// f32 against f64 on these sizes: sums of at most a few hundred products of values in [−1, 1] → relative 1e-5 of the
// tensor's largest value leaves an order of magnitude to the float32 rounding of the sums
const REL = 1e-5;

const backends = ['opengles', 'vulkan'] as const;
const skips = new Map(await Promise.all(backends.map(async (b) => [b, await backendSkip(b)] as const)));

const rand = (seed: number, n: number, lo = -1, hi = 1) => {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
};

function buffer(gpu: Gpu, data: Float32Array | Uint32Array): GPUBuffer {
  const b = storage(gpu, 'test data', data.length);
  gpu.device.queue.writeBuffer(b, 0, data);
  return b;
}

async function run(gpu: Gpu, B: number, ops: Encodable[], reads: [GPUBuffer, number][]): Promise<Float32Array[]> {
  for (const op of ops) op.prepare?.(B);
  return submitAndRead(
    gpu,
    'layer test',
    (enc) => {
      const pass = enc.beginComputePass();
      for (const op of ops) op.encode(pass, B);
      pass.end();
    },
    reads,
  );
}

/** channel c of a [B, ct, H·W] slice starting at co */
const at = (b: number, c: number, p: number, ct: number, co: number, hw: number) => (b * ct + co + c) * hw + p;

/** a [B, C, hw] slice out of a [B, ct, hw] buffer */
function slice(a: Float32Array, B: number, C: number, hw: number, v: { ct: number; co: number }): Float32Array {
  const out = new Float32Array(B * C * hw);
  for (let b = 0; b < B; b++) out.set(a.subarray((b * v.ct + v.co) * hw, (b * v.ct + v.co + C) * hw), b * C * hw);
  return out;
}

/** the channels outside a slice, which a kernel writing the slice must leave alone */
function outside(a: Float32Array, B: number, C: number, hw: number, v: { ct: number; co: number }): number[] {
  const out: number[] = [];
  for (let b = 0; b < B; b++)
    for (let c = 0; c < v.ct; c++)
      if (c < v.co || c >= v.co + C) out.push(...a.subarray((b * v.ct + c) * hw, (b * v.ct + c + 1) * hw));
  return out;
}

const SENTINEL = 7.25;

const TUNINGS: [string, UNetGpuTuning][] = [
  ['default tiles', DEFAULT_TUNING],
  // small tiles, a K slice (5) that divides no K here, 2-row register blocks, many splits of 16 pixels
  [
    'small tiles, K slice 5, many splits',
    {
      ...DEFAULT_TUNING,
      tileM: 16,
      tileN: 4,
      tileK: 5,
      rowsPerInvocation: 2,
      splitPixels: 16,
      workgroup: 64,
    },
  ],
];

for (const backend of backends) {
  const skip = skips.get(backend)!;
  const withGpu = async (fn: (gpu: Gpu) => Promise<void>) => {
    const gpu = await openGpu({ backend });
    try {
      await fn(gpu);
    } finally {
      gpu.destroy();
    }
  };

  for (const [tname, tuning] of TUNINGS) {
    test(
      `conv2d 3×3 (5→7 channels, 6×10, input and gradient as channel slices) forward, input and weight gradient ` +
        `= float64 loops, ${tname} [${backend}]`,
      { skip },
      () =>
        withGpu(async (gpu) => {
          const B = 2;
          const s: Conv2dShape = { cin: 5, cout: 7, H: 6, W: 10, ks: 3, woff: 11 };
          const hw = s.H * s.W;
          const xs = { ct: 9, co: 3 };
          const x = rand(1, B * xs.ct * hw);
          const params = rand(2, 11 + s.cout * s.cin * 9 + 5);
          const w = params.subarray(11, 11 + s.cout * s.cin * 9);
          const dout = rand(3, B * s.cout * hw);
          const ds = { ct: 8, co: 2 };
          const dims = dimsUniform(gpu, 'dims');
          writeDims(gpu, dims, B);
          const pb = buffer(gpu, params);
          const out = storage(gpu, 'out', B * s.cout * hw);
          const din = buffer(gpu, new Float32Array(B * ds.ct * hw).fill(SENTINEL));
          const grad = buffer(gpu, new Float32Array(params.length).fill(SENTINEL));
          const N = s.cin * 9;
          const part = storage(gpu, 'part', 64 * s.cout * N);
          const inp: View = { buf: buffer(gpu, x), ...xs };
          const doutB = buffer(gpu, dout);
          const ops = [
            await conv2dForward(gpu, s, { params: pb, inp, out, dims }, tuning),
            await conv2dBackwardData(gpu, s, { params: pb, dout: doutB, din: { buf: din, ...ds }, dims }, tuning),
            await conv2dWeightGrad(gpu, s, { dout: doutB, inp, part, grad }, tuning),
          ];
          const [o, d, g] = await run(gpu, B, ops, [
            [out, B * s.cout * hw],
            [din, B * ds.ct * hw],
            [grad, params.length],
          ]);
          const xAct = actOf(slice(x, B, s.cin, hw, xs), B, s.cin, s.H, s.W);
          const want = convForward(xAct, w, s.cout, 3).data;
          assert.ok(relErr(o!, want) <= REL, `forward: ${relErr(o!, want)}`);
          const ref = convBackward(xAct, w, actOf(dout, B, s.cout, s.H, s.W), 3);
          assert.ok(relErr(slice(d!, B, s.cin, hw, ds), ref.dx.data) <= REL, 'input gradient');
          assert.ok(
            outside(d!, B, s.cin, hw, ds).every((v) => v === SENTINEL),
            'channels outside the slice untouched',
          );
          assert.ok(relErr(g!.subarray(11, 11 + w.length), ref.dweight) <= REL, 'weight gradient');
          assert.ok(
            g!.subarray(0, 11).every((v) => v === SENTINEL) && g!.subarray(11 + w.length).every((v) => v === SENTINEL),
          );
          if (tuning.splitPixels === 16) assert.ok(splitsOf(B * hw, s.cout, N, tuning).splits >= 7, 'several splits');
        }),
    );
  }

  test(`conv2d 1×1 with bias (the head, 3→2, 4×6, B 3) and its gradients = float64 loops [${backend}]`, { skip }, () =>
    withGpu(async (gpu) => {
      const B = 3;
      const s: Conv2dShape = { cin: 3, cout: 2, H: 4, W: 6, ks: 1, woff: 0, boff: 6 };
      const hw = s.H * s.W;
      const x = rand(4, B * s.cin * hw);
      const params = rand(5, 8);
      const dout = rand(6, B * s.cout * hw);
      const dims = dimsUniform(gpu, 'dims');
      writeDims(gpu, dims, B);
      const pb = buffer(gpu, params);
      const out = storage(gpu, 'out', B * s.cout * hw);
      const din = storage(gpu, 'din', B * s.cin * hw);
      const grad = storage(gpu, 'grad', 8);
      const part = storage(gpu, 'part', 64 * 2 * 4);
      const inp: View = { buf: buffer(gpu, x), ct: 3, co: 0 };
      const doutB = buffer(gpu, dout);
      const [o, d, g] = await run(
        gpu,
        B,
        [
          await conv2dForward(gpu, s, { params: pb, inp, out, dims }),
          await conv2dBackwardData(gpu, s, { params: pb, dout: doutB, din: { buf: din, ct: 3, co: 0 }, dims }),
          await conv2dWeightGrad(gpu, s, { dout: doutB, inp, part, grad }),
        ],
        [
          [out, B * s.cout * hw],
          [din, B * s.cin * hw],
          [grad, 8],
        ],
      );
      const w = params.subarray(0, 6);
      const xAct = actOf(x, B, s.cin, s.H, s.W);
      assert.ok(relErr(o!, convForward(xAct, w, s.cout, 1, params.subarray(6)).data) <= REL, 'forward');
      const ref = convBackward(xAct, w, actOf(dout, B, s.cout, s.H, s.W), 1);
      assert.ok(relErr(d!, ref.dx.data) <= REL, 'input gradient');
      assert.ok(relErr(g!.subarray(0, 6), ref.dweight) <= REL, 'weight gradient');
      assert.ok(relErr(g!.subarray(6), ref.dbias) <= REL, 'bias gradient');
    }),
  );

  for (const [tname, tuning] of TUNINGS) {
    test(
      `conv transpose 2×2 stride 2 (6→3, 3×5 → 6×10, into channels 4..6 of 7) forward and gradients = float64 ` +
        `loops, ${tname} [${backend}]`,
      { skip },
      () =>
        withGpu(async (gpu) => {
          const B = 2;
          const s: ConvTransposeShape = { cin: 6, cout: 3, H: 3, W: 5, woff: 2, boff: 2 + 6 * 3 * 4 };
          const up = { ct: 7, co: 4 };
          const hw = 4 * s.H * s.W;
          const x = rand(7, B * s.cin * s.H * s.W);
          const params = rand(8, s.boff + s.cout + 3);
          const w = params.subarray(s.woff, s.boff);
          const bias = params.subarray(s.boff, s.boff + s.cout);
          const dupAll = rand(9, B * up.ct * hw);
          const dims = dimsUniform(gpu, 'dims');
          writeDims(gpu, dims, B);
          const pb = buffer(gpu, params);
          const upB = buffer(gpu, new Float32Array(B * up.ct * hw).fill(SENTINEL));
          const dupB = buffer(gpu, dupAll);
          const xB = buffer(gpu, x);
          const din = storage(gpu, 'din', x.length);
          const grad = buffer(gpu, new Float32Array(params.length).fill(SENTINEL));
          const part = storage(gpu, 'part', 64 * (s.cin + 1) * 4 * s.cout);
          const [o, d, g] = await run(
            gpu,
            B,
            [
              await convTransposeForward(gpu, s, { params: pb, inp: xB, up: { buf: upB, ...up }, dims }, tuning),
              await convTransposeBackwardData(gpu, s, { params: pb, dup: { buf: dupB, ...up }, din, dims }, tuning),
              await convTransposeWeightGrad(gpu, s, { inp: xB, dup: { buf: dupB, ...up }, part, grad }, tuning),
            ],
            [
              [upB, B * up.ct * hw],
              [din, x.length],
              [grad, params.length],
            ],
          );
          const xAct = actOf(x, B, s.cin, s.H, s.W);
          const want = upForward(xAct, w, bias).data;
          const ref = upBackward(xAct, w, actOf(slice(dupAll, B, s.cout, hw, up), B, s.cout, 2 * s.H, 2 * s.W));
          assert.ok(relErr(slice(o!, B, s.cout, hw, up), want) <= REL, 'forward');
          assert.ok(
            outside(o!, B, s.cout, hw, up).every((v) => v === SENTINEL),
            'the skip half untouched',
          );
          assert.ok(relErr(d!, ref.dx.data) <= REL, 'input gradient');
          assert.ok(relErr(g!.subarray(s.woff, s.boff), ref.dweight) <= REL, 'weight gradient');
          assert.ok(relErr(g!.subarray(s.boff, s.boff + s.cout), ref.dbias) <= REL, 'bias gradient');
          assert.ok(
            g!.subarray(0, s.woff).every((v) => v === SENTINEL) &&
              g!.subarray(s.boff + s.cout).every((v) => v === SENTINEL),
          );
        }),
    );
  }

  // one chunk per channel, and chunks of 7 of its 30 values (merged by Chan's update; the last chunk short)
  for (const [tname, tuning] of [
    ['one chunk', DEFAULT_TUNING],
    ['chunks of 7', { ...DEFAULT_TUNING, bnChunk: 7, workgroup: 4 }],
  ] as const) {
    test(
      `batchnorm + ReLU training forward, running statistics, fused backward, eval = float64 loops (3 channels, ` +
        `5×3, output a channel slice), ${tname} [${backend}]`,
      { skip },
      () =>
        withGpu(async (gpu) => {
          const B = 2;
          const C = 3;
          const HW = 15;
          const n = B * HW;
          const s = { C, H: 5, W: 3, poff: 1, roff: 2, soff: 4 };
          const yv = { ct: 5, co: 1 };
          // channel 2 with a large mean and small spread (100 ± 0.1): E[x²] − E[x]² in float32 would lose the variance
          // entirely (ulp(1e4) ≈ 1e-3 ≈ the variance); the two passes keep it
          const x = rand(10, B * C * HW, -2, 2);
          for (let b = 0; b < B; b++)
            for (let p = 0; p < HW; p++) x[(b * C + 2) * HW + p] = 100 + 0.1 * x[(b * C + 2) * HW + p]!;
          const params = rand(11, 1 + 2 * C + 1, 0.5, 1.5);
          const running = rand(12, 2 + 2 * C, 0.5, 1);
          const dyAll = rand(13, B * yv.ct * HW);
          const dims = dimsUniform(gpu, 'dims');
          writeDims(gpu, dims, B);
          const io = {
            params: buffer(gpu, params),
            grad: buffer(gpu, new Float32Array(params.length).fill(SENTINEL)),
            running: buffer(gpu, running),
            stats: storage(gpu, 'stats', s.soff + 2 * C),
            part: storage(gpu, 'part', batchNormPartFloats(s, B, tuning)),
            dims,
          };
          const xB = buffer(gpu, x);
          const yB = buffer(gpu, new Float32Array(B * yv.ct * HW).fill(SENTINEL));
          const bnB = storage(gpu, 'bn', B * C * HW);
          const evalB = storage(gpu, 'eval', B * C * HW);
          const dyB = buffer(gpu, dyAll);
          const dx = storage(gpu, 'dx', B * C * HW);
          const whole = (buf: GPUBuffer): View => ({ buf, ct: C, co: 0 });
          // eval first (it reads the running statistics as they were), then training
          const ops = [
            await batchNormForward(gpu, s, { ...io, x: xB, y: whole(evalB) }, { eval: true, relu: false }, tuning),
            ...(await Promise.all(batchNormStats(gpu, s, { ...io, x: xB }, true, tuning))),
            await batchNormForward(gpu, s, { ...io, x: xB, y: whole(bnB) }, { eval: false, relu: false }, tuning),
            await batchNormForward(
              gpu,
              s,
              { ...io, x: xB, y: { buf: yB, ...yv } },
              { eval: false, relu: true },
              tuning,
            ),
            ...(await Promise.all(
              batchNormBackward(gpu, s, { ...io, x: xB, y: { buf: yB, ...yv }, dy: { buf: dyB, ...yv }, dx }, tuning),
            )),
          ];
          const [evGot, bn, y, r, g, d] = await run(gpu, B, ops, [
            [evalB, B * C * HW],
            [bnB, B * C * HW],
            [yB, B * yv.ct * HW],
            [io.running, running.length],
            [io.grad, params.length],
            [dx, B * C * HW],
          ]);
          const gamma = params.subarray(s.poff, s.poff + C);
          const beta = params.subarray(s.poff + C, s.poff + 2 * C);
          const xAct = actOf(x, B, C, s.H, s.W);
          const train = batchNormTrainForward(xAct, gamma, beta);
          const rm = Float64Array.from(running.subarray(s.roff, s.roff + C));
          const rv = Float64Array.from(running.subarray(s.roff + C, s.roff + 2 * C));
          const ev = batchNormEvalForward(xAct, gamma, beta, rm, rv).data;
          updateRunningStats(train.cache, n, rm, rv);
          // the gradient reaches the BatchNorm through the ReLU (where its input was > 0)
          const back = batchNormTrainBackward(
            reluBackward(train.y, actOf(slice(dyAll, B, C, HW, yv), B, C, s.H, s.W)),
            gamma,
            train.cache,
          );
          const want = { ev, bn: train.y.data, relu: reluForward(train.y).data, dx: back.dx.data };
          for (let c = 0; c < C; c++) {
            // running statistics: momentum 0.1, unbiased variance
            assert.ok(Math.abs(r![s.roff + c]! - rm[c]!) <= 1e-4 * Math.max(1, Math.abs(train.cache.mean[c]!)));
            assert.ok(Math.abs(r![s.roff + C + c]! - rv[c]!) <= 1e-5, `running var ${c}`);
            // channel 2's x̂ carries the float32 mean's 1.3e-4 (see below), and dγ = Σ g·x̂ with it
            assert.ok(Math.abs(g![s.poff + c]! - back.dgamma[c]!) <= (c === 2 ? 1e-3 : 1e-5) * n, `dγ ${c}`);
            assert.ok(Math.abs(g![s.poff + C + c]! - back.dbeta[c]!) <= 1e-5 * n, `dβ ${c}`);
          }
          // channel 2 (mean 100, spread 0.06): a float32 mean is good to ulp(100) ≈ 8e-6, 1.3e-4 of the spread, which
          // x̂ and everything after it carry: 1e-3 on those outputs
          assert.ok(relErr(bn!, want.bn) <= 1e-3, `training forward ${relErr(bn!, want.bn)}`);
          assert.ok(relErr(slice(y!, B, C, HW, yv), want.relu) <= 1e-3, 'ReLU output');
          assert.ok(
            outside(y!, B, C, HW, yv).every((v) => v === SENTINEL),
            'channels outside the slice untouched',
          );
          assert.ok(relErr(evGot!, want.ev) <= 1e-5, 'eval forward');
          assert.ok(relErr(d!, want.dx) <= 1e-3, `backward ${relErr(d!, want.dx)}`);
          assert.ok(g![0] === SENTINEL && g![s.poff + 2 * C] === SENTINEL);
        }),
    );
  }

  test(
    `max-pool 2×2: first maximum in row-major order on ties, NaN wins; backward routes there and adds into the ` +
      `skip slice [${backend}]`,
    { skip },
    () =>
      withGpu(async (gpu) => {
        const B = 2;
        const s = { C: 3, H: 4, W: 6 };
        const hw = s.H * s.W;
        const iv = { ct: 5, co: 2 };
        // values from a set of three: many ties
        const r = mulberry32(14);
        const inAll = Float32Array.from({ length: B * iv.ct * hw }, () => Math.floor(r() * 3));
        inAll[at(1, 1, 7, iv.ct, iv.co, hw)] = NaN;
        const dout = rand(15, (B * s.C * hw) / 4);
        const dims = dimsUniform(gpu, 'dims');
        writeDims(gpu, dims, B);
        const inB = buffer(gpu, inAll);
        const out = storage(gpu, 'out', dout.length);
        const arg = storage(gpu, 'arg', dout.length);
        const base = rand(16, B * iv.ct * hw);
        const dinB = buffer(gpu, base);
        const dinSet = buffer(gpu, new Float32Array(B * s.C * hw).fill(SENTINEL));
        const doutB = buffer(gpu, dout);
        const [o, dAdd, dSet] = await run(
          gpu,
          B,
          [
            await maxPoolForward(gpu, s, { inp: { buf: inB, ...iv }, out, arg, dims }),
            await maxPoolBackward(gpu, s, { dout: doutB, arg, din: { buf: dinB, ...iv }, dims }, true),
            await maxPoolBackward(gpu, s, { dout: doutB, arg, din: { buf: dinSet, ct: s.C, co: 0 }, dims }, false),
          ],
          [
            [out, dout.length],
            [dinB, base.length],
            [dinSet, B * s.C * hw],
          ],
        );
        // the reference on the slice: its argmax indexes the compact [B, C, H, W] input
        const inAct = actOf(slice(inAll, B, s.C, hw, iv), B, s.C, s.H, s.W);
        const pool = maxPoolForward64(inAct);
        const wantOut = pool.y.data;
        const wantSet = maxPoolBackward64(inAct, pool.argmax, actOf(dout, B, s.C, s.H / 2, s.W / 2)).data;
        assert.deepEqual([...o!].map(String), [...Float32Array.from(wantOut)].map(String));
        assert.deepEqual(dSet, Float32Array.from(wantSet));
        const wantAdd = Float32Array.from(base);
        for (let b = 0; b < B; b++)
          for (let c = 0; c < s.C; c++)
            for (let p = 0; p < hw; p++) wantAdd[at(b, c, p, iv.ct, iv.co, hw)]! += wantSet[(b * s.C + c) * hw + p]!;
        assert.deepEqual(dAdd, wantAdd);
      }),
  );

  test(
    `softmax cross-entropy with class weights and ignored pixels: loss reduced on the GPU, gradient, ` +
      `probabilities; every pixel ignored gives 0 [${backend}]`,
    { skip },
    () =>
      withGpu(async (gpu) => {
        const B = 3;
        const K = 3;
        const shape = { K, H: 7, W: 9 };
        const HW = 63;
        const logits = rand(17, B * K * HW, -4, 4);
        const r = mulberry32(18);
        const labels = Uint32Array.from({ length: B * HW }, () => (r() < 0.2 ? 255 : Math.floor(r() * K)));
        const weights = Float32Array.from([0.4, 1.6, 0.9]);
        const total = storage(gpu, 'total', 2);
        const outB = storage(gpu, 'out', B * K * HW);
        const labelsB = buffer(gpu, labels);
        const tuning = { ...DEFAULT_TUNING, workgroup: 32 }; // several partial sums
        const io = {
          logits: buffer(gpu, logits),
          labels: labelsB,
          weights: buffer(gpu, weights),
          total,
          out: outB,
          part: storage(gpu, 'part', 1024),
        };
        const lossGrad = await SoftmaxXentOp.create(gpu, shape, io, [0, 1, 2], tuning);
        const [t, d] = await run(
          gpu,
          B,
          [lossGrad],
          [
            [total, 2],
            [outB, B * K * HW],
          ],
        );
        const logitsAct = actOf(logits, B, K, shape.H, shape.W);
        const xent = crossEntropy(logitsAct, labels, weights);
        const dWant = xent.dlogits.data;
        const probs = softmax(logitsAct).data;
        // the GPU also returns the weight sum Σ w_y over the pixels not ignored
        const den = labels.reduce((t, y) => t + (y === 255 ? 0 : weights[y]!), 0);
        // float32 sums of ~150 terms: relative 1e-6
        assert.ok(Math.abs(t![0]! - xent.loss) <= 1e-6 * xent.loss, `loss ${t![0]} vs ${xent.loss}`);
        assert.ok(Math.abs(t![1]! - den) <= 1e-6 * den);
        assert.ok(relErr(d!, dWant) <= REL, 'gradient');
        const soft = await SoftmaxXentOp.create(gpu, shape, io, [3], tuning);
        const [pr] = await run(gpu, B, [soft], [[outB, B * K * HW]]);
        assert.ok(maxAbsErr(pr!, probs) <= 1e-6, 'probabilities');
        gpu.device.queue.writeBuffer(labelsB, 0, new Uint32Array(B * HW).fill(255));
        const [t0, d0] = await run(
          gpu,
          B,
          [lossGrad],
          [
            [total, 2],
            [outB, B * K * HW],
          ],
        );
        assert.deepEqual([...t0!], [0, 0]);
        assert.ok(d0!.every((v) => v === 0));
      }),
  );

  test(
    `Adam (ops/adam.ts, both models' step): g' = coef·g + wd·θ, two steps = float64 formula [${backend}]`,
    {
      skip,
    },
    () =>
      withGpu(async (gpu) => {
        const N = 1000;
        const p0 = rand(19, N);
        const grads = [rand(20, N, -1e-2, 1e-2), rand(21, N, -1e-2, 1e-2)];
        const opt = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 };
        // the U-Net's step (no coefficient buffer: coef 1), then a clipping coefficient next to weight decay (the
        // forecaster's runs with wd 0; both terms at once check the one formula)
        for (const coef of [undefined, 0.5]) {
          const io = {
            params: buffer(gpu, p0),
            grad: storage(gpu, 'grad', N),
            m: storage(gpu, 'm', N),
            v: storage(gpu, 'v', N),
            norm: coef === undefined ? undefined : buffer(gpu, Float32Array.from([1, coef])),
          };
          const adam = await AdamOp.create(gpu, N, io, DEFAULT_TUNING.workgroup);
          const p = Float64Array.from(p0);
          const state = { step: 0, m: new Float64Array(N), v: new Float64Array(N) };
          let got: Float32Array | undefined;
          for (let step = 1; step <= 2; step++) {
            const g = grads[step - 1]!;
            gpu.device.queue.writeBuffer(io.grad, 0, g);
            adam.setOptions(opt, step);
            [got] = await run(gpu, 1, [adam], [[io.params, N]]);
            // coef a power of two: coef·g is exact in float32 and float64 alike
            adamStep(p, coef === undefined ? g : Float64Array.from(g, (x) => x * coef), state, opt);
          }
          // a step moves θ by ≤ lr; float32 m/√v is good to ~1e-6 relative → 1e-7 absolute, plus θ's rounding (6e-8)
          assert.ok(maxAbsErr(got!, p) <= 2e-7, `Adam (coef ${coef ?? 'none'}): ${maxAbsErr(got!, p)}`);
          adam.destroy();
        }
      }),
  );
}
