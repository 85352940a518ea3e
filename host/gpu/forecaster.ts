// The forecaster on WebGPU: GRU → 3 × (Linear + ReLU) → μ / logvar heads, Gaussian NLL, BPTT, global-norm clipping
// and Adam in the WGSL kernels of shaders/ (numerics: docs/ARCHITECTURE.md). Implements ForecasterEngine. This class
// orders the work; the kernels are the plan's (ops/plan.ts): 'hardware' (ops/hardware.ts: whole-sequence GRU kernels
// and tiled products, a dispatch count independent of T) or 'software' (software/kernels.ts: one dispatch per step,
// shaped for llvmpipe), with one loss (ops/loss.ts) and optimizer (ops/optimizer.ts). A training step is one command
// buffer; batches above maxBatch(T) are chunks whose gradients are summed on the GPU in a fixed order (reproducible).
import { DpmError } from '../core/errors.js';
import { checkOptimizerState, type AdamOptions, type ForecasterEngine, type OptimizerState } from '../model/engine.js';
import { paramCount, type ModelConfig } from '../model/params.js';
import { openGpu, type BackendChoice, type DeviceChoice, type Gpu } from './device.js';
import { CountingPass } from './ops/count.js';
import { HardwareKernels } from './ops/hardware.js';
import { modelLayers } from './ops/layers.js';
import { LossOp } from './ops/loss.js';
import { OptimizerOp } from './ops/optimizer.js';
import { planForAdapter, type KernelPlan, type PlanKernels, type PlanName } from './ops/plan.js';
import { workRowElems } from './ops/work.js';
import { WorkSet } from './ops/work-set.js';
import { SoftwareKernels } from './software/kernels.js';
import { checkBatch, prepareChunk, submitAndRead, timeMajorColumns, type Reads } from './chunks.js';

export { workBytesPerRow, workRowElems } from './ops/work.js';

export interface GpuEngineOptions {
  /** which adapter: a hardware GPU, the software rasterizer, or the first found (default) */
  device?: DeviceChoice;
  /** which Dawn backend (default: the platform's GPU backend, else OpenGL ES for the software rasterizer) */
  backend?: BackendChoice;
  /** the kernel plan, or a plan name (default: 'software' on a software adapter, else 'hardware') */
  plan?: PlanName | (Partial<KernelPlan> & { name: PlanName });
  /** upper bound on the working memory of one chunk, bytes (default 1 GiB) */
  workBytes?: number;
}

function checkConfig(c: ModelConfig): void {
  for (const k of ['hidden', 'mlp', 'features'] as const) {
    const v = c[k];
    if (!Number.isInteger(v) || v < 1 || v > 65536)
      throw new DpmError(`model config: ${k} must be a positive integer, got ${v}`);
  }
}

export async function createGpuEngine(config: ModelConfig, opts: GpuEngineOptions = {}): Promise<GpuForecaster> {
  checkConfig(config);
  const gpu = await openGpu({ device: opts.device, backend: opts.backend });
  try {
    const plan = planForAdapter(gpu.adapter, opts.plan);
    const layers = modelLayers(config);
    const optimizer = await OptimizerOp.create(gpu, paramCount(config));
    const fixed = { params: optimizer.params, grad: optimizer.grad };
    const [kernels, loss] = await Promise.all([
      plan.name === 'hardware'
        ? HardwareKernels.create(gpu, config, layers, plan, fixed)
        : SoftwareKernels.create(gpu, config, layers, plan, fixed),
      LossOp.create(gpu, config.features),
    ]);
    return new GpuForecaster({ ...config }, gpu, kernels, loss, optimizer, opts.workBytes ?? 2 ** 30);
  } catch (err) {
    gpu.destroy();
    throw err;
  }
}

export class GpuForecaster implements ForecasterEngine {
  readonly description: string;
  /** the Dawn backend: 'vulkan', 'metal', 'd3d12' or 'opengles' */
  readonly backend: string;
  /** the kernel plan's name: 'hardware' or 'software' */
  readonly plan: PlanName;
  readonly N: number;
  private adamStep = 0;
  private readonly work: WorkSet;
  private trainDispatches = 0;
  private destroyed = false;

  constructor(
    readonly config: ModelConfig,
    readonly gpu: Gpu,
    private readonly kernels: PlanKernels,
    private readonly lossOp: LossOp,
    private readonly optimizer: OptimizerOp,
    private readonly workBytes: number,
  ) {
    this.description = `${gpu.description} [${kernels.plan.name} plan]`;
    this.backend = gpu.adapter.backend;
    this.plan = kernels.plan.name;
    this.N = paramCount(config);
    this.work = new WorkSet(gpu, kernels, lossOp);
  }

