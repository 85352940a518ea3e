// The tiled products of the U-Net's convolutions (shaders/gemm_tiled.wgsl behind a loader piece): the tile each
// product gets, its workgroup grid, and the weight gradients' split over the pixels with their second pass
// (shaders/wgrad_reduce.wgsl). Tile sizes and splits are override constants chosen here from UNetGpuTuning, so that a
// device can be tuned without touching a shader.
import { DpmError } from '../../core/errors.js';
import type { Gpu } from '../device.js';
import type { PassLike, ProgramSpec } from '../program.js';
import { BoundKernel, dimsUniform, flatGrid, unetSpec, writeDims, type Encodable } from './unet-kernel.js';

/** What a device may want tuned (bench on the device; tests force small values to exercise edges). */
export interface UNetGpuTuning {
  /** rows (output pixels, or output channels of a weight gradient) of a product's tile, a power of two */
  tileM: number;
  /** most columns of a tile (output channels; fewer when the product is narrower), a power of two ≥ 4 */
  tileN: number;
  /** the K slice staged in workgroup memory per barrier */
  tileK: number;
  /** rows of the register block of one invocation (≤ 8, a power of two) */
  rowsPerInvocation: number;
  /** the weight gradients' pixels per split (the split count grows with B·H·W) */
  splitPixels: number;
  /** most splits of one weight gradient */
  maxSplits: number;
  /** floats of the shared partial-sum buffer (bounds the splits of the widest weight gradients) */
  partialFloats: number;
  /** invocations per workgroup of the element-wise and per-channel kernels (a power of two) */
  workgroup: number;
  /** values of one channel a workgroup of the BatchNorm reductions takes (a channel of B·H·W values spreads over
   *  B·H·W / bnChunk workgroups) */
  bnChunk: number;
}

export const DEFAULT_TUNING: UNetGpuTuning = {
  tileM: 64,
  tileN: 64,
  tileK: 16,
  rowsPerInvocation: 4,
  splitPixels: 4096,
  maxSplits: 64,
  partialFloats: 1 << 24,
  workgroup: 256,
  bnChunk: 4096,
};

const isPow2 = (v: number) => Number.isInteger(v) && v >= 1 && (v & (v - 1)) === 0;
const nextPow2 = (v: number) => 2 ** Math.ceil(Math.log2(Math.max(1, v)));

export function checkTuning(t: UNetGpuTuning): UNetGpuTuning {
  const bad = (what: string) => new DpmError(`U-Net GPU tuning: ${what}, got ${JSON.stringify(t)}`);
  if (!isPow2(t.tileM) || !isPow2(t.tileN) || t.tileN < 4)
    throw bad('tileM and tileN must be powers of two, tileN ≥ 4');
  if (!isPow2(t.rowsPerInvocation) || t.rowsPerInvocation > 8) throw bad('rowsPerInvocation must be 1, 2, 4 or 8');
  if (!Number.isInteger(t.tileK) || t.tileK < 1) throw bad('tileK must be a positive integer');
  if (!(t.splitPixels >= 1) || !(t.maxSplits >= 1) || !(t.partialFloats >= 1)) throw bad('splits must be ≥ 1');
  if (!isPow2(t.workgroup) || t.workgroup > 256) throw bad('workgroup must be a power of two ≤ 256');
  if (!Number.isInteger(t.bnChunk) || t.bnChunk < 1) throw bad('bnChunk must be a positive integer');
  return t;
}

/** the override constants of gemm_tiled.wgsl for an M × N product */
export function gemmTiles(M: number, N: number, t: UNetGpuTuning, aKFast: boolean, bKFast: boolean) {
  const TN = Math.min(t.tileN, Math.max(4, nextPow2(N)));
  const TM = Math.min(t.tileM, Math.max(t.rowsPerInvocation, nextPow2(M)));
  const RM = Math.min(t.rowsPerInvocation, TM);
  const WG = (TM / RM) * (TN / 4);
  if (WG > 256)
    throw new DpmError(`U-Net GPU tuning: a ${TM} × ${TN} tile of ${RM} rows needs ${WG} > 256 invocations`);
  return { TM, TN, TK: t.tileK, RM, WG, A_K_FAST: aKFast ? 1 : 0, B_K_FAST: bKFast ? 1 : 0 };
}

export type GemmTiles = ReturnType<typeof gemmTiles>;

