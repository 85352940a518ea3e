// What the U-Net op modules share (conv2d.ts, conv-transpose.ts, batchnorm.ts, maxpool.ts, softmax-xent.ts): tensor
// views (a buffer and a channel slice of it), the Dims uniform every U-Net kernel reads (the batch size, so that
// pipelines do not depend on it), and a bound kernel that records its dispatch for a batch size.
import { GpuError, type Gpu } from '../device.js';
import { Program, type PassLike, type ProgramSpec } from '../program.js';

// GPUBufferUsage values (the globals exist only once a device was opened)
export const STORAGE = 0x80;
export const COPY_SRC = 0x04;
export const COPY_DST = 0x08;
export const UNIFORM = 0x40;

/** the U-Net pieces composed after common.wgsl in front of every U-Net kernel */
export const UNET_COMMON = 'unet_common.wgsl';

/** A [B, ct, H, W] float32 tensor's channels co … co + C − 1 in `buf` (a whole tensor: ct = C, co = 0). */
export interface View {
  buf: GPUBuffer;
  /** channels of the buffer */
  ct: number;
  /** first channel of the slice */
  co: number;
}

export const whole = (buf: GPUBuffer, channels: number): View => ({ buf, ct: channels, co: 0 });

/** A storage buffer of `floats` 4-byte values (at least 16 bytes), readable back and writable from the host. */
export function storage(gpu: Gpu, label: string, floats: number): GPUBuffer {
  return gpu.device.createBuffer({
    label,
    size: Math.max(16, Math.ceil((floats * 4) / 16) * 16),
    usage: STORAGE | COPY_SRC | COPY_DST,
  });
}

/** The Dims uniform (unet_common.wgsl): B and p0 (a kernel-specific count: splits, partial sums). */
export function dimsUniform(gpu: Gpu, label: string): GPUBuffer {
  return gpu.device.createBuffer({ label, size: 16, usage: UNIFORM | COPY_DST });
}

export function writeDims(gpu: Gpu, dims: GPUBuffer, B: number, p0 = 0, p1 = 0): void {
  gpu.device.queue.writeBuffer(dims, 0, new Uint32Array([B, p0, p1, 0]));
}

/** a U-Net program: the spec's pieces behind unet_common.wgsl */
export function unetSpec(pieces: readonly string[], bindings: ProgramSpec['bindings'], names: string[]): ProgramSpec {
  return { shader: [UNET_COMMON, ...pieces], bindings, names };
}

/** The workgroup grid for `invocations` invocations of `wg` each: 1-D, or 2-D past the per-dimension limit
 *  (the kernels read their index with flat_index). */
export function flatGrid(gpu: Gpu, label: string, invocations: number, wg: number): [number, number, number] {
  const groups = Math.ceil(invocations / wg);
  const maxDim = gpu.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  const x = Math.min(groups, maxDim);
  const y = Math.ceil(groups / Math.max(1, x));
  if (y > maxDim) throw new GpuError(`${label}: ${invocations} invocations exceed the dispatch limits`);
  return [x, y, 1];
}

/** A program bound to its buffers, with the grid it needs for a batch of B. */
export class BoundKernel implements Encodable {
  constructor(
    readonly program: Program,
    readonly group: GPUBindGroup,
    readonly grid: (B: number) => [number, number, number],
  ) {}

  static async create(
    gpu: Gpu,
    spec: ProgramSpec,
    overrides: Record<string, number>,
    label: string,
    buffers: Readonly<Record<string, GPUBuffer | undefined>>,
    grid: (B: number) => [number, number, number],
  ): Promise<BoundKernel> {
    const program = await Program.get(gpu, spec, overrides, label);
    return new BoundKernel(program, program.bind(buffers), grid);
  }

  encode(pass: PassLike, B: number): void {
    const [x, y, z] = this.grid(B);
    if (x <= 0 || y <= 0 || z <= 0) return;
    const maxDim = this.program.gpu.limits.maxComputeWorkgroupsPerDimension ?? 65535;
    if (x > maxDim || y > maxDim || z > maxDim)
      throw new GpuError(`${this.program.label}: grid ${x} × ${y} × ${z} exceeds the dispatch limit ${maxDim}`);
    pass.setPipeline(this.program.pipeline);
    pass.setBindGroup(0, this.group);
    pass.dispatchWorkgroups(x, y, z);
  }
}

/** An op's kernels, recorded in order; prepare(B) queues its own uniforms before the command buffer. */
export interface Encodable {
  prepare?(B: number): void;
  encode(pass: PassLike, B: number): void;
}
