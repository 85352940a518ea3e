// shaders/gru_backward_hidden.wgsl behind gru_dg_uniform.wgsl: the BPTT recurrent gradient with both W_hh and dgh read
// from uniform windows (dgh as written by gru_dgh_window.wgsl; H and UW multiples of 4; same result bit for bit).
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';

export const gruBackwardHiddenUwdSpec: ProgramSpec = {
  shader: ['gru_dg_uniform.wgsl', 'gru_dg_window.wgsl', 'gru_backward_hidden.wgsl'],
  bindings: ['ro', 'ro', 'ro', 'rw', 'rw', 'window', 'window', 'win', 'win', 'step'],
  names: ['gates', 'dhdec', 'dhin', 'part', 'dhout', 'w', 'dg', 'win', 'blk', 'step'],
};

export const gruBackwardHiddenUwd = (gpu: Gpu, o: { H: number; UW: number }) =>
  Program.get(gpu, gruBackwardHiddenUwdSpec, o, `gru_backward_hidden_uwd(H=${o.H},UW=${o.UW})`);

/** one invocation per tile of 8 batch rows × 8 hidden units of a block of nb rows */
export const gruBackwardHiddenUwdInvocations = (H: number, nb: number) => Math.ceil(H / 8) * Math.ceil(nb / 8);
