// The landslide U-Net on the CPU: the wasm SIMD layers of assembly/unet/index.ts called one layer at a time over a
// whole batch (NCHW), implementing host/model/unet/engine.ts UNetEngine with PyTorch's numerics (docs/unet.md).
//
// Memory (one shared WebAssembly.Memory, laid out here): [params | grad | Adam m, v | running statistics | class
// weights | the thread pool's control and task tables] then, per batch shape, every activation and its gradient
// (kept, so a training step is one forward and one backward pass with nothing recomputed), the shared buffers of the
// backward (float64 weight-gradient sums, flipped weights, gathered taps) and each thread's scratch. Each layer is a
// list of tasks run by every thread (host/cpu/unet-threads.ts); results do not depend on the thread count. BatchNorm
// and ReLU are one pass (batchNorm with relu), and so is their backward; the concat is a copy into one buffer whose
// halves the decoder's backward reads in place. Head, loss, concat and the small weight transposes run on the caller.
import os from 'node:os';
import { DpmError } from '../core/errors.js';
import { checkOptimizerState } from '../model/engine.js';
import type { TensorSlot } from '../model/params.js';
import { IGNORE_LABEL, levelWidths, unetBufferLayout, unetParamLayout, type UNetConfig } from '../model/unet/config.js';
import {
  checkLength,
  type SegmentationBatch,
  type UNetAdamOptions,
  type UNetEngine,
  type UNetOptimizerState,
} from '../model/unet/engine.js';
import { poolBytes, Scratch, scratchArg, type Task, type TaskFn, UNetThreadPool } from './unet-threads.js';
import { instantiateUNet, unetModule, type UNetExports } from './unet-wasm.js';
import { resolveSimd, sharedMemory, type SimdChoice, type SimdKind } from './wasm.js';

export interface CpuUNetOptions {
  /** threads including the caller (default: os.availableParallelism()); results do not depend on it */
  threads?: number;
  /** 'auto' (default) takes relaxed SIMD where the runtime has it */
  simd?: SimdChoice;
  /** the bounds-checked debug build of the kernels (tests) */
  debug?: boolean;
  /** upper bound on the activation memory of one batch, bytes (default 1.5 GiB): sets maxBatch */
  workBytes?: number;
}

const MOMENTUM = 0.1;

/** a task's per-thread scratch arguments */
const S = {
  pad: scratchArg(Scratch.pad),
  grid: scratchArg(Scratch.grid),
  pack: scratchArg(Scratch.pack),
  tmp: scratchArg(Scratch.tmp),
  tile: scratchArg(Scratch.tile),
  stage: scratchArg(Scratch.stage),
};
const task = (fn: TaskFn, ...args: number[]): Task => ({ fn, args });
/** one task per batch item */
const items = (B: number, f: (b: number) => Task): Task[] => Array.from({ length: B }, (_, b) => f(b));
/** [0, n) cut into `parts` ranges of a multiple of `multiple` (the sgemm's 3-row tiles), one task each */
function blocks(n: number, parts: number, multiple: number, f: (from: number, to: number) => Task): Task[] {
  const size = Math.ceil(n / parts / multiple) * multiple;
  const out: Task[] = [];
  for (let from = 0; from < n; from += size) out.push(f(from, Math.min(n, from + size)));
  return out;
}
const TILE_BYTES = 512;
const align = (n: number): number => Math.ceil(n / 64) * 64;

/** One Block(cin, cout) at a level of h × w pixels: its conv outputs (z), ReLU outputs (a) and their gradients. */
interface Block {
  name: string;
  cin: number;
  cout: number;
  h: number;
  w: number;
  input: number;
  dinput: number;
  z1: number;
  a1: number;
  z2: number;
  a2: number;
  dz1: number;
  da1: number;
  dz2: number;
  da2: number;
  stats: number; // mean1, invstd1, mean2, invstd2 (cout floats each)
}

interface Up {
  j: number;
  cin: number;
  cout: number;
  h: number; // input size; output 2h × 2w
  w: number;
  input: number; // a2 of the block below
  dinput: number;
  out: number;
  cat: number;
  dcat: number;
  skip: Block;
}

