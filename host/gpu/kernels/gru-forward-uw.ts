// shaders/gru_forward.wgsl behind gru_h_storage.wgsl: one GRU time step with W_hh read from 64 KiB uniform windows (H a
// multiple of 4).
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';

export const gruForwardUwSpec: ProgramSpec = {
  shader: ['gru_h_storage.wgsl', 'gru_w_window.wgsl', 'gru_forward.wgsl'],
  bindings: ['ro', 'ro', 'rw', 'rw', 'window', 'window', 'window', 'win', 'step'],
  names: ['params', 'gi', 'h', 'gates', 'wr', 'wz', 'wn', 'win', 'step'],
};

/** floats in one uniform window (64 KiB) */
export const WINDOW_FLOATS = 16384;

/** The window layout for hidden size H: UW units per window, NW windows per gate, each window in its own slot of
 *  `slotBytes` (256-byte aligned) of the uniform copy of W_hh; undefined when the kernel does not apply. */
export function gruWindows(
  H: number,
  windowFloats = WINDOW_FLOATS,
): { UW: number; NW: number; slotBytes: number; bufferBytes: number } | undefined {
  if (H % 4 !== 0 || 4 * H > windowFloats || windowFloats > WINDOW_FLOATS) return undefined;
  // a multiple of 4 rows, so that the backward kernel can take 4 rows per loop turn
  const UW = Math.floor(Math.min(H, Math.floor(windowFloats / H)) / 4) * 4;
  const NW = Math.ceil(H / UW);
  const slotBytes = Math.ceil((UW * H * 4) / 256) * 256;
  return { UW, NW, slotBytes, bufferBytes: (3 * NW - 1) * slotBytes + WINDOW_FLOATS * 4 };
}

export const gruForwardUw = (gpu: Gpu, o: { H: number; UW: number; BOFF_HH: number }) =>
  Program.get(gpu, gruForwardUwSpec, o, `gru_forward_uw(H=${o.H},UW=${o.UW})`);

/** one invocation per tile of 8 batch rows × 4 units of a window of `units` units */
export const gruForwardUwInvocations = (units: number, B: number) => Math.ceil(units / 4) * Math.ceil(B / 8);
