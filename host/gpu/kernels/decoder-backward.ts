// shaders/decoder_backward.wgsl behind back_w_scalar.wgsl: din = (Wᵀ · dout) ⊙ [act > 0] for one decoder
// layer (or the heads).
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';

export const decoderBackwardSpec: ProgramSpec = {
  shader: ['layer_shape.wgsl', 'back_w_scalar.wgsl', 'decoder_backward.wgsl'],
  bindings: ['ro', 'ro', 'ro', 'rw', 'step'],
  names: ['params', 'dout', 'act', 'din', 'step'],
};

export const decoderBackward = (
  gpu: Gpu,
  name: string,
  o: { IN: number; OUT: number; WOFF: number; WSTRIDE: number; MASK: 0 | 1 },
) => Program.get(gpu, decoderBackwardSpec, { ...o }, `decoder_backward ${name}(${o.OUT}→${o.IN})`);

/** one invocation per tile of 8 rows × 8 inputs */
export const decoderBackwardInvocations = (IN: number, rows: number) => Math.ceil(IN / 8) * Math.ceil(rows / 8);
