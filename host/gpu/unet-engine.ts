// The landslide U-Net on WebGPU (docs/unet.md; UNetEngine of host/model/unet/engine.ts). Parameters, gradient, Adam
// moments, BatchNorm buffers, activations and their gradients live on the GPU; the kernels are the op modules of
// host/gpu/ops/ (conv2d, conv-transpose, batchnorm, maxpool, softmax-xent, adam) bound by unet-graph.ts for one
// chip size. A training step (forward, loss, backward, Adam) is one command buffer; only the loss, predictions and
// the host's explicit reads (getParams …) come back. BatchNorm's batch statistics make a batch one indivisible unit:
// a batch above maxBatch is refused (callers split), never chunked behind the caller's back.
import { DpmError } from '../core/errors.js';
import { checkOptimizerState } from '../model/engine.js';
import { unetBufferCount, unetParamCount, IGNORE_LABEL, type UNetConfig } from '../model/unet/config.js';
import {
  checkLength,
  type SegmentationBatch,
  type UNetAdamOptions,
  type UNetEngine,
  type UNetOptimizerState,
} from '../model/unet/engine.js';
import { submitAndRead, type Reads } from './chunks.js';
import { openGpu, type BackendChoice, type DeviceChoice, type Gpu } from './device.js';
import { AdamOp } from './ops/adam.js';
import { CountingPass } from './ops/count.js';
import { checkTuning, DEFAULT_TUNING, type UNetGpuTuning } from './ops/gemm.js';
import { storage, type Encodable } from './ops/unet-kernel.js';
import { unetTensorFloats, UNetGraph } from './unet-graph.js';

export type { UNetGpuTuning } from './ops/gemm.js';

export interface GpuUNetEngineOptions {
  /** which adapter: a hardware GPU, the software rasterizer, or the first found (default) */
  device?: DeviceChoice;
  /** which Dawn backend (default: the platform's GPU backend, else OpenGL ES for the software rasterizer) */
  backend?: BackendChoice;
  /** tile sizes, splits and workgroup sizes (ops/gemm.ts); defaults fit every adapter */
  tuning?: Partial<UNetGpuTuning>;
  /** upper bound on the per-batch GPU memory (activations and gradients), bytes (default 2 GiB) */
  workBytes?: number;
}

function checkConfig(c: UNetConfig): void {
  for (const k of ['inChannels', 'classes', 'width', 'depth'] as const) {
    const v = c[k];
    if (!Number.isInteger(v) || v < 1 || v > 4096)
      throw new DpmError(`U-Net config: ${k} must be a positive integer, got ${v}`);
  }
  if (c.depth > 8) throw new DpmError(`U-Net config: depth must be at most 8, got ${c.depth}`);
}

export async function createGpuUNetEngine(config: UNetConfig, opts: GpuUNetEngineOptions = {}): Promise<GpuUNetEngine> {
  checkConfig(config);
  const tuning = checkTuning({ ...DEFAULT_TUNING, ...opts.tuning });
  const gpu = await openGpu({ device: opts.device, backend: opts.backend });
  try {
    const N = unetParamCount(config);
    const fixed = await gpu.checked('U-Net parameter buffers', () => ({
      params: storage(gpu, 'unet params', N),
      grad: storage(gpu, 'unet grad', N),
      m: storage(gpu, 'unet adam.m', N),
      v: storage(gpu, 'unet adam.v', N),
      running: storage(gpu, 'unet batchnorm buffers', unetBufferCount(config)),
    }));
    const adam = await AdamOp.create(gpu, N, fixed, tuning.workgroup);
    return new GpuUNetEngine({ ...config }, gpu, fixed, adam, tuning, opts.workBytes ?? 2 ** 31);
  } catch (err) {
    gpu.destroy();
    throw err;
  }
}

type Fixed = { params: GPUBuffer; grad: GPUBuffer; m: GPUBuffer; v: GPUBuffer; running: GPUBuffer };

