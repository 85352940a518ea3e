// The forecaster on WebGPU: GRU → 3 × (Linear + ReLU) → μ / logvar heads, Gaussian NLL, backpropagation through
// time, global-norm clipping and Adam, all in the WGSL kernels of shaders/ (numerics: ARCHITECTURE.md and
// ../shared/fixtures/manifest.json). Implements host/model/engine.ts ForecasterEngine.
//
// Layout on the GPU: one packed float32 parameter vector (host/model/params.ts order) with its gradient and Adam
// moments; per call, activations are kept time-major (row k*B + b) so that the decoder and the weight-gradient
// kernels see plain [rows, width] matrices. Batches larger than maxBatch(T) are split into chunks whose gradients
// are summed on the GPU (fixed order, so results stay bit-reproducible). The GRU step reads W_hh from 64 KiB uniform
// windows when H is a multiple of 4 (gru_forward_uw.wgsl, same results bit for bit; env DPM_GPU_NO_UW=1 turns it off).
// On llvmpipe a storage load is fetched lane by lane and costs ~30 multiply-adds, a uniform load far less, so where
// the shapes allow the hot loops read both operands from uniform windows, all with the same results bit for bit:
// the GRU step also reads h_k from ping-pong copies (gru_forward_uwh.wgsl), BPTT also reads dgh from a windowed copy
// (gru_backward_gates_w.wgsl → gru_backward_hidden_uwd.wgsl), the MLP layers read their weights from windows
// (decoder_dense_uw.wgsl, decoder_backward_uw.wgsl) and the large weight gradients their inputs h, a1, a2
// (weight_grad_uw.wgsl); the other decoder kernels use vec4 loads (*_v4.wgsl). Env DPM_GPU_NO_V4=1 turns all of
// these off (the tests compare the bits).
import { DpmError } from '../errors.js';
import type { AdamOptions, ForecasterEngine, OptimizerState } from '../model/engine.js';
import { paramCount, paramLayout, type ModelConfig } from '../model/params.js';
import { openGpu, type DeviceChoice, type Gpu } from './device.js';
import { STEP_STRIDE, type Program } from './program.js';
import { adam, adamUniform } from './kernels/adam.js';
import { decoderBackward, decoderBackwardInvocations } from './kernels/decoder-backward.js';
import { decoderDense, decoderDenseInvocations } from './kernels/decoder-dense.js';
import { gaussianNll, gaussianNllInvocations } from './kernels/gaussian-nll.js';
import { gradClip, gradNormPartial, gradNormParts } from './kernels/grad-norm.js';
import { gruBackwardGates, gruBackwardGatesInvocations } from './kernels/gru-backward-gates.js';
import { gruBackwardHidden, gruBackwardHiddenInvocations } from './kernels/gru-backward-hidden.js';
import { gruForward, gruForwardInvocations } from './kernels/gru-forward.js';
import { gruForwardUw, gruForwardUwInvocations, gruWindows } from './kernels/gru-forward-uw.js';
import { gruForwardUwh, gruForwardUwhInvocations, hBlockRows } from './kernels/gru-forward-uwh.js';
import { gruBackwardHiddenUw, gruBackwardHiddenUwInvocations } from './kernels/gru-backward-hidden-uw.js';
import { gruBackwardHiddenUwd, gruBackwardHiddenUwdInvocations } from './kernels/gru-backward-hidden-uwd.js';
import { dghBlockRows, dghWindowFloats, gruBackwardGatesW } from './kernels/gru-backward-gates-w.js';
import { weightGradUwd, weightGradUwdInvocations } from './kernels/weight-grad-uwd.js';
import { inputProj, inputProjInvocations } from './kernels/input-proj.js';
import { weightGrad, weightGradInvocations } from './kernels/weight-grad.js';
import { weightGradV4, weightGradV4Fits } from './kernels/weight-grad-v4.js';
import { weightGradUw, weightGradUwRows } from './kernels/weight-grad-uw.js';
import { decoderDenseV4, decoderDenseV4Fits } from './kernels/decoder-dense-v4.js';
import { decoderDenseUw, decoderDenseUwInvocations, denseWindows } from './kernels/decoder-dense-uw.js';
import { decoderBackwardV4, decoderBackwardV4Fits } from './kernels/decoder-backward-v4.js';
import { backwardWindows, decoderBackwardUw, decoderBackwardUwInvocations } from './kernels/decoder-backward-uw.js';

export interface GpuEngineOptions {
  device?: DeviceChoice;
  /** upper bound on the working memory of one chunk, bytes (default 1 GiB) */
  workBytes?: number;
}

// GPUBufferUsage / GPUMapMode values (the globals exist only once a device was opened)
const S = 0x80;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const UNIFORM = 0x40;
const MAP_READ = 0x01;

interface Programs {
  inputProj: Program;
  gruForward: Program;
  /** the uniform-window variant of gruForward (H a multiple of 4) */
  gruForwardUw?: Program;
  /** the uniform-window variant of hidden */
  hiddenUw?: Program;
  /** hidden with dgh in uniform windows too, and the gates kernel that writes them */
  hiddenUwd?: Program;
  /** gruForwardUw with h_k in uniform windows too */
  gruForwardUwh?: Program;
  gatesW?: Program;
  /** the W_hh gradient with dgh from the windowed copy too */
  wgradHhUwd?: Program;
  dense: Program[]; // mlp.0, mlp.2, mlp.4, heads
  nll: Program;
  denseBack: Program[]; // heads → a3, mlp.4 → a2, mlp.2 → a1, mlp.0 → h
  wgrad: Program[]; // heads, mlp.4, mlp.2, mlp.0, gru hh, gru ih
  gates: Program;
  hidden: Program;
  normPartial: Program;
  clip: Program;
  adam: Program;
}

interface Work {
  B: number; // capacity in batch rows
  T: number; // capacity in steps
  buf: Record<string, GPUBuffer>;
  groups: Record<string, GPUBindGroup>;
}

function checkConfig(c: ModelConfig): void {
  for (const k of ['hidden', 'mlp', 'features'] as const) {
    const v = c[k];
    if (!Number.isInteger(v) || v < 1 || v > 65536) throw new DpmError(`model config: ${k} must be a positive integer, got ${v}`);
  }
}

/** float32 elements per batch row of each work buffer at sequence length T */
export function workRowElems(c: ModelConfig, T: number): Record<string, number> {
  const { hidden: H, mlp: M, features: F } = c;
  return {
    x: T * F, mask: T, dec: 2 * (T + 1), xin: T * F, gi: 3 * H * T, h: H * (T + 1), gates: 4 * H * T,
    a1: M * (T + 1), a2: M * (T + 1), a3: M * (T + 1), nll: T, dout: 2 * T, d3: M * T, d2: M * T, d1: M * T,
    dhdec: H * T, dhrec0: H, dhrec1: H, dhpart: H, dgi: 3 * H * T, dgh: 3 * H * T,
    // the uniform-window copies (when used; allocated by the engine, rows padded): dgh of every step, h_k twice
    dghw: 3 * H * T, hw0: H, hw1: H,
  };
}