  /** the compute dispatches the last trainStep recorded (all batch chunks together) */
  dispatchesPerTrainStep(): number {
    return this.trainDispatches;
  }

  maxBatch(T: number): number {
    if (!Number.isInteger(T) || T < 1) throw new DpmError(`sequence length must be a positive integer, got ${T}`);
    const e = Object.values(workRowElems(this.config, T));
    const widest = Math.max(...e, this.kernels.extraRowFloats(T)) * 4;
    const total = e.reduce((a, b) => a + b, 0) * 4;
    // less two uniform windows: buffers read as windows carry 64 KiB of slack past their rows
    const binding = Math.min(this.gpu.limits.maxStorageBufferBindingSize!, this.gpu.limits.maxBufferSize!) - 2 * 65536;
    const b = Math.min(Math.floor(binding / widest) - 16, Math.floor(this.workBytes / total), 1 << 20);
    if (b < 1) throw new DpmError(`sequence length ${T} is too long for one GPU buffer binding (${binding} bytes)`);
    return b;
  }

  private run(label: string, record: (enc: GPUCommandEncoder) => void, reads: Reads = []): Promise<Float32Array[]> {
    return submitAndRead(this.gpu, label, record, reads);
  }

  /** Forward, loss (+ backward) over the batch in chunks, each one command buffer; `finish` is recorded after the
   *  last chunk's work in its pass and its buffers read back. Returns the float64 sum of the NLL terms. */
  private async passes(
    x: Float32Array,
    B: number,
    T: number,
    what: string,
    backward: boolean,
    finish?: { encode: (pass: CountingPass) => void; reads: Reads },
  ): Promise<{ loss: number; reads: Float32Array[]; dispatches: number }> {
    const chunk = this.maxBatch(T);
    let loss = 0;
    let dispatches = 0;
    let extra: Float32Array[] = [];
    for (let b0 = 0; b0 < B; b0 += chunk) {
      const Bc = Math.min(chunk, B - b0);
      const last = b0 + Bc >= B;
      const { xc, mask, missing } = prepareChunk(x, b0, Bc, T, this.config.features, what);
      const w = await this.work.ensure(Bc, T);
      const q = this.gpu.device.queue;
      q.writeBuffer(w.buf.x, 0, xc);
      q.writeBuffer(w.buf.mask, 0, mask);
      this.work.writeSteps(Bc, T, b0 > 0);
      const label = `${what} (batch ${b0}..${b0 + Bc - 1} of ${B}, T ${T})`;
      const reads: Reads = [[w.buf.nll, T * Bc], ...(last && finish ? finish.reads : [])];
      const [nll, ...rest] = await this.run(
        label,
        (enc) => {
          enc.clearBuffer(w.buf.h, 0, Bc * this.config.hidden * 4); // h_0 = 0
          this.kernels.encodeSetup(enc, Bc);
          const pass = new CountingPass(enc.beginComputePass({ label }));
          this.kernels.encodeForward(pass, Bc, T, missing, false);
          this.lossOp.encode(pass, Bc, T, T + 1);
          if (backward) this.kernels.encodeBackward(pass, Bc, T);
          if (last && finish) finish.encode(pass);
          pass.end();
          dispatches += pass.dispatches;
        },
        reads,
      );
      for (let i = 0; i < nll!.length; i++) loss += nll![i]!;
      extra = rest;
    }
    return { loss, reads: extra, dispatches };
  }

  async setParams(packed: Float32Array): Promise<void> {
    if (packed.length !== this.N)
      throw new DpmError(
        `parameters: expected ${this.N} values for ${JSON.stringify(this.config)}, got ${packed.length}`,
      );
    await this.gpu.checked('setParams', () => this.gpu.device.queue.writeBuffer(this.optimizer.params, 0, packed));
  }

  async getParams(): Promise<Float32Array> {
    const [p] = await this.run('getParams', () => {}, [[this.optimizer.params, this.N]]);
    return p!;
  }

  async getOptimizerState(): Promise<OptimizerState> {
    const [m, v] = await this.run('getOptimizerState', () => {}, [
      [this.optimizer.m, this.N],
      [this.optimizer.v, this.N],
    ]);
    return { step: this.adamStep, m: m!, v: v! };
  }

