// shaders/decoder_dense.wgsl behind dense_w_scalar.wgsl: y = act(W · in + b) for the decoder's MLP layers
// and its μ/logvar heads.
import type { Gpu } from '../device.js';
import type { DenseShape } from '../ops/layers.js';
import { Program, type ProgramSpec } from '../program.js';

export const decoderDenseSpec: ProgramSpec = {
  shader: ['layer_shape.wgsl', 'dense_w_scalar.wgsl', 'decoder_dense.wgsl'],
  bindings: ['ro', 'ro', 'rw', 'step'],
  names: ['params', 'inp', 'outp', 'step'],
};

export const decoderDense = (gpu: Gpu, name: string, o: DenseShape & { RELU: 0 | 1 }) =>
  Program.get(gpu, decoderDenseSpec, { ...o }, `decoder_dense ${name}(${o.IN}→${o.OUT})`);

/** one invocation per tile of 8 rows × 8 outputs */
export const decoderDenseInvocations = (OUT: number, rows: number) => Math.ceil(OUT / 8) * Math.ceil(rows / 8);
