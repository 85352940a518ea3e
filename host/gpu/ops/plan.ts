// The kernel plan: which set of kernels the engine records, chosen per adapter and overridable through
// GpuEngineOptions.plan. 'hardware': the whole-sequence GRU kernels and workgroup-tiled matrix products (a training
// step's dispatch count does not depend on T); 'software': one dispatch per time step with the operands llvmpipe
// reads fastest (vec4 loads, 64 KiB uniform windows), faster where every invocation is a CPU thread's lane.
import { DpmError } from '../../core/errors.js';
import type { AdapterSummary } from '../device.js';
import type { PassLike } from '../program.js';
import type { WorkBuffers } from './work.js';

export type PlanName = 'hardware' | 'software';

export const PLAN_NAMES: readonly PlanName[] = ['hardware', 'software'];

export interface KernelPlan {
  readonly name: PlanName;
  /** software plan: vec4 decoder and weight-gradient kernels where the shapes allow */
  readonly vec4: boolean;
  /** software plan: operands read from 64 KiB uniform windows where the shapes allow */
  readonly uniformWindows: boolean;
  /** software plan: floats per uniform window (at most 16384; tests use fewer to force several windows) */
  readonly windowFloats: number;
  /** hardware plan: most batch rows a workgroup of the sequence kernels owns (1..8; fewer where workgroup memory
   *  is short) */
  readonly sequenceRows: number;
}

export const WINDOW_FLOATS_MAX = 16384;

const DEFAULTS: Omit<KernelPlan, 'name'> = {
  vec4: true,
  uniformWindows: true,
  windowFloats: WINDOW_FLOATS_MAX,
  sequenceRows: 8,
};

/** A plan's full settings: a name alone takes the defaults. */
export function kernelPlan(plan: PlanName | (Partial<KernelPlan> & { name: PlanName })): KernelPlan {
  const p: KernelPlan = typeof plan === 'string' ? { name: plan, ...DEFAULTS } : { ...DEFAULTS, ...plan };
  if (!PLAN_NAMES.includes(p.name))
    throw new DpmError(`kernel plan: '${p.name}' is not one of ${PLAN_NAMES.join(', ')}`);
  if (!Number.isInteger(p.windowFloats) || p.windowFloats < 4 || p.windowFloats > WINDOW_FLOATS_MAX) {
    throw new DpmError(
      `kernel plan: windowFloats must be an integer in 4..${WINDOW_FLOATS_MAX}, got ${p.windowFloats}`,
    );
  }
  if (!Number.isInteger(p.sequenceRows) || p.sequenceRows < 1 || p.sequenceRows > 8) {
    throw new DpmError(`kernel plan: sequenceRows must be an integer in 1..8, got ${p.sequenceRows}`);
  }
  return p;
}

/** The plan for an adapter: the per-step kernels on software rasterizers (llvmpipe, lavapipe, SwiftShader), where
 *  they measured faster, the whole-sequence kernels on GPUs. */
export function planForAdapter(
  adapter: AdapterSummary,
  override?: PlanName | (Partial<KernelPlan> & { name: PlanName }),
): KernelPlan {
  return kernelPlan(override ?? (adapter.software ? 'software' : 'hardware'));
}

/** What the engine asks of a plan's kernels (host/gpu/software/kernels.ts, host/gpu/ops/hardware.ts). Step records
 *  (host/gpu/forecaster.ts writeSteps): slot k = step k; T+1 = all T training rows; T+2 = all T+1 forecast rows;
 *  T+3+k = the rows of step k for the weight gradients. */
export interface PlanKernels {
  readonly plan: KernelPlan;
  /** floats per batch row of the widest buffer the plan adds to the work buffers at length T (0: none) */
  extraRowFloats(T: number): number;
  /** (re)allocates the work buffers for `cap` and binds the kernels to them and the step records */
  allocate(cap: { B: number; T: number }, step: GPUBuffer): WorkBuffers;
  /** per-call records and copies before a pass over B rows (queued, then recorded into `enc`) */
  encodeSetup(enc: GPUCommandEncoder, B: number): void;
  /** the GRU over T steps and the decoder on [h_0..h_{T−1}] (training) or [h_0..h_T] (forecast) */
  encodeForward(pass: PassLike, B: number, T: number, missing: boolean, forecast: boolean): void;
  /** the gradient of the loss (the NLL's dout must be in place) into the packed gradient */
  encodeBackward(pass: PassLike, B: number, T: number): void;
  destroy(): void;
}