interface Plan {
  B: number;
  H: number;
  W: number;
  x: number;
  labels: number;
  dx: number;
  down: Block[];
  pools: { out: number; dout: number }[];
  bottom: Block;
  ups: Up[];
  dec: Block[];
  logits: number;
  dlogits: number;
  /** thread 0's scratch (padded planes, gradient grid, packed operand, sgemm output, tile); thread t's at + t·stride */
  scratch: number[];
  stride: number;
  /** the transposed convolutions' gathered output gradients [B, Cout·4, hw] */
  dT: number;
  sums: number;
  flip: number;
  end: number;
}

export async function createCpuUNetEngine(config: UNetConfig, opts: CpuUNetOptions = {}): Promise<CpuUNetEngine> {
  for (const k of ['inChannels', 'classes', 'width', 'depth'] as const) {
    const v = config[k];
    if (!Number.isInteger(v) || v < 1 || v > 4096) {
      throw new DpmError(`U-Net config: ${k} must be a positive integer, got ${v}`);
    }
  }
  const threads = opts.threads ?? os.availableParallelism();
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new DpmError(`--threads: expected a whole number from 1 to 256, got ${threads}`);
  }
  const simd = resolveSimd(opts.simd ?? 'auto');
  const debug = opts.debug ?? false;
  const module = unetModule(simd, debug);
  const engine = new CpuUNetEngine({ ...config }, module, simd, debug, threads, opts.workBytes ?? 1.5 * 2 ** 30);
  await engine.start(module);
  return engine;
}

export class CpuUNetEngine implements UNetEngine {
  readonly description: string;
  private readonly memory: WebAssembly.Memory;
  private readonly ex: UNetExports;
  private readonly layout: Map<string, TensorSlot>;
  private readonly P: number;
  private readonly NB: number;
  private readonly params: number;
  private readonly grad: number;
  private readonly m: number;
  private readonly v: number;
  private readonly buffers: number;
  private readonly classWeights: number;
  private readonly base: number;
  private readonly poolBlock: number;
  private pool: UNetThreadPool | undefined;
  private plan: Plan | undefined;
  private step = 0;

  constructor(
    readonly config: UNetConfig,
    module: WebAssembly.Module,
    simd: SimdKind,
    debug: boolean,
    private readonly threads: number,
    private readonly workBytes: number,
  ) {
    const kind = debug ? 'debug build' : simd;
    this.description = `WebAssembly SIMD (${kind}), ${threads} thread${threads === 1 ? '' : 's'}`;
    this.memory = sharedMemory(1 << 20);
    this.ex = instantiateUNet(module, this.memory);
    const params = unetParamLayout(config);
    this.layout = new Map(params.map((s) => [s.name, s]));
    this.P = params.reduce((s, p) => s + p.size, 0);
    this.NB = unetBufferLayout(config).reduce((s, p) => s + p.size, 0);
    let top = align(this.ex.heapBase());
    const take = (bytes: number) => {
      const at = top;
      top = align(top + bytes);
      return at;
    };
    this.params = take(this.P * 4);
    this.grad = take(this.P * 4);
    this.m = take(this.P * 4);
    this.v = take(this.P * 4);
    this.buffers = take(this.NB * 4);
    this.classWeights = take(Math.max(4, config.classes) * 4);
    this.poolBlock = take(poolBytes(threads));
    this.base = top;
    this.reserve(top);
    // PyTorch's fresh BatchNorm: running mean 0, running variance 1
    const bufs = this.f32(this.buffers, this.NB);
    for (const s of unetBufferLayout(config))
      bufs.fill(s.name.endsWith('running_var') ? 1 : 0, s.offset, s.offset + s.size);
  }

  /** starts the worker threads (threads − 1 of them; the caller is thread 0) */
  async start(module: WebAssembly.Module): Promise<void> {
    this.pool = await UNetThreadPool.start(this.ex, module, this.memory, this.poolBlock, this.threads);
  }

  maxBatch(H: number, W: number): number {
    this.checkSize(H, W);
    const one = this.layoutFor(1, H, W, 0).end;
    const two = this.layoutFor(2, H, W, 0).end;
    return Math.max(1, Math.floor((this.workBytes - one) / Math.max(1, two - one)) + 1);
  }

