// shaders/gru_backward_hidden.wgsl behind gru_dg_scalar.wgsl: BPTT step k, recurrent gradient w.r.t. h_k (z ⊙ dh +
// W_hhᵀ dgh).
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';

export const gruBackwardHiddenSpec: ProgramSpec = {
  shader: ['gru_dg_scalar.wgsl', 'gru_backward_hidden.wgsl'],
  bindings: ['ro', 'ro', 'ro', 'ro', 'ro', 'rw', 'step'],
  names: ['params', 'gates', 'dhdec', 'dhin', 'dgh', 'dhout', 'step'],
};

export const gruBackwardHidden = (gpu: Gpu, o: { H: number; WOFF_HH: number }) =>
  Program.get(gpu, gruBackwardHiddenSpec, o, `gru_backward_hidden(H=${o.H})`);

/** one invocation per tile of 8 batch rows × 8 hidden units */
export const gruBackwardHiddenInvocations = (H: number, B: number) => Math.ceil(H / 8) * Math.ceil(B / 8);