/** bytes of GPU working memory per batch row at sequence length T (all work buffers together) */
export function workBytesPerRow(c: ModelConfig, T: number): number {
  return Object.values(workRowElems(c, T)).reduce((a, b) => a + b, 0) * 4;
}

export async function createGpuEngine(config: ModelConfig, opts: GpuEngineOptions = {}): Promise<ForecasterEngine> {
  checkConfig(config);
  const gpu = await openGpu({ device: opts.device });
  try {
    const engine = new GpuForecaster({ ...config }, gpu, opts.workBytes ?? 2 ** 30);
    await engine.init();
    return engine;
  } catch (err) {
    gpu.destroy();
    throw err;
  }
}

export class GpuForecaster implements ForecasterEngine {
  readonly description: string;
  readonly N: number;
  private readonly off: Record<string, number> = {};
  private p!: Programs;
  private params!: GPUBuffer;
  private grad!: GPUBuffer;
  private m!: GPUBuffer;
  private v!: GPUBuffer;
  private partial!: GPUBuffer;
  private norm!: GPUBuffer;
  private opt!: GPUBuffer;
  private step!: GPUBuffer;
  private stepSlots = 0;
  private adamStep = 0;
  private work: Work | undefined;
  /** uniform copy of W_hh in 64 KiB windows (gru_forward_uw.wgsl) and its window records */
  private windows: ReturnType<typeof gruWindows>;
  private whhU: GPUBuffer | undefined;
  private winRecords: GPUBuffer | undefined;
  private winRecordsBwd: GPUBuffer | undefined;
  /** MLP layers (mlp.0, mlp.2, mlp.4) with their weights in uniform windows (decoder_dense_uw.wgsl): the program,
   *  the first parameter of the weights, IN, OUT, rows per window and the first window slot in decU */
  private denseUw: ({ prog: Program; WOFF: number; IN: number; OUT: number; UO: number; NW: number; slot0: number } | undefined)[] = [];
  private decU: GPUBuffer | undefined;
  /** decoder backward kernels (denseBack index) with the weights in uniform windows of whole columns
   *  (decoder_backward_uw.wgsl), their window buffer and records */
  private backUw: ({ prog: Program; WOFF: number; WSTRIDE: number; IN: number; OUT: number; UI: number; NW: number; slot0: number } | undefined)[] = [];
  private backU: GPUBuffer | undefined;
  private backRecords: GPUBuffer | undefined;
  /** weight gradients with the inputs read from uniform windows of WR rows (weight_grad_uw.wgsl), by wgrad index;
   *  their running totals and window records */
  private wgUw: ({ prog: Program; IN: number; OUT: number; WR: number } | undefined)[] = [];
  private wgPart: GPUBuffer | undefined;
  private wgRecords: GPUBuffer | undefined;
  private wgRecordSlots = 0;
  /** batch rows per window of the windowed dgh (gru_backward_hidden_uwd.wgsl; 0: not used) and the block records */
  private dghBB = 0;
  /** batch rows per h_k window (gru_forward_uwh.wgsl; 0: not used) and its block records */
  private hBB = 0;
  private hBlkRecords: GPUBuffer | undefined;
  private blkRecords: GPUBuffer | undefined;
  private decRecords: GPUBuffer | undefined;
  private fixedGroups: Record<string, GPUBindGroup> = {};
  private destroyed = false;

  constructor(readonly config: ModelConfig, readonly gpu: Gpu, private readonly workBytes: number) {
    this.description = gpu.description;
    this.N = paramCount(config);
    for (const s of paramLayout(config)) this.off[s.fixtureName] = s.offset;
  }