  async setParams(packed: Float32Array): Promise<void> {
    checkLength('parameters', packed, this.P);
    this.f32(this.params, this.P).set(packed);
  }
  async getParams(): Promise<Float32Array> {
    return this.f32(this.params, this.P).slice();
  }
  async setBuffers(packed: Float32Array): Promise<void> {
    checkLength('BatchNorm buffers', packed, this.NB);
    this.f32(this.buffers, this.NB).set(packed);
  }
  async getBuffers(): Promise<Float32Array> {
    return this.f32(this.buffers, this.NB).slice();
  }
  async getOptimizerState(): Promise<UNetOptimizerState> {
    return { step: this.step, m: this.f32(this.m, this.P).slice(), v: this.f32(this.v, this.P).slice() };
  }
  async setOptimizerState(state: UNetOptimizerState | undefined): Promise<void> {
    if (state === undefined) {
      this.step = 0;
      this.f32(this.m, this.P).fill(0);
      this.f32(this.v, this.P).fill(0);
      return;
    }
    checkOptimizerState(state, this.P);
    this.step = state.step;
    this.f32(this.m, this.P).set(state.m);
    this.f32(this.v, this.P).set(state.v);
  }

  async lossAndGrad(
    batch: SegmentationBatch,
    classWeights: Float32Array,
  ): Promise<{ loss: number; grad: Float32Array }> {
    const loss = this.trainPass(batch, classWeights, false);
    return { loss, grad: this.f32(this.grad, this.P).slice() };
  }

  async trainStep(
    batch: SegmentationBatch,
    classWeights: Float32Array,
    opt: UNetAdamOptions,
  ): Promise<{ loss: number }> {
    const loss = this.trainPass(batch, classWeights, false);
    this.step++;
    const t = this.step;
    const { weightDecay: wd, beta1, beta2, eps } = opt;
    const stepSize = opt.lr / (1 - beta1 ** t);
    const bc2 = Math.sqrt(1 - beta2 ** t);
    this.run(
      blocks(this.P, 4 * this.threads, 16, (i0, i1) => {
        const [p, g, m, v] = [this.params, this.grad, this.m, this.v].map((base) => base + i0 * 4);
        return task('adam', p!, g!, m!, v!, i1 - i0, 1, wd, beta1, beta2, eps, stepSize, bc2);
      }),
    );
    return { loss };
  }

  async loss(batch: SegmentationBatch, classWeights: Float32Array): Promise<number> {
    const p = this.load(batch, classWeights);
    this.forward(p, false);
    return this.ex.crossEntropy(p.logits, p.labels, p.B, this.config.classes, p.H * p.W, this.classWeights, 0);
  }

  async predict(x: Float32Array, B: number, H: number, W: number): Promise<Float32Array> {
    const p = this.prepare(B, H, W);
    checkLength('input', x, B * this.config.inChannels * H * W);
    this.f32(p.x, x.length).set(x);
    this.forward(p, false);
    const n = B * this.config.classes * H * W;
    this.ex.softmax(p.logits, B, this.config.classes, H * W, p.dlogits);
    return this.f32(p.dlogits, n).slice();
  }

  destroy(): void {
    this.pool?.destroy();
    this.pool = undefined;
    this.plan = undefined;
  }

  /**
   * The activations and gradients of the last training pass by the fixtures' node names (tests compare them layer by
   * layer; BatchNorm outputs are not kept: they are fused with the ReLU). `input` is in dact only after a pass with
   * inputGrad.
   */
  nodes(): { act: Map<string, Float32Array>; dact: Map<string, Float32Array> } {
    const p = this.plan;
    if (!p) throw new DpmError('U-Net engine: no pass has run yet');
    const act = new Map<string, Float32Array>();
    const dact = new Map<string, Float32Array>();
    const size = (c: number, h: number, w: number) => p.B * c * h * w;
    const block = (b: Block) => {
      const n = size(b.cout, b.h, b.w);
      for (const [node, a, d] of [
        ['conv1', b.z1, b.dz1],
        ['relu1', b.a1, b.da1],
        ['conv2', b.z2, b.dz2],
        ['relu2', b.a2, b.da2],
      ] as const) {
        act.set(`${b.name}.${node}`, this.f32(a, n).slice());
        dact.set(`${b.name}.${node}`, this.f32(d, n).slice());
      }
    };
    p.down.forEach((b, i) => {
      block(b);
      const n = size(b.cout, b.h / 2, b.w / 2);
      act.set(`pool.${i}`, this.f32(p.pools[i]!.out, n).slice());
      dact.set(`pool.${i}`, this.f32(p.pools[i]!.dout, n).slice());
    });
    block(p.bottom);
    for (const u of p.ups) {
      act.set(`up.${u.j}`, this.f32(u.out, size(u.cout, 2 * u.h, 2 * u.w)).slice());
      act.set(`cat.${u.j}`, this.f32(u.cat, size(2 * u.cout, 2 * u.h, 2 * u.w)).slice());
      dact.set(`cat.${u.j}`, this.f32(u.dcat, size(2 * u.cout, 2 * u.h, 2 * u.w)).slice());
    }
    for (const b of p.dec) block(b);
    const nl = size(this.config.classes, p.H, p.W);
    act.set('head', this.f32(p.logits, nl).slice());
    dact.set('head', this.f32(p.dlogits, nl).slice());
    if (this.inputGradDone) dact.set('input', this.f32(p.dx, size(this.config.inChannels, p.H, p.W)).slice());
    return { act, dact };
  }

