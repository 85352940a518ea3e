// shaders/adam.wgsl: one clipped Adam step (torch.optim.Adam 1.13 semantics).
import type { Gpu } from '../device.js';
import type { AdamOptions } from '../../model/engine.js';
import { Program, type ProgramSpec } from '../program.js';

export const adamSpec: ProgramSpec = {
  shader: 'adam.wgsl',
  bindings: ['rw', 'ro', 'rw', 'rw', 'ro', 'uniform'],
  names: ['params', 'grad', 'm', 'v', 'norm', 'opt'],
};

export const adam = (gpu: Gpu, N: number) => Program.get(gpu, adamSpec, { N }, `adam(N=${N})`);

/** The Opt uniform shared by grad_clip.wgsl and adam.wgsl for Adam step number `step` (1-based). Bias corrections
 *  in float64 as PyTorch does with Python floats, then float32. */
export function adamUniform(opt: AdamOptions, step: number): ArrayBuffer {
  const buf = new ArrayBuffer(48);
  const f = new Float32Array(buf);
  const u = new Uint32Array(buf);
  const bc1 = 1 - opt.beta1 ** step;
  const bc2 = 1 - opt.beta2 ** step;
  f[0] = opt.lr / bc1;
  f[1] = Math.sqrt(bc2);
  f[2] = opt.beta1;
  f[3] = opt.beta2;
  f[4] = 1 - opt.beta1;
  f[5] = 1 - opt.beta2;
  f[6] = opt.eps;
  const clip = Number.isFinite(opt.clipNorm);
  f[7] = clip ? opt.clipNorm : 0;
  u[8] = clip ? 1 : 0;
  return buf;
}
