// BatchNorm2d (eps 1e-5, momentum 0.1) with the ReLU that follows it in every block: training forward (batch
// statistics, two passes, running statistics updated with the unbiased variance), eval forward (running
// statistics), and the training backward with the ReLU's backward fused in (shaders/batchnorm_*.wgsl).
import type { Gpu } from '../device.js';
import type { ProgramSpec } from '../program.js';
import { DEFAULT_TUNING, type UNetGpuTuning } from './gemm.js';
import { BoundKernel, flatGrid, unetSpec, type View } from './unet-kernel.js';

export interface BatchNormShape {
  C: number;
  H: number;
  W: number;
  /** γ at poff, β at poff + C (parameters and gradient) */
  poff: number;
  /** running_mean at roff, running_var at roff + C (packed buffers) */
  roff: number;
  /** (mean, invstd) of channel c at soff + 2c of the stats buffer */
  soff: number;
}

const SHAPE = 'batchnorm_shape.wgsl';
const statsSpec: ProgramSpec = unetSpec(
  [SHAPE, 'batchnorm_stats.wgsl'],
  ['ro', 'rw', 'rw', 'rw', 'uniform'],
  ['x', 'stats', 'running', 'part', 'dims'],
);
const forwardSpec: ProgramSpec = unetSpec(
  [SHAPE, 'batchnorm_forward.wgsl'],
  ['ro', 'ro', 'ro', 'ro', 'rw', 'uniform'],
  ['params', 'x', 'stats', 'running', 'y', 'dims'],
);
const reduceSpec: ProgramSpec = unetSpec(
  [SHAPE, 'batchnorm_backward_reduce.wgsl'],
  ['ro', 'ro', 'ro', 'ro', 'rw', 'rw', 'uniform'],
  ['dy', 'y', 'x', 'stats', 'grad', 'part', 'dims'],
);
const dataSpec: ProgramSpec = unetSpec(
  [SHAPE, 'batchnorm_backward_data.wgsl'],
  ['ro', 'ro', 'ro', 'ro', 'ro', 'ro', 'rw', 'uniform'],
  ['params', 'dy', 'y', 'x', 'stats', 'grad', 'dx', 'dims'],
);

const label = (what: string, s: BatchNormShape) => `batchnorm ${what} (${s.C} channels, ${s.H}×${s.W})`;

function shape(s: BatchNormShape, y: View | undefined, t: UNetGpuTuning) {
  return {
    C: s.C,
    HW: s.H * s.W,
    POFF: s.poff,
    ROFF: s.roff,
    SOFF: s.soff,
    Y_CT: y?.ct ?? s.C,
    Y_CO: y?.co ?? 0,
    WG: t.workgroup,
  };
}

export interface BatchNormBuffers {
  params: GPUBuffer;
  grad: GPUBuffer;
  running: GPUBuffer;
  stats: GPUBuffer;
  /** per-chunk partial statistics: batchNormPartFloats floats */
  part: GPUBuffer;
  dims: GPUBuffer;
}

/** chunks of one channel's B·H·W values (a workgroup each) */
const chunksOf = (s: BatchNormShape, B: number, t: UNetGpuTuning) => Math.ceil((B * s.H * s.W) / t.bnChunk);

/** floats of the chunk statistics of a BatchNorm over a batch of B */
export const batchNormPartFloats = (s: BatchNormShape, B: number, t: UNetGpuTuning = DEFAULT_TUNING) =>
  3 * s.C * chunksOf(s, B, t);

/** the per-chunk phase's grid (C × chunks) and the per-channel phase's */
const chunkGrid =
  (s: BatchNormShape, t: UNetGpuTuning) =>
  (B: number): [number, number, number] => [s.C, chunksOf(s, B, t), 1];
const channelGrid = (s: BatchNormShape, t: UNetGpuTuning) => (): [number, number, number] => [
  Math.ceil(s.C / t.workgroup),
  1,
  1,
];

/** training: batch statistics (and the running statistics' update when `update`): per chunk, then per channel */
export function batchNormStats(
  gpu: Gpu,
  s: BatchNormShape,
  io: BatchNormBuffers & { x: GPUBuffer },
  update = true,
  t: UNetGpuTuning = DEFAULT_TUNING,
): Promise<BoundKernel>[] {
  const { Y_CT: _ct, Y_CO: _co, POFF: _p, ...o } = shape(s, undefined, t);
  const overrides = { ...o, UPDATE: update ? 1 : 0, CHUNK: t.bnChunk };
  return [
    BoundKernel.create(
      gpu,
      statsSpec,
      { ...overrides, PHASE: 0 },
      label('stats per chunk', s),
      { ...io },
      chunkGrid(s, t),
    ),
    BoundKernel.create(gpu, statsSpec, { ...overrides, PHASE: 1 }, label('stats', s), { ...io }, channelGrid(s, t)),
  ];
}

/** y = ReLU(BN(x)) into a channel slice (relu = false: BN(x) alone); eval = running statistics */
export function batchNormForward(
  gpu: Gpu,
  s: BatchNormShape,
  io: BatchNormBuffers & { x: GPUBuffer; y: View },
  mode: { eval: boolean; relu: boolean },
  t: UNetGpuTuning = DEFAULT_TUNING,
): Promise<BoundKernel> {
  const what = `${mode.eval ? 'eval' : 'train'} forward${mode.relu ? ' + ReLU' : ''}`;
  return BoundKernel.create(
    gpu,
    forwardSpec,
    { ...shape(s, io.y, t), RELU: mode.relu ? 1 : 0, EVAL: mode.eval ? 1 : 0 },
    label(what, s),
    { ...io, y: io.y.buf },
    (B) => flatGrid(gpu, label(what, s), B * s.C * s.H * s.W, t.workgroup),
  );
}

/** the training backward of ReLU(BN(x)): dγ, dβ into the gradient, then dx */
export function batchNormBackward(
  gpu: Gpu,
  s: BatchNormShape,
  io: BatchNormBuffers & { x: GPUBuffer; y: View; dy: View; dx: GPUBuffer },
  t: UNetGpuTuning = DEFAULT_TUNING,
): Promise<BoundKernel>[] {
  if (io.y.ct !== io.dy.ct || io.y.co !== io.dy.co) throw new Error('batchnorm backward: y and dy slices differ');
  const { ROFF: _r, ...o } = shape(s, io.y, t);
  const buffers = { ...io, y: io.y.buf, dy: io.dy.buf };
  const reduce = { ...o, CHUNK: t.bnChunk };
  return [
    BoundKernel.create(
      gpu,
      reduceSpec,
      { ...reduce, PHASE: 0 },
      label('backward sums per chunk', s),
      buffers,
      chunkGrid(s, t),
    ),
    BoundKernel.create(
      gpu,
      reduceSpec,
      { ...reduce, PHASE: 1 },
      label('backward sums + ReLU', s),
      buffers,
      channelGrid(s, t),
    ),
    BoundKernel.create(gpu, dataSpec, o, label('backward data + ReLU', s), buffers, (B) =>
      flatGrid(gpu, label('backward data', s), B * s.C * s.H * s.W, t.workgroup),
    ),
  ];
}