  private inputGradDone = false;

  /** Training-mode forward and backward; leaves the gradient in grad and returns the loss. inputGrad (tests) also
   *  computes d loss / d input for nodes(). */
  trainPass(batch: SegmentationBatch, classWeights: Float32Array, inputGrad: boolean): number {
    const p = this.load(batch, classWeights);
    this.forward(p, true);
    const K = this.config.classes;
    const HW = p.H * p.W;
    const loss = this.ex.crossEntropy(p.logits, p.labels, p.B, K, HW, this.classWeights, p.dlogits);
    this.backward(p, inputGrad);
    this.inputGradDone = inputGrad;
    return loss;
  }

  // ── passes ──────────────────────────────────────────────────────────────────────────────────────────────────

  private forward(p: Plan, train: boolean): void {
    const ex = this.ex;
    p.down.forEach((b, i) => {
      this.blockForward(p, b, train);
      const plane = b.cout * b.h * b.w * 4;
      const pool = p.pools[i]!.out;
      this.run(items(p.B, (k) => task('maxPool', b.a2 + k * plane, b.cout, b.h, b.w, pool + (k * plane) / 4)));
    });
    this.blockForward(p, p.bottom, train);
    p.ups.forEach((u, j) => {
      const wT = p.flip;
      ex.transpose(this.param(`up.${j}.weight`), u.cin, u.cout * 4, wT);
      const bias = this.param(`up.${j}.bias`);
      const hw = u.h * u.w;
      this.run(
        items(p.B, (b) => {
          const x = u.input + b * u.cin * hw * 4;
          const out = u.out + b * u.cout * 4 * hw * 4;
          return task('convTranspose', x, u.cin, u.h, u.w, wT, bias, u.cout, out, S.pack, S.tmp, S.tile);
        }),
      );
      ex.concat(u.skip.a2, u.cout, u.out, u.cout, p.B, 4 * hw, u.cat);
      this.blockForward(p, p.dec[j]!, train);
    });
    const last = p.dec[p.dec.length - 1]!;
    const K = this.config.classes;
    ex.head(last.a2, p.B, last.cout, p.H * p.W, this.param('head.weight'), this.param('head.bias'), K, p.logits);
  }

  private blockForward(p: Plan, b: Block, train: boolean): void {
    const n = b.name;
    this.convForward(p, b.input, b.cin, b, this.param(`${n}.conv1.weight`), b.z1);
    this.bnForward(p, b, `${n}.bn1`, b.z1, b.a1, b.stats, train);
    this.convForward(p, b.a1, b.cout, b, this.param(`${n}.conv2.weight`), b.z2);
    this.bnForward(p, b, `${n}.bn2`, b.z2, b.a2, b.stats + 2 * b.cout * 4, train);
  }

  private convForward(p: Plan, input: number, cin: number, b: Block, weights: number, out: number): void {
    const { h, w, cout } = b;
    this.run(
      items(p.B, (k) =>
        task('conv3x3Items', input, k, k + 1, cin, h, w, weights, cout, out, S.pad, S.pack, S.stage, S.tile),
      ),
    );
  }

  private bnForward(p: Plan, b: Block, bn: string, z: number, a: number, stats: number, train: boolean): void {
    const gamma = this.param(`${bn}.weight`);
    const beta = this.param(`${bn}.bias`);
    const rm = this.buffer(`${bn}.running_mean`);
    const rv = this.buffer(`${bn}.running_var`);
    const t = train ? 1 : 0;
    const inv = stats + b.cout * 4;
    this.run(
      blocks(b.cout, this.parts(), 1, (c0, c1) =>
        task('batchNorm', z, p.B, b.cout, b.h * b.w, gamma, beta, rm, rv, MOMENTUM, t, 1, a, stats, inv, c0, c1),
      ),
    );
  }

