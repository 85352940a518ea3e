// shaders/weight_grad.wgsl behind wg_storage.wgsl and wg_direct.wgsl: dW = Σ_rows dout ⊗ in, db = Σ_rows dout,
// written into the packed gradient.
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';

export const weightGradSpec: ProgramSpec = {
  shader: ['layer_shape.wgsl', 'wg_storage.wgsl', 'wg_direct.wgsl', 'weight_grad.wgsl'],
  bindings: ['ro', 'ro', 'rw', 'step'],
  names: ['dout', 'inp', 'grad', 'step'],
};

export const weightGrad = (
  gpu: Gpu,
  name: string,
  o: { IN: number; OUT: number; WOFF: number; WSTRIDE: number; BOFF: number; BSTRIDE: number; HAS_BIAS: 0 | 1 },
) => Program.get(gpu, weightGradSpec, { ...o }, `weight_grad ${name}(${o.OUT}×${o.IN})`);

/** one invocation per tile of 8 outputs × 8 inputs */
export const weightGradInvocations = (IN: number, OUT: number) => Math.ceil(IN / 8) * Math.ceil(OUT / 8);
