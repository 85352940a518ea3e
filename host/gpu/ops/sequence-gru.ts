// The hardware plan's GRU: the input projection over all steps, then the recurrence over the whole window in one
// dispatch (shaders/gru_sequence.wgsl) and backpropagation through time in one more (shaders/gru_bptt.wgsl). A
// workgroup owns a few batch rows and keeps their state in workgroup memory across the steps.
import { DpmError } from '../../core/errors.js';
import type { Gpu } from '../device.js';
import { inputProj, inputProjInvocations } from '../kernels/input-proj.js';
import { Program, type PassLike, type ProgramSpec } from '../program.js';
import type { KernelPlan } from './plan.js';
import type { ModelLayers } from './layers.js';
import type { WorkBuffers } from './work.js';

const sequenceSpec: ProgramSpec = {
  shader: ['gru_sequence.wgsl'],
  bindings: ['ro', 'ro', 'rw', 'rw', 'step'],
  names: ['params', 'gi', 'h', 'gates', 'step'],
};

const bpttSpec: ProgramSpec = {
  shader: ['gru_gate_backward.wgsl', 'gru_bptt.wgsl'],
  bindings: ['ro', 'ro', 'ro', 'ro', 'rw', 'rw', 'step'],
  names: ['params', 'gates', 'h', 'dhdec', 'dgi', 'dgh', 'step'],
};

interface Groups {
  input: GPUBindGroup;
  forward: GPUBindGroup;
  backward: GPUBindGroup;
}

export class SequenceGru {
  private groups: Groups | undefined;

  private constructor(
    private readonly H: number,
    private readonly input: Program,
    private readonly forward: Program,
    private readonly backward: Program,
    /** batch rows per workgroup of the forward and the backward kernel */
    private readonly rows: { forward: number; backward: number },
  ) {}

  static async create(gpu: Gpu, layers: ModelLayers, plan: KernelPlan): Promise<SequenceGru> {
    const H = layers.hh.IN;
    const F = layers.ih.IN;
    // workgroup memory: forward 2·BT·H floats (old and new state), backward 4·BT·H (dh and dgh)
    const bytes = gpu.limits.maxComputeWorkgroupStorageSize ?? 16384;
    const forward = Math.min(plan.sequenceRows, Math.floor(bytes / (8 * H)));
    const backward = Math.min(plan.sequenceRows, Math.floor(bytes / (16 * H)));
    if (backward < 1) {
      throw new DpmError(
        `hidden size ${H} needs ${16 * H} bytes of workgroup memory for the hardware plan's BPTT; the ` +
          `adapter grants ${bytes} (use the software plan)`,
      );
    }
    // one invocation per hidden unit, up to 256, in whole 32-lane groups
    const WG = Math.min(256, Math.ceil(H / 32) * 32);
    const [input, fwd, bwd] = await Promise.all([
      inputProj(gpu, { H, F, WOFF_IH: layers.ih.WOFF, BOFF_IH: layers.ih.BOFF }),
      Program.get(
        gpu,
        sequenceSpec,
        { H, BT: forward, WOFF_HH: layers.hh.WOFF, BOFF_HH: layers.hh.BOFF, WG },
        `gru_sequence(H=${H},BT=${forward})`,
      ),
      Program.get(gpu, bpttSpec, { H, BT: backward, WOFF_HH: layers.hh.WOFF, WG }, `gru_bptt(H=${H},BT=${backward})`),
    ]);
    return new SequenceGru(H, input, fwd, bwd, { forward, backward });
  }

  bind(work: WorkBuffers, params: GPUBuffer, step: GPUBuffer): void {
    const all = { ...work, params, step };
    this.groups = { input: this.input.bind(all), forward: this.forward.bind(all), backward: this.backward.bind(all) };
  }

  private bound(): Groups {
    if (!this.groups) throw new Error('SequenceGru used before bind()');
    return this.groups;
  }

  /** gi (and xin) for the `steps` steps of the step record in `slot` */
  encodeInput(pass: PassLike, B: number, steps: number, slot: number): void {
    this.input.dispatch(pass, this.bound().input, inputProjInvocations(this.H, B, steps), slot);
  }

  /** the recurrence over the steps k0 .. k0+nk−1 of the step record in `slot` */
  encodeForward(pass: PassLike, B: number, slot: number): void {
    this.forward.dispatchGrid(pass, this.bound().forward, Math.ceil(B / this.rows.forward), 1, slot);
  }

  /** dgi and dgh of all T steps (the step record in `slot` gives B and T) */
  encodeBackward(pass: PassLike, B: number, slot: number): void {
    this.backward.dispatchGrid(pass, this.bound().backward, Math.ceil(B / this.rows.backward), 1, slot);
  }
}
