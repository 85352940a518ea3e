// The software plan's recording: one dispatch per time step (and per uniform window or block of rows) for the GRU,
// its BPTT and the large weight gradients; the decoder over all rows at once where no step is missing.
import type { ModelConfig } from '../../model/params.js';
import type { Gpu } from '../device.js';
import { STEP_STRIDE, type PassLike } from '../program.js';
import { decoderBackwardInvocations } from '../kernels/decoder-backward.js';
import { decoderBackwardUwInvocations } from '../kernels/decoder-backward-uw.js';
import { decoderDenseInvocations } from '../kernels/decoder-dense.js';
import { decoderDenseUwInvocations } from '../kernels/decoder-dense-uw.js';
import { gruBackwardGatesInvocations } from '../kernels/gru-backward-gates.js';
import { gruBackwardHiddenInvocations } from '../kernels/gru-backward-hidden.js';
import { gruBackwardHiddenUwInvocations } from '../kernels/gru-backward-hidden-uw.js';
import { gruBackwardHiddenUwdInvocations } from '../kernels/gru-backward-hidden-uwd.js';
import { gruForwardInvocations } from '../kernels/gru-forward.js';
import { gruForwardUwInvocations } from '../kernels/gru-forward-uw.js';
import { gruForwardUwhInvocations } from '../kernels/gru-forward-uwh.js';
import { inputProjInvocations } from '../kernels/input-proj.js';
import { weightGradInvocations } from '../kernels/weight-grad.js';
import { weightGradUwdInvocations } from '../kernels/weight-grad-uwd.js';
import type { ModelLayers } from '../ops/layers.js';
import type { KernelPlan, PlanKernels } from '../ops/plan.js';
import { allocateWork, type WorkBuffers } from '../ops/work.js';
import { softwareGroups, type SoftwareGroups } from './groups.js';
import { softwarePrograms, type SoftwarePrograms } from './programs.js';
import { SoftwareWindows } from './windows.js';

export class SoftwareKernels implements PlanKernels {
  private g: SoftwareGroups | undefined;
  private hw0: GPUBuffer | undefined;

  private constructor(
    private readonly gpu: Gpu,
    private readonly config: ModelConfig,
    readonly plan: KernelPlan,
    private readonly p: SoftwarePrograms,
    private readonly win: SoftwareWindows,
    private readonly fixed: { params: GPUBuffer; grad: GPUBuffer },
  ) {}

  static async create(
    gpu: Gpu,
    config: ModelConfig,
    layers: ModelLayers,
    plan: KernelPlan,
    fixed: { params: GPUBuffer; grad: GPUBuffer },
  ): Promise<SoftwareKernels> {
    const p = await softwarePrograms(gpu, config.hidden, layers, plan);
    const win = await gpu.checked(
      'software plan windows',
      () => new SoftwareWindows(gpu, p, config.hidden, layers.hh.WOFF),
    );
    return new SoftwareKernels(gpu, config, plan, p, win, fixed);
  }

  extraRowFloats(T: number): number {
    // dghw holds 3·NW·UW ≥ 3H floats per row and step
    const w = this.p.windows;
    return w && this.p.dghBB > 0 ? T * 3 * w.NW * w.UW : 0;
  }

  allocate(cap: { B: number; T: number }, step: GPUBuffer): WorkBuffers {
    // h, a1, a2 are also read as 64 KiB uniform windows (weight_grad.wgsl behind wg_window.wgsl)
    const buf = allocateWork(
      this.gpu.device,
      this.config,
      cap,
      this.p.wgUw.some((d) => d) ? new Set(['h', 'a1', 'a2'] as const) : undefined,
    );
    this.win.allocateCopies(buf, cap);
    this.hw0 = buf.hw0;
    this.win.allocate(cap.B);
    this.g = softwareGroups(this.p, this.win, buf, { ...this.fixed, step });
    return buf;
  }

  encodeSetup(enc: GPUCommandEncoder, B: number): void {
    this.win.writeRecords(B);
    if (this.hw0) enc.clearBuffer(this.hw0, 0, B * this.config.hidden * 4); // h_0 = 0
    this.win.encodeCopies(enc, this.fixed.params);
  }

  private groups(): SoftwareGroups {
    if (!this.g) throw new Error('software kernels used before allocate()');
    return this.g;
  }

