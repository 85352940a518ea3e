// shaders/decoder_backward.wgsl behind back_w_uniform.wgsl: for the MLP layers with the weights
// read from 64 KiB uniform windows of whole weight columns (IN and OUT multiples of 4; same result bit for bit).
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';
import { WINDOW_FLOATS } from './gru-forward-uw.js';

export const decoderBackwardUwSpec: ProgramSpec = {
  shader: ['layer_shape.wgsl', 'back_w_uniform.wgsl', 'decoder_backward.wgsl'],
  bindings: ['ro', 'ro', 'rw', 'window', 'win', 'step'],
  names: ['dout', 'act', 'din', 'w', 'win', 'step'],
};

/** Windows of UI whole weight columns (OUT·UI ≤ 64 KiB of floats; UI a multiple of 8 unless it is all IN columns),
 *  NW of them; undefined when the kernel does not apply. */
export function backwardWindows(
  IN: number,
  OUT: number,
  windowFloats = WINDOW_FLOATS,
): { UI: number; NW: number } | undefined {
  if (IN % 4 !== 0 || OUT % 4 !== 0 || windowFloats > WINDOW_FLOATS) return undefined;
  const UI = OUT * IN <= windowFloats ? IN : Math.floor(windowFloats / OUT / 8) * 8;
  if (UI < 1) return undefined;
  return { UI, NW: Math.ceil(IN / UI) };
}

export const decoderBackwardUw = (gpu: Gpu, name: string, o: { IN: number; OUT: number; UI: number; MASK: 0 | 1 }) =>
  Program.get(gpu, decoderBackwardUwSpec, { ...o }, `decoder_backward_uw ${name}(${o.OUT}→${o.IN})`);

/** one invocation per tile of 8 rows × 8 inputs of a window of `ni` inputs */
export const decoderBackwardUwInvocations = (ni: number, rows: number) => Math.ceil(ni / 8) * Math.ceil(rows / 8);