  async init(): Promise<void> {
    const { hidden: H, mlp: M, features: F } = this.config;
    const o = this.off;
    const g = this.gpu;
    const head = { IN: M, OUT: 2, WOFF: o['mu_head.weight']!, WSTRIDE: M + 1, BOFF: o['mu_head.weight']! + M, BSTRIDE: M + 1 };
    const lin = (name: string, IN: number, OUT: number) => ({ IN, OUT, WOFF: o[`${name}.weight`]!, WSTRIDE: IN, BOFF: o[`${name}.bias`]!, BSTRIDE: 1 });
    const l0 = lin('mlp.0', H, M), l2 = lin('mlp.2', M, M), l4 = lin('mlp.4', M, M);
    const hh = lin('gru', H, 3 * H);
    hh.WOFF = o['gru.weight_hh_l0']!;
    hh.BOFF = o['gru.bias_hh_l0']!;
    const ih = { IN: F, OUT: 3 * H, WOFF: o['gru.weight_ih_l0']!, WSTRIDE: F, BOFF: o['gru.bias_ih_l0']!, BSTRIDE: 1 };
    // vec4 variants where the shapes allow (same results bit for bit); DPM_GPU_NO_V4=1 turns them off (tests)
    const v4 = !process.env.DPM_GPU_NO_V4;
    const wg = (name: string, o: Parameters<typeof weightGrad>[2]) =>
      v4 && weightGradV4Fits(o.IN, o.OUT) ? weightGradV4(g, name, o) : weightGrad(g, name, o);
    const dense = (name: string, o: Parameters<typeof decoderDense>[2]) =>
      v4 && decoderDenseV4Fits(o) ? decoderDenseV4(g, name, o) : decoderDense(g, name, o);
    const back = (name: string, o: Parameters<typeof decoderBackward>[2]) =>
      v4 && decoderBackwardV4Fits(o) ? decoderBackwardV4(g, name, o) : decoderBackward(g, name, o);
    const [inputP, gruF, d0, d2, d4, dh, nllP, b4h, b4, b2, b0, w4h, w4, w2, w0, whh, wih, gatesP, hiddenP, normP, clipP, adamP] =
      await Promise.all([
        inputProj(g, { H, F, WOFF_IH: ih.WOFF, BOFF_IH: ih.BOFF }),
        gruForward(g, { H, WOFF_HH: hh.WOFF, BOFF_HH: hh.BOFF }),
        dense('mlp.0', { ...l0, RELU: 1 }),
        dense('mlp.2', { ...l2, RELU: 1 }),
        dense('mlp.4', { ...l4, RELU: 1 }),
        dense('heads', { ...head, RELU: 0 }),
        gaussianNll(g, { F }),
        back('heads', { IN: M, OUT: 2, WOFF: head.WOFF, WSTRIDE: head.WSTRIDE, MASK: 1 }),
        back('mlp.4', { IN: M, OUT: M, WOFF: l4.WOFF, WSTRIDE: M, MASK: 1 }),
        back('mlp.2', { IN: M, OUT: M, WOFF: l2.WOFF, WSTRIDE: M, MASK: 1 }),
        back('mlp.0', { IN: H, OUT: M, WOFF: l0.WOFF, WSTRIDE: H, MASK: 0 }),
        wg('heads', { ...head, HAS_BIAS: 1 }),
        wg('mlp.4', { ...l4, HAS_BIAS: 1 }),
        wg('mlp.2', { ...l2, HAS_BIAS: 1 }),
        wg('mlp.0', { ...l0, HAS_BIAS: 1 }),
        wg('gru.hh', { ...hh, HAS_BIAS: 1 }),
        wg('gru.ih', { ...ih, HAS_BIAS: 1 }),
        gruBackwardGates(g, { H }),
        gruBackwardHidden(g, { H, WOFF_HH: hh.WOFF }),
        gradNormPartial(g, this.N),
        gradClip(g, this.N),
        adam(g, this.N),
      ]);
    // DPM_GPU_NO_UW=1: storage-buffer GRU kernels only; DPM_GPU_UW_FLOATS: smaller windows (tests: several windows
    // at a small H)
    this.windows = process.env.DPM_GPU_NO_UW ? undefined : gruWindows(H, Number(process.env.DPM_GPU_UW_FLOATS ?? 16384));
    const uw = this.windows ? await gruForwardUw(g, { H, UW: this.windows.UW, BOFF_HH: hh.BOFF }) : undefined;
    const hiddenUw = this.windows ? await gruBackwardHiddenUw(g, { H }) : undefined;
    const uwFloats = Number(process.env.DPM_GPU_UW_FLOATS ?? 16384);
    const uwd = this.windows && v4 ? { UW: this.windows.UW } : undefined;
    const hiddenUwd = uwd ? await gruBackwardHiddenUwd(g, { H, UW: uwd.UW }) : undefined;
    const gatesW = uwd ? await gruBackwardGatesW(g, { H, UW: uwd.UW }) : undefined;
    this.dghBB = uwd ? dghBlockRows(uwd.UW, uwFloats) : 0;
    this.hBB = uwd ? hBlockRows(H, uwFloats) : 0;
    const gruForwardUwhP = this.hBB > 0 ? await gruForwardUwh(g, { H, UW: this.windows!.UW, BOFF_HH: hh.BOFF }) : undefined;
    // the large weight gradients read their inputs (h, a1, a2) from uniform windows
    let partFloats = 0;
    for (const [j, name, l] of [[1, 'mlp.4', l4], [2, 'mlp.2', l2], [3, 'mlp.0', l0], [4, 'gru.hh', hh]] as const) {
      const WR = v4 && !process.env.DPM_GPU_NO_UW ? weightGradUwRows(l.IN, l.OUT, uwFloats) : undefined;
      if (WR === undefined) continue;
      this.wgUw[j] = { prog: await weightGradUw(g, name, { ...l, HAS_BIAS: 1 }), IN: l.IN, OUT: l.OUT, WR };
      partFloats = Math.max(partFloats, l.OUT * l.IN + l.OUT);
    }
    // W_hh's gradient reads dgh from gates_w's windowed copy too (needs both kinds of windows)
    const wgradHhUwd =
      this.wgUw[4] && uwd ? await weightGradUwd(g, { IN: hh.IN, OUT: hh.OUT, UW: uwd.UW, WOFF: hh.WOFF, WSTRIDE: hh.WSTRIDE, BOFF: hh.BOFF, BSTRIDE: hh.BSTRIDE, HAS_BIAS: 1 }) : undefined;
    // the MLP layers' weights in uniform windows too (DPM_GPU_NO_UW=1 or DPM_GPU_NO_V4=1: storage-buffer kernels)
    let slots = 0;
    for (const [name, l] of [['mlp.0', l0], ['mlp.2', l2], ['mlp.4', l4]] as const) {
      const dw = v4 && !process.env.DPM_GPU_NO_UW ? denseWindows(l.IN, l.OUT, Number(process.env.DPM_GPU_UW_FLOATS ?? 16384)) : undefined;
      if (!dw || l.WSTRIDE !== l.IN) {
        this.denseUw.push(undefined);
        continue;
      }
      const prog = await decoderDenseUw(g, name, { IN: l.IN, OUT: l.OUT, BOFF: l.BOFF, BSTRIDE: l.BSTRIDE, RELU: 1 });
      this.denseUw.push({ prog, WOFF: l.WOFF, IN: l.IN, OUT: l.OUT, ...dw, slot0: slots });
      slots += dw.NW;
    }
    let backSlots = 0;
    for (const [j, name, l, MASK] of [[1, 'mlp.4', l4, 1], [2, 'mlp.2', l2, 1], [3, 'mlp.0', l0, 0]] as const) {
      const bw = v4 && !process.env.DPM_GPU_NO_UW ? backwardWindows(l.IN, l.OUT, uwFloats) : undefined;
      if (!bw) continue;
      const prog = await decoderBackwardUw(g, name, { IN: l.IN, OUT: l.OUT, UI: bw.UI, MASK });
      this.backUw[j] = { prog, WOFF: l.WOFF, WSTRIDE: l.WSTRIDE, IN: l.IN, OUT: l.OUT, ...bw, slot0: backSlots };
      backSlots += bw.NW;
    }
    this.p = {
      gruForwardUw: uw,
      hiddenUw,
      hiddenUwd,
      gatesW,
      gruForwardUwh: gruForwardUwhP,
      wgradHhUwd,
      inputProj: inputP, gruForward: gruF, dense: [d0, d2, d4, dh], nll: nllP, denseBack: [b4h, b4, b2, b0],
      wgrad: [w4h, w4, w2, w0, whh, wih], gates: gatesP, hidden: hiddenP, normPartial: normP, clip: clipP, adam: adamP,
    };
    await g.checked('parameter buffers', () => {
      const bytes = this.N * 4;
      this.params = this.buffer('params', bytes, S | COPY_SRC | COPY_DST);
      this.grad = this.buffer('grad', bytes, S | COPY_SRC | COPY_DST);
      this.m = this.buffer('adam.m', bytes, S | COPY_SRC | COPY_DST);
      this.v = this.buffer('adam.v', bytes, S | COPY_SRC | COPY_DST);
      this.partial = this.buffer('grad_norm.partial', gradNormParts(this.N) * 4, S);
      this.norm = this.buffer('grad_norm', 16, S | COPY_SRC);
      this.opt = this.buffer('adam.opt', 48, UNIFORM | COPY_DST);
      if (this.windows) {
        const { UW, NW } = this.windows;
        this.whhU = this.buffer('W_hh uniform windows', this.windows.bufferBytes, UNIFORM | COPY_DST);
        this.winRecords = this.buffer('W_hh window records', NW * STEP_STRIDE, UNIFORM | COPY_DST);
        const rec = new Uint32Array((NW * STEP_STRIDE) / 4);
        for (let w = 0; w < NW; w++) rec.set([w * UW, Math.min(UW, H - w * UW)], (w * STEP_STRIDE) / 4);
        this.gpu.device.queue.writeBuffer(this.winRecords, 0, rec);
        // backward: all 3·NW windows in weight-row order (gate r, z, n), first and last marked
        this.winRecordsBwd = this.buffer('W_hh window records (backward)', 3 * NW * STEP_STRIDE, UNIFORM | COPY_DST);
        const rb = new Uint32Array((3 * NW * STEP_STRIDE) / 4);
        for (let g = 0; g < 3; g++) {
          for (let w = 0; w < NW; w++) {
            const d = g * NW + w;
            rb.set([g * H + w * UW, Math.min(UW, H - w * UW), d === 0 ? 1 : 0, d === 3 * NW - 1 ? 1 : 0], (d * STEP_STRIDE) / 4);
          }
        }
        this.gpu.device.queue.writeBuffer(this.winRecordsBwd, 0, rb);
      }
      if (backSlots > 0) {
        this.backU = this.buffer('decoder backward uniform windows', backSlots * 65536, UNIFORM | COPY_DST);
        this.backRecords = this.windowRecords('decoder backward window records', backSlots, this.backUw, (d) => [d.UI, d.IN]);
      }
      if (partFloats > 0) this.wgPart = this.buffer('weight_grad_uw totals', partFloats * 4, S);
      if (slots > 0) {
        this.decU = this.buffer('decoder uniform windows', slots * 65536, UNIFORM | COPY_DST);
        this.decRecords = this.windowRecords('decoder window records', slots, this.denseUw, (d) => [d.UO, d.OUT]);
      }
      const fixed = { params: this.params, grad: this.grad, m: this.m, v: this.v, partial: this.partial, norm: this.norm, opt: this.opt };
      this.fixedGroups = {
        normPartial: this.p.normPartial.bind(fixed),
        clip: this.p.clip.bind(fixed),
        adam: this.p.adam.bind(fixed),
      };
    });
  }

