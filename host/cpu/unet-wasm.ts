// Loads the U-Net's wasm kernels (assembly/unet/index.ts, built three ways by `npm run asbuild:unet` like the
// forecaster's: relaxed SIMD, plain SIMD and a bounds-checked debug build) on an imported shared memory. The SIMD
// choice and the relaxed-SIMD detection are the forecaster's (host/cpu/wasm.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import { DpmError } from '../core/errors.js';
import { wasmDir } from '../paths.js';
import { resolveSimd, type SimdKind } from './wasm.js';

type Ptr = number;

/** exports of assembly/unet/index.ts (pointers are byte offsets, sizes in elements) */
export interface UNetExports {
  UNET_ABI_VERSION: WebAssembly.Global;
  CHUNK: WebAssembly.Global;
  heapBase(): number;
  paddedFloats(C: number, H: number, W: number): number;
  packFloats(Cin: number, H: number, W: number): number;
  stageFloats(Cout: number, H: number, W: number): number;
  rowsPerProduct(H: number, W: number): number;
  padPlanes(x: Ptr, C: number, H: number, W: number, dst: Ptr): void;
  gridPlanes(x: Ptr, C: number, H: number, W: number, dst: Ptr): void;
  conv3x3(
    pad: Ptr,
    Cin: number,
    H: number,
    W: number,
    w: Ptr,
    Cout: number,
    out: Ptr,
    pack: Ptr,
    stage: Ptr,
    tile: Ptr,
  ): void;
  conv3x3Items(
    x: Ptr,
    b0: number,
    b1: number,
    Cin: number,
    H: number,
    W: number,
    w: Ptr,
    Cout: number,
    out: Ptr,
    pad: Ptr,
    pack: Ptr,
    stage: Ptr,
    tile: Ptr,
  ): void;
  conv3x3WeightGradRows(
    x: Ptr,
    dy: Ptr,
    B: number,
    Cin: number,
    Cout: number,
    H: number,
    W: number,
    co0: number,
    co1: number,
    sums: Ptr,
    pad: Ptr,
    grid: Ptr,
    pack: Ptr,
    tmp: Ptr,
    tile: Ptr,
  ): void;
  flipConvWeights(w: Ptr, Cout: number, Cin: number, dst: Ptr): void;
  conv3x3WeightGrad(
    pad: Ptr,
    grid: Ptr,
    Cin: number,
    Cout: number,
    H: number,
    W: number,
    sums: Ptr,
    first: number,
    pack: Ptr,
    tmp: Ptr,
    tile: Ptr,
  ): void;
  sumsToF32(sums: Ptr, n: number, dst: Ptr): void;
  batchNorm(
    z: Ptr,
    B: number,
    C: number,
    HW: number,
    gamma: Ptr,
    beta: Ptr,
    runMean: Ptr,
    runVar: Ptr,
    momentum: number,
    train: number,
    relu: number,
    out: Ptr,
    mean: Ptr,
    invstd: Ptr,
    c0: number,
    c1: number,
  ): void;
  batchNormBackward(
    z: Ptr,
    a: Ptr,
    da: Ptr,
    B: number,
    C: number,
    HW: number,
    gamma: Ptr,
    mean: Ptr,
    invstd: Ptr,
    relu: number,
    dz: Ptr,
    dgamma: Ptr,
    dbeta: Ptr,
    c0: number,
    c1: number,
  ): void;
  maxPool(x: Ptr, planes: number, H: number, W: number, out: Ptr): void;
  maxPoolBackward(x: Ptr, dout: Ptr, planes: number, H: number, W: number, dx: Ptr): void;
  transpose(w: Ptr, rows: number, cols: number, dst: Ptr): void;
  convTranspose(
    x: Ptr,
    Cin: number,
    h: number,
    w: number,
    wT: Ptr,
    bias: Ptr,
    Cout: number,
    out: Ptr,
    pack: Ptr,
    tmp: Ptr,
    tile: Ptr,
  ): void;
  gatherTaps(dout: Ptr, Cout: number, h: number, w: number, dT: Ptr): void;
  convTransposeBackwardData(
    dT: Ptr,
    Cout: number,
    hw: number,
    w: Ptr,
    Cin: number,
    dx: Ptr,
    pack: Ptr,
    tile: Ptr,
  ): void;
  convTransposeWeightGradRows(
    x: Ptr,
    dT: Ptr,
    B: number,
    Cin: number,
    Cout: number,
    hw: number,
    c0: number,
    c1: number,
    sums: Ptr,
    pack: Ptr,
    tmp: Ptr,
    tile: Ptr,
  ): void;
  tapSums(dT: Ptr, B: number, Cout: number, hw: number, dbias: Ptr): void;
  convTransposeBackwardItem(
    dout: Ptr,
    Cout: number,
    h: number,
    w: number,
    dT: Ptr,
    wt: Ptr,
    Cin: number,
    dx: Ptr,
    pack: Ptr,
    tile: Ptr,
  ): void;
  concat(a: Ptr, C1: number, b: Ptr, C2: number, B: number, HW: number, dst: Ptr): void;
  addChannels(src: Ptr, Cs: number, c0: number, C: number, B: number, HW: number, dst: Ptr): void;
  head(a: Ptr, B: number, C: number, HW: number, w: Ptr, bias: Ptr, K: number, logits: Ptr): void;
  headBackward(
    a: Ptr,
    dl: Ptr,
    B: number,
    C: number,
    HW: number,
    w: Ptr,
    K: number,
    da: Ptr,
    dw: Ptr,
    dbias: Ptr,
  ): void;
  crossEntropy(logits: Ptr, labels: Ptr, B: number, K: number, HW: number, weights: Ptr, dl: Ptr): number;
  softmax(logits: Ptr, B: number, K: number, HW: number, probs: Ptr): void;
  adam(
    p: Ptr,
    g: Ptr,
    m: Ptr,
    v: Ptr,
    n: number,
    wd: number,
    beta1: number,
    beta2: number,
    eps: number,
    stepSize: number,
    bc2sqrt: number,
  ): void;
}

