// The Gaussian NLL of every decoded row and its gradient w.r.t. μ and logvar (shaders/gaussian_nll.wgsl): one
// dispatch over all T·B training rows, in both plans.
import type { Gpu } from '../device.js';
import { gaussianNll, gaussianNllInvocations } from '../kernels/gaussian-nll.js';
import type { PassLike, Program } from '../program.js';
import type { WorkBuffers } from './work.js';

export class LossOp {
  private group: GPUBindGroup | undefined;
  private constructor(private readonly program: Program) {}

  static async create(gpu: Gpu, features: number): Promise<LossOp> {
    return new LossOp(await gaussianNll(gpu, { F: features }));
  }

  bind(work: WorkBuffers, step: GPUBuffer): void {
    this.group = this.program.bind({ ...work, step });
  }

  encode(pass: PassLike, B: number, T: number, slot: number): void {
    if (!this.group) throw new Error('LossOp used before bind()');
    this.program.dispatch(pass, this.group, gaussianNllInvocations(B, T), slot);
  }
}