  private backward(p: Plan, inputGrad: boolean): void {
    const ex = this.ex;
    const last = p.dec[p.dec.length - 1]!;
    const K = this.config.classes;
    ex.headBackward(
      last.a2,
      p.dlogits,
      p.B,
      last.cout,
      p.H * p.W,
      this.param('head.weight'),
      K,
      last.da2,
      this.gradOf('head.weight'),
      this.gradOf('head.bias'),
    );
    for (let j = p.ups.length - 1; j >= 0; j--) {
      this.blockBackward(p, p.dec[j]!, true);
      this.upBackward(p, p.ups[j]!);
    }
    this.blockBackward(p, p.bottom, true);
    for (let i = p.down.length - 1; i >= 0; i--) {
      const b = p.down[i]!;
      const plane = b.cout * b.h * b.w * 4;
      const pool = p.pools[i]!.dout;
      this.run(
        items(p.B, (k) =>
          task('maxPoolBackward', b.a2 + k * plane, pool + (k * plane) / 4, b.cout, b.h, b.w, b.da2 + k * plane),
        ),
      );
      const u = p.ups[p.ups.length - 1 - i]!;
      ex.addChannels(u.dcat, 2 * b.cout, 0, b.cout, p.B, b.h * b.w, b.da2);
      this.blockBackward(p, b, i > 0 || inputGrad);
    }
  }

  private upBackward(p: Plan, u: Up): void {
    const hw = u.h * u.w;
    const w = this.param(`up.${u.j}.weight`);
    const taps = u.cout * 4 * hw * 4;
    this.run(
      items(p.B, (b) => {
        const dout = u.dcat + (b * 2 + 1) * taps;
        const dx = u.dinput + b * u.cin * hw * 4;
        return task('convTransposeBackwardItem', dout, u.cout, u.h, u.w, p.dT + b * taps, w, u.cin, dx, S.pack, S.tile);
      }),
    );
    this.run(
      blocks(u.cin, this.parts(), 3, (c0, c1) =>
        task(
          'convTransposeWeightGradRows',
          u.input,
          p.dT,
          p.B,
          u.cin,
          u.cout,
          hw,
          c0,
          c1,
          p.sums,
          S.pack,
          S.tmp,
          S.tile,
        ),
      ),
    );
    this.ex.sumsToF32(p.sums, u.cin * u.cout * 4, this.gradOf(`up.${u.j}.weight`));
    this.ex.tapSums(p.dT, p.B, u.cout, hw, this.gradOf(`up.${u.j}.bias`));
  }

  /** from da2 back to dinput (when `dataGrad`), filling the block's parameter gradients */
  private blockBackward(p: Plan, b: Block, dataGrad: boolean): void {
    const n = b.name;
    this.bnBackward(p, b, `${n}.bn2`, b.z2, b.a2, b.da2, b.dz2, b.stats + 2 * b.cout * 4);
    this.convBackward(p, b, b.a1, b.cout, `${n}.conv2.weight`, b.dz2, b.da1);
    this.bnBackward(p, b, `${n}.bn1`, b.z1, b.a1, b.da1, b.dz1, b.stats);
    this.convBackward(p, b, b.input, b.cin, `${n}.conv1.weight`, b.dz1, dataGrad ? b.dinput : 0);
  }

  private bnBackward(p: Plan, b: Block, bn: string, z: number, a: number, da: number, dz: number, stats: number): void {
    const gamma = this.param(`${bn}.weight`);
    const dg = this.gradOf(`${bn}.weight`);
    const db = this.gradOf(`${bn}.bias`);
    const inv = stats + b.cout * 4;
    this.run(
      blocks(b.cout, this.parts(), 1, (c0, c1) =>
        task('batchNormBackward', z, a, da, p.B, b.cout, b.h * b.w, gamma, stats, inv, 1, dz, dg, db, c0, c1),
      ),
    );
  }