const ABI = 1;
const compiled = new Map<string, WebAssembly.Module>();

/** The compiled U-Net module for a SIMD kind (debug: the bounds-checked plain build). */
export function unetModule(kind: SimdKind, debug = false): WebAssembly.Module {
  const name = debug ? 'unet-debug.wasm' : kind === 'relaxed' ? 'unet-relaxed.wasm' : 'unet.wasm';
  let mod = compiled.get(name);
  if (!mod) {
    const file = join(wasmDir, name);
    if (!existsSync(file)) throw new DpmError(`U-Net kernels ${file} are missing: run 'npm run asbuild'`);
    if (kind === 'relaxed' && !debug) resolveSimd('relaxed');
    // the optimizing compiler up front, as the forecaster's modules (host/cpu/wasm.ts: a layer is one long call)
    v8.setFlagsFromString('--no-liftoff');
    mod = new WebAssembly.Module(readFileSync(file));
    compiled.set(name, mod);
  }
  return mod;
}

function abort(): never {
  throw new DpmError('U-Net kernel: a bounds check failed (debug build)');
}

/** Instantiates `mod` on `memory` and checks its ABI version. */
export function instantiateUNet(mod: WebAssembly.Module, memory: WebAssembly.Memory): UNetExports {
  const inst = new WebAssembly.Instance(mod, { env: { memory, abort } });
  const ex = inst.exports as unknown as UNetExports;
  if (ex.UNET_ABI_VERSION.value !== ABI) {
    const have = ex.UNET_ABI_VERSION.value;
    throw new DpmError(`U-Net kernels are out of date (ABI ${have}, need ${ABI}): run 'npm run asbuild'`);
  }
  return ex;
}
