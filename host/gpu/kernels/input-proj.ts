// shaders/input_proj.wgsl: gi = W_ih · xin + b_ih over steps k0..k0+nk−1 (missing feature 0 → the forecast mean μ_k).
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';

export const inputProjSpec: ProgramSpec = {
  shader: 'input_proj.wgsl',
  bindings: ['ro', 'ro', 'ro', 'ro', 'rw', 'rw', 'step'],
  names: ['params', 'x', 'mask', 'dec', 'xin', 'gi', 'step'],
};

export const inputProj = (gpu: Gpu, o: { H: number; F: number; WOFF_IH: number; BOFF_IH: number }) =>
  Program.get(gpu, inputProjSpec, o, `input_proj(H=${o.H},F=${o.F})`);

/** invocations for nk steps of B rows */
export const inputProjInvocations = (H: number, B: number, nk: number) => nk * B * 3 * H;