  /** weight gradient of a 3×3 convolution (input [B, cin, h, w] → [B, cout, h, w]) and, when dx ≠ 0, the data one */
  private convBackward(p: Plan, b: Block, input: number, cin: number, weight: string, dz: number, dx: number): void {
    const { h, w, cout } = b;
    this.run(
      blocks(cout, this.parts(), 3, (c0, c1) =>
        task(
          'conv3x3WeightGradRows',
          input,
          dz,
          p.B,
          cin,
          cout,
          h,
          w,
          c0,
          c1,
          p.sums,
          S.pad,
          S.grid,
          S.pack,
          S.tmp,
          S.tile,
        ),
      ),
    );
    this.ex.sumsToF32(p.sums, cout * cin * 9, this.gradOf(weight));
    if (!dx) return;
    this.ex.flipConvWeights(this.param(weight), cout, cin, p.flip);
    this.run(
      items(p.B, (k) =>
        task('conv3x3Items', dz, k, k + 1, cout, h, w, p.flip, cin, dx, S.pad, S.pack, S.stage, S.tile),
      ),
    );
  }

  /** how many blocks a split layer is cut into: one per thread (a block repacks its operands) */
  private parts(): number {
    return this.threads;
  }

  private run(tasks: Task[]): void {
    if (!this.pool) throw new DpmError('U-Net engine: used after destroy()');
    this.pool.run(tasks);
  }

  // ── memory ──────────────────────────────────────────────────────────────────────────────────────────────────

  private load(batch: SegmentationBatch, classWeights: Float32Array): Plan {
    const { B, H, W } = batch;
    const p = this.prepare(B, H, W);
    const K = this.config.classes;
    checkLength('input', batch.x, B * this.config.inChannels * H * W);
    checkLength('labels', batch.labels, B * H * W);
    checkLength('class weights', classWeights, K);
    for (const y of batch.labels) {
      if (y >= K && y !== IGNORE_LABEL)
        throw new DpmError(`U-Net: label ${y} is neither a class (0 … ${K - 1}) nor ${IGNORE_LABEL}`);
    }
    this.f32(p.x, batch.x.length).set(batch.x);
    new Uint8Array(this.memory.buffer, p.labels, batch.labels.length).set(batch.labels);
    this.f32(this.classWeights, K).set(classWeights);
    return p;
  }

  private prepare(B: number, H: number, W: number): Plan {
    if (!Number.isInteger(B) || B < 1) throw new DpmError(`U-Net: batch size must be a positive integer, got ${B}`);
    this.checkSize(H, W);
    const have = this.plan;
    if (have && have.B === B && have.H === H && have.W === W) return have;
    const max = this.maxBatch(H, W);
    if (B > max) throw new DpmError(`U-Net: a batch of ${B} ${H} × ${W} chips is over this engine's ${max}; split it`);
    const p = this.layoutFor(B, H, W, this.base);
    this.reserve(p.end);
    this.pool?.setScratch(p.scratch, p.stride);
    this.plan = p;
    return p;
  }

  private checkSize(H: number, W: number): void {
    const f = 2 ** this.config.depth;
    if (!Number.isInteger(H) || !Number.isInteger(W) || H < f || W < f || H % f !== 0 || W % f !== 0) {
      throw new DpmError(`U-Net: chips of ${H} × ${W} pixels are not multiples of 2^depth = ${f}`);
    }
  }

