// shaders/gru_forward.wgsl behind gru_h_uniform.wgsl: one GRU time step with W_hh AND h_k read from uniform windows
// (ping-pong copies of h_k; H a multiple of 4; same result bit for bit as gru_forward.wgsl).
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';

export const gruForwardUwhSpec: ProgramSpec = {
  shader: ['gru_h_uniform.wgsl', 'gru_w_window.wgsl', 'gru_forward.wgsl'],
  bindings: ['ro', 'ro', 'rw', 'rw', 'window', 'window', 'window', 'window', 'rw', 'win', 'win', 'step'],
  names: ['params', 'gi', 'h', 'gates', 'wr', 'wz', 'wn', 'hw', 'hwn', 'win', 'blk', 'step'],
};

/** batch rows per h_k window (a multiple of 16, rows·H ≤ 16384 floats), or 0 when H is too large */
export const hBlockRows = (H: number, windowFloats: number) => {
  const most = Math.floor(16384 / H / 16) * 16;
  return most < 16 ? 0 : Math.min(most, Math.max(16, Math.floor(windowFloats / H / 16) * 16));
};

export const gruForwardUwh = (gpu: Gpu, o: { H: number; UW: number; BOFF_HH: number }) =>
  Program.get(gpu, gruForwardUwhSpec, o, `gru_forward_uwh(H=${o.H},UW=${o.UW})`);

/** one invocation per tile of 8 batch rows of a block of nb × 4 units of a window of `units` units */
export const gruForwardUwhInvocations = (units: number, nb: number) => Math.ceil(units / 4) * Math.ceil(nb / 8);
