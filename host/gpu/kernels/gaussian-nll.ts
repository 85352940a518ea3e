// shaders/gaussian_nll.wgsl: masked per-step Gaussian NLL and dL/dμ, dL/dlogvar.
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';

export const gaussianNllSpec: ProgramSpec = {
  shader: 'gaussian_nll.wgsl',
  bindings: ['ro', 'ro', 'ro', 'rw', 'rw', 'step'],
  names: ['dec', 'x', 'mask', 'nll', 'dout', 'step'],
};

export const gaussianNll = (gpu: Gpu, o: { F: number }) =>
  Program.get(gpu, gaussianNllSpec, o, `gaussian_nll(F=${o.F})`);

export const gaussianNllInvocations = (B: number, T: number) => B * T;
