// The software plan's programs: one dispatch per time step (or per uniform window), with the variants llvmpipe runs
// fastest where the shapes allow — vec4 loads and operands in 64 KiB uniform windows (each a loader piece before a
// shared body), all with the same results bit for bit as the plain storage-buffer kernels (the tests compare the bits).
// On llvmpipe a storage load is fetched lane by lane and costs ~30 multiply-adds, a uniform load far less.
import type { Gpu } from '../device.js';
import type { Program } from '../program.js';
import type { KernelPlan } from '../ops/plan.js';
import type { DenseShape, ModelLayers } from '../ops/layers.js';
import { decoderBackward } from '../kernels/decoder-backward.js';
import { decoderBackwardV4, decoderBackwardV4Fits } from '../kernels/decoder-backward-v4.js';
import { backwardWindows, decoderBackwardUw } from '../kernels/decoder-backward-uw.js';
import { decoderDense } from '../kernels/decoder-dense.js';
import { decoderDenseV4, decoderDenseV4Fits } from '../kernels/decoder-dense-v4.js';
import { decoderDenseUw, denseWindows } from '../kernels/decoder-dense-uw.js';
import { gruBackwardGates } from '../kernels/gru-backward-gates.js';
import { dghBlockRows, gruBackwardGatesW } from '../kernels/gru-backward-gates-w.js';
import { gruBackwardHidden } from '../kernels/gru-backward-hidden.js';
import { gruBackwardHiddenUw } from '../kernels/gru-backward-hidden-uw.js';
import { gruBackwardHiddenUwd } from '../kernels/gru-backward-hidden-uwd.js';
import { gruForward } from '../kernels/gru-forward.js';
import { gruForwardUw, gruWindows } from '../kernels/gru-forward-uw.js';
import { gruForwardUwh, hBlockRows } from '../kernels/gru-forward-uwh.js';
import { inputProj } from '../kernels/input-proj.js';
import { weightGrad } from '../kernels/weight-grad.js';
import { weightGradUw, weightGradUwRows } from '../kernels/weight-grad-uw.js';
import { weightGradUwd } from '../kernels/weight-grad-uwd.js';
import { weightGradV4, weightGradV4Fits } from '../kernels/weight-grad-v4.js';

/** an MLP layer with its weights in uniform windows of UO rows (dense_w_uniform.wgsl), from window slot slot0 */
export interface DenseUw {
  prog: Program;
  WOFF: number;
  IN: number;
  OUT: number;
  UO: number;
  NW: number;
  slot0: number;
}
/** a backward MLP layer with its weights in uniform windows of UI columns (back_w_uniform.wgsl) */
export interface BackUw {
  prog: Program;
  WOFF: number;
  WSTRIDE: number;
  IN: number;
  OUT: number;
  UI: number;
  NW: number;
  slot0: number;
}
/** a weight gradient with its inputs read from uniform windows of WR rows (wg_dout_storage.wgsl) */
export interface WeightGradUw {
  prog: Program;
  IN: number;
  OUT: number;
  WR: number;
}

export interface SoftwarePrograms {
  inputProj: Program;
  gruForward: Program;
  /** W_hh in uniform windows (H a multiple of 4), and h_k too */
  gruForwardUw?: Program;
  gruForwardUwh?: Program;
  gates: Program;
  hidden: Program;
  hiddenUw?: Program;
  /** BPTT with dgh in uniform windows too, and the gates kernel that writes them; W_hh's gradient reading them */
  gatesW?: Program;
  hiddenUwd?: Program;
  wgradHhUwd?: Program;
  dense: Program[]; // mlp.0, mlp.2, mlp.4, heads
  denseBack: Program[]; // heads → a3, mlp.4 → a2, mlp.2 → a1, mlp.0 → h
  wgrad: Program[]; // heads, mlp.4, mlp.2, mlp.0, gru hh, gru ih
  /** W_hh's window layout (undefined: storage-buffer GRU kernels) */
  windows: ReturnType<typeof gruWindows>;
  /** batch rows per dgh window and per h_k window (0: not used) */
  dghBB: number;
  hBB: number;
  denseUw: (DenseUw | undefined)[]; // by dense index (MLP layers)
  backUw: (BackUw | undefined)[]; // by denseBack index
  wgUw: (WeightGradUw | undefined)[]; // by wgrad index
  /** uniform window slots of the decoder forward and backward weights; floats of weight_grad_uw's running totals */
  denseSlots: number;
  backSlots: number;
  partFloats: number;
}

