// shaders/weight_grad.wgsl behind wg_storage4.wgsl and wg_direct.wgsl: vec4 loads of dout and inp (IN and OUT
// multiples of 4; same result bit for bit).
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';

export const weightGradV4Spec: ProgramSpec = {
  shader: ['layer_shape.wgsl', 'wg_storage4.wgsl', 'wg_direct.wgsl', 'weight_grad.wgsl'],
  bindings: ['ro', 'ro', 'rw', 'step'],
  names: ['dout', 'inp', 'grad', 'step'],
};

/** whether the vec4 variant applies to a layer of this shape */
export const weightGradV4Fits = (IN: number, OUT: number) => IN % 4 === 0 && OUT % 4 === 0;

export const weightGradV4 = (
  gpu: Gpu,
  name: string,
  o: { IN: number; OUT: number; WOFF: number; WSTRIDE: number; BOFF: number; BSTRIDE: number; HAS_BIAS: 0 | 1 },
) => Program.get(gpu, weightGradV4Spec, { ...o }, `weight_grad_v4 ${name}(${o.OUT}×${o.IN})`);

/** one invocation per tile of 8 outputs × 8 inputs (as weight_grad) */
export const weightGradV4Invocations = (IN: number, OUT: number) => Math.ceil(IN / 8) * Math.ceil(OUT / 8);
