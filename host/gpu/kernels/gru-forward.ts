// shaders/gru_forward.wgsl behind gru_h_scalar.wgsl: one GRU time step, keeping r, z, n, W_hn h + b_hn for backward.
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';

export const gruForwardSpec: ProgramSpec = {
  shader: ['gru_h_scalar.wgsl', 'gru_forward.wgsl'],
  bindings: ['ro', 'ro', 'rw', 'rw', 'step'],
  names: ['params', 'gi', 'h', 'gates', 'step'],
};

export const gruForward = (gpu: Gpu, o: { H: number; WOFF_HH: number; BOFF_HH: number }) =>
  Program.get(gpu, gruForwardSpec, o, `gru_forward(H=${o.H})`);

/** one invocation per tile of 8 batch rows × 4 hidden units */
export const gruForwardInvocations = (H: number, B: number) => Math.ceil(H / 4) * Math.ceil(B / 8);
