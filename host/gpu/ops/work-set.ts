// The engine's per-call memory: the work buffers of the plan's kernels and the loss, and the step records that tell
// each dispatch which rows and steps it owns. Grown (never shrunk) to the largest batch chunk and T seen so far.
import type { Gpu } from '../device.js';
import { STEP_STRIDE } from '../program.js';
import type { LossOp } from './loss.js';
import type { PlanKernels } from './plan.js';
import type { WorkBuffers } from './work.js';

// GPUBufferUsage values (the globals exist only once a device was opened)
const COPY_DST = 0x08;
const UNIFORM = 0x40;

export interface Work {
  B: number; // capacity in batch rows
  T: number; // capacity in steps
  buf: WorkBuffers;
}

export class WorkSet {
  private step: GPUBuffer | undefined;
  private stepSlots = 0;
  private work: Work | undefined;

  constructor(
    private readonly gpu: Gpu,
    private readonly kernels: PlanKernels,
    private readonly lossOp: LossOp,
  ) {}

  /** (re)allocates the work buffers and bind groups for B rows of T steps */
  async ensure(B: number, T: number): Promise<Work> {
    const w = this.work;
    if (w && B <= w.B && T <= w.T && 2 * T + 3 <= this.stepSlots) return w;
    const cap = { B: Math.max(B, w?.B ?? 0), T: Math.max(T, w?.T ?? 0) };
    if (w) for (const b of Object.values(w.buf)) b?.destroy();
    this.work = undefined;
    return this.gpu.checked(`work buffers (batch ${cap.B}, T ${cap.T})`, () => {
      this.step?.destroy();
      this.stepSlots = 2 * cap.T + 3;
      const step = this.gpu.device.createBuffer({
        label: 'step records',
        size: this.stepSlots * STEP_STRIDE,
        usage: UNIFORM | COPY_DST,
      });
      this.step = step;
      const buf = this.kernels.allocate(cap, step);
      this.lossOp.bind(buf, step);
      this.work = { ...cap, buf };
      return this.work;
    });
  }

  /** Step records (ops/plan.ts PlanKernels): slot k = step k; T+1 = all T training rows; T+2 = all T+1 forecast
   *  rows; T+3+k = the rows of step k for the weight gradients (accumulating after the first). */
  writeSteps(B: number, T: number, accumulate: boolean): void {
    if (!this.step) throw new Error('internal: step records written before the work buffers exist');
    const data = new Uint32Array(((2 * T + 3) * STEP_STRIDE) / 4);
    const put = (slot: number, k: number, row0: number, nrows: number, k0: number, nk: number, flag: number) =>
      data.set([k, B, T, row0, nrows, k0, nk, flag], (slot * STEP_STRIDE) / 4);
    for (let k = 0; k <= T; k++) put(k, k, k * B, B, k, 1, k === T - 1 ? 1 : 0);
    put(T + 1, 0, 0, T * B, 0, T, accumulate ? 1 : 0);
    put(T + 2, 0, 0, (T + 1) * B, 0, T, accumulate ? 1 : 0);
    for (let k = 0; k < T; k++) put(T + 3 + k, k, k * B, B, k, 1, accumulate || k > 0 ? 1 : 0);
    this.gpu.device.queue.writeBuffer(this.step, 0, data);
  }
}
