// shaders/decoder_backward.wgsl behind back_w_storage.wgsl: vec4 loads of dout (along the
// outputs) and of the weight rows (along the inputs); IN, OUT, WOFF and WSTRIDE multiples of 4; same result bit for
// bit.
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';

export const decoderBackwardV4Spec: ProgramSpec = {
  shader: ['layer_shape.wgsl', 'back_w_storage.wgsl', 'decoder_backward.wgsl'],
  bindings: ['ro', 'ro', 'ro', 'rw', 'step'],
  names: ['params', 'dout', 'act', 'din', 'step'],
};

type Shape = { IN: number; OUT: number; WOFF: number; WSTRIDE: number; MASK: 0 | 1 };

/** whether the vec4 variant applies to a layer of this shape */
export const decoderBackwardV4Fits = (o: Shape) =>
  o.IN % 4 === 0 && o.OUT % 4 === 0 && o.WOFF % 4 === 0 && o.WSTRIDE % 4 === 0;

export const decoderBackwardV4 = (gpu: Gpu, name: string, o: Shape) =>
  Program.get(gpu, decoderBackwardV4Spec, { ...o }, `decoder_backward_v4 ${name}(${o.OUT}→${o.IN})`);

/** one invocation per tile of 8 rows × 8 inputs (as decoder_backward) */
export const decoderBackwardV4Invocations = (IN: number, rows: number) => Math.ceil(IN / 8) * Math.ceil(rows / 8);