  private encodeGruStep(pass: PassLike, B: number, k: number): void {
    const H = this.config.hidden;
    const win = this.p.windows;
    const g = this.groups();
    const windowOffsets = (i: number) => [0, 1, 2].map((gate) => (gate * win!.NW + i) * win!.slotBytes);
    if (win && this.p.gruForwardUwh && g.gruForwardUwh) {
      const BB = this.p.hBB;
      for (let i = 0; i < win.NW; i++) {
        const units = Math.min(win.UW, H - i * win.UW);
        for (let bb = 0; bb < Math.ceil(B / BB); bb++) {
          const rows = Math.min(BB, B - bb * BB);
          this.p.gruForwardUwh.dispatch(pass, g.gruForwardUwh[k % 2]!, gruForwardUwhInvocations(units, rows), [
            ...windowOffsets(i),
            bb * BB * H * 4,
            i * STEP_STRIDE,
            bb * STEP_STRIDE,
            k * STEP_STRIDE,
          ]);
        }
      }
    } else if (win && this.p.gruForwardUw && g.gruForwardUw) {
      for (let i = 0; i < win.NW; i++) {
        const units = Math.min(win.UW, H - i * win.UW);
        this.p.gruForwardUw.dispatch(pass, g.gruForwardUw, gruForwardUwInvocations(units, B), [
          ...windowOffsets(i),
          i * STEP_STRIDE,
          k * STEP_STRIDE,
        ]);
      }
    } else {
      this.p.gruForward.dispatch(pass, g.gruForward, gruForwardInvocations(H, B), k);
    }
  }

  private encodeDecoder(pass: PassLike, slot: number, rows: number): void {
    const { mlp: M } = this.config;
    const g = this.groups();
    for (let j = 0; j < 3; j++) {
      const d = this.p.denseUw[j];
      const group = g.denseUw[j];
      if (!d || !group) {
        this.p.dense[j]!.dispatch(pass, g.dense[j]!, decoderDenseInvocations(M, rows), slot);
        continue;
      }
      for (let w = 0; w < d.NW; w++) {
        const nout = Math.min(d.UO, d.OUT - w * d.UO);
        d.prog.dispatch(pass, group, decoderDenseUwInvocations(nout, rows), [
          (d.slot0 + w) * 65536,
          (d.slot0 + w) * STEP_STRIDE,
          slot * STEP_STRIDE,
        ]);
      }
    }
    this.p.dense[3]!.dispatch(pass, g.dense[3]!, decoderDenseInvocations(2, rows), slot);
  }

  encodeForward(pass: PassLike, B: number, T: number, missing: boolean, forecast: boolean): void {
    const H = this.config.hidden;
    const g = this.groups();
    if (!missing) {
      this.p.inputProj.dispatch(pass, g.inputProj, inputProjInvocations(H, B, T), T + 1);
      for (let k = 0; k < T; k++) this.encodeGruStep(pass, B, k);
      if (forecast) this.encodeDecoder(pass, T + 2, (T + 1) * B);
      else this.encodeDecoder(pass, T + 1, T * B);
      return;
    }
    // a missing x_k is replaced by μ_k, so step k's decoder runs before GRU step k
    for (let k = 0; k < T; k++) {
      this.encodeDecoder(pass, k, B);
      this.p.inputProj.dispatch(pass, g.inputProj, inputProjInvocations(H, B, 1), k);
      this.encodeGruStep(pass, B, k);
    }
    if (forecast) this.encodeDecoder(pass, T, B);
  }

  /** weight gradient j over all rows (slot T+1) or the rows of step k (slot T+3+k) */
  private encodeWeightGrad(
    pass: PassLike,
    B: number,
    T: number,
    j: number,
    IN: number,
    OUT: number,
    slot: number,
  ): void {
    const d = this.p.wgUw[j];
    const g = this.groups();
    const group = g.wgUw[j];
    if (!d || !group || slot < T + 3) {
      this.p.wgrad[j]!.dispatch(pass, g.wg[j]!, weightGradInvocations(IN, OUT), slot);
      return;
    }
    // one dispatch per uniform window of WR rows of step k = slot − T − 3 (rows k·B ..)
    const k = slot - T - 3;
    const per = this.win.wgRecordSlots / 4;
    const nw = Math.ceil(B / d.WR);
    const win = this.p.windows;
    if (j === 4 && this.p.wgradHhUwd && g.wgHhUwd && win) {
      // and per W_hh window dd of UW gate rows, dgh from the windowed copy of step k
      const H = this.config.hidden;
      const BP = Math.ceil(B / 16) * 16;
      for (let dd = 0; dd < 3 * win.NW; dd++) {
        const rows = Math.min(win.UW, H - (dd % win.NW) * win.UW);
        for (let w = 0; w < nw; w++) {
          const inpOffset = (k * B + w * d.WR) * IN * 4;
          const dgOffset = ((k * 3 * win.NW + dd) * BP + w * d.WR) * win.UW * 4;
          this.p.wgradHhUwd.dispatch(pass, g.wgHhUwd, weightGradUwdInvocations(IN, rows), [
            dgOffset,
            inpOffset,
            dd * STEP_STRIDE,
            ((j - 1) * per + w) * STEP_STRIDE,
            slot * STEP_STRIDE,
          ]);
        }
      }
      return;
    }
    for (let w = 0; w < nw; w++) {
      const inpOffset = (k * B + w * d.WR) * IN * 4;
      d.prog.dispatch(pass, group, weightGradInvocations(IN, OUT), [
        inpOffset,
        ((j - 1) * per + w) * STEP_STRIDE,
        slot * STEP_STRIDE,
      ]);
    }
  }

