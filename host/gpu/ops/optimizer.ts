// The parameters with their gradient and Adam moments, the global gradient norm and its clipping coefficient
// (shaders/grad_norm_partial.wgsl, grad_clip.wgsl) and the Adam step (shaders/adam.wgsl): three dispatches, in both
// plans. Owns the buffers; the other ops bind `params` and `grad`.
import type { AdamOptions } from '../../model/engine.js';
import type { Gpu } from '../device.js';
import { adam, adamUniform } from '../kernels/adam.js';
import { gradClip, gradNormPartial, gradNormParts } from '../kernels/grad-norm.js';
import type { PassLike, Program } from '../program.js';

// GPUBufferUsage values (the globals exist only once a device was opened)
const STORAGE = 0x80;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const UNIFORM = 0x40;

export class OptimizerOp {
  readonly params: GPUBuffer;
  readonly grad: GPUBuffer;
  readonly m: GPUBuffer;
  readonly v: GPUBuffer;
  /** [total norm, clip coefficient] */
  readonly norm: GPUBuffer;
  private readonly partial: GPUBuffer;
  private readonly opt: GPUBuffer;
  private readonly groups: { partial: GPUBindGroup; clip: GPUBindGroup; adam: GPUBindGroup };

  private constructor(
    private readonly gpu: Gpu,
    private readonly N: number,
    private readonly programs: { partial: Program; clip: Program; adam: Program },
  ) {
    const buffer = (label: string, bytes: number, usage: number) =>
      gpu.device.createBuffer({ label, size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
    const rw = STORAGE | COPY_SRC | COPY_DST;
    this.params = buffer('params', N * 4, rw);
    this.grad = buffer('grad', N * 4, rw);
    this.m = buffer('adam.m', N * 4, rw);
    this.v = buffer('adam.v', N * 4, rw);
    this.partial = buffer('grad_norm.partial', gradNormParts(N) * 4, STORAGE);
    this.norm = buffer('grad_norm', 16, STORAGE | COPY_SRC);
    this.opt = buffer('adam.opt', 48, UNIFORM | COPY_DST);
    const fixed = {
      params: this.params,
      grad: this.grad,
      m: this.m,
      v: this.v,
      partial: this.partial,
      norm: this.norm,
      opt: this.opt,
    };
    this.groups = {
      partial: programs.partial.bind(fixed),
      clip: programs.clip.bind(fixed),
      adam: programs.adam.bind(fixed),
    };
  }

  static async create(gpu: Gpu, N: number): Promise<OptimizerOp> {
    const [partial, clip, step] = await Promise.all([gradNormPartial(gpu, N), gradClip(gpu, N), adam(gpu, N)]);
    return gpu.checked('parameter buffers', () => new OptimizerOp(gpu, N, { partial, clip, adam: step }));
  }

  /** the Adam settings and step number the next encoded norm/step use (queued before the command buffer) */
  setOptions(opt: AdamOptions, step: number): void {
    this.gpu.device.queue.writeBuffer(this.opt, 0, adamUniform(opt, step));
  }

  /** the gradient's global norm and clip coefficient into `norm` */
  encodeNorm(pass: PassLike): void {
    this.programs.partial.dispatch(pass, this.groups.partial, gradNormParts(this.N));
    this.programs.clip.dispatch(pass, this.groups.clip, 1);
  }

  encodeStep(pass: PassLike): void {
    this.programs.adam.dispatch(pass, this.groups.adam, this.N);
  }

  destroy(): void {
    for (const b of [this.params, this.grad, this.m, this.v, this.partial, this.norm, this.opt]) b.destroy();
  }
}
