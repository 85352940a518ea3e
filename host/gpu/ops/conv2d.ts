// A KS × KS convolution, stride 1, padding KS / 2 (the blocks' 3 × 3 convolutions, the 1 × 1 head): forward, input
// gradient and weight gradient, each an implicit GEMM of shaders/gemm_tiled.wgsl behind its loader piece
// (conv2d_forward.wgsl, conv2d_backward_data.wgsl, conv2d_weight_grad.wgsl; the shape in conv2d_shape.wgsl).
import type { Gpu } from '../device.js';
import type { ProgramSpec } from '../program.js';
import { DEFAULT_TUNING, gemmGrid, gemmTiles, WeightGradOp, type UNetGpuTuning } from './gemm.js';
import { BoundKernel, unetSpec, type View } from './unet-kernel.js';

export interface Conv2dShape {
  cin: number;
  cout: number;
  H: number;
  W: number;
  /** 3 (padding 1) or 1 */
  ks: number;
  /** weight [cout, cin, ks, ks] in the packed parameters */
  woff: number;
  /** bias [cout], when the convolution has one */
  boff?: number;
}

const BODY = 'gemm_tiled.wgsl';
const forwardSpec: ProgramSpec = unetSpec(
  ['conv2d_shape.wgsl', 'conv2d_input.wgsl', 'conv2d_forward.wgsl', BODY],
  ['ro', 'ro', 'rw', 'uniform'],
  ['params', 'inp', 'outp', 'dims'],
);
const backwardDataSpec: ProgramSpec = unetSpec(
  ['conv2d_shape.wgsl', 'conv2d_backward_data.wgsl', BODY],
  ['ro', 'ro', 'rw', 'uniform'],
  ['params', 'dout', 'din', 'dims'],
);
const weightGradSpec: ProgramSpec = unetSpec(
  ['conv2d_shape.wgsl', 'conv2d_input.wgsl', 'conv2d_weight_grad.wgsl', BODY],
  ['ro', 'ro', 'rw', 'uniform'],
  ['dout', 'inp', 'part', 'dims'],
);

const shapeLabel = (s: Conv2dShape) => `${s.cin}→${s.cout}, ${s.ks}×${s.ks}, ${s.H}×${s.W}`;

function shapeOverrides(s: Conv2dShape, inp?: View) {
  return {
    CIN: s.cin,
    COUT: s.cout,
    H: s.H,
    W: s.W,
    KS: s.ks,
    IN_CT: inp?.ct ?? s.cin,
    IN_CO: inp?.co ?? 0,
    WOFF: s.woff,
    BOFF: s.boff ?? 0,
    HAS_BIAS: s.boff === undefined ? 0 : 1,
  };
}

/** out[B, cout, H, W] = conv(inp) (+ bias) */
export function conv2dForward(
  gpu: Gpu,
  s: Conv2dShape,
  io: { params: GPUBuffer; inp: View; out: GPUBuffer; dims: GPUBuffer },
  tuning: UNetGpuTuning = DEFAULT_TUNING,
): Promise<BoundKernel> {
  const pixels = s.H * s.W;
  const tiles = gemmTiles(pixels, s.cout, tuning, false, false);
  return BoundKernel.create(
    gpu,
    forwardSpec,
    { ...shapeOverrides(s, io.inp), ...tiles },
    `conv2d forward (${shapeLabel(s)})`,
    { params: io.params, inp: io.inp.buf, outp: io.out, dims: io.dims },
    (B) => gemmGrid(B * pixels, s.cout, tiles),
  );
}

/** din (a channel slice of a [B, ·, H, W] buffer) = the input gradient of dout [B, cout, H, W] */
export function conv2dBackwardData(
  gpu: Gpu,
  s: Conv2dShape,
  io: { params: GPUBuffer; dout: GPUBuffer; din: View; dims: GPUBuffer },
  tuning: UNetGpuTuning = DEFAULT_TUNING,
): Promise<BoundKernel> {
  const pixels = s.H * s.W;
  const tiles = gemmTiles(pixels, s.cin, tuning, false, false);
  const { IN_CT: _ct, IN_CO: _co, ...shape } = shapeOverrides(s);
  return BoundKernel.create(
    gpu,
    backwardDataSpec,
    { ...shape, OUT_CT: io.din.ct, OUT_CO: io.din.co, ...tiles },
    `conv2d backward data (${shapeLabel(s)})`,
    { params: io.params, dout: io.dout, din: io.din.buf, dims: io.dims },
    (B) => gemmGrid(B * pixels, s.cin, tiles),
  );
}

/** the weight (and bias) gradient from dout [B, cout, H, W] and the input, into the packed gradient */
export function conv2dWeightGrad(
  gpu: Gpu,
  s: Conv2dShape,
  io: { dout: GPUBuffer; inp: View; part: GPUBuffer; grad: GPUBuffer },
  tuning: UNetGpuTuning = DEFAULT_TUNING,
): Promise<WeightGradOp> {
  const taps = s.cin * s.ks * s.ks;
  const hasBias = s.boff !== undefined;
  return WeightGradOp.create(
    gpu,
    `conv2d weight grad (${shapeLabel(s)})`,
    { spec: weightGradSpec, overrides: shapeOverrides(s, io.inp), buffers: { dout: io.dout, inp: io.inp.buf } },
    {
      M: s.cout,
      N: taps + (hasBias ? 1 : 0),
      pixelsPerImage: s.H * s.W,
      target: { layout: 0, NW: taps, hasBias, woff: s.woff, boff: s.boff ?? 0 },
    },
    { part: io.part, grad: io.grad },
    tuning,
  );
}

/** floats of the partial sums this convolution's weight gradient may use */
export const conv2dPartialFloats = (s: Conv2dShape) => s.cout * (s.cin * s.ks * s.ks + (s.boff === undefined ? 0 : 1));