export class GpuUNetEngine implements UNetEngine {
  readonly description: string;
  /** the Dawn backend: 'vulkan', 'metal', 'd3d12' or 'opengles' */
  readonly backend: string;
  private readonly N: number;
  private readonly NB: number;
  private adamStep = 0;
  private graph: UNetGraph | undefined;
  private lastDispatches = 0;
  private destroyed = false;

  constructor(
    readonly config: UNetConfig,
    readonly gpu: Gpu,
    private readonly fixed: Fixed,
    private readonly adam: AdamOp,
    readonly tuning: UNetGpuTuning,
    private readonly workBytes: number,
  ) {
    this.description = `${gpu.description} [U-Net]`;
    this.backend = gpu.adapter.backend;
    this.N = unetParamCount(config);
    this.NB = unetBufferCount(config);
  }

  /** the compute dispatches the last training step (or lossAndGrad) recorded */
  dispatchesPerTrainStep(): number {
    return this.lastDispatches;
  }

  maxBatch(H: number, W: number): number {
    this.checkSize(H, W, 'maxBatch');
    const floats = [...unetTensorFloats(this.config, H, W).values()];
    const total = floats.reduce((a, b) => a + b, 0) * 4;
    const widest = Math.max(...floats) * 4;
    const binding = Math.min(this.gpu.limits.maxStorageBufferBindingSize!, this.gpu.limits.maxBufferSize!);
    const b = Math.min(Math.floor(binding / widest), Math.floor(this.workBytes / total), 65535);
    if (b < 1) throw new DpmError(`chips of ${H} × ${W} are too large for one GPU buffer binding (${binding} bytes)`);
    return b;
  }

  private checkSize(H: number, W: number, what: string): void {
    if (this.destroyed) throw new Error('GPU U-Net engine used after destroy()');
    const f = 2 ** this.config.depth;
    for (const [k, v] of [
      ['H', H],
      ['W', W],
    ] as const) {
      if (!Number.isInteger(v) || v < f || v % f !== 0)
        throw new DpmError(`${what}: chip ${k} must be a positive multiple of 2^depth = ${f}, got ${v}`);
    }
  }

  private checkBatch(x: Float32Array, B: number, H: number, W: number, what: string): void {
    this.checkSize(H, W, what);
    if (!Number.isInteger(B) || B < 0)
      throw new DpmError(`${what}: batch size must be a non-negative integer, got ${B}`);
    const want = B * this.config.inChannels * H * W;
    if (x.length !== want)
      throw new DpmError(
        `${what}: x holds ${x.length} values, expected B·C·H·W = ${B}·${this.config.inChannels}·${H}·${W}`,
      );
    const max = this.maxBatch(H, W);
    if (B > max) throw new DpmError(`${what}: batch of ${B} chips of ${H} × ${W} exceeds maxBatch ${max} (split it)`);
  }

  private checkLabels(batch: SegmentationBatch, classWeights: Float32Array, what: string, training: boolean): void {
    const { B, H, W, labels } = batch;
    this.checkBatch(batch.x, B, H, W, what);
    const K = this.config.classes;
    if (labels.length !== B * H * W)
      throw new DpmError(`${what}: labels hold ${labels.length} values, expected B·H·W = ${B * H * W}`);
    for (let i = 0; i < labels.length; i++) {
      const v = labels[i]!;
      if (v >= K && v !== IGNORE_LABEL)
        throw new DpmError(`${what}: label ${v} at pixel ${i} is neither a class (0 … ${K - 1}) nor ${IGNORE_LABEL}`);
    }
    if (classWeights.length !== K || !classWeights.every((v) => Number.isFinite(v) && v >= 0))
      throw new DpmError(
        `${what}: class weights must be ${K} finite values ≥ 0, got [${[...classWeights].join(', ')}]`,
      );
    const deepest = (B * (H * W)) / 4 ** this.config.depth;
    if (training && B > 0 && deepest < 2) {
      throw new DpmError(
        `${what}: BatchNorm in training needs more than one value per channel; the bottom level has ${deepest} ` +
          `(batch ${B} of ${H} × ${W} chips at depth ${this.config.depth})`,
      );
    }
  }

