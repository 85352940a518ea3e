// The per-call working buffers of the engine: activations kept time-major (row k·B + b), so that the decoder and
// weight-gradient kernels see plain [rows, width] matrices. Both plans use the same set.
import type { ModelConfig } from '../../model/params.js';

/** float32 elements per batch row of each work buffer at sequence length T */
export function workRowElems(c: ModelConfig, T: number) {
  const { hidden: H, mlp: M, features: F } = c;
  return {
    x: T * F,
    mask: T,
    dec: 2 * (T + 1),
    xin: T * F,
    gi: 3 * H * T,
    h: H * (T + 1),
    gates: 4 * H * T,
    a1: M * (T + 1),
    a2: M * (T + 1),
    a3: M * (T + 1),
    nll: T,
    dout: 2 * T,
    d3: M * T,
    d2: M * T,
    d1: M * T,
    dhdec: H * T,
    dhrec0: H,
    dhrec1: H,
    dhpart: H,
    dgi: 3 * H * T,
    dgh: 3 * H * T,
    // the software plan's uniform-window copies (allocated when used, rows padded): dgh of every step, h_k twice
    dghw: 3 * H * T,
    hw0: H,
    hw1: H,
  };
}

export type WorkName = keyof ReturnType<typeof workRowElems>;

/** the work buffers by name (the software plan's window copies only when it uses them) */
export type WorkBuffers = Record<Exclude<WorkName, 'dghw' | 'hw0' | 'hw1'>, GPUBuffer> &
  Partial<Record<'dghw' | 'hw0' | 'hw1', GPUBuffer>>;

/** bytes of GPU working memory per batch row at sequence length T (all work buffers together) */
export function workBytesPerRow(c: ModelConfig, T: number): number {
  return Object.values(workRowElems(c, T)).reduce((a, b) => a + b, 0) * 4;
}

// GPUBufferUsage values (the globals exist only once a device was opened)
const STORAGE = 0x80;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const UNIFORM = 0x40;

/** bytes of slack past the rows of a buffer that is also read as 64 KiB uniform windows */
export const WINDOW_SLACK = 65536;

/** The work buffers for `cap.B` rows of `cap.T` steps; those in `windowed` are also uniform-readable, with a
 *  window of slack past their rows. The software plan's window copies (dghw, hw0, hw1) are left to it. */
export function allocateWork(
  device: GPUDevice,
  c: ModelConfig,
  cap: { B: number; T: number },
  windowed: ReadonlySet<WorkName> = new Set(),
): WorkBuffers {
  const out: Partial<Record<WorkName, GPUBuffer>> = {};
  for (const [name, perRow] of Object.entries(workRowElems(c, cap.T)) as [WorkName, number][]) {
    if (name === 'dghw' || name === 'hw0' || name === 'hw1') continue;
    const win = windowed.has(name);
    const bytes = perRow * cap.B * 4 + (win ? WINDOW_SLACK : 0);
    out[name] = device.createBuffer({
      label: name,
      size: Math.max(16, Math.ceil(bytes / 16) * 16),
      usage: STORAGE | COPY_SRC | COPY_DST | (win ? UNIFORM : 0),
    });
  }
  return out as WorkBuffers;
}

/** The operands of the weight gradients, in layer order (heads, mlp.4, mlp.2, mlp.0, GRU hh, GRU ih): each layer's
 *  output gradient and the input it multiplied. Both plans bind their weight-gradient kernels in this order. */
export function weightGradOperands(w: WorkBuffers): [dout: GPUBuffer, inp: GPUBuffer][] {
  return [
    [w.dout, w.a3],
    [w.d3, w.a2],
    [w.d2, w.a1],
    [w.d1, w.h],
    [w.dgh, w.h],
    [w.dgi, w.xin],
  ];
}
