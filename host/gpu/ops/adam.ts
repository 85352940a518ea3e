// One Adam step for both models (shaders/adam.wgsl): g' = coef·g + wd·θ, then torch.optim.Adam (1.13). The forecaster
// clips (coef from grad_clip.wgsl, wd 0; ops/optimizer.ts), the U-Net decays weights (coef 1, wd from its options;
// unet-engine.ts), as the CPU engines' one kernel (assembly/forecaster adam). One dispatch over the packed
// parameters, their gradient and moments.
import type { AdamOptions } from '../../model/engine.js';
import type { UNetAdamOptions } from '../../model/unet/engine.js';
import type { Gpu } from '../device.js';
import { Program, type PassLike, type ProgramSpec } from '../program.js';

// GPUBufferUsage values (the globals exist only once a device was opened)
const STORAGE = 0x80;
const COPY_DST = 0x08;
const UNIFORM = 0x40;

/** bytes of the Opt uniform (common.wgsl) */
const OPT_BYTES = 48;

const spec: ProgramSpec = {
  shader: 'adam.wgsl',
  bindings: ['rw', 'ro', 'rw', 'rw', 'ro', 'uniform'],
  names: ['params', 'grad', 'm', 'v', 'norm', 'opt'],
};

/** Either model's Adam options: the forecaster's clip norm (absent or Infinity: no clipping), the U-Net's weight
 *  decay (absent: 0). */
export type AdamSettings = Pick<AdamOptions, 'lr' | 'beta1' | 'beta2' | 'eps'> &
  Partial<Pick<AdamOptions, 'clipNorm'>> &
  Partial<Pick<UNetAdamOptions, 'weightDecay'>>;

/** The Opt uniform shared by grad_clip.wgsl and adam.wgsl for Adam step number `step` (1-based). Bias corrections
 *  in float64 as PyTorch does with Python floats, then float32. */
export function adamUniform(opt: AdamSettings, step: number): ArrayBuffer {
  const buf = new ArrayBuffer(OPT_BYTES);
  const f = new Float32Array(buf);
  const u = new Uint32Array(buf);
  const bc1 = 1 - opt.beta1 ** step;
  const bc2 = 1 - opt.beta2 ** step;
  f[0] = opt.lr / bc1;
  f[1] = Math.sqrt(bc2);
  f[2] = opt.beta1;
  f[3] = opt.beta2;
  f[4] = 1 - opt.beta1;
  f[5] = 1 - opt.beta2;
  f[6] = opt.eps;
  const clipNorm = opt.clipNorm ?? Infinity;
  const clip = Number.isFinite(clipNorm);
  f[7] = clip ? clipNorm : 0;
  u[8] = clip ? 1 : 0;
  f[9] = opt.weightDecay ?? 0;
  return buf;
}

export interface AdamBuffers {
  params: GPUBuffer;
  grad: GPUBuffer;
  m: GPUBuffer;
  v: GPUBuffer;
  /** [total norm, coef] from grad_clip.wgsl; absent: the op's own [0, 1] (no clipping) */
  norm?: GPUBuffer;
}

export class AdamOp {
  private constructor(
    private readonly gpu: Gpu,
    private readonly N: number,
    private readonly program: Program,
    private readonly group: GPUBindGroup,
    /** the Opt uniform; grad_clip.wgsl reads its clipping settings from it too */
    readonly opt: GPUBuffer,
    /** the [0, 1] coefficient buffer made when none was given */
    private readonly ownNorm: GPUBuffer | undefined,
  ) {}

  /** `wg`: invocations per workgroup (the U-Net passes its tuning's) */
  static async create(gpu: Gpu, N: number, io: AdamBuffers, wg = 64): Promise<AdamOp> {
    const program = await Program.get(gpu, spec, { N, WG: wg }, `adam(N=${N},WG=${wg})`);
    return gpu.checked('adam buffers', () => {
      const opt = gpu.device.createBuffer({ label: 'adam.opt', size: OPT_BYTES, usage: UNIFORM | COPY_DST });
      let ownNorm: GPUBuffer | undefined;
      if (!io.norm) {
        ownNorm = gpu.device.createBuffer({ label: 'adam.no_clip', size: 16, usage: STORAGE | COPY_DST });
        gpu.device.queue.writeBuffer(ownNorm, 0, new Float32Array([0, 1, 0, 0]));
      }
      const group = program.bind({ ...io, norm: io.norm ?? ownNorm, opt });
      return new AdamOp(gpu, N, program, group, opt, ownNorm);
    });
  }

  /** the options and step number the next encoded step uses (queued before its command buffer) */
  setOptions(opt: AdamSettings, step: number): void {
    this.gpu.device.queue.writeBuffer(this.opt, 0, adamUniform(opt, step));
  }

  encode(pass: PassLike): void {
    this.program.dispatch(pass, this.group, this.N);
  }

  destroy(): void {
    this.opt.destroy();
    this.ownNorm?.destroy();
  }
}