  /** Uniform records {first, count} of every layer's windows, at the layer's slots: window w of a layer whose
   *  windows hold `size` of `total` rows covers [w·size, min((w+1)·size, total)). */
  private windowRecords<D extends { slot0: number; NW: number }>(label: string, slots: number, layers: (D | undefined)[],
    span: (d: D) => [size: number, total: number]): GPUBuffer {
    const buf = this.buffer(label, slots * STEP_STRIDE, UNIFORM | COPY_DST);
    const rec = new Uint32Array((slots * STEP_STRIDE) / 4);
    for (const d of layers) {
      if (!d) continue;
      const [size, total] = span(d);
      for (let w = 0; w < d.NW; w++) rec.set([w * size, Math.min(size, total - w * size)], ((d.slot0 + w) * STEP_STRIDE) / 4);
    }
    this.gpu.device.queue.writeBuffer(buf, 0, rec);
    return buf;
  }

  private buffer(label: string, bytes: number, usage: number): GPUBuffer {
    return this.gpu.device.createBuffer({ label, size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
  }

  private rowElems(T: number): Record<string, number> {
    return workRowElems(this.config, T);
  }

  maxBatch(T: number): number {
    if (!Number.isInteger(T) || T < 1) throw new DpmError(`sequence length must be a positive integer, got ${T}`);
    const e = Object.values(this.rowElems(T));
    // dghw holds 3·NW·UW ≥ 3H floats per row and step, its rows padded to 16
    const win = this.windows;
    const widest = Math.max(...e, win && this.dghBB > 0 ? T * 3 * win.NW * win.UW : 0) * 4;
    const total = e.reduce((a, b) => a + b, 0) * 4;
    // less two uniform windows: h, a1, a2 and the windowed copies carry 64 KiB of slack past their rows
    const binding = Math.min(this.gpu.limits.maxStorageBufferBindingSize!, this.gpu.limits.maxBufferSize!) - 2 * 65536;
    const b = Math.min(Math.floor(binding / widest) - 16, Math.floor(this.workBytes / total), 1 << 20);
    if (b < 1) throw new DpmError(`sequence length ${T} is too long for one GPU buffer binding (${binding} bytes)`);
    return b;
  }

  /** (re)allocates the work buffers and bind groups for B rows of T steps */
  private async ensureWork(B: number, T: number): Promise<Work> {
    const w = this.work;
    if (w && B <= w.B && T <= w.T && 2 * T + 3 <= this.stepSlots) return w;
    const cap = { B: Math.max(B, w?.B ?? 0), T: Math.max(T, w?.T ?? 0) };
    if (w) for (const b of Object.values(w.buf)) b.destroy();
    this.work = undefined;
    return this.gpu.checked(`work buffers (batch ${cap.B}, T ${cap.T})`, () => {
      const buf: Record<string, GPUBuffer> = {};
      // h, a1, a2 are also read as 64 KiB uniform windows (weight_grad_uw.wgsl): one window of slack past the end
      const windowed = this.wgUw.some((d) => d) ? new Set(['h', 'a1', 'a2']) : new Set<string>();
      for (const [name, perRow] of Object.entries(this.rowElems(cap.T))) {
        if (name === 'dghw' || name === 'hw0' || name === 'hw1') continue; // below, when used
        const win = windowed.has(name);
        buf[name] = this.buffer(name, perRow * cap.B * 4 + (win ? 65536 : 0), S | COPY_SRC | COPY_DST | (win ? UNIFORM : 0));
      }
      if (this.dghBB > 0) {
        const { UW, NW } = this.windows!;
        buf.dghw = this.buffer('dgh uniform windows', cap.T * dghWindowFloats(cap.B, UW, NW) * 4 + 65536, S | UNIFORM);
        if (this.blkRecords) this.blkRecords.destroy();
        this.blkRecords = this.buffer('dgh window block records', Math.ceil(cap.B / 16) * STEP_STRIDE, UNIFORM | COPY_DST);
      }
      if (this.hBB > 0) {
        // ping-pong copies of h_k, read as uniform windows
        for (const n of ['hw0', 'hw1']) buf[n] = this.buffer(`h_k uniform copy ${n}`, cap.B * this.config.hidden * 4 + 65536, S | UNIFORM | COPY_DST);
        if (this.hBlkRecords) this.hBlkRecords.destroy();
        this.hBlkRecords = this.buffer('h_k window block records', Math.ceil(cap.B / 16) * STEP_STRIDE, UNIFORM | COPY_DST);
      }
      if (this.wgRecords) this.wgRecords.destroy();
      this.wgRecordSlots = 4 * Math.ceil(cap.B / 32);
      this.wgRecords = this.buffer('weight_grad_uw window records', this.wgRecordSlots * STEP_STRIDE, UNIFORM | COPY_DST);
      if (this.step) this.step.destroy();
      this.stepSlots = 2 * cap.T + 3;
      this.step = this.buffer('step', this.stepSlots * STEP_STRIDE, UNIFORM | COPY_DST);
      const all = { ...buf, params: this.params, grad: this.grad, step: this.step };
      const p = this.p;
      const groups: Record<string, GPUBindGroup> = {
        inputProj: p.inputProj.bind(all),
        gruForward: p.gruForward.bind(all),
        ...(p.gruForwardUw
          ? { gruForwardUw: p.gruForwardUw.bind({ ...all, wr: this.whhU!, wz: this.whhU!, wn: this.whhU!, win: this.winRecords! }) }
          : {}),
        dense0: p.dense[0]!.bind({ ...all, inp: buf.h!, outp: buf.a1! }),
        dense1: p.dense[1]!.bind({ ...all, inp: buf.a1!, outp: buf.a2! }),
        dense2: p.dense[2]!.bind({ ...all, inp: buf.a2!, outp: buf.a3! }),
        dense3: p.dense[3]!.bind({ ...all, inp: buf.a3!, outp: buf.dec! }),
        ...Object.fromEntries(
          this.denseUw.flatMap((d, j) => {
            if (!d) return [];
            const io = [[buf.h!, buf.a1!], [buf.a1!, buf.a2!], [buf.a2!, buf.a3!]][j]!;
            return [[`denseUw${j}`, d.prog.bind({ ...all, inp: io[0]!, outp: io[1]!, w: this.decU!, win: this.decRecords! })]];
          }),
        ),
        nll: p.nll.bind(all),
        back0: p.denseBack[0]!.bind({ ...all, dout: buf.dout!, act: buf.a3!, din: buf.d3! }),
        back1: p.denseBack[1]!.bind({ ...all, dout: buf.d3!, act: buf.a2!, din: buf.d2! }),
        back2: p.denseBack[2]!.bind({ ...all, dout: buf.d2!, act: buf.a1!, din: buf.d1! }),
        back3: p.denseBack[3]!.bind({ ...all, dout: buf.d1!, act: buf.a1!, din: buf.dhdec! }),
        ...Object.fromEntries(
          this.backUw.flatMap((d, j) => {
            if (!d) return [];
            const io = [undefined, [buf.d3!, buf.a2!, buf.d2!], [buf.d2!, buf.a1!, buf.d1!], [buf.d1!, buf.a1!, buf.dhdec!]][j]!;
            return [[`backUw${j}`, d.prog.bind({ ...all, dout: io[0]!, act: io[1]!, din: io[2]!, w: this.backU!, win: this.backRecords! })]];
          }),
        ),
        wg0: p.wgrad[0]!.bind({ ...all, dout: buf.dout!, inp: buf.a3! }),
        wg1: p.wgrad[1]!.bind({ ...all, dout: buf.d3!, inp: buf.a2! }),
        wg2: p.wgrad[2]!.bind({ ...all, dout: buf.d2!, inp: buf.a1! }),
        wg3: p.wgrad[3]!.bind({ ...all, dout: buf.d1!, inp: buf.h! }),
        wg4: p.wgrad[4]!.bind({ ...all, dout: buf.dgh!, inp: buf.h! }),
        wg5: p.wgrad[5]!.bind({ ...all, dout: buf.dgi!, inp: buf.xin! }),
        ...Object.fromEntries(
          this.wgUw.flatMap((d, j) => {
            if (!d) return [];
            const io = [undefined, [buf.d3!, buf.a2!], [buf.d2!, buf.a1!], [buf.d1!, buf.h!], [buf.dgh!, buf.h!]][j]!;
            return [[`wgUw${j}`, d.prog.bind({ ...all, dout: io[0]!, inp: io[1]!, part: this.wgPart!, win: this.wgRecords! })]];
          }),
        ),
        // BPTT ping-pong: the recurrent gradient w.r.t. h_j lives in dhrec{j % 2}
        gates0: p.gates.bind({ ...all, dhrec: buf.dhrec0! }),
        gates1: p.gates.bind({ ...all, dhrec: buf.dhrec1! }),
        hidden0: p.hidden.bind({ ...all, dhin: buf.dhrec0!, dhout: buf.dhrec1! }),
        hidden1: p.hidden.bind({ ...all, dhin: buf.dhrec1!, dhout: buf.dhrec0! }),
        ...(p.gruForwardUwh
          ? {
              gruForwardUwh0: p.gruForwardUwh.bind({ ...all, wr: this.whhU!, wz: this.whhU!, wn: this.whhU!, hw: buf.hw0!, hwn: buf.hw1!, win: this.winRecords!, blk: this.hBlkRecords! }),
              gruForwardUwh1: p.gruForwardUwh.bind({ ...all, wr: this.whhU!, wz: this.whhU!, wn: this.whhU!, hw: buf.hw1!, hwn: buf.hw0!, win: this.winRecords!, blk: this.hBlkRecords! }),
            }
          : {}),
        ...(p.hiddenUwd && p.gatesW
          ? {
              ...(p.wgradHhUwd
                ? { wgHhUwd: p.wgradHhUwd.bind({ ...all, dg: buf.dghw!, inp: buf.h!, part: this.wgPart!, wd: this.winRecordsBwd!, win: this.wgRecords! }) }
                : {}),
              gatesW0: p.gatesW.bind({ ...all, dhrec: buf.dhrec0! }),
              gatesW1: p.gatesW.bind({ ...all, dhrec: buf.dhrec1! }),
              hiddenUwd0: p.hiddenUwd.bind({ ...all, dhin: buf.dhrec0!, dhout: buf.dhrec1!, part: buf.dhpart!, w: this.whhU!, dg: buf.dghw!, win: this.winRecordsBwd!, blk: this.blkRecords! }),
              hiddenUwd1: p.hiddenUwd.bind({ ...all, dhin: buf.dhrec1!, dhout: buf.dhrec0!, part: buf.dhpart!, w: this.whhU!, dg: buf.dghw!, win: this.winRecordsBwd!, blk: this.blkRecords! }),
            }
          : {}),
        ...(p.hiddenUw
          ? {
              hiddenUw0: p.hiddenUw.bind({ ...all, dhin: buf.dhrec0!, dhout: buf.dhrec1!, part: buf.dhpart!, w: this.whhU!, win: this.winRecordsBwd! }),
              hiddenUw1: p.hiddenUw.bind({ ...all, dhin: buf.dhrec1!, dhout: buf.dhrec0!, part: buf.dhpart!, w: this.whhU!, win: this.winRecordsBwd! }),
            }
          : {}),
      };
      this.work = { ...cap, buf, groups };
      return this.work;
    });
  }

  /** Step records: slot k (0..T) = step k; T+1 = all T training rows; T+2 = all T+1 forecast rows; T+3+k = the rows
   *  of step k for the weight gradients (accumulating after the first). */
  private writeSteps(B: number, T: number, accumulate: boolean): void {
    const data = new Uint32Array(((2 * T + 3) * STEP_STRIDE) / 4);
    const put = (slot: number, k: number, row0: number, nrows: number, k0: number, nk: number, flag: number) =>
      data.set([k, B, T, row0, nrows, k0, nk, flag], (slot * STEP_STRIDE) / 4);
    for (let k = 0; k <= T; k++) put(k, k, k * B, B, k, 1, k === T - 1 ? 1 : 0);
    put(T + 1, 0, 0, T * B, 0, T, accumulate ? 1 : 0);
    put(T + 2, 0, 0, (T + 1) * B, 0, T, accumulate ? 1 : 0);
    for (let k = 0; k < T; k++) put(T + 3 + k, k, k * B, B, k, 1, accumulate || k > 0 ? 1 : 0);
    this.gpu.device.queue.writeBuffer(this.step, 0, data);
    if (this.hBlkRecords && this.hBB > 0) {
      const nb = Math.ceil(B / this.hBB);
      const rec = new Uint32Array((nb * STEP_STRIDE) / 4);
      for (let i = 0; i < nb; i++) rec.set([i * this.hBB, Math.min(this.hBB, B - i * this.hBB)], (i * STEP_STRIDE) / 4);
      this.gpu.device.queue.writeBuffer(this.hBlkRecords, 0, rec);
    }
    if (this.blkRecords && this.dghBB > 0) {
      const nb = Math.ceil(B / this.dghBB);
      const rec = new Uint32Array((nb * STEP_STRIDE) / 4);
      for (let i = 0; i < nb; i++) rec.set([i * this.dghBB, Math.min(this.dghBB, B - i * this.dghBB)], (i * STEP_STRIDE) / 4);
      this.gpu.device.queue.writeBuffer(this.blkRecords, 0, rec);
    }
    if (this.wgRecords) {
      // weight_grad_uw: layer j's windows from slot (j − 1)·slots/4: first row within the step, rows, first, last
      const rec = new Uint32Array((this.wgRecordSlots * STEP_STRIDE) / 4);
      const per = this.wgRecordSlots / 4;
      this.wgUw.forEach((d, j) => {
        if (!d) return;
        const nw = Math.ceil(B / d.WR);
        for (let w = 0; w < nw; w++) rec.set([w * d.WR, Math.min(d.WR, B - w * d.WR), w === 0 ? 1 : 0, w === nw - 1 ? 1 : 0], (((j - 1) * per + w) * STEP_STRIDE) / 4);
      });
      this.gpu.device.queue.writeBuffer(this.wgRecords, 0, rec);
    }
  }

  private checkInput(x: Float32Array, B: number, T: number, what: string): void {
    if (this.destroyed) throw new Error('GPU engine used after destroy()');
    if (!Number.isInteger(B) || B < 0) throw new DpmError(`${what}: batch size must be a non-negative integer, got ${B}`);
    if (!Number.isInteger(T) || T < 1) throw new DpmError(`${what}: sequence length must be a positive integer, got ${T}`);
    const F = this.config.features;
    if (x.length !== B * T * F) throw new DpmError(`${what}: x holds ${x.length} values, expected B·T·F = ${B}·${T}·${F} = ${B * T * F}`);
  }

  /** x chunk (batch-major) with NaN → 0, the time-major validity mask of feature 0, and whether any step is missing */
  private prepare(x: Float32Array, b0: number, B: number, T: number, what: string): { xc: Float32Array; mask: Float32Array; missing: boolean } {
    const F = this.config.features;
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
          if (Number.isNaN(xc[at + f]!)) throw new DpmError(`${what}: feature ${f} of sequence ${b0 + b}, step ${k} is NaN (only feature 0 may be missing)`);
        }
      }
    }
    return { xc, mask, missing };
  }

  /** Copies W_hh from the parameters into its uniform windows (before a forward pass: Adam may have moved it). */
  private encodeWindowCopy(enc: GPUCommandEncoder): void {
    for (const d of this.backUw) {
      if (!d) continue;
      for (let w = 0; w < d.NW; w++) {
        const ni = Math.min(d.UI, d.IN - w * d.UI);
        const dst = (d.slot0 + w) * 65536;
        if (ni === d.IN && d.WSTRIDE === d.IN) enc.copyBufferToBuffer(this.params, d.WOFF * 4, this.backU!, dst, d.OUT * d.IN * 4);
        else for (let o = 0; o < d.OUT; o++) enc.copyBufferToBuffer(this.params, (d.WOFF + o * d.WSTRIDE + w * d.UI) * 4, this.backU!, dst + o * d.UI * 4, ni * 4);
      }
    }
    for (const d of this.denseUw) {
      if (!d) continue;
      for (let w = 0; w < d.NW; w++) {
        const nout = Math.min(d.UO, d.OUT - w * d.UO);
        enc.copyBufferToBuffer(this.params, (d.WOFF + w * d.UO * d.IN) * 4, this.decU!, (d.slot0 + w) * 65536, nout * d.IN * 4);
      }
    }
    const win = this.windows;
    if (!win || !this.whhU) return;
    const H = this.config.hidden;
    const woff = this.off['gru.weight_hh_l0']!;
    for (let g = 0; g < 3; g++) {
      for (let w = 0; w < win.NW; w++) {
        const units = Math.min(win.UW, H - w * win.UW);
        enc.copyBufferToBuffer(this.params, (woff + (g * H + w * win.UW) * H) * 4, this.whhU, (g * win.NW + w) * win.slotBytes, units * H * 4);
      }
    }
  }

  private encodeGruStep(pass: GPUComputePassEncoder, w: Work, B: number, k: number): void {
    const H = this.config.hidden;
    const win = this.windows;
    if (win && this.p.gruForwardUwh) {
      const nb = Math.ceil(B / this.hBB);
      const group = k % 2 ? w.groups.gruForwardUwh1! : w.groups.gruForwardUwh0!;
      for (let i = 0; i < win.NW; i++) {
        const units = Math.min(win.UW, H - i * win.UW);
        const offsets = [0, 1, 2].map((g) => (g * win.NW + i) * win.slotBytes);
        for (let bb = 0; bb < nb; bb++) {
          const rows = Math.min(this.hBB, B - bb * this.hBB);
          this.p.gruForwardUwh.dispatch(pass, group, gruForwardUwhInvocations(units, rows), [
            ...offsets, bb * this.hBB * H * 4, i * STEP_STRIDE, bb * STEP_STRIDE, k * STEP_STRIDE,
          ]);
        }
      }
    } else if (win && this.p.gruForwardUw) {
      for (let i = 0; i < win.NW; i++) {
        const units = Math.min(win.UW, H - i * win.UW);
        const offsets = [0, 1, 2].map((g) => (g * win.NW + i) * win.slotBytes);
        this.p.gruForwardUw.dispatch(pass, w.groups.gruForwardUw!, gruForwardUwInvocations(units, B), [...offsets, i * STEP_STRIDE, k * STEP_STRIDE]);
      }
    } else {
      this.p.gruForward.dispatch(pass, w.groups.gruForward!, gruForwardInvocations(H, B), k);
    }
  }

  /** Records the forward pass: GRU over T steps and the decoder on [h_0..h_{T−1}] (training) or [h_0..h_T]. */
  private encodeForward(pass: GPUComputePassEncoder, w: Work, B: number, T: number, missing: boolean, forecast: boolean): void {
    const { hidden: H, mlp: M } = this.config;
    const p = this.p, g = w.groups;
    const decoder = (slot: number, rows: number) => {
      for (let j = 0; j < 3; j++) {
        const d = this.denseUw[j];
        if (!d) {
          p.dense[j]!.dispatch(pass, g[`dense${j}`]!, decoderDenseInvocations(M, rows), slot);
          continue;
        }
        for (let w = 0; w < d.NW; w++) {
          const nout = Math.min(d.UO, d.OUT - w * d.UO);
          d.prog.dispatch(pass, g[`denseUw${j}`]!, decoderDenseUwInvocations(nout, rows), [(d.slot0 + w) * 65536, (d.slot0 + w) * STEP_STRIDE, slot * STEP_STRIDE]);
        }
      }
      p.dense[3]!.dispatch(pass, g.dense3!, decoderDenseInvocations(2, rows), slot);
    };
    if (!missing) {
      p.inputProj.dispatch(pass, g.inputProj!, inputProjInvocations(H, B, T), T + 1);
      for (let k = 0; k < T; k++) this.encodeGruStep(pass, w, B, k);
      if (forecast) decoder(T + 2, (T + 1) * B);
      else decoder(T + 1, T * B);
    } else {
      // a missing x_k is replaced by μ_k, so step k's decoder runs before GRU step k
      for (let k = 0; k < T; k++) {
        decoder(k, B);
        p.inputProj.dispatch(pass, g.inputProj!, inputProjInvocations(H, B, 1), k);
        this.encodeGruStep(pass, w, B, k);
      }
      if (forecast) decoder(T, B);
    }
  }

  private encodeBackward(pass: GPUComputePassEncoder, w: Work, B: number, T: number): void {
    const { hidden: H, mlp: M, features: F } = this.config;
    const p = this.p, g = w.groups;
    const all = T + 1;
    const rows = T * B;
    p.denseBack[0]!.dispatch(pass, g.back0!, decoderBackwardInvocations(M, rows), all);
    // weight_grad and weight_grad_v4 take the same invocation count
    const wgrad = (j: number, group: GPUBindGroup, IN: number, OUT: number, slot: number) => {
      const d = this.wgUw[j];
      if (!d || slot < T + 3) {
        p.wgrad[j]!.dispatch(pass, group, weightGradInvocations(IN, OUT), slot);
        return;
      }
      // one dispatch per uniform window of WR rows of step k = slot − T − 3 (rows k·B ..)
      const k = slot - T - 3;
      const per = this.wgRecordSlots / 4;
      const nw = Math.ceil(B / d.WR);
      const win = this.windows;
      if (j === 4 && p.wgradHhUwd && win) {
        // and per W_hh window d of UW gate rows, dgh from the windowed copy of step k
        const BP = Math.ceil(B / 16) * 16;
        for (let dd = 0; dd < 3 * win.NW; dd++) {
          const rows = Math.min(win.UW, H - (dd % win.NW) * win.UW);
          for (let w = 0; w < nw; w++) {
            const inpOffset = (k * B + w * d.WR) * IN * 4;
            const dgOffset = ((k * 3 * win.NW + dd) * BP + w * d.WR) * win.UW * 4;
            p.wgradHhUwd.dispatch(pass, g.wgHhUwd!, weightGradUwdInvocations(IN, rows), [
              dgOffset, inpOffset, dd * STEP_STRIDE, ((j - 1) * per + w) * STEP_STRIDE, slot * STEP_STRIDE,
            ]);
          }
        }
        return;
      }
      for (let w = 0; w < nw; w++) {
        const inpOffset = (k * B + w * d.WR) * IN * 4;
        d.prog.dispatch(pass, g[`wgUw${j}`]!, weightGradInvocations(IN, OUT), [inpOffset, ((j - 1) * per + w) * STEP_STRIDE, slot * STEP_STRIDE]);
      }
    };
    wgrad(0, g.wg0!, M, 2, all);
    const back = (j: number, IN: number) => {
      const d = this.backUw[j];
      if (!d) {
        p.denseBack[j]!.dispatch(pass, g[`back${j}`]!, decoderBackwardInvocations(IN, rows), all);
        return;
      }
      for (let w = 0; w < d.NW; w++) {
        const ni = Math.min(d.UI, d.IN - w * d.UI);
        d.prog.dispatch(pass, g[`backUw${j}`]!, decoderBackwardUwInvocations(ni, rows), [(d.slot0 + w) * 65536, (d.slot0 + w) * STEP_STRIDE, all * STEP_STRIDE]);
      }
    };
    back(1, M);
    for (let k = 0; k < T; k++) wgrad(1, g.wg1!, M, M, T + 3 + k);
    back(2, M);
    for (let k = 0; k < T; k++) wgrad(2, g.wg2!, M, M, T + 3 + k);
    back(3, H);
    for (let k = 0; k < T; k++) wgrad(3, g.wg3!, H, M, T + 3 + k);
    for (let k = T - 1; k >= 0; k--) {
      const par = (k + 1) % 2;
      const win = this.windows;
      if (win && p.gatesW && p.hiddenUwd) {
        // dgh also into its uniform windows; the recurrent sum then reads both operands as uniform loads
        p.gatesW.dispatch(pass, par ? g.gatesW1! : g.gatesW0!, gruBackwardGatesInvocations(H, B), k);
        if (k === 0) continue;
        const BP = Math.ceil(B / 16) * 16;
        const nb = Math.ceil(B / this.dghBB);
        for (let d = 0; d < 3 * win.NW; d++) {
          for (let i = 0; i < nb; i++) {
            const rows = Math.min(this.dghBB, B - i * this.dghBB);
            const dgOffset = ((k * 3 * win.NW + d) * BP + i * this.dghBB) * win.UW * 4;
            p.hiddenUwd.dispatch(pass, par ? g.hiddenUwd1! : g.hiddenUwd0!, gruBackwardHiddenUwdInvocations(H, rows), [
              d * win.slotBytes, dgOffset, d * STEP_STRIDE, i * STEP_STRIDE, k * STEP_STRIDE,
            ]);
          }
        }
        continue;
      }
      p.gates.dispatch(pass, par ? g.gates1! : g.gates0!, gruBackwardGatesInvocations(H, B), k);
      if (k === 0) continue;
      if (win && p.hiddenUw) {
        const group = par ? g.hiddenUw1! : g.hiddenUw0!;
        for (let d = 0; d < 3 * win.NW; d++) {
          p.hiddenUw.dispatch(pass, group, gruBackwardHiddenUwInvocations(H, B), [d * win.slotBytes, d * STEP_STRIDE, k * STEP_STRIDE]);
        }
      } else {
        p.hidden.dispatch(pass, par ? g.hidden1! : g.hidden0!, gruBackwardHiddenInvocations(H, B), k);
      }
    }
    for (let k = 0; k < T; k++) wgrad(4, g.wg4!, H, 3 * H, T + 3 + k);
    wgrad(5, g.wg5!, F, 3 * H, all);
  }

  private encodeNorm(pass: GPUComputePassEncoder): void {
    this.p.normPartial.dispatch(pass, this.fixedGroups.normPartial!, gradNormParts(this.N));
    this.p.clip.dispatch(pass, this.fixedGroups.clip!, 1);
  }

  /** Submits one command buffer recorded by `record` and reads back the listed buffers (float32). */
  private async run(label: string, record: (enc: GPUCommandEncoder) => void, reads: [GPUBuffer, number][] = []): Promise<Float32Array[]> {
    const device = this.gpu.device;
    const staging = await this.gpu.checked(label, () => {
      const enc = device.createCommandEncoder({ label });
      record(enc);
      const st = reads.map(([src, n]) => {
        const s = device.createBuffer({ label: `${label} readback`, size: Math.max(16, n * 4), usage: MAP_READ | COPY_DST });
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
      this.gpu.throwIfFailed(label);
      throw err;
    } finally {
      for (const s of staging) s.destroy();
    }
  }

  /** Forward (+ loss, + backward) over the batch in chunks; returns the float64 sum of the NLL terms. */
  private async passes(x: Float32Array, B: number, T: number, what: string, backward: boolean): Promise<number> {
    const chunk = this.maxBatch(T);
    let loss = 0;
    for (let b0 = 0; b0 < B; b0 += chunk) {
      const Bc = Math.min(chunk, B - b0);
      const { xc, mask, missing } = this.prepare(x, b0, Bc, T, what);
      const w = await this.ensureWork(Bc, T);
      const q = this.gpu.device.queue;
      q.writeBuffer(w.buf.x!, 0, xc);
      q.writeBuffer(w.buf.mask!, 0, mask);
      this.writeSteps(Bc, T, b0 > 0);
      const label = `${what} (batch ${b0}..${b0 + Bc - 1} of ${B}, T ${T})`;
      const [nll] = await this.run(
        label,
        (enc) => {
          enc.clearBuffer(w.buf.h!, 0, Bc * this.config.hidden * 4); // h_0 = 0
          if (w.buf.hw0) enc.clearBuffer(w.buf.hw0, 0, Bc * this.config.hidden * 4);
          this.encodeWindowCopy(enc);
          const pass = enc.beginComputePass({ label });
          this.encodeForward(pass, w, Bc, T, missing, false);
          this.p.nll.dispatch(pass, w.groups.nll!, gaussianNllInvocations(Bc, T), T + 1);
          if (backward) this.encodeBackward(pass, w, Bc, T);
          pass.end();
        },
        [[w.buf.nll!, T * Bc]],
      );
      for (let i = 0; i < nll!.length; i++) loss += nll![i]!;
    }
    return loss;
  }

  async setParams(packed: Float32Array): Promise<void> {
    if (packed.length !== this.N) throw new DpmError(`parameters: expected ${this.N} values for ${JSON.stringify(this.config)}, got ${packed.length}`);
    await this.gpu.checked('setParams', () => this.gpu.device.queue.writeBuffer(this.params, 0, packed));
  }

  async getParams(): Promise<Float32Array> {
    const [p] = await this.run('getParams', () => {}, [[this.params, this.N]]);
    return p!;
  }

  async getOptimizerState(): Promise<OptimizerState> {
    const [m, v] = await this.run('getOptimizerState', () => {}, [[this.m, this.N], [this.v, this.N]]);
    return { step: this.adamStep, m: m!, v: v! };
  }

  async setOptimizerState(state: OptimizerState | undefined): Promise<void> {
    if (state && (state.m.length !== this.N || state.v.length !== this.N || !Number.isInteger(state.step) || state.step < 0)) {
      throw new DpmError(`optimizer state: expected step ≥ 0 and moments of ${this.N} values, got step ${state.step}, ${state.m.length} and ${state.v.length}`);
    }
    await this.gpu.checked('setOptimizerState', () => {
      const q = this.gpu.device.queue;
      q.writeBuffer(this.m, 0, state ? state.m : new Float32Array(this.N));
      q.writeBuffer(this.v, 0, state ? state.v : new Float32Array(this.N));
    });
    this.adamStep = state ? state.step : 0;
  }

  async lossAndGrad(x: Float32Array, B: number, T: number): Promise<{ loss: number; grad: Float32Array; gradNorm: number }> {
    this.checkInput(x, B, T, 'lossAndGrad');
    if (B === 0) return { loss: 0, grad: new Float32Array(this.N), gradNorm: 0 };
    const loss = await this.passes(x, B, T, 'lossAndGrad', true);
    this.gpu.device.queue.writeBuffer(this.opt, 0, adamUniform({ lr: 0, beta1: 0, beta2: 0, eps: 0, clipNorm: Infinity }, 1));
    const [grad, norm] = await this.run(
      'lossAndGrad: gradient norm',
      (enc) => {
        const pass = enc.beginComputePass({ label: 'gradient norm' });
        this.encodeNorm(pass);
        pass.end();
      },
      [[this.grad, this.N], [this.norm, 2]],
    );
    return { loss, grad: grad!, gradNorm: norm![0]! };
  }

  async trainStep(x: Float32Array, B: number, T: number, opt: AdamOptions): Promise<{ loss: number; gradNorm: number }> {
    this.checkInput(x, B, T, 'trainStep');
    if (!(opt.lr >= 0) || !(opt.beta1 >= 0 && opt.beta1 < 1) || !(opt.beta2 >= 0 && opt.beta2 < 1) || !(opt.eps > 0) || !(opt.clipNorm > 0)) {
      throw new DpmError(`Adam options out of range: ${JSON.stringify(opt)}`);
    }
    if (B === 0) return { loss: 0, gradNorm: 0 };
    const loss = await this.passes(x, B, T, 'trainStep', true);
    const step = this.adamStep + 1;
    this.gpu.device.queue.writeBuffer(this.opt, 0, adamUniform(opt, step));
    const [norm] = await this.run(
      'trainStep: clip + Adam',
      (enc) => {
        const pass = enc.beginComputePass({ label: 'clip + Adam' });
        this.encodeNorm(pass);
        this.p.adam.dispatch(pass, this.fixedGroups.adam!, this.N);
        pass.end();
      },
      [[this.norm, 2]],
    );
    this.adamStep = step;
    return { loss, gradNorm: norm![0]! };
  }

  async loss(x: Float32Array, B: number, T: number): Promise<number> {
    this.checkInput(x, B, T, 'loss');
    if (B === 0) return 0;
    return this.passes(x, B, T, 'loss', false);
  }

  async forecast(x: Float32Array, B: number, T: number): Promise<{ mu: Float32Array; logvar: Float32Array }> {
    this.checkInput(x, B, T, 'forecast');
    const mu = new Float32Array(B * (T + 1));
    const logvar = new Float32Array(B * (T + 1));
    const chunk = this.maxBatch(T);
    for (let b0 = 0; b0 < B; b0 += chunk) {
      const Bc = Math.min(chunk, B - b0);
      const { xc, mask, missing } = this.prepare(x, b0, Bc, T, 'forecast');
      const w = await this.ensureWork(Bc, T);
      const q = this.gpu.device.queue;
      q.writeBuffer(w.buf.x!, 0, xc);
      q.writeBuffer(w.buf.mask!, 0, mask);
      this.writeSteps(Bc, T, false);
      const label = `forecast (batch ${b0}..${b0 + Bc - 1} of ${B}, T ${T})`;
      const [dec] = await this.run(
        label,
        (enc) => {
          enc.clearBuffer(w.buf.h!, 0, Bc * this.config.hidden * 4);
          if (w.buf.hw0) enc.clearBuffer(w.buf.hw0, 0, Bc * this.config.hidden * 4);
          this.encodeWindowCopy(enc);
          const pass = enc.beginComputePass({ label });
          this.encodeForward(pass, w, Bc, T, missing, true);
          pass.end();
        },
        [[w.buf.dec!, 2 * (T + 1) * Bc]],
      );
      // time-major rows (k*Bc + b) → [B, T+1]
      for (let k = 0; k <= T; k++) {
        for (let b = 0; b < Bc; b++) {
          mu[(b0 + b) * (T + 1) + k] = dec![(k * Bc + b) * 2]!;
          logvar[(b0 + b) * (T + 1) + k] = dec![(k * Bc + b) * 2 + 1]!;
        }
      }
    }
    return { mu, logvar };
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.gpu.destroy();
  }
}
