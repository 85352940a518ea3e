// Host-side work around the GPU calls: submitting a command buffer and reading results back, and the layout of one
// batch chunk: the engine takes x batch-major [B, T, F] with NaN marking a missing feature 0;
// the kernels want NaN replaced by 0 and a time-major validity mask (row k·B + b), and give (μ, logvar) time-major.
import { DpmError } from '../core/errors.js';
import type { Gpu } from './device.js';

const MAP_READ = 0x01;
const COPY_DST = 0x08;

/** what a command buffer reads back: buffer and float32 element count */
export type Reads = [GPUBuffer, number][];

/** x rows b0 .. b0+B−1 (batch-major) with NaN → 0, the time-major validity mask of feature 0, and whether any step
 *  is missing; a NaN in another feature is an error */
export function prepareChunk(
  x: Float32Array,
  b0: number,
  B: number,
  T: number,
  F: number,
  what: string,
): { xc: Float32Array; mask: Float32Array; missing: boolean } {
  const xc = x.slice(b0 * T * F, (b0 + B) * T * F);
  const mask = new Float32Array(T * B);
  let missing = false;
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < T; k++) {
      const at = (b * T + k) * F;
      if (Number.isNaN(xc[at]!)) {
        xc[at] = 0;
        missing = true;
      } else mask[k * B + b] = 1;
      for (let f = 1; f < F; f++) {
        if (Number.isNaN(xc[at + f]!))
          throw new DpmError(
            `${what}: feature ${f} of sequence ${b0 + b}, step ${k} is NaN (only feature 0 may be missing)`,
          );
      }
    }
  }
  return { xc, mask, missing };
}

/** time-major decoder rows (k·B + b) of (μ, logvar) → columns of the [·, steps] outputs from batch row b0 */
export function timeMajorColumns(
  dec: Float32Array,
  B: number,
  steps: number,
  b0: number,
  mu: Float32Array,
  logvar: Float32Array,
): void {
  for (let k = 0; k < steps; k++) {
    for (let b = 0; b < B; b++) {
      mu[(b0 + b) * steps + k] = dec[(k * B + b) * 2]!;
      logvar[(b0 + b) * steps + k] = dec[(k * B + b) * 2 + 1]!;
    }
  }
}

/** Submits one command buffer recorded by `record` and reads back the listed buffers (float32). */
export async function submitAndRead(
  gpu: Gpu,
  label: string,
  record: (enc: GPUCommandEncoder) => void,
  reads: Reads = [],
): Promise<Float32Array[]> {
  const device = gpu.device;
  const staging = await gpu.checked(label, () => {
    const enc = device.createCommandEncoder({ label });
    record(enc);
    const st = reads.map(([src, n]) => {
      const s = device.createBuffer({
        label: `${label} readback`,
        size: Math.max(16, n * 4),
        usage: MAP_READ | COPY_DST,
      });
      if (n > 0) enc.copyBufferToBuffer(src, 0, s, 0, n * 4);
      return s;
    });
    device.queue.submit([enc.finish()]);
    return st;
  });
  try {
    return await Promise.all(
      staging.map(async (s, i) => {
        await s.mapAsync(GPUMapMode.READ);
        const out = new Float32Array(s.getMappedRange().slice(0, reads[i]![1] * 4));
        s.unmap();
        return out;
      }),
    );
  } catch (err) {
    gpu.throwIfFailed(label);
    throw err;
  } finally {
    for (const s of staging) s.destroy();
  }
}

/** One clear error for a batch the engine cannot take: B ≥ 0 sequences of T ≥ 1 steps of F features in x. */
export function checkBatch(x: Float32Array, B: number, T: number, F: number, what: string): void {
  if (!Number.isInteger(B) || B < 0) throw new DpmError(`${what}: batch size must be a non-negative integer, got ${B}`);
  if (!Number.isInteger(T) || T < 1)
    throw new DpmError(`${what}: sequence length must be a positive integer, got ${T}`);
  if (x.length !== B * T * F) {
    throw new DpmError(`${what}: x holds ${x.length} values, expected B·T·F = ${B}·${T}·${F} = ${B * T * F}`);
  }
}
