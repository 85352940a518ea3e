// shaders/weight_grad.wgsl behind wg_dout_uniform.wgsl and wg_window.wgsl: the W_hh gradient with dgh
// (gru_dgh_window.wgsl's windowed copy) and h both read from uniform windows (see weight-grad-uw.ts; same result
// bit for bit).
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';

export const weightGradUwdSpec: ProgramSpec = {
  shader: ['layer_shape.wgsl', 'wg_dout_uniform.wgsl', 'wg_window.wgsl', 'weight_grad.wgsl'],
  bindings: ['window', 'window', 'rw', 'rw', 'win', 'win', 'step'],
  names: ['dg', 'inp', 'part', 'grad', 'wd', 'win', 'step'],
};

export const weightGradUwd = (
  gpu: Gpu,
  o: {
    IN: number;
    OUT: number;
    UW: number;
    WOFF: number;
    WSTRIDE: number;
    BOFF: number;
    BSTRIDE: number;
    HAS_BIAS: 0 | 1;
  },
) => Program.get(gpu, weightGradUwdSpec, { ...o }, `weight_grad_uwd gru.hh(${o.OUT}×${o.IN})`);

/** one invocation per tile of 8 gate rows of a window of `rows` × 8 inputs */
export const weightGradUwdInvocations = (IN: number, rows: number) => Math.ceil(IN / 8) * Math.ceil(rows / 8);
