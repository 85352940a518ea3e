// shaders/gru_backward_hidden.wgsl behind gru_dg_storage.wgsl: BPTT recurrent gradient with W_hh from the uniform
// windows (H a multiple of 4).
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';

export const gruBackwardHiddenUwSpec: ProgramSpec = {
  shader: ['gru_dg_storage.wgsl', 'gru_dg_window.wgsl', 'gru_backward_hidden.wgsl'],
  bindings: ['ro', 'ro', 'ro', 'ro', 'rw', 'rw', 'window', 'win', 'step'],
  names: ['gates', 'dhdec', 'dhin', 'dgh', 'part', 'dhout', 'w', 'win', 'step'],
};

export const gruBackwardHiddenUw = (gpu: Gpu, o: { H: number }) =>
  Program.get(gpu, gruBackwardHiddenUwSpec, o, `gru_backward_hidden_uw(H=${o.H})`);

/** one invocation per tile of 8 batch rows × 8 hidden units */
export const gruBackwardHiddenUwInvocations = (H: number, B: number) => Math.ceil(H / 8) * Math.ceil(B / 8);