/** the product's grid: N tiles × M tiles × splits */
export const gemmGrid = (M: number, N: number, tiles: GemmTiles, splits = 1): [number, number, number] => [
  Math.ceil(N / tiles.TN),
  Math.ceil(M / tiles.TM),
  splits,
];

/** most splits a weight gradient of M × N entries may use (its partial sums fit the shared buffer) */
export const maxSplitsOf = (M: number, N: number, t: UNetGpuTuning): number =>
  Math.max(1, Math.min(t.maxSplits, Math.floor(t.partialFloats / (M * N))));

/** the split of K pixels: count and pixels per split (a multiple of the K slice) */
export function splitsOf(K: number, M: number, N: number, t: UNetGpuTuning): { splits: number; perSplit: number } {
  const want = Math.min(maxSplitsOf(M, N, t), Math.max(1, Math.ceil(K / t.splitPixels)));
  const perSplit = Math.ceil(Math.ceil(K / want) / t.tileK) * t.tileK;
  return { splits: Math.ceil(K / perSplit), perSplit };
}

/** Where a weight gradient goes: the reduce pass's LAYOUT and packed offsets (wgrad_reduce.wgsl). */
export interface GradTarget {
  layout: 0 | 1;
  /** weight columns (layout 0: CIN·KS·KS; layout 1: COUT·4) */
  NW: number;
  hasBias: boolean;
  woff: number;
  boff: number;
}

const reduceSpec: ProgramSpec = unetSpec(['wgrad_reduce.wgsl'], ['ro', 'rw', 'uniform'], ['part', 'grad', 'dims']);

/** A weight gradient: the split product into the partial sums, then their sum into the packed gradient. Owns its
 *  Dims uniform (B, splits, pixels per split), written by prepare(B). */
export class WeightGradOp implements Encodable {
  private constructor(
    private readonly gpu: Gpu,
    private readonly product: BoundKernel,
    private readonly reduce: BoundKernel,
    private readonly dims: GPUBuffer,
    private readonly M: number,
    private readonly N: number,
    private readonly pixelsPerImage: number,
    private readonly tuning: UNetGpuTuning,
  ) {}

  /** `spec` is the product's (its bindings include 'part' and 'dims'); M × N the product, K = B · pixelsPerImage */
  static async create(
    gpu: Gpu,
    label: string,
    product: { spec: ProgramSpec; overrides: Record<string, number>; buffers: Record<string, GPUBuffer> },
    shape: { M: number; N: number; pixelsPerImage: number; target: GradTarget },
    io: { part: GPUBuffer; grad: GPUBuffer },
    tuning: UNetGpuTuning,
  ): Promise<WeightGradOp> {
    const { M, N, target } = shape;
    const dims = dimsUniform(gpu, `${label} dims`);
    const tiles = gemmTiles(M, N, tuning, true, true);
    const splitsFor = (B: number) => splitsOf(B * shape.pixelsPerImage, M, N, tuning).splits;
    const reduceOverrides = {
      LAYOUT: target.layout,
      M,
      N,
      NW: target.NW,
      HAS_BIAS: target.hasBias ? 1 : 0,
      WOFF: target.woff,
      BOFF: target.boff,
      WG: tuning.workgroup,
    };
    const entries = target.layout === 0 ? M * N : (M - 1) * N + N / 4;
    const [prod, red] = await Promise.all([
      BoundKernel.create(
        gpu,
        product.spec,
        { ...product.overrides, ...tiles },
        `${label} (split product)`,
        { ...product.buffers, part: io.part, dims },
        (B) => gemmGrid(M, N, tiles, splitsFor(B)),
      ),
      BoundKernel.create(gpu, reduceSpec, reduceOverrides, `${label} (split sum)`, { ...io, dims }, () =>
        flatGrid(gpu, label, entries, tuning.workgroup),
      ),
    ]);
    return new WeightGradOp(gpu, prod, red, dims, M, N, shape.pixelsPerImage, tuning);
  }

  prepare(B: number): void {
    const { splits, perSplit } = splitsOf(B * this.pixelsPerImage, this.M, this.N, this.tuning);
    writeDims(this.gpu, this.dims, B, splits, perSplit);
  }

  encode(pass: PassLike, B: number): void {
    this.product.encode(pass, B);
    this.reduce.encode(pass, B);
  }

  destroy(): void {
    this.dims.destroy();
  }
}
