// The software plan's uniform windows: copies of the weights the hot loops read as uniform loads (W_hh, the MLP
// layers' weights by rows and by columns), refreshed from the parameters before every forward pass (Adam moves
// them), and the small uniform records that tell each dispatch which window or block of rows it covers.
import type { Gpu } from '../device.js';
import { STEP_STRIDE } from '../program.js';
import { dghWindowFloats } from '../kernels/gru-backward-gates-w.js';
import { WINDOW_SLACK, type WorkBuffers } from '../ops/work.js';
import type { SoftwarePrograms } from './programs.js';

const UNIFORM = 0x40;
const COPY_DST = 0x08;
const STORAGE = 0x80;
const WINDOW_BYTES = 65536;

export class SoftwareWindows {
  /** W_hh in uniform windows (gru_forward.wgsl behind gru_h_storage/gru_h_uniform), its records forward and backward */
  readonly whh?: { buf: GPUBuffer; records: GPUBuffer; recordsBwd: GPUBuffer };
  /** MLP weights by rows (dense_w_uniform.wgsl) and by columns (back_w_uniform.wgsl), with their records */
  readonly dense?: { buf: GPUBuffer; records: GPUBuffer };
  readonly back?: { buf: GPUBuffer; records: GPUBuffer };
  /** weight_grad_uw's running totals */
  readonly wgPart?: GPUBuffer;
  /** per-call records: weight_grad_uw's row windows, the dgh and h_k blocks of batch rows (sized per capacity) */
  wgRecords?: GPUBuffer;
  wgRecordSlots = 0;
  dghBlocks?: GPUBuffer;
  hBlocks?: GPUBuffer;

  /** the per-call copies the plan reads as uniform windows: dgh of every step, and h_k twice (ping-pong) */
  allocateCopies(buf: WorkBuffers, cap: { B: number; T: number }): void {
    const w = this.p.windows;
    if (w && this.p.dghBB > 0) {
      const bytes = cap.T * dghWindowFloats(cap.B, w.UW, w.NW) * 4 + WINDOW_SLACK;
      buf.dghw = this.buffer('dgh uniform windows', bytes, STORAGE | UNIFORM);
    }
    if (this.p.hBB > 0) {
      const bytes = cap.B * this.H * 4 + WINDOW_SLACK;
      buf.hw0 = this.buffer('h_k uniform copy hw0', bytes, STORAGE | UNIFORM | COPY_DST);
      buf.hw1 = this.buffer('h_k uniform copy hw1', bytes, STORAGE | UNIFORM | COPY_DST);
    }
  }

  constructor(
    private readonly gpu: Gpu,
    private readonly p: SoftwarePrograms,
    private readonly H: number,
    private readonly whhOffset: number,
  ) {
    const win = p.windows;
    if (win) {
      const { UW, NW } = win;
      const records = this.records('W_hh window records', NW, (w) => [w * UW, Math.min(UW, H - w * UW)]);
      // backward: all 3·NW windows in weight-row order (gate r, z, n), first and last marked
      const recordsBwd = this.records('W_hh window records (backward)', 3 * NW, (d) => {
        const w = d % NW;
        return [Math.floor(d / NW) * H + w * UW, Math.min(UW, H - w * UW), d === 0 ? 1 : 0, d === 3 * NW - 1 ? 1 : 0];
      });
      this.whh = { buf: this.buffer('W_hh uniform windows', win.bufferBytes, UNIFORM | COPY_DST), records, recordsBwd };
    }
    if (p.denseSlots > 0) {
      this.dense = {
        buf: this.buffer('decoder uniform windows', p.denseSlots * WINDOW_BYTES, UNIFORM | COPY_DST),
        records: this.layerRecords('decoder window records', p.denseSlots, p.denseUw, (d) => [d.UO, d.OUT]),
      };
    }
    if (p.backSlots > 0) {
      this.back = {
        buf: this.buffer('decoder backward uniform windows', p.backSlots * WINDOW_BYTES, UNIFORM | COPY_DST),
        records: this.layerRecords('decoder backward window records', p.backSlots, p.backUw, (d) => [d.UI, d.IN]),
      };
    }
    if (p.partFloats > 0) this.wgPart = this.buffer('weight_grad_uw totals', p.partFloats * 4, STORAGE);
  }

