// The hardware plan's recording: the GRU over the whole window in one dispatch, BPTT in one more, the decoder and
// the six weight gradients as tiled matrix products over all T·B rows — a training step's dispatch count does not
// depend on T. Where a step is missing, its input is the decoder's μ of that step, so the decoder, the input
// projection and the recurrence run step by step (the same kernels, windows of one step).
import type { ModelConfig } from '../../model/params.js';
import type { Gpu } from '../device.js';
import type { PassLike } from '../program.js';
import type { ModelLayers } from './layers.js';
import type { KernelPlan, PlanKernels } from './plan.js';
import { SequenceGru } from './sequence-gru.js';
import { TiledDecoder, TiledWeightGrads } from './tiled.js';
import { allocateWork, type WorkBuffers } from './work.js';

export class HardwareKernels implements PlanKernels {
  private constructor(
    private readonly gpu: Gpu,
    private readonly config: ModelConfig,
    readonly plan: KernelPlan,
    private readonly gru: SequenceGru,
    private readonly decoder: TiledDecoder,
    private readonly weightGrads: TiledWeightGrads,
    private readonly fixed: { params: GPUBuffer; grad: GPUBuffer },
  ) {}

  static async create(
    gpu: Gpu,
    config: ModelConfig,
    layers: ModelLayers,
    plan: KernelPlan,
    fixed: { params: GPUBuffer; grad: GPUBuffer },
  ): Promise<HardwareKernels> {
    const [gru, decoder, weightGrads] = await Promise.all([
      SequenceGru.create(gpu, layers, plan),
      TiledDecoder.create(gpu, layers),
      TiledWeightGrads.create(gpu, layers),
    ]);
    return new HardwareKernels(gpu, config, plan, gru, decoder, weightGrads, fixed);
  }

  extraRowFloats(): number {
    return 0;
  }

  allocate(cap: { B: number; T: number }, step: GPUBuffer): WorkBuffers {
    const work = allocateWork(this.gpu.device, this.config, cap);
    this.gru.bind(work, this.fixed.params, step);
    this.decoder.bind(work, this.fixed.params, step);
    this.weightGrads.bind(work, this.fixed.grad, step);
    return work;
  }

  encodeSetup(): void {}

  encodeForward(pass: PassLike, B: number, T: number, missing: boolean, forecast: boolean): void {
    if (!missing) {
      this.gru.encodeInput(pass, B, T, T + 1);
      this.gru.encodeForward(pass, B, T + 1);
      if (forecast) this.decoder.encodeForward(pass, (T + 1) * B, T + 2);
      else this.decoder.encodeForward(pass, T * B, T + 1);
      return;
    }
    for (let k = 0; k < T; k++) {
      this.decoder.encodeForward(pass, B, k);
      this.gru.encodeInput(pass, B, 1, k);
      this.gru.encodeForward(pass, B, k);
    }
    if (forecast) this.decoder.encodeForward(pass, B, T);
  }

  encodeBackward(pass: PassLike, B: number, T: number): void {
    this.decoder.encodeBackward(pass, T * B, T + 1);
    this.gru.encodeBackward(pass, B, T + 1);
    this.weightGrads.encode(pass, T + 1);
  }

  destroy(): void {}
}
