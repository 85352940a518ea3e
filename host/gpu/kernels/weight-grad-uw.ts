// shaders/weight_grad.wgsl behind wg_dout_storage.wgsl and wg_window.wgsl: the weight gradient of the large layers with
// the input activations read from 64 KiB uniform windows of whole rows (IN a multiple of 64, OUT of 4; same result bit
// for bit).
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';
import { WINDOW_FLOATS } from './gru-forward-uw.js';

export const weightGradUwSpec: ProgramSpec = {
  shader: ['layer_shape.wgsl', 'wg_dout_storage.wgsl', 'wg_window.wgsl', 'weight_grad.wgsl'],
  bindings: ['ro', 'window', 'rw', 'rw', 'win', 'step'],
  names: ['dout', 'inp', 'part', 'grad', 'win', 'step'],
};

/** rows per uniform window for a layer of this shape (a multiple of 32), or undefined when the kernel does not apply
 *  (the window offsets k·B·IN·4 must be 256-byte aligned for any B: IN a multiple of 64) */
export function weightGradUwRows(IN: number, OUT: number, windowFloats = WINDOW_FLOATS): number | undefined {
  if (IN % 64 !== 0 || OUT % 4 !== 0 || windowFloats > WINDOW_FLOATS) return undefined;
  const WR = Math.floor(windowFloats / IN / 32) * 32;
  return WR >= 32 ? WR : undefined;
}

export const weightGradUw = (
  gpu: Gpu,
  name: string,
  o: { IN: number; OUT: number; WOFF: number; WSTRIDE: number; BOFF: number; BSTRIDE: number; HAS_BIAS: 0 | 1 },
) => Program.get(gpu, weightGradUwSpec, { ...o }, `weight_grad_uw ${name}(${o.OUT}×${o.IN})`);

/** one invocation per tile of 8 outputs × 8 inputs (as weight_grad) */
export const weightGradUwInvocations = (IN: number, OUT: number) => Math.ceil(IN / 8) * Math.ceil(OUT / 8);
