// shaders/gru_backward_gates.wgsl behind gru_dgh_plain.wgsl: BPTT step k,
// gradients of the gate pre-activations (dgi, dgh).
import type { Gpu } from '../device.js';
import { Program, type ProgramSpec } from '../program.js';

export const gruBackwardGatesSpec: ProgramSpec = {
  shader: ['gru_gate_backward.wgsl', 'gru_dgh_plain.wgsl', 'gru_backward_gates.wgsl'],
  bindings: ['ro', 'ro', 'ro', 'ro', 'rw', 'rw', 'step'],
  names: ['gates', 'h', 'dhdec', 'dhrec', 'dgi', 'dgh', 'step'],
};

export const gruBackwardGates = (gpu: Gpu, o: { H: number }) =>
  Program.get(gpu, gruBackwardGatesSpec, o, `gru_backward_gates(H=${o.H})`);

export const gruBackwardGatesInvocations = (H: number, B: number) => H * B;
