// The weighted softmax cross-entropy with ignored pixels (label 255), reduced on the GPU, its gradient, and the
// softmax probabilities of prediction (shaders/softmax_xent.wgsl, one pipeline per phase).
import type { Gpu } from '../device.js';
import type { PassLike, ProgramSpec } from '../program.js';
import { DEFAULT_TUNING, type UNetGpuTuning } from './gemm.js';
import { BoundKernel, dimsUniform, flatGrid, unetSpec, writeDims, type Encodable } from './unet-kernel.js';

const spec: ProgramSpec = unetSpec(
  ['softmax_xent.wgsl'],
  ['ro', 'ro', 'ro', 'rw', 'rw', 'rw', 'uniform'],
  ['logits', 'labels', 'weights', 'part', 'total', 'outp', 'dims'],
);

export interface SoftmaxXentBuffers {
  logits: GPUBuffer;
  /** [B, H, W] u32 */
  labels: GPUBuffer;
  /** [K] class weights */
  weights: GPUBuffer;
  /** (loss, Σ w) */
  total: GPUBuffer;
  /** dlogits (loss) or probabilities (predict), [B, K, H, W] */
  out: GPUBuffer;
}

/** floats of the partial-sum buffer for a batch of B chips of HW pixels */
export const xentPartialFloats = (B: number, HW: number, t: UNetGpuTuning = DEFAULT_TUNING) =>
  2 * Math.ceil((B * HW) / t.workgroup) + 2 * 65535;

/** The loss (and gradient): per-workgroup partial sums, their total, then dlogits when `gradient`. Owns its Dims
 *  (p0 = the number of partial sums the first phase writes). */
export class SoftmaxXentOp implements Encodable {
  private constructor(
    private readonly gpu: Gpu,
    private readonly kernels: BoundKernel[],
    private readonly dims: GPUBuffer,
    private readonly partialsOf: (B: number) => number,
  ) {}

  static async create(
    gpu: Gpu,
    shape: { K: number; H: number; W: number },
    io: SoftmaxXentBuffers & { part: GPUBuffer },
    phases: readonly (0 | 1 | 2 | 3)[],
    t: UNetGpuTuning = DEFAULT_TUNING,
  ): Promise<SoftmaxXentOp> {
    const HW = shape.H * shape.W;
    const dims = dimsUniform(gpu, 'softmax xent dims');
    const names = ['loss partial sums', 'loss total', 'loss gradient', 'softmax'];
    const pixelGrid = (B: number) => flatGrid(gpu, 'softmax xent', B * HW, t.workgroup);
    const kernels = await Promise.all(
      phases.map((phase) =>
        BoundKernel.create(
          gpu,
          spec,
          { PHASE: phase, K: shape.K, HW, WG: t.workgroup },
          `softmax xent: ${names[phase]} (K ${shape.K}, ${shape.H}×${shape.W})`,
          { ...io, outp: io.out, dims },
          phase === 1 ? () => [1, 1, 1] : pixelGrid,
        ),
      ),
    );
    return new SoftmaxXentOp(gpu, kernels, dims, (B) => {
      const [x, y] = pixelGrid(B);
      return x * y;
    });
  }

  prepare(B: number): void {
    writeDims(this.gpu, this.dims, B, this.partialsOf(B));
  }

  encode(pass: PassLike, B: number): void {
    for (const k of this.kernels) k.encode(pass, B);
  }

  destroy(): void {
    this.dims.destroy();
  }
}