  /** places every array of a batch of B chips of H × W from byte `start` (no memory touched) */
  private layoutFor(B: number, H: number, W: number, start: number): Plan {
    const ex = this.ex;
    const c = this.config;
    const widths = levelWidths(c);
    let top = start;
    const take = (floats: number) => {
      const at = top;
      top = align(top + floats * 4);
      return at;
    };
    let pad = 0,
      grid = 0,
      pack = 0,
      tmp = 0,
      sums = 0,
      flip = 0,
      dT = 0,
      stage = 0;
    const block = (name: string, cin: number, cout: number, h: number, w: number, input: number, dinput: number) => {
      const n = B * cout * h * w;
      pad = Math.max(pad, ex.paddedFloats(Math.max(cin, cout), h, w));
      grid = Math.max(grid, cout * h * (w + 2));
      pack = Math.max(pack, ex.packFloats(Math.max(cin, cout), h, w));
      stage = Math.max(stage, ex.stageFloats(Math.max(cin, cout), h, w));
      // conv1 has cout × cin × 9 weights, conv2 cout × cout × 9
      const weights = cout * Math.max(cin, cout) * 9;
      tmp = Math.max(tmp, weights);
      sums = Math.max(sums, weights);
      flip = Math.max(flip, weights);
      const b: Block = {
        name,
        cin,
        cout,
        h,
        w,
        input,
        dinput,
        z1: take(n),
        a1: take(n),
        z2: take(n),
        a2: take(n),
        dz1: take(n),
        da1: take(n),
        dz2: take(n),
        da2: take(n),
        stats: take(4 * cout),
      };
      return b;
    };
    const x = take(B * c.inChannels * H * W);
    const labels = take(Math.ceil((B * H * W) / 4));
    const dx = take(B * c.inChannels * H * W);
    const down: Block[] = [];
    const pools: { out: number; dout: number }[] = [];
    let input = x;
    let dinput = dx;
    let cin = c.inChannels;
    for (let i = 0; i < c.depth; i++) {
      const h = H >> i,
        w = W >> i;
      const b = block(`down.${i}`, cin, widths[i]!, h, w, input, dinput);
      down.push(b);
      const n = (B * b.cout * h * w) / 4;
      const pool = { out: take(n), dout: take(n) };
      pools.push(pool);
      input = pool.out;
      dinput = pool.dout;
      cin = b.cout;
    }
    const bottom = block('bottom', cin, widths[c.depth]!, H >> c.depth, W >> c.depth, input, dinput);
    const ups: Up[] = [];
    const dec: Block[] = [];
    let below = bottom;
    for (let j = 0; j < c.depth; j++) {
      const i = c.depth - 1 - j;
      const h = H >> i,
        w = W >> i;
      const cout = widths[i]!;
      const hw = (h / 2) * (w / 2);
      const n = B * cout * h * w;
      const u: Up = {
        j,
        cin: below.cout,
        cout,
        h: h / 2,
        w: w / 2,
        input: below.a2,
        dinput: below.da2,
        out: take(n),
        cat: take(2 * n),
        dcat: take(2 * n),
        skip: down[i]!,
      };
      pack = Math.max(pack, u.cin * Math.ceil(hw / 12) * 12, cout * 4 * Math.ceil(hw / 12) * 12);
      pack = Math.max(pack, ex.CHUNK.value * Math.ceil((cout * 4) / 12) * 12);
      tmp = Math.max(tmp, cout * 4 * hw, u.cin * cout * 4);
      sums = Math.max(sums, u.cin * cout * 4);
      flip = Math.max(flip, u.cin * cout * 4);
      dT = Math.max(dT, B * cout * 4 * hw);
      ups.push(u);
      below = block(`dec.${j}`, 2 * cout, cout, h, w, u.cat, u.dcat);
      dec.push(below);
    }
    const nl = B * c.classes * H * W;
    const logits = take(nl);
    const dlogits = take(nl);
    const perThread = [pad, grid, pack, tmp, TILE_BYTES / 4, stage].map((f) => align(f * 4));
    const stride = perThread.reduce((x, y) => x + y, 0);
    const scratchBase = top;
    top += stride * this.threads;
    const scratch: number[] = [];
    perThread.reduce((at, bytes) => {
      scratch.push(at);
      return at + bytes;
    }, scratchBase);
    const plan: Plan = {
      B,
      H,
      W,
      x,
      labels,
      dx,
      down,
      pools,
      bottom,
      ups,
      dec,
      logits,
      dlogits,
      scratch,
      stride,
      dT: take(dT),
      sums: take(2 * sums),
      flip: take(flip),
      end: 0,
    };
    plan.end = top;
    return plan;
  }

  private reserve(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / 65536));
  }

  /** a fresh view: a grown shared memory has a new, longer buffer */
  private f32(at: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, at, length);
  }

  private slot(name: string): TensorSlot {
    const s = this.layout.get(name);
    if (!s) throw new Error(`U-Net engine: no parameter ${name}`);
    return s;
  }
  private param(name: string): number {
    return this.params + this.slot(name).offset * 4;
  }
  private gradOf(name: string): number {
    return this.grad + this.slot(name).offset * 4;
  }
  private bufferSlots: Map<string, TensorSlot> | undefined;
  private buffer(name: string): number {
    this.bufferSlots ??= new Map(unetBufferLayout(this.config).map((s) => [s.name, s]));
    const s = this.bufferSlots.get(name);
    if (!s) throw new Error(`U-Net engine: no buffer ${name}`);
    return this.buffers + s.offset * 4;
  }
}
