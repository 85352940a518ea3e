// The U-Net's WGSL layers one by one (host/gpu/ops/: conv2d, conv-transpose, batchnorm, maxpool, softmax-xent,
// adam-wd) on random inputs against the obvious float64 loops below, with the shapes that find indexing mistakes:
// channel counts that are not multiples of any tile, non-square and odd sizes, inputs and outputs that are channel
// slices of wider buffers (the skip concatenation), several tile and split settings (K not a multiple of the K slice,
// many splits of the weight gradients), ties and NaN in the max-pool, every label ignored. On every Dawn backend
// present. (The float64 reference layers of host/model/unet/ can replace these loops once merged.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openGpu, type Gpu } from '../host/gpu/device.js';
import { submitAndRead } from '../host/gpu/chunks.js';
import { adamWdUniform, AdamWdOp } from '../host/gpu/ops/adam-wd.js';
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

// ---- float64 references: the formulas of docs/unet.md as plain loops ----

function conv2d64(
  x: Float32Array,
  xs: { ct: number; co: number },
  w: Float32Array,
  bias: Float32Array | undefined,
  s: Conv2dShape,
  B: number,
): Float64Array {
  const { cin, cout, H, W, ks } = s;
  const pad = (ks - 1) / 2;
  const out = new Float64Array(B * cout * H * W);
  for (let b = 0; b < B; b++)
    for (let o = 0; o < cout; o++)
      for (let y = 0; y < H; y++)
        for (let x0 = 0; x0 < W; x0++) {
          let sum = bias ? bias[o]! : 0;
          for (let c = 0; c < cin; c++)
            for (let i = 0; i < ks; i++)
              for (let j = 0; j < ks; j++) {
                const yy = y + i - pad;
                const xx = x0 + j - pad;
                if (yy < 0 || xx < 0 || yy >= H || xx >= W) continue;
                sum += x[at(b, c, yy * W + xx, xs.ct, xs.co, H * W)]! * w[((o * cin + c) * ks + i) * ks + j]!;
              }
          out[((b * cout + o) * H + y) * W + x0] = sum;
        }
  return out;
}

/** gradients of Σ dout · conv2d(x) w.r.t. x (as [B, cin, H, W]), w and the bias */
function conv2dGrads64(
  x: Float32Array,
  xs: { ct: number; co: number },
  w: Float32Array,
  dout: Float32Array,
  s: Conv2dShape,
  B: number,
) {
  const { cin, cout, H, W, ks } = s;
  const pad = (ks - 1) / 2;
  const dx = new Float64Array(B * cin * H * W);
  const dw = new Float64Array(cout * cin * ks * ks);
  const db = new Float64Array(cout);
  for (let b = 0; b < B; b++)
    for (let o = 0; o < cout; o++)
      for (let y = 0; y < H; y++)
        for (let x0 = 0; x0 < W; x0++) {
          const g = dout[((b * cout + o) * H + y) * W + x0]!;
          db[o]! += g;
          for (let c = 0; c < cin; c++)
            for (let i = 0; i < ks; i++)
              for (let j = 0; j < ks; j++) {
                const yy = y + i - pad;
                const xx = x0 + j - pad;
                if (yy < 0 || xx < 0 || yy >= H || xx >= W) continue;
                const wi = ((o * cin + c) * ks + i) * ks + j;
                dx[((b * cin + c) * H + yy) * W + xx]! += g * w[wi]!;
                dw[wi]! += g * x[at(b, c, yy * W + xx, xs.ct, xs.co, H * W)]!;
              }
        }
  return { dx, dw, db };
}

