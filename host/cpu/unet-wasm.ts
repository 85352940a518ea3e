// Loads the U-Net's wasm kernels (assembly/unet/index.ts, built three ways by `npm run asbuild:unet` like the
// forecaster's: relaxed SIMD, plain SIMD and a bounds-checked debug build) on an imported shared memory. The SIMD
// choice, the relaxed-SIMD detection and the loader are the forecaster's (host/cpu/wasm.ts).
import { instantiateKernels, type KernelBuild, kernelModule, type SimdKind } from './wasm.js';

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
    coef: number,
    wd: number,
    beta1: number,
    beta2: number,
    eps: number,
    stepSize: number,
    bc2sqrt: number,
  ): void;
}

const ABI = 2;
const UNET: KernelBuild = { base: 'unet', what: 'U-Net' };

/** The compiled U-Net module for a SIMD kind (debug: the bounds-checked plain build). */
export function unetModule(kind: SimdKind, debug = false): WebAssembly.Module {
  return kernelModule(UNET, kind, debug);
}

/** Instantiates `mod` on `memory` and checks its ABI version. */
export function instantiateUNet(mod: WebAssembly.Module, memory: WebAssembly.Memory): UNetExports {
  return instantiateKernels(UNET, mod, memory, 'UNET_ABI_VERSION', ABI);
}
