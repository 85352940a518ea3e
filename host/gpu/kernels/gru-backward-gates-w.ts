// shaders/gru_backward_gates.wgsl behind gru_dgh_window.wgsl: also writes dgh in the uniform-window layout read by
// gru_dg_uniform.wgsl and wg_dout_uniform.wgsl.
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';

export const gruBackwardGatesWSpec: ProgramSpec = {
  shader: ['gru_gate_backward.wgsl', 'gru_dgh_window.wgsl', 'gru_backward_gates.wgsl'],
  bindings: ['ro', 'ro', 'ro', 'ro', 'rw', 'rw', 'rw', 'step'],
  names: ['gates', 'h', 'dhdec', 'dhrec', 'dgi', 'dgh', 'dghw', 'step'],
};

export const gruBackwardGatesW = (gpu: Gpu, o: { H: number; UW: number }) =>
  Program.get(gpu, gruBackwardGatesWSpec, o, `gru_backward_gates_w(H=${o.H},UW=${o.UW})`);

/** batch rows per dgh window (a multiple of 16, BB·UW ≤ 16384 floats) */
export const dghBlockRows = (UW: number, windowFloats: number) =>
  Math.min(Math.floor(16384 / UW / 16) * 16, Math.max(16, Math.floor(windowFloats / UW / 16) * 16));

/** floats of the windowed dgh buffer for B rows and one step: 3·NW windows of BP·UW (BP = B rounded up to 16) */
export const dghWindowFloats = (B: number, UW: number, NW: number) => 3 * NW * Math.ceil(B / 16) * 16 * UW;
