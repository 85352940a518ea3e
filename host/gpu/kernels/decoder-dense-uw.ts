// shaders/decoder_dense.wgsl behind dense_w_uniform.wgsl: for the MLP layers with the weights read
// from 64 KiB uniform windows of whole weight rows (IN a multiple of 4; same result bit for bit).
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';
import { WINDOW_FLOATS } from './gru-forward-uw.js';

export const decoderDenseUwSpec: ProgramSpec = {
  shader: ['layer_shape.wgsl', 'dense_w_uniform.wgsl', 'decoder_dense.wgsl'],
  bindings: ['ro', 'ro', 'rw', 'window', 'win', 'step'],
  names: ['params', 'inp', 'outp', 'w', 'win', 'step'],
};

/** Windows of UO whole weight rows (UO·IN ≤ 64 KiB of floats; UO a multiple of 8 unless it is all OUT rows), NW of
 *  them; undefined when the kernel does not apply. */
export function denseWindows(
  IN: number,
  OUT: number,
  windowFloats = WINDOW_FLOATS,
): { UO: number; NW: number } | undefined {
  if (IN % 4 !== 0 || windowFloats > WINDOW_FLOATS) return undefined;
  const UO = OUT * IN <= windowFloats ? OUT : Math.floor(windowFloats / IN / 8) * 8;
  if (UO < 1) return undefined;
  return { UO, NW: Math.ceil(OUT / UO) };
}

export const decoderDenseUw = (
  gpu: Gpu,
  name: string,
  o: { IN: number; OUT: number; BOFF: number; BSTRIDE: number; RELU: 0 | 1 },
) => Program.get(gpu, decoderDenseUwSpec, { ...o }, `decoder_dense_uw ${name}(${o.IN}→${o.OUT})`);

/** one invocation per tile of 8 rows × 8 outputs of a window of `nout` outputs */
export const decoderDenseUwInvocations = (nout: number, rows: number) => Math.ceil(nout / 8) * Math.ceil(rows / 8);
