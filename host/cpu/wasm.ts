// Loads the forecaster's wasm kernels (assembly/forecaster/index.ts, built three ways by `npm run asbuild`):
// relaxed SIMD (f32x4.relaxed_madd → one FMA), plain SIMD, and a debug build with bounds checks. Compiled
// synchronously: Node 20's asynchronous wasm compilation can deadlock a process whose event loop empties meanwhile
// (see host/sar/kernel.ts). Workers get the compiled module by message and only instantiate it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import { DpmError } from '../core/errors.js';
import { wasmDir } from '../paths.js';

export type SimdChoice = 'relaxed' | 'plain' | 'auto';
export type SimdKind = 'relaxed' | 'plain';
export const SIMD_CHOICES: readonly SimdChoice[] = ['auto', 'relaxed', 'plain'];

/** exports of the forecaster module (all sizes in elements unless named bytes) */
export interface ForecasterExports {
  FORECASTER_ABI_VERSION: WebAssembly.Global;
  CTX_FIELDS: WebAssembly.Global;
  heapBase(): number;
  paramCount(H: number, M: number, F: number): number;
  packedFloats(K: number, N: number): number;
  packB(src: number, rs: number, cs: number, K: number, N: number, dst: number): void;
  gemm(
    a: number,
    lda: number,
    bp: number,
    K: number,
    c: number,
    ldc: number,
    m: number,
    n: number,
    bias: number,
    accumulate: number,
    tile: number,
  ): void;
  activation(kind: number, src: number, dst: number, n: number): void;
  packWeights(ctx: number): void;
  scratchBytes(rows: number, H: number, M: number, F: number): number;
  gatePanelFloats(R: number, H: number): number;
  hiddenStride(H: number): number;
  sequenceItemRows(B: number, threads: number): number;
  forwardBackward(ctx: number, thread: number, threads: number): void;
  weightGrads(ctx: number, thread: number, threads: number): void;
  gradNormSquared(g: number, H: number, M: number, F: number): number;
  adam(
    p: number,
    g: number,
    m: number,
    v: number,
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

// (module (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd))
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, 0x03,
  0x02, 0x01, 0x00, 0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b,
]);

let relaxedSupport: boolean | undefined;

/**
 * Whether this runtime validates relaxed-SIMD modules. Node 20 (V8 11.3) has them behind
 * --experimental-wasm-relaxed-simd: the flag is set here, before the first relaxed module is compiled (V8 reads it
 * at validation, and the flag is process-wide, so worker threads see it too).
 */
export function relaxedSimdSupported(): boolean {
  if (relaxedSupport === undefined) {
    if (!WebAssembly.validate(RELAXED_PROBE)) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    relaxedSupport = WebAssembly.validate(RELAXED_PROBE);
  }
  return relaxedSupport;
}

/** The SIMD kind a choice resolves to here; 'relaxed' on a runtime without it is an error. */
export function resolveSimd(choice: SimdChoice = 'auto'): SimdKind {
  if (choice === 'plain') return 'plain';
  const ok = relaxedSimdSupported();
  if (choice === 'relaxed' && !ok) {
    throw new DpmError('this JavaScript runtime has no WebAssembly relaxed SIMD; use simd plain');
  }
  return ok ? 'relaxed' : 'plain';
}

/**
 * V8 first compiles wasm with its baseline compiler (Liftoff) and tiers a function up only on a later call; a phase
 * of the engine is one call that runs for a second, so it would run in baseline code at a third of the speed. With
 * --no-liftoff every module is compiled by the optimizing compiler up front (process-wide; our modules are small).
 * The coherence kernel compiled under it (bench/liftoff.bench.ts) runs as fast as its tiered-up code and its first
 * call twice as fast, so the flag is left on rather than scoped to this module.
 */
function optimizeEagerly(): void {
  v8.setFlagsFromString('--no-liftoff');
}

const compiled = new Map<string, WebAssembly.Module>();

/** One of our kernel modules built three ways (`<base>.wasm`, `<base>-relaxed.wasm`, `<base>-debug.wasm`). */
export interface KernelBuild {
  /** file name without the build suffix: 'forecaster', 'unet' */
  base: string;
  /** how errors name it: 'forecaster', 'U-Net' */
  what: string;
}

/**
 * The compiled module of a build for a SIMD kind (debug: the bounds-checked plain build), compiled once per process
 * with the optimizing compiler. The forecaster's and the U-Net's loaders.
 */
export function kernelModule(build: KernelBuild, kind: SimdKind, debug = false): WebAssembly.Module {
  const name = `${build.base}${debug ? '-debug' : kind === 'relaxed' ? '-relaxed' : ''}.wasm`;
  let mod = compiled.get(name);
  if (!mod) {
    const file = join(wasmDir, name);
    if (!existsSync(file)) throw new DpmError(`${build.what} kernels ${file} are missing: run 'npm run asbuild'`);
    if (kind === 'relaxed' && !debug) resolveSimd('relaxed');
    optimizeEagerly();
    mod = new WebAssembly.Module(readFileSync(file));
    compiled.set(name, mod);
  }
  return mod;
}

/**
 * Instantiates `mod` on `memory` (shared, imported) and checks its ABI version global (`abiGlobal` = `abi`); env.abort
 * (the debug build's bounds checks) throws naming the build.
 */
export function instantiateKernels<T>(
  build: KernelBuild,
  mod: WebAssembly.Module,
  memory: WebAssembly.Memory,
  abiGlobal: string,
  abi: number,
): T {
  const abort = (): never => {
    throw new DpmError(`${build.what} kernel: a bounds check failed (debug build)`);
  };
  const exports = new WebAssembly.Instance(mod, { env: { memory, abort } }).exports;
  const have = (exports[abiGlobal] as WebAssembly.Global | undefined)?.value;
  if (have !== abi) {
    throw new DpmError(`${build.what} kernels are out of date (ABI ${have}, need ${abi}): run 'npm run asbuild'`);
  }
  return exports as unknown as T;
}

const FORECASTER: KernelBuild = { base: 'forecaster', what: 'forecaster' };

/** The compiled forecaster module for a SIMD kind (debug: the bounds-checked plain build). */
export function forecasterModule(kind: SimdKind, debug = false): WebAssembly.Module {
  return kernelModule(FORECASTER, kind, debug);
}

/** Instantiates `mod` on `memory` (shared, imported) and checks its ABI version. */
export function instantiate(mod: WebAssembly.Module, memory: WebAssembly.Memory): ForecasterExports {
  return instantiateKernels(FORECASTER, mod, memory, 'FORECASTER_ABI_VERSION', ABI);
}

/** A shared memory the module can import (its maximum must match the module's declared 4 GiB) */
export function sharedMemory(bytes: number): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536), maximum: 65536, shared: true });
}
