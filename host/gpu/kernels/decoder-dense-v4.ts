// shaders/decoder_dense.wgsl behind dense_w_storage.wgsl: vec4 loads of the weights and inputs
// along the input axis (IN, WOFF and WSTRIDE multiples of 4; same result bit for bit).
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';
import type { DenseShape } from '../ops/layers.js';

export const decoderDenseV4Spec: ProgramSpec = {
  shader: ['layer_shape.wgsl', 'dense_w_storage.wgsl', 'decoder_dense.wgsl'],
  bindings: ['ro', 'ro', 'rw', 'step'],
  names: ['params', 'inp', 'outp', 'step'],
};

/** whether the vec4 variant applies to a layer of this shape */
export const decoderDenseV4Fits = (o: DenseShape) => o.IN % 4 === 0 && o.WOFF % 4 === 0 && o.WSTRIDE % 4 === 0;

export const decoderDenseV4 = (gpu: Gpu, name: string, o: DenseShape & { RELU: 0 | 1 }) =>
  Program.get(gpu, decoderDenseV4Spec, { ...o }, `decoder_dense_v4 ${name}(${o.IN}→${o.OUT})`);

/** one invocation per tile of 8 rows × 8 outputs (as decoder_dense) */
export const decoderDenseV4Invocations = (OUT: number, rows: number) => Math.ceil(OUT / 8) * Math.ceil(rows / 8);