  private encodeDecoderBackward(pass: PassLike, j: number, IN: number, rows: number, slot: number): void {
    const d = this.p.backUw[j];
    const g = this.groups();
    const group = g.backUw[j];
    if (!d || !group) {
      this.p.denseBack[j]!.dispatch(pass, g.back[j]!, decoderBackwardInvocations(IN, rows), slot);
      return;
    }
    for (let w = 0; w < d.NW; w++) {
      const ni = Math.min(d.UI, d.IN - w * d.UI);
      d.prog.dispatch(pass, group, decoderBackwardUwInvocations(ni, rows), [
        (d.slot0 + w) * 65536,
        (d.slot0 + w) * STEP_STRIDE,
        slot * STEP_STRIDE,
      ]);
    }
  }

  encodeBackward(pass: PassLike, B: number, T: number): void {
    const { hidden: H, mlp: M, features: F } = this.config;
    const all = T + 1;
    const rows = T * B;
    const wgrad = (j: number, IN: number, OUT: number, slot: number) =>
      this.encodeWeightGrad(pass, B, T, j, IN, OUT, slot);
    const perStep = (j: number, IN: number, OUT: number) => {
      for (let k = 0; k < T; k++) wgrad(j, IN, OUT, T + 3 + k);
    };
    this.encodeDecoderBackward(pass, 0, M, rows, all);
    wgrad(0, M, 2, all);
    this.encodeDecoderBackward(pass, 1, M, rows, all);
    perStep(1, M, M);
    this.encodeDecoderBackward(pass, 2, M, rows, all);
    perStep(2, M, M);
    this.encodeDecoderBackward(pass, 3, H, rows, all);
    perStep(3, H, M);
    for (let k = T - 1; k >= 0; k--) this.encodeBpttStep(pass, B, k);
    perStep(4, H, 3 * H);
    wgrad(5, F, 3 * H, all);
  }

  private encodeBpttStep(pass: PassLike, B: number, k: number): void {
    const H = this.config.hidden;
    const p = this.p;
    const g = this.groups();
    const par = (k + 1) % 2;
    const win = p.windows;
    if (win && p.gatesW && p.hiddenUwd && g.gatesW && g.hiddenUwd) {
      // dgh also into its uniform windows; the recurrent sum then reads both operands as uniform loads
      p.gatesW.dispatch(pass, g.gatesW[par]!, gruBackwardGatesInvocations(H, B), k);
      if (k === 0) return;
      const BP = Math.ceil(B / 16) * 16;
      const nb = Math.ceil(B / p.dghBB);
      for (let d = 0; d < 3 * win.NW; d++) {
        for (let i = 0; i < nb; i++) {
          const rows = Math.min(p.dghBB, B - i * p.dghBB);
          const dgOffset = ((k * 3 * win.NW + d) * BP + i * p.dghBB) * win.UW * 4;
          p.hiddenUwd.dispatch(pass, g.hiddenUwd[par]!, gruBackwardHiddenUwdInvocations(H, rows), [
            d * win.slotBytes,
            dgOffset,
            d * STEP_STRIDE,
            i * STEP_STRIDE,
            k * STEP_STRIDE,
          ]);
        }
      }
      return;
    }
    p.gates.dispatch(pass, g.gates[par]!, gruBackwardGatesInvocations(H, B), k);
    if (k === 0) return;
    if (win && p.hiddenUw && g.hiddenUw) {
      for (let d = 0; d < 3 * win.NW; d++) {
        p.hiddenUw.dispatch(pass, g.hiddenUw[par]!, gruBackwardHiddenUwInvocations(H, B), [
          d * win.slotBytes,
          d * STEP_STRIDE,
          k * STEP_STRIDE,
        ]);
      }
    } else {
      p.hidden.dispatch(pass, g.hidden[par]!, gruBackwardHiddenInvocations(H, B), k);
    }
  }

  destroy(): void {
    this.win.destroy();
  }
}