  buffer(label: string, bytes: number, usage: number): GPUBuffer {
    return this.gpu.device.createBuffer({ label, size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
  }

  /** a uniform buffer of `n` records (one per STEP_STRIDE slot) */
  private records(label: string, n: number, record: (i: number) => number[], buf?: GPUBuffer): GPUBuffer {
    const out = buf ?? this.buffer(label, n * STEP_STRIDE, UNIFORM | COPY_DST);
    const rec = new Uint32Array((n * STEP_STRIDE) / 4);
    for (let i = 0; i < n; i++) rec.set(record(i), (i * STEP_STRIDE) / 4);
    this.gpu.device.queue.writeBuffer(out, 0, rec);
    return out;
  }

  /** records {first, count} of every layer's windows, at the layer's slots: window w of a layer whose windows hold
   *  `size` of `total` rows covers [w·size, min((w+1)·size, total)) */
  private layerRecords<D extends { slot0: number; NW: number }>(
    label: string,
    slots: number,
    layers: (D | undefined)[],
    span: (d: D) => [size: number, total: number],
  ): GPUBuffer {
    const rec: number[][] = Array.from({ length: slots }, () => []);
    for (const d of layers) {
      if (!d) continue;
      const [size, total] = span(d);
      for (let w = 0; w < d.NW; w++) rec[d.slot0 + w] = [w * size, Math.min(size, total - w * size)];
    }
    return this.records(label, slots, (i) => rec[i]!);
  }

  /** (re)sizes the per-call record buffers for a capacity of B batch rows */
  allocate(B: number): void {
    for (const b of [this.wgRecords, this.dghBlocks, this.hBlocks]) b?.destroy();
    this.wgRecordSlots = 4 * Math.ceil(B / 32);
    this.wgRecords = this.buffer('weight_grad_uw window records', this.wgRecordSlots * STEP_STRIDE, UNIFORM | COPY_DST);
    const blocks = Math.ceil(B / 16) * STEP_STRIDE;
    this.dghBlocks = this.p.dghBB > 0 ? this.buffer('dgh window block records', blocks, UNIFORM | COPY_DST) : undefined;
    this.hBlocks = this.p.hBB > 0 ? this.buffer('h_k window block records', blocks, UNIFORM | COPY_DST) : undefined;
  }

  /** the per-call records for B rows */
  writeRecords(B: number): void {
    const blocks = (buf: GPUBuffer | undefined, BB: number) => {
      if (!buf || BB <= 0) return;
      this.records('', Math.ceil(B / BB), (i) => [i * BB, Math.min(BB, B - i * BB)], buf);
    };
    blocks(this.hBlocks, this.p.hBB);
    blocks(this.dghBlocks, this.p.dghBB);
    if (!this.wgRecords) return;
    // weight_grad_uw: layer j's windows from slot (j − 1)·slots/4: first row within the step, rows, first, last
    const per = this.wgRecordSlots / 4;
    const rec: number[][] = Array.from({ length: this.wgRecordSlots }, () => []);
    this.p.wgUw.forEach((d, j) => {
      if (!d) return;
      const nw = Math.ceil(B / d.WR);
      for (let w = 0; w < nw; w++)
        rec[(j - 1) * per + w] = [w * d.WR, Math.min(d.WR, B - w * d.WR), w === 0 ? 1 : 0, w === nw - 1 ? 1 : 0];
    });
    this.records('', this.wgRecordSlots, (i) => rec[i]!, this.wgRecords);
  }

  /** Copies the windowed weights from the parameters (before a forward pass: Adam may have moved them). */
  encodeCopies(enc: GPUCommandEncoder, params: GPUBuffer): void {
    for (const d of this.p.backUw) {
      if (!d || !this.back) continue;
      for (let w = 0; w < d.NW; w++) {
        const ni = Math.min(d.UI, d.IN - w * d.UI);
        const dst = (d.slot0 + w) * WINDOW_BYTES;
        if (ni === d.IN && d.WSTRIDE === d.IN)
          enc.copyBufferToBuffer(params, d.WOFF * 4, this.back.buf, dst, d.OUT * d.IN * 4);
        else {
          for (let o = 0; o < d.OUT; o++) {
            enc.copyBufferToBuffer(
              params,
              (d.WOFF + o * d.WSTRIDE + w * d.UI) * 4,
              this.back.buf,
              dst + o * d.UI * 4,
              ni * 4,
            );
          }
        }
      }
    }
    for (const d of this.p.denseUw) {
      if (!d || !this.dense) continue;
      for (let w = 0; w < d.NW; w++) {
        const nout = Math.min(d.UO, d.OUT - w * d.UO);
        enc.copyBufferToBuffer(
          params,
          (d.WOFF + w * d.UO * d.IN) * 4,
          this.dense.buf,
          (d.slot0 + w) * WINDOW_BYTES,
          nout * d.IN * 4,
        );
      }
    }
    const win = this.p.windows;
    if (!win || !this.whh) return;
    const H = this.H;
    for (let g = 0; g < 3; g++) {
      for (let w = 0; w < win.NW; w++) {
        const units = Math.min(win.UW, H - w * win.UW);
        enc.copyBufferToBuffer(
          params,
          (this.whhOffset + (g * H + w * win.UW) * H) * 4,
          this.whh.buf,
          (g * win.NW + w) * win.slotBytes,
          units * H * 4,
        );
      }
    }
  }

  destroy(): void {
    for (const b of [
      this.whh?.buf,
      this.whh?.records,
      this.whh?.recordsBwd,
      this.dense?.buf,
      this.dense?.records,
      this.back?.buf,
      this.back?.records,
      this.wgPart,
      this.wgRecords,
      this.dghBlocks,
      this.hBlocks,
    ])
      b?.destroy();
  }
}