  /** the graph for H × W chips holding at least B of them (rebuilt for another size or a larger batch) */
  private async graphFor(B: number, H: number, W: number): Promise<UNetGraph> {
    const g = this.graph;
    if (g && g.H === H && g.W === W && g.capacity >= B) return g;
    g?.destroy();
    this.graph = undefined;
    const capacity = Math.max(B, g && g.H === H && g.W === W ? g.capacity : 0);
    this.graph = await UNetGraph.create(this.gpu, this.config, { H, W, capacity }, this.fixed, this.tuning);
    return this.graph;
  }

  private async upload(
    g: UNetGraph,
    batch: SegmentationBatch | { x: Float32Array; B: number },
    weights?: Float32Array,
  ) {
    await this.gpu.checked('U-Net inputs', () => {
      const q = this.gpu.device.queue;
      q.writeBuffer(g.buf.get('x')!, 0, batch.x);
      if ('labels' in batch) q.writeBuffer(g.buf.get('labels')!, 0, Uint32Array.from(batch.labels));
      if (weights) q.writeBuffer(g.classWeights, 0, weights);
      g.prepare(batch.B);
    });
  }

  /** records `lists` in one compute pass of one command buffer and reads back `reads` */
  private async run(label: string, B: number, lists: readonly Encodable[][], reads: Reads): Promise<Float32Array[]> {
    let dispatches = 0;
    const out = await submitAndRead(
      this.gpu,
      label,
      (enc) => {
        const pass = new CountingPass(enc.beginComputePass({ label }));
        for (const list of lists) for (const op of list) op.encode(pass, B);
        pass.end();
        dispatches = pass.dispatches;
      },
      reads,
    );
    this.lastDispatches = dispatches;
    return out;
  }

  async setParams(packed: Float32Array): Promise<void> {
    checkLength('parameters', packed, this.N);
    await this.gpu.checked('setParams', () => this.gpu.device.queue.writeBuffer(this.fixed.params, 0, packed));
  }

  async getParams(): Promise<Float32Array> {
    return (await submitAndRead(this.gpu, 'getParams', () => {}, [[this.fixed.params, this.N]]))[0]!;
  }

  async setBuffers(packed: Float32Array): Promise<void> {
    checkLength('BatchNorm buffers', packed, this.NB);
    await this.gpu.checked('setBuffers', () => this.gpu.device.queue.writeBuffer(this.fixed.running, 0, packed));
  }

  async getBuffers(): Promise<Float32Array> {
    return (await submitAndRead(this.gpu, 'getBuffers', () => {}, [[this.fixed.running, this.NB]]))[0]!;
  }

  async getOptimizerState(): Promise<UNetOptimizerState> {
    const [m, v] = await submitAndRead(this.gpu, 'getOptimizerState', () => {}, [
      [this.fixed.m, this.N],
      [this.fixed.v, this.N],
    ]);
    return { step: this.adamStep, m: m!, v: v! };
  }

  async setOptimizerState(state: UNetOptimizerState | undefined): Promise<void> {
    if (state) checkOptimizerState(state, this.N);
    await this.gpu.checked('setOptimizerState', () => {
      const q = this.gpu.device.queue;
      q.writeBuffer(this.fixed.m, 0, state ? state.m : new Float32Array(this.N));
      q.writeBuffer(this.fixed.v, 0, state ? state.v : new Float32Array(this.N));
    });
    this.adamStep = state ? state.step : 0;
  }

  async lossAndGrad(
    batch: SegmentationBatch,
    classWeights: Float32Array,
  ): Promise<{ loss: number; grad: Float32Array }> {
    this.checkLabels(batch, classWeights, 'lossAndGrad', true);
    if (batch.B === 0) return { loss: 0, grad: new Float32Array(this.N) };
    const g = await this.graphFor(batch.B, batch.H, batch.W);
    await this.upload(g, batch, classWeights);
    const [total, grad] = await this.run(
      `lossAndGrad (batch ${batch.B} of ${batch.H} × ${batch.W})`,
      batch.B,
      [g.trainForward, [g.lossAndGradient], g.backward],
      [
        [g.total, 2],
        [this.fixed.grad, this.N],
      ],
    );
    return { loss: total![0]!, grad: grad! };
  }

