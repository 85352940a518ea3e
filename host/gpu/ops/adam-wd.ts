// Adam with L2 weight decay as torch.optim.Adam(weight_decay=wd) (shaders/adam_wd.wgsl): one dispatch over the
// packed parameters, their gradient and moments.
import type { UNetAdamOptions } from '../../model/unet/engine.js';
import type { Gpu } from '../device.js';
import type { ProgramSpec } from '../program.js';
import { DEFAULT_TUNING, type UNetGpuTuning } from './gemm.js';
import { BoundKernel, flatGrid, UNIFORM, COPY_DST, type Encodable } from './unet-kernel.js';
import type { PassLike } from '../program.js';

const spec: ProgramSpec = {
  shader: 'adam_wd.wgsl',
  bindings: ['rw', 'ro', 'rw', 'rw', 'uniform'],
  names: ['params', 'grad', 'm', 'v', 'opt'],
};

/** the AdamWd uniform for step number `step` (1-based): bias corrections in float64, as PyTorch's Python floats */
export function adamWdUniform(opt: UNetAdamOptions, step: number): Float32Array {
  const bc1 = 1 - opt.beta1 ** step;
  const bc2 = 1 - opt.beta2 ** step;
  return Float32Array.from([
    opt.lr / bc1,
    Math.sqrt(bc2),
    opt.beta1,
    opt.beta2,
    1 - opt.beta1,
    1 - opt.beta2,
    opt.eps,
    opt.weightDecay,
  ]);
}

export class AdamWdOp implements Encodable {
  private constructor(
    private readonly gpu: Gpu,
    private readonly kernel: BoundKernel,
    private readonly opt: GPUBuffer,
  ) {}

  static async create(
    gpu: Gpu,
    N: number,
    io: { params: GPUBuffer; grad: GPUBuffer; m: GPUBuffer; v: GPUBuffer },
    t: UNetGpuTuning = DEFAULT_TUNING,
  ): Promise<AdamWdOp> {
    const opt = gpu.device.createBuffer({ label: 'adam_wd options', size: 32, usage: UNIFORM | COPY_DST });
    const kernel = await BoundKernel.create(gpu, spec, { N, WG: t.workgroup }, `adam_wd (N ${N})`, { ...io, opt }, () =>
      flatGrid(gpu, 'adam_wd', N, t.workgroup),
    );
    return new AdamWdOp(gpu, kernel, opt);
  }

  /** the options and step number the next encoded step uses (queued before its command buffer) */
  setOptions(opt: UNetAdamOptions, step: number): void {
    this.gpu.device.queue.writeBuffer(this.opt, 0, adamWdUniform(opt, step));
  }

  encode(pass: PassLike, B: number): void {
    this.kernel.encode(pass, B);
  }

  destroy(): void {
    this.opt.destroy();
  }
}
