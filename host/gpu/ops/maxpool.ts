// The encoder's 2 × 2 max-pool (stride 2) with its argmax, and its backward added in place into the skip half of
// the concatenation's gradient (shaders/maxpool_forward.wgsl, maxpool_backward.wgsl).
import type { Gpu } from '../device.js';
import type { ProgramSpec } from '../program.js';
import { DEFAULT_TUNING, type UNetGpuTuning } from './gemm.js';
import { BoundKernel, flatGrid, unetSpec, type View } from './unet-kernel.js';

/** the pooled input's size (even H, W) */
export interface MaxPoolShape {
  C: number;
  H: number;
  W: number;
}

const forwardSpec: ProgramSpec = unetSpec(
  ['maxpool_forward.wgsl'],
  ['ro', 'rw', 'rw', 'uniform'],
  ['inp', 'outp', 'arg', 'dims'],
);
const backwardSpec: ProgramSpec = unetSpec(
  ['maxpool_backward.wgsl'],
  ['ro', 'ro', 'rw', 'uniform'],
  ['dout', 'arg', 'din', 'dims'],
);

const label = (what: string, s: MaxPoolShape) => `maxpool ${what} (${s.C} channels, ${s.H}×${s.W})`;

export function maxPoolForward(
  gpu: Gpu,
  s: MaxPoolShape,
  io: { inp: View; out: GPUBuffer; arg: GPUBuffer; dims: GPUBuffer },
  t: UNetGpuTuning = DEFAULT_TUNING,
): Promise<BoundKernel> {
  return BoundKernel.create(
    gpu,
    forwardSpec,
    { C: s.C, H: s.H, W: s.W, IN_CT: io.inp.ct, IN_CO: io.inp.co, WG: t.workgroup },
    label('forward', s),
    { inp: io.inp.buf, outp: io.out, arg: io.arg, dims: io.dims },
    (B) => flatGrid(gpu, label('forward', s), (B * s.C * s.H * s.W) / 4, t.workgroup),
  );
}

/** din (a slice) += (accumulate) or = the pooled gradient routed to each window's first maximum */
export function maxPoolBackward(
  gpu: Gpu,
  s: MaxPoolShape,
  io: { dout: GPUBuffer; arg: GPUBuffer; din: View; dims: GPUBuffer },
  accumulate: boolean,
  t: UNetGpuTuning = DEFAULT_TUNING,
): Promise<BoundKernel> {
  const what = accumulate ? 'backward (added)' : 'backward';
  return BoundKernel.create(
    gpu,
    backwardSpec,
    { C: s.C, H: s.H, W: s.W, IN_CT: io.din.ct, IN_CO: io.din.co, ACCUMULATE: accumulate ? 1 : 0, WG: t.workgroup },
    label(what, s),
    { dout: io.dout, arg: io.arg, din: io.din.buf, dims: io.dims },
    (B) => flatGrid(gpu, label(what, s), B * s.C * s.H * s.W, t.workgroup),
  );
}
