// shaders/grad_norm_partial.wgsl + shaders/grad_clip.wgsl: global gradient L2 norm and the clipping coefficient.
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';

export const GRAD_NORM_CHUNK = 1024;

export const gradNormPartialSpec: ProgramSpec = {
  shader: 'grad_norm_partial.wgsl',
  bindings: ['ro', 'rw'],
  names: ['grad', 'partial'],
};

export const gradClipSpec: ProgramSpec = {
  shader: 'grad_clip.wgsl',
  bindings: ['ro', 'rw', 'uniform'],
  names: ['partial', 'norm', 'opt'],
};

export const gradNormParts = (N: number) => Math.ceil(N / GRAD_NORM_CHUNK);

export const gradNormPartial = (gpu: Gpu, N: number) =>
  Program.get(gpu, gradNormPartialSpec, { N, CHUNK: GRAD_NORM_CHUNK }, `grad_norm_partial(N=${N})`);

export const gradClip = (gpu: Gpu, N: number) =>
  Program.get(gpu, gradClipSpec, { PARTS: gradNormParts(N) }, `grad_clip(parts=${gradNormParts(N)})`);