  async trainStep(
    batch: SegmentationBatch,
    classWeights: Float32Array,
    opt: UNetAdamOptions,
  ): Promise<{ loss: number }> {
    this.checkLabels(batch, classWeights, 'trainStep', true);
    if (
      !(opt.lr >= 0) ||
      !(opt.beta1 >= 0 && opt.beta1 < 1) ||
      !(opt.beta2 >= 0 && opt.beta2 < 1) ||
      !(opt.eps > 0) ||
      !(opt.weightDecay >= 0)
    ) {
      throw new DpmError(`Adam options out of range: ${JSON.stringify(opt)}`);
    }
    if (batch.B === 0) return { loss: 0 };
    const g = await this.graphFor(batch.B, batch.H, batch.W);
    await this.upload(g, batch, classWeights);
    const step = this.adamStep + 1;
    this.adam.setOptions(opt, step);
    const [total] = await this.run(
      `trainStep (batch ${batch.B} of ${batch.H} × ${batch.W})`,
      batch.B,
      [g.trainForward, [g.lossAndGradient], g.backward, [this.adam]],
      [[g.total, 2]],
    );
    this.adamStep = step;
    return { loss: total![0]! };
  }

  async loss(batch: SegmentationBatch, classWeights: Float32Array): Promise<number> {
    this.checkLabels(batch, classWeights, 'loss', false);
    if (batch.B === 0) return 0;
    const g = await this.graphFor(batch.B, batch.H, batch.W);
    await this.upload(g, batch, classWeights);
    const [total] = await this.run(`loss (batch ${batch.B})`, batch.B, [g.evalForward, [g.lossOnly]], [[g.total, 2]]);
    return total![0]!;
  }

  async predict(x: Float32Array, B: number, H: number, W: number): Promise<Float32Array> {
    this.checkBatch(x, B, H, W, 'predict');
    if (B === 0) return new Float32Array(0);
    const g = await this.graphFor(B, H, W);
    await this.upload(g, { x, B });
    const [probs] = await this.run(
      `predict (batch ${B})`,
      B,
      [g.evalForward, [g.softmax]],
      [[g.buf.get('dlogits')!, B * this.config.classes * H * W]],
    );
    return probs!;
  }

  /** For tests: every node of the last forward/backward (names as the fixtures': `down.0.conv1`, `pool.1`,
   *  `up.0`, `cat.0`, `head` …) as [B, C, H, W] arrays, and their gradients where kept. */
  async readNodes(B: number): Promise<{ act: Map<string, Float32Array>; dact: Map<string, Float32Array> }> {
    const g = this.graph;
    if (!g || g.capacity < B) throw new Error('readNodes: no forward pass of this batch size ran');
    const entries = [...g.nodes];
    const reads: Reads = [];
    const wanted: [string, 'act' | 'dact', number][] = [];
    for (const [name, n] of entries) {
      for (const kind of ['act', 'dact'] as const) {
        const v = n[kind];
        if (!v) continue;
        wanted.push([name, kind, reads.length]);
        reads.push([v.buf, B * v.ct * n.H * n.W]);
      }
    }
    const data = await submitAndRead(this.gpu, 'readNodes', () => {}, reads);
    const act = new Map<string, Float32Array>();
    const dact = new Map<string, Float32Array>();
    for (const [name, kind, at] of wanted) {
      const n = g.nodes.get(name)!;
      const v = n[kind]!;
      const hw = n.H * n.W;
      const out = new Float32Array(B * n.C * hw);
      for (let b = 0; b < B; b++)
        out.set(data[at]!.subarray((b * v.ct + v.co) * hw, (b * v.ct + v.co + n.C) * hw), b * n.C * hw);
      (kind === 'act' ? act : dact).set(name, out);
    }
    return { act, dact };
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.graph?.destroy();
    this.gpu.destroy();
  }
}