  async setOptimizerState(state: OptimizerState | undefined): Promise<void> {
    if (state) checkOptimizerState(state, this.N);
    await this.gpu.checked('setOptimizerState', () => {
      const q = this.gpu.device.queue;
      q.writeBuffer(this.optimizer.m, 0, state ? state.m : new Float32Array(this.N));
      q.writeBuffer(this.optimizer.v, 0, state ? state.v : new Float32Array(this.N));
    });
    this.adamStep = state ? state.step : 0;
  }

  async lossAndGrad(
    x: Float32Array,
    B: number,
    T: number,
  ): Promise<{ loss: number; grad: Float32Array; gradNorm: number }> {
    this.checkInput(x, B, T, 'lossAndGrad');
    if (B === 0) return { loss: 0, grad: new Float32Array(this.N), gradNorm: 0 };
    this.optimizer.setOptions({ lr: 0, beta1: 0, beta2: 0, eps: 0, clipNorm: Infinity }, 1);
    const o = this.optimizer;
    const {
      loss,
      reads: [grad, norm],
    } = await this.passes(x, B, T, 'lossAndGrad', true, {
      encode: (pass) => o.encodeNorm(pass),
      reads: [
        [o.grad, this.N],
        [o.norm, 2],
      ],
    });
    return { loss, grad: grad!, gradNorm: norm![0]! };
  }

  async trainStep(
    x: Float32Array,
    B: number,
    T: number,
    opt: AdamOptions,
  ): Promise<{ loss: number; gradNorm: number }> {
    this.checkInput(x, B, T, 'trainStep');
    if (
      !(opt.lr >= 0) ||
      !(opt.beta1 >= 0 && opt.beta1 < 1) ||
      !(opt.beta2 >= 0 && opt.beta2 < 1) ||
      !(opt.eps > 0) ||
      !(opt.clipNorm > 0)
    ) {
      throw new DpmError(`Adam options out of range: ${JSON.stringify(opt)}`);
    }
    if (B === 0) return { loss: 0, gradNorm: 0 };
    const step = this.adamStep + 1;
    const o = this.optimizer;
    o.setOptions(opt, step);
    const {
      loss,
      reads: [norm],
      dispatches,
    } = await this.passes(x, B, T, 'trainStep', true, {
      encode: (pass) => {
        o.encodeNorm(pass);
        o.encodeStep(pass);
      },
      reads: [[o.norm, 2]],
    });
    this.adamStep = step;
    this.trainDispatches = dispatches;
    return { loss, gradNorm: norm![0]! };
  }

  async loss(x: Float32Array, B: number, T: number): Promise<number> {
    this.checkInput(x, B, T, 'loss');
    if (B === 0) return 0;
    return (await this.passes(x, B, T, 'loss', false)).loss;
  }

  async forecast(x: Float32Array, B: number, T: number): Promise<{ mu: Float32Array; logvar: Float32Array }> {
    this.checkInput(x, B, T, 'forecast');
    const mu = new Float32Array(B * (T + 1));
    const logvar = new Float32Array(B * (T + 1));
    const chunk = this.maxBatch(T);
    for (let b0 = 0; b0 < B; b0 += chunk) {
      const Bc = Math.min(chunk, B - b0);
      const { xc, mask, missing } = prepareChunk(x, b0, Bc, T, this.config.features, 'forecast');
      const w = await this.work.ensure(Bc, T);
      const q = this.gpu.device.queue;
      q.writeBuffer(w.buf.x, 0, xc);
      q.writeBuffer(w.buf.mask, 0, mask);
      this.work.writeSteps(Bc, T, false);
      const label = `forecast (batch ${b0}..${b0 + Bc - 1} of ${B}, T ${T})`;
      const [dec] = await this.run(
        label,
        (enc) => {
          enc.clearBuffer(w.buf.h, 0, Bc * this.config.hidden * 4);
          this.kernels.encodeSetup(enc, Bc);
          const pass = enc.beginComputePass({ label });
          this.kernels.encodeForward(pass, Bc, T, missing, true);
          pass.end();
        },
        [[w.buf.dec, 2 * (T + 1) * Bc]],
      );
      timeMajorColumns(dec!, Bc, T + 1, b0, mu, logvar);
    }
    return { mu, logvar };
  }

  private checkInput(x: Float32Array, B: number, T: number, what: string): void {
    if (this.destroyed) throw new Error('GPU engine used after destroy()');
    checkBatch(x, B, T, this.config.features, what);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.gpu.destroy();
  }
}