export async function softwarePrograms(
  gpu: Gpu,
  H: number,
  layers: ModelLayers,
  plan: KernelPlan,
): Promise<SoftwarePrograms> {
  const g = gpu;
  const [l0, l2, l4] = layers.mlp;
  const { hh, ih, heads } = layers;
  const v4 = plan.vec4;
  const uwOn = plan.uniformWindows;
  const uwFloats = plan.windowFloats;
  const wg = (name: string, o: DenseShape & { HAS_BIAS: 0 | 1 }) =>
    v4 && weightGradV4Fits(o.IN, o.OUT) ? weightGradV4(g, name, o) : weightGrad(g, name, o);
  const dense = (name: string, o: DenseShape & { RELU: 0 | 1 }) =>
    v4 && decoderDenseV4Fits(o) ? decoderDenseV4(g, name, o) : decoderDense(g, name, o);
  const back = (name: string, o: { IN: number; OUT: number; WOFF: number; WSTRIDE: number; MASK: 0 | 1 }) =>
    v4 && decoderBackwardV4Fits(o) ? decoderBackwardV4(g, name, o) : decoderBackward(g, name, o);
  const backShape = (d: DenseShape, MASK: 0 | 1) => ({ IN: d.IN, OUT: d.OUT, WOFF: d.WOFF, WSTRIDE: d.WSTRIDE, MASK });
  const [inputP, gruF, d0, d2, d4, dh, b4h, b4, b2, b0, w4h, w4, w2, w0, whh, wih, gates, hidden] = await Promise.all([
    inputProj(g, { H, F: ih.IN, WOFF_IH: ih.WOFF, BOFF_IH: ih.BOFF }),
    gruForward(g, { H, WOFF_HH: hh.WOFF, BOFF_HH: hh.BOFF }),
    dense('mlp.0', { ...l0, RELU: 1 }),
    dense('mlp.2', { ...l2, RELU: 1 }),
    dense('mlp.4', { ...l4, RELU: 1 }),
    dense('heads', { ...heads, RELU: 0 }),
    back('heads', backShape(heads, 1)),
    back('mlp.4', backShape(l4, 1)),
    back('mlp.2', backShape(l2, 1)),
    back('mlp.0', backShape(l0, 0)),
    wg('heads', { ...heads, HAS_BIAS: 1 }),
    wg('mlp.4', { ...l4, HAS_BIAS: 1 }),
    wg('mlp.2', { ...l2, HAS_BIAS: 1 }),
    wg('mlp.0', { ...l0, HAS_BIAS: 1 }),
    wg('gru.hh', { ...hh, HAS_BIAS: 1 }),
    wg('gru.ih', { ...ih, HAS_BIAS: 1 }),
    gruBackwardGates(g, { H }),
    gruBackwardHidden(g, { H, WOFF_HH: hh.WOFF }),
  ]);
  const windows = uwOn ? gruWindows(H, uwFloats) : undefined;
  const p: SoftwarePrograms = {
    inputProj: inputP,
    gruForward: gruF,
    gates,
    hidden,
    windows,
    dghBB: 0,
    hBB: 0,
    dense: [d0, d2, d4, dh],
    denseBack: [b4h, b4, b2, b0],
    wgrad: [w4h, w4, w2, w0, whh, wih],
    denseUw: [],
    backUw: [],
    wgUw: [],
    denseSlots: 0,
    backSlots: 0,
    partFloats: 0,
  };
  if (windows) {
    p.gruForwardUw = await gruForwardUw(g, { H, UW: windows.UW, BOFF_HH: hh.BOFF });
    p.hiddenUw = await gruBackwardHiddenUw(g, { H });
    if (v4) {
      p.hiddenUwd = await gruBackwardHiddenUwd(g, { H, UW: windows.UW });
      p.gatesW = await gruBackwardGatesW(g, { H, UW: windows.UW });
      p.dghBB = dghBlockRows(windows.UW, uwFloats);
      p.hBB = hBlockRows(H, uwFloats);
      if (p.hBB > 0) p.gruForwardUwh = await gruForwardUwh(g, { H, UW: windows.UW, BOFF_HH: hh.BOFF });
    }
  }
  if (!(v4 && uwOn)) return p;
  // the large weight gradients read their inputs (h, a1, a2) from uniform windows
  for (const [j, name, l] of [
    [1, 'mlp.4', l4],
    [2, 'mlp.2', l2],
    [3, 'mlp.0', l0],
    [4, 'gru.hh', hh],
  ] as const) {
    const WR = weightGradUwRows(l.IN, l.OUT, uwFloats);
    if (WR === undefined) continue;
    p.wgUw[j] = { prog: await weightGradUw(g, name, { ...l, HAS_BIAS: 1 }), IN: l.IN, OUT: l.OUT, WR };
    p.partFloats = Math.max(p.partFloats, l.OUT * l.IN + l.OUT);
  }
  // W_hh's gradient reads dgh from gates_w's windowed copy too (needs both kinds of windows)
  if (p.wgUw[4] && windows) p.wgradHhUwd = await weightGradUwd(g, { ...hh, UW: windows.UW, HAS_BIAS: 1 });
  // the MLP layers' weights in uniform windows too
  for (const [name, l] of [
    ['mlp.0', l0],
    ['mlp.2', l2],
    ['mlp.4', l4],
  ] as const) {
    const dw = denseWindows(l.IN, l.OUT, uwFloats);
    if (!dw || l.WSTRIDE !== l.IN) {
      p.denseUw.push(undefined);
      continue;
    }
    const prog = await decoderDenseUw(g, name, { IN: l.IN, OUT: l.OUT, BOFF: l.BOFF, BSTRIDE: l.BSTRIDE, RELU: 1 });
    p.denseUw.push({ prog, WOFF: l.WOFF, IN: l.IN, OUT: l.OUT, ...dw, slot0: p.denseSlots });
    p.denseSlots += dw.NW;
  }
  for (const [j, name, l, MASK] of [
    [1, 'mlp.4', l4, 1],
    [2, 'mlp.2', l2, 1],
    [3, 'mlp.0', l0, 0],
  ] as const) {
    const bw = backwardWindows(l.IN, l.OUT, uwFloats);
    if (!bw) continue;
    const prog = await decoderBackwardUw(g, name, { IN: l.IN, OUT: l.OUT, UI: bw.UI, MASK });
    p.backUw[j] = { prog, WOFF: l.WOFF, WSTRIDE: l.WSTRIDE, IN: l.IN, OUT: l.OUT, ...bw, slot0: p.backSlots };
    p.backSlots += bw.NW;
  }
  return p;
}
