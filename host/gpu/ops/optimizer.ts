// The parameters with their gradient and Adam moments, the global gradient norm and its clipping coefficient
// (shaders/grad_norm_partial.wgsl, grad_clip.wgsl) and the Adam step (ops/adam.ts): three dispatches, in both
// plans. Owns the buffers; the other ops bind `params` and `grad`.
import type { AdamOptions } from '../../model/engine.js';
import type { Gpu } from '../device.js';
import { gradClip, gradNormPartial, gradNormParts } from '../kernels/grad-norm.js';
import type { PassLike, Program } from '../program.js';
import { AdamOp } from './adam.js';

// GPUBufferUsage values (the globals exist only once a device was opened)
const STORAGE = 0x80;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;

interface Buffers {
  params: GPUBuffer;
  grad: GPUBuffer;
  m: GPUBuffer;
  v: GPUBuffer;
  partial: GPUBuffer;
  /** [total norm, clip coefficient] */
  norm: GPUBuffer;
}

export class OptimizerOp {
  readonly params: GPUBuffer;
  readonly grad: GPUBuffer;
  readonly m: GPUBuffer;
  readonly v: GPUBuffer;
  /** [total norm, clip coefficient] */
  readonly norm: GPUBuffer;
  private readonly partial: GPUBuffer;
  private readonly groups: { partial: GPUBindGroup; clip: GPUBindGroup };

  private constructor(
    private readonly N: number,
    private readonly programs: { partial: Program; clip: Program },
    private readonly adam: AdamOp,
    b: Buffers,
  ) {
    this.params = b.params;
    this.grad = b.grad;
    this.m = b.m;
    this.v = b.v;
    this.partial = b.partial;
    this.norm = b.norm;
    const bound = { ...b, opt: adam.opt };
    this.groups = { partial: programs.partial.bind(bound), clip: programs.clip.bind(bound) };
  }

  static async create(gpu: Gpu, N: number): Promise<OptimizerOp> {
    const [partial, clip] = await Promise.all([gradNormPartial(gpu, N), gradClip(gpu, N)]);
    const buffers = await gpu.checked('parameter buffers', (): Buffers => {
      const buffer = (label: string, bytes: number, usage: number) =>
        gpu.device.createBuffer({ label, size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
      const rw = STORAGE | COPY_SRC | COPY_DST;
      return {
        params: buffer('params', N * 4, rw),
        grad: buffer('grad', N * 4, rw),
        m: buffer('adam.m', N * 4, rw),
        v: buffer('adam.v', N * 4, rw),
        partial: buffer('grad_norm.partial', gradNormParts(N) * 4, STORAGE),
        norm: buffer('grad_norm', 16, STORAGE | COPY_SRC),
      };
    });
    const adam = await AdamOp.create(gpu, N, buffers);
    return gpu.checked('optimizer bind groups', () => new OptimizerOp(N, { partial, clip }, adam, buffers));
  }

  /** the Adam settings and step number the next encoded norm/step use (queued before the command buffer) */
  setOptions(opt: AdamOptions, step: number): void {
    this.adam.setOptions(opt, step);
  }

  /** the gradient's global norm and clip coefficient into `norm` */
  encodeNorm(pass: PassLike): void {
    this.programs.partial.dispatch(pass, this.groups.partial, gradNormParts(this.N));
    this.programs.clip.dispatch(pass, this.groups.clip, 1);
  }

  encodeStep(pass: PassLike): void {
    this.adam.encode(pass);
  }

  destroy(): void {
    for (const b of [this.params, this.grad, this.m, this.v, this.partial, this.norm]) b.destroy();
    this.adam.destroy();
  }
}