/** ConvTranspose2d(cin, cout, 2, stride 2) forward into [B, cout, 2H, 2W], and the gradients of Σ dup · out */
function convT64(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array,
  dup: Float32Array,
  s: ConvTransposeShape,
  B: number,
) {
  const { cin, cout, H, W } = s;
  const out = new Float64Array(B * cout * 4 * H * W);
  const dx = new Float64Array(B * cin * H * W);
  const dw = new Float64Array(cin * cout * 4);
  const db = new Float64Array(cout);
  for (let b = 0; b < B; b++)
    for (let o = 0; o < cout; o++)
      for (let y = 0; y < 2 * H; y++)
        for (let x0 = 0; x0 < 2 * W; x0++) {
          const oi = ((b * cout + o) * 2 * H + y) * 2 * W + x0;
          const q = (y % 2) * 2 + (x0 % 2);
          let sum = bias[o]!;
          db[o]! += dup[oi]!;
          for (let c = 0; c < cin; c++) {
            const xi = ((b * cin + c) * H + (y >> 1)) * W + (x0 >> 1);
            const wi = (c * cout + o) * 4 + q;
            sum += x[xi]! * w[wi]!;
            dx[xi]! += dup[oi]! * w[wi]!;
            dw[wi]! += dup[oi]! * x[xi]!;
          }
          out[oi] = sum;
        }
  return { out, dx, dw, db };
}

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
          const want = conv2d64(x, xs, w, undefined, s, B);
          assert.ok(relErr(o!, want) <= REL, `forward: ${relErr(o!, want)}`);
          const ref = conv2dGrads64(x, xs, w, dout, s, B);
          assert.ok(relErr(slice(d!, B, s.cin, hw, ds), ref.dx) <= REL, 'input gradient');
          assert.ok(
            outside(d!, B, s.cin, hw, ds).every((v) => v === SENTINEL),
            'channels outside the slice untouched',
          );
          assert.ok(relErr(g!.subarray(11, 11 + w.length), ref.dw) <= REL, 'weight gradient');
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
      assert.ok(relErr(o!, conv2d64(x, { ct: 3, co: 0 }, w, params.subarray(6), s, B)) <= REL, 'forward');
      const ref = conv2dGrads64(x, { ct: 3, co: 0 }, w, dout, s, B);
      assert.ok(relErr(d!, ref.dx) <= REL, 'input gradient');
      assert.ok(relErr(g!.subarray(0, 6), ref.dw) <= REL, 'weight gradient');
      assert.ok(relErr(g!.subarray(6), ref.db) <= REL, 'bias gradient');
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
          const ref = convT64(x, w, bias, slice(dupAll, B, s.cout, hw, up), s, B);
          assert.ok(relErr(slice(o!, B, s.cout, hw, up), ref.out) <= REL, 'forward');
          assert.ok(
            outside(o!, B, s.cout, hw, up).every((v) => v === SENTINEL),
            'the skip half untouched',
          );
          assert.ok(relErr(d!, ref.dx) <= REL, 'input gradient');
          assert.ok(relErr(g!.subarray(s.woff, s.boff), ref.dw) <= REL, 'weight gradient');
          assert.ok(relErr(g!.subarray(s.boff, s.boff + s.cout), ref.db) <= REL, 'bias gradient');
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
          const [ev, bn, y, r, g, d] = await run(gpu, B, ops, [
            [evalB, B * C * HW],
            [bnB, B * C * HW],
            [yB, B * yv.ct * HW],
            [io.running, running.length],
            [io.grad, params.length],
            [dx, B * C * HW],
          ]);
          const gamma = (c: number) => params[s.poff + c]!;
          const beta = (c: number) => params[s.poff + C + c]!;
          const xi = (b: number, c: number, p: number) => x[(b * C + c) * HW + p]!;
          const want = {
            ev: new Float64Array(B * C * HW),
            bn: new Float64Array(B * C * HW),
            dx: new Float64Array(B * C * HW),
          };
          for (let c = 0; c < C; c++) {
            let mean = 0;
            for (let b = 0; b < B; b++) for (let p = 0; p < HW; p++) mean += xi(b, c, p) / n;
            let v = 0;
            for (let b = 0; b < B; b++) for (let p = 0; p < HW; p++) v += (xi(b, c, p) - mean) ** 2 / n;
            const inv = 1 / Math.sqrt(v + 1e-5);
            const rm = running[s.roff + c]!;
            const rv = running[s.roff + C + c]!;
            // running statistics: momentum 0.1, unbiased variance
            assert.ok(Math.abs(r![s.roff + c]! - (0.9 * rm + 0.1 * mean)) <= 1e-4 * Math.max(1, Math.abs(mean)));
            assert.ok(Math.abs(r![s.roff + C + c]! - (0.9 * rv + (0.1 * v * n) / (n - 1))) <= 1e-5, `running var ${c}`);
            let sg = 0;
            let sgx = 0;
            const gOf = (b: number, p: number) => {
              const i = (b * C + c) * HW + p;
              const bnv = (xi(b, c, p) - mean) * inv * gamma(c) + beta(c);
              want.bn[i] = bnv;
              want.ev[i] = ((xi(b, c, p) - rm) / Math.sqrt(rv + 1e-5)) * gamma(c) + beta(c);
              return bnv > 0 ? dyAll[at(b, c, p, yv.ct, yv.co, HW)]! : 0;
            };
            for (let b = 0; b < B; b++)
              for (let p = 0; p < HW; p++) {
                sg += gOf(b, p);
                sgx += gOf(b, p) * (xi(b, c, p) - mean) * inv;
              }
            for (let b = 0; b < B; b++)
              for (let p = 0; p < HW; p++) {
                const xh = (xi(b, c, p) - mean) * inv;
                want.dx[(b * C + c) * HW + p] = ((gamma(c) * inv) / n) * (n * gOf(b, p) - sg - xh * sgx);
              }
            // channel 2's x̂ carries the float32 mean's 1.3e-4 (see below), and dγ = Σ g·x̂ with it
            assert.ok(Math.abs(g![s.poff + c]! - sgx) <= (c === 2 ? 1e-3 : 1e-5) * n, `dγ ${c}`);
            assert.ok(Math.abs(g![s.poff + C + c]! - sg) <= 1e-5 * n, `dβ ${c}`);
          }
          // channel 2 (mean 100, spread 0.06): a float32 mean is good to ulp(100) ≈ 8e-6, 1.3e-4 of the spread, which
          // x̂ and everything after it carry: 1e-3 on those outputs
          assert.ok(relErr(bn!, want.bn) <= 1e-3, `training forward ${relErr(bn!, want.bn)}`);
          assert.ok(
            relErr(
              slice(y!, B, C, HW, yv),
              want.bn.map((v) => Math.max(v, 0)),
            ) <= 1e-3,
            'ReLU output',
          );
          assert.ok(
            outside(y!, B, C, HW, yv).every((v) => v === SENTINEL),
            'channels outside the slice untouched',
          );
          assert.ok(relErr(ev!, want.ev) <= 1e-5, 'eval forward');
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
        const wantOut = new Float64Array(dout.length);
        const wantSet = new Float64Array(B * s.C * hw);
        for (let b = 0; b < B; b++)
          for (let c = 0; c < s.C; c++)
            for (let yo = 0; yo < s.H / 2; yo++)
              for (let xo = 0; xo < s.W / 2; xo++) {
                let best = -Infinity;
                let bi = -1;
                for (let q = 0; q < 4; q++) {
                  const p = (2 * yo + (q >> 1)) * s.W + 2 * xo + (q & 1);
                  const v = inAll[at(b, c, p, iv.ct, iv.co, hw)]!;
                  if (bi < 0 || v > best || Number.isNaN(v)) {
                    best = v;
                    bi = p;
                  }
                }
                const oi = ((b * s.C + c) * (s.H / 2) + yo) * (s.W / 2) + xo;
                wantOut[oi] = best;
                wantSet[(b * s.C + c) * hw + bi] = dout[oi]!;
              }
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
        let num = 0;
        let den = 0;
        const dWant = new Float64Array(B * K * HW);
        const probs = new Float64Array(B * K * HW);
        for (let b = 0; b < B; b++)
          for (let p = 0; p < HW; p++) {
            const z = (k: number) => logits[(b * K + k) * HW + p]!;
            let s = 0;
            for (let k = 0; k < K; k++) s += Math.exp(z(k));
            for (let k = 0; k < K; k++) probs[(b * K + k) * HW + p] = Math.exp(z(k)) / s;
            const y = labels[b * HW + p]!;
            if (y === 255) continue;
            num += weights[y]! * (Math.log(s) - z(y));
            den += weights[y]!;
          }
        for (let b = 0; b < B; b++)
          for (let p = 0; p < HW; p++) {
            const y = labels[b * HW + p]!;
            if (y === 255) continue;
            for (let k = 0; k < K; k++)
              dWant[(b * K + k) * HW + p] = (weights[y]! / den) * (probs[(b * K + k) * HW + p]! - (k === y ? 1 : 0));
          }
        // float32 sums of ~150 terms: relative 1e-6
        assert.ok(Math.abs(t![0]! - num / den) <= 1e-6 * (num / den), `loss ${t![0]} vs ${num / den}`);
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
    `Adam with L2 weight decay (torch.optim.Adam(weight_decay)): two steps = float64 formula [${backend}]`,
    {
      skip,
    },
    () =>
      withGpu(async (gpu) => {
        const N = 1000;
        const p0 = rand(19, N);
        const grads = [rand(20, N, -1e-2, 1e-2), rand(21, N, -1e-2, 1e-2)];
        const io = {
          params: buffer(gpu, p0),
          grad: storage(gpu, 'grad', N),
          m: storage(gpu, 'm', N),
          v: storage(gpu, 'v', N),
        };
        const opt = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 };
        const adam = await AdamWdOp.create(gpu, N, io);
        const p = Float64Array.from(p0);
        const m = new Float64Array(N);
        const v = new Float64Array(N);
        let got: Float32Array | undefined;
        for (let step = 1; step <= 2; step++) {
          gpu.device.queue.writeBuffer(io.grad, 0, grads[step - 1]!);
          adam.setOptions(opt, step);
          [got] = await run(gpu, 1, [adam], [[io.params, N]]);
          for (let i = 0; i < N; i++) {
            // g ← g + wd·θ; m ← β1 m + (1 − β1) g; v ← β2 v + (1 − β2) g²;
            // θ ← θ − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + ε)
            const g = grads[step - 1]![i]! + opt.weightDecay * p[i]!;
            m[i] = 0.9 * m[i]! + 0.1 * g;
            v[i] = 0.999 * v[i]! + 0.001 * g * g;
            p[i]! -=
              (opt.lr / (1 - 0.9 ** step)) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(1 - 0.999 ** step) + opt.eps));
          }
        }
        // a step moves θ by ≤ lr; float32 m/√v is good to ~1e-6 relative → 1e-7 absolute, plus θ's own rounding (6e-8)
        assert.ok(maxAbsErr(got!, p) <= 2e-7, `Adam: ${maxAbsErr(got!, p)}`);
        assert.equal(adamWdUniform(opt, 1).length, 8);
        adam.destroy();
      }),
  );
}
