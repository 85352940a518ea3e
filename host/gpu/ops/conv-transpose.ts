// The decoder's 2 × 2 stride-2 transposed convolution (nn.ConvTranspose2d(cin, cout, 2, stride=2), with bias):
// forward into the up half of the concatenation, input gradient from that half of the concatenation's gradient,
// weight and bias gradient; implicit GEMMs of shaders/gemm_tiled.wgsl behind conv_transpose_*.wgsl.
import type { Gpu } from '../device.js';
import type { ProgramSpec } from '../program.js';
import { DEFAULT_TUNING, gemmGrid, gemmTiles, WeightGradOp, type UNetGpuTuning } from './gemm.js';
import { BoundKernel, unetSpec, type View } from './unet-kernel.js';

export interface ConvTransposeShape {
  cin: number;
  cout: number;
  /** the input's size; the output is 2H × 2W */
  H: number;
  W: number;
  /** weight [cin, cout, 2, 2] and bias [cout] in the packed parameters */
  woff: number;
  boff: number;
}

const BODY = 'gemm_tiled.wgsl';
const SHAPE = 'conv_transpose_shape.wgsl';
const forwardSpec: ProgramSpec = unetSpec(
  [SHAPE, 'conv_transpose_forward.wgsl', BODY],
  ['ro', 'ro', 'rw', 'uniform'],
  ['params', 'inp', 'up', 'dims'],
);
const backwardDataSpec: ProgramSpec = unetSpec(
  [SHAPE, 'conv_transpose_backward_data.wgsl', BODY],
  ['ro', 'ro', 'rw', 'uniform'],
  ['params', 'dup', 'din', 'dims'],
);
const weightGradSpec: ProgramSpec = unetSpec(
  [SHAPE, 'conv_transpose_weight_grad.wgsl', BODY],
  ['ro', 'ro', 'rw', 'uniform'],
  ['inp', 'dup', 'part', 'dims'],
);

const shapeLabel = (s: ConvTransposeShape) => `${s.cin}→${s.cout}, ${s.H}×${s.W}→${2 * s.H}×${2 * s.W}`;

const overrides = (s: ConvTransposeShape, up: View) => ({
  CIN: s.cin,
  COUT: s.cout,
  HI: s.H,
  WI: s.W,
  UP_CT: up.ct,
  UP_CO: up.co,
  WOFF: s.woff,
  BOFF: s.boff,
});

/** up (a channel slice of [B, ·, 2H, 2W]) = convT(inp [B, cin, H, W]) + bias */
export function convTransposeForward(
  gpu: Gpu,
  s: ConvTransposeShape,
  io: { params: GPUBuffer; inp: GPUBuffer; up: View; dims: GPUBuffer },
  tuning: UNetGpuTuning = DEFAULT_TUNING,
): Promise<BoundKernel> {
  const tiles = gemmTiles(s.H * s.W, 4 * s.cout, tuning, false, false);
  return BoundKernel.create(
    gpu,
    forwardSpec,
    { ...overrides(s, io.up), ...tiles },
    `conv transpose forward (${shapeLabel(s)})`,
    { params: io.params, inp: io.inp, up: io.up.buf, dims: io.dims },
    (B) => gemmGrid(B * s.H * s.W, 4 * s.cout, tiles),
  );
}

/** din [B, cin, H, W] from the gradient of the up slice */
export function convTransposeBackwardData(
  gpu: Gpu,
  s: ConvTransposeShape,
  io: { params: GPUBuffer; dup: View; din: GPUBuffer; dims: GPUBuffer },
  tuning: UNetGpuTuning = DEFAULT_TUNING,
): Promise<BoundKernel> {
  const tiles = gemmTiles(s.H * s.W, s.cin, tuning, false, false);
  return BoundKernel.create(
    gpu,
    backwardDataSpec,
    { ...overrides(s, io.dup), ...tiles },
    `conv transpose backward data (${shapeLabel(s)})`,
    { params: io.params, dup: io.dup.buf, din: io.din, dims: io.dims },
    (B) => gemmGrid(B * s.H * s.W, s.cin, tiles),
  );
}

/** weight and bias gradient into the packed gradient */
export function convTransposeWeightGrad(
  gpu: Gpu,
  s: ConvTransposeShape,
  io: { inp: GPUBuffer; dup: View; part: GPUBuffer; grad: GPUBuffer },
  tuning: UNetGpuTuning = DEFAULT_TUNING,
): Promise<WeightGradOp> {
  return WeightGradOp.create(
    gpu,
    `conv transpose weight grad (${shapeLabel(s)})`,
    { spec: weightGradSpec, overrides: overrides(s, io.dup), buffers: { inp: io.inp, dup: io.dup.buf } },
    {
      M: s.cin + 1,
      N: 4 * s.cout,
      pixelsPerImage: s.H * s.W,
      target: { layout: 1, NW: 4 * s.cout, hasBias: true, woff: s.woff, boff: s.boff },
    },
    { part: io.part, grad: io.grad },
    tuning,
  );
}

export const convTransposePartialFloats = (s: ConvTransposeShape) => (s.cin + 1) * 4 * s.cout;
