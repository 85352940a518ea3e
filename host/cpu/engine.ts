// The forecaster on the CPU: the wasm SIMD kernels of assembly/forecaster/index.ts on worker threads that share one
// WebAssembly.Memory. Implements host/model/engine.ts ForecasterEngine with the GPU engine's contract: float32
// numerics (loss, gradient norm and Adam in float64), missing steps fed the forecast mean, batches above maxBatch(T)
// chunked inside with gradients summed in chunk order, Adam state get/set, and bit-identical results for a given
// thread count (the kernels' split makes them independent of it too; the tests check both).
//
// Memory: [control block | context | params, grad, Adam m, v | packed weights | per-chunk activations | scratch per
// thread]. Activations are time-major (row k·B + b), so the weight gradients are plain GEMMs over all T·B rows (the
// gate gradients are stored as those GEMMs' packed panels; rows of h are padded: see index.ts).
import os from 'node:os';
import { DpmError } from '../core/errors.js';
import { checkOptimizerState, type AdamOptions, type ForecasterEngine, type OptimizerState } from '../model/engine.js';
import { paramCount, type ModelConfig } from '../model/params.js';
import { ThreadPool, CTL_INTS, type Phase } from './threads.js';
import {
  forecasterModule,
  instantiate,
  resolveSimd,
  sharedMemory,
  type ForecasterExports,
  type SimdChoice,
  type SimdKind,
} from './wasm.js';

export interface CpuEngineOptions {
  /** worker threads including the caller (default: os.availableParallelism()); 1 = no workers */
  threads?: number;
  /** 'auto' (default) takes relaxed SIMD where the runtime has it */
  simd?: SimdChoice;
  /** the bounds-checked debug build of the kernels (tests) */
  debug?: boolean;
  /** upper bound on the activation memory of one training chunk, bytes (default 512 MiB) */
  workBytes?: number;
}

// context fields: assembly/forecaster/index.ts CTX_*
const Ctx = {
  B: 0,
  T: 1,
  H: 2,
  M: 3,
  F: 4,
  TRAIN: 5,
  ACCUMULATE: 6,
  PARAMS: 7,
  GRAD: 8,
  WHH_T: 9,
  WHH_N: 10,
  W1_T: 11,
  W2_T: 12,
  W3_T: 13,
  W1_N: 14,
  W2_N: 15,
  W3_N: 16,
  WIH_T: 17,
  X: 18,
  H_ALL: 19,
  U: 20,
  GATES: 21,
  A1: 22,
  A2: 23,
  A3: 24,
  MU: 25,
  LV: 26,
  NLL: 27,
  DOUT: 28,
  DGATE: 29,
  DA1: 30,
  DA2: 31,
  DA3: 32,
  SCRATCH: 33,
  SCRATCH_BYTES: 34,
  WORK: 35,
} as const;
type CtxField = (typeof Ctx)[keyof typeof Ctx];

const align64 = (n: number): number => Math.ceil(n / 64) * 64;

/** float32 elements per sequence of each activation array at sequence length T (training; forecast uses the first 5) */
function activationFloats(c: ModelConfig, T: number, train: boolean): [CtxField, number][] {
  const { hidden: H, mlp: M, features: F } = c;
  const always: [CtxField, number][] = [
    [Ctx.X, T * F],
    [Ctx.U, T * F],
    [Ctx.MU, T + 1],
    [Ctx.LV, T + 1],
    [Ctx.NLL, 2],
  ];
  if (!train) return always;
  return [
    ...always,
    [Ctx.H_ALL, (T + 1) * hiddenStride(H)],
    [Ctx.GATES, T * 6 * H],
    [Ctx.A1, T * M],
    [Ctx.A2, T * M],
    [Ctx.A3, T * M],
    [Ctx.DOUT, 2 * T],
    // the gate gradients in panels of 12 columns per part (assembly/forecaster/index.ts gatePanels); whole blocks of
    // rows are added by layout()
    [Ctx.DGATE, T * (Math.ceil((3 * H) / 12) + Math.ceil(H / 12)) * 12],
    [Ctx.DA1, T * M],
    [Ctx.DA2, T * M],
    [Ctx.DA3, T * M],
  ];
}

/** rows of h lie this many floats apart in the training activations (assembly/forecaster/index.ts hiddenStride) */
function hiddenStride(H: number): number {
  const lines = Math.ceil(H / 16);
  return (lines % 2 === 1 ? lines : lines + 1) * 16;
}

/** bytes of activations per sequence in a training chunk of length T */
export function cpuBytesPerRow(c: ModelConfig, T: number): number {
  return activationFloats(c, T, true).reduce((s, [, n]) => s + n * 4, 0);
}

// rows per thread of a forecast chunk: keeps each thread's [rows, H] operands in its L2 cache
const FORECAST_ROWS_PER_THREAD = 256;

export async function createCpuEngine(config: ModelConfig, opts: CpuEngineOptions = {}): Promise<CpuForecaster> {
  for (const k of ['hidden', 'mlp', 'features'] as const) {
    const v = config[k];
    if (!Number.isInteger(v) || v < 1 || v > 65536) {
      throw new DpmError(`model config: ${k} must be a positive integer, got ${v}`);
    }
  }
  const threads = opts.threads ?? os.availableParallelism();
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new DpmError(`--threads: expected a whole number from 1 to 256, got ${threads}`);
  }
  const simd = resolveSimd(opts.simd ?? 'auto');
  const debug = opts.debug ?? false;
  const module = forecasterModule(simd, debug);
  const engine = new CpuForecaster({ ...config }, module, simd, threads, debug, opts.workBytes ?? 2 ** 29);
  await engine.start();
  return engine;
}

export class CpuForecaster implements ForecasterEngine {
  readonly description: string;
  private readonly memory: WebAssembly.Memory;
  private readonly ex: ForecasterExports;
  private pool: ThreadPool | undefined;
  private readonly P: number;
  private readonly ctx: number;
  private readonly control: number;
  private readonly params: number;
  private readonly grad: number;
  private readonly m: number;
  private readonly v: number;
  /** first byte of the per-chunk region */
  private readonly dynamic: number;
  private step = 0;
  /** the packed weight panels are out of date */
  private stale = true;

  constructor(
    readonly config: ModelConfig,
    private readonly module: WebAssembly.Module,
    readonly simd: SimdKind,
    readonly threads: number,
    debug: boolean,
    private readonly workBytes: number,
  ) {
    const { hidden: H, mlp: M, features: F } = config;
    this.memory = sharedMemory(2 ** 20);
    this.ex = instantiate(module, this.memory);
    this.P = paramCount(config);
    if (this.ex.paramCount(H, M, F) !== this.P) throw new Error('internal: the wasm parameter layout is not params.ts');
    if (this.ex.hiddenStride(H) !== hiddenStride(H)) throw new Error('internal: the wasm row stride of h differs');
    let top = align64(this.ex.heapBase());
    const take = (bytes: number): number => {
      const at = top;
      top = align64(top + bytes);
      return at;
    };
    this.control = take(CTL_INTS * 4);
    this.ctx = take(this.ex.CTX_FIELDS.value * 4);
    this.params = take(this.P * 4);
    this.grad = take(this.P * 4);
    this.m = take(this.P * 4);
    this.v = take(this.P * 4);
    const pf = (K: number, N: number) => this.ex.packedFloats(K, N) * 4;
    const packed: [CtxField, number][] = [
      [Ctx.WHH_T, pf(H, 3 * H)],
      [Ctx.WHH_N, pf(3 * H, H)],
      [Ctx.W1_T, pf(H, M)],
      [Ctx.W2_T, pf(M, M)],
      [Ctx.W3_T, pf(M, M)],
      [Ctx.W1_N, pf(M, H)],
      [Ctx.W2_N, pf(M, M)],
      [Ctx.W3_N, pf(M, M)],
      [Ctx.WIH_T, 3 * H * F * 4],
    ];
    this.ensure(top);
    const ctx = this.ctxView();
    ctx.fill(0);
    for (const [field, bytes] of packed) ctx[field] = take(bytes);
    ctx[Ctx.H] = H;
    ctx[Ctx.M] = M;
    ctx[Ctx.F] = F;
    ctx[Ctx.PARAMS] = this.params;
    ctx[Ctx.GRAD] = this.grad;
    this.dynamic = top;
    this.ensure(top);
    const kind = debug ? 'debug build' : simd;
    this.description = `WebAssembly SIMD (${kind}), ${threads} thread${threads === 1 ? '' : 's'}`;
  }

  async start(): Promise<void> {
    this.pool = await ThreadPool.start(this.ex, this.module, this.memory, this.control, this.threads);
  }

  /** training chunks: as many sequences as fit workBytes of activations */
  maxBatch(T: number): number {
    if (!Number.isInteger(T) || T < 1) throw new DpmError(`sequence length must be a positive integer, got ${T}`);
    return Math.max(1, Math.floor(this.workBytes / cpuBytesPerRow(this.config, T)));
  }

  async setParams(packed: Float32Array): Promise<void> {
    if (packed.length !== this.P) {
      const shape = JSON.stringify(this.config);
      throw new DpmError(`parameters: expected ${this.P} values for ${shape}, got ${packed.length}`);
    }
    this.f32(this.params, this.P).set(packed);
    this.stale = true;
  }
  async getParams(): Promise<Float32Array> {
    return this.f32(this.params, this.P).slice();
  }
  async getOptimizerState(): Promise<OptimizerState> {
    return { step: this.step, m: this.f32(this.m, this.P).slice(), v: this.f32(this.v, this.P).slice() };
  }
  async setOptimizerState(state: OptimizerState | undefined): Promise<void> {
    if (!state) {
      this.step = 0;
      this.f32(this.m, this.P).fill(0);
      this.f32(this.v, this.P).fill(0);
      return;
    }
    checkOptimizerState(state, this.P);
    this.step = state.step;
    this.f32(this.m, this.P).set(state.m);
    this.f32(this.v, this.P).set(state.v);
  }

  async lossAndGrad(
    x: Float32Array,
    B: number,
    T: number,
  ): Promise<{ loss: number; grad: Float32Array; gradNorm: number }> {
    const loss = this.run(x, B, T, true, 'lossAndGrad');
    const { hidden: H, mlp: M, features: F } = this.config;
    const gradNorm = Math.sqrt(this.ex.gradNormSquared(this.grad, H, M, F));
    return { loss, grad: this.f32(this.grad, this.P).slice(), gradNorm };
  }

  async trainStep(
    x: Float32Array,
    B: number,
    T: number,
    opt: AdamOptions,
  ): Promise<{ loss: number; gradNorm: number }> {
    const bad =
      !(opt.lr >= 0) ||
      !(opt.beta1 >= 0 && opt.beta1 < 1) ||
      !(opt.beta2 >= 0 && opt.beta2 < 1) ||
      !(opt.eps > 0) ||
      !(opt.clipNorm > 0);
    if (bad) throw new DpmError(`Adam options out of range: ${JSON.stringify(opt)}`);
    const loss = this.run(x, B, T, true, 'trainStep');
    if (B === 0) return { loss: 0, gradNorm: 0 };
    const { hidden: H, mlp: M, features: F } = this.config;
    const norm = Math.sqrt(this.ex.gradNormSquared(this.grad, H, M, F));
    // torch.nn.utils.clip_grad_norm_: always multiplies by min(1, max_norm / (norm + 1e-6))
    const coef = Number.isFinite(opt.clipNorm) ? Math.min(1, opt.clipNorm / (norm + 1e-6)) : 1;
    this.step += 1;
    const bc1 = 1 - opt.beta1 ** this.step;
    const bc2 = 1 - opt.beta2 ** this.step;
    this.ex.adam(
      this.params,
      this.grad,
      this.m,
      this.v,
      this.P,
      coef,
      0, // no weight decay: the paper's forecaster
      opt.beta1,
      opt.beta2,
      opt.eps,
      opt.lr / bc1,
      Math.sqrt(bc2),
    );
    this.stale = true;
    return { loss, gradNorm: norm };
  }

  async loss(x: Float32Array, B: number, T: number): Promise<number> {
    return this.run(x, B, T, false, 'loss');
  }

  async forecast(x: Float32Array, B: number, T: number): Promise<{ mu: Float32Array; logvar: Float32Array }> {
    const mu = new Float32Array(B * (T + 1));
    const logvar = new Float32Array(B * (T + 1));
    this.run(x, B, T, false, 'forecast', (c0, bc, muT, lvT) => {
      // time-major [T+1, bc] → [B, T+1]
      for (let k = 0; k <= T; k++) {
        for (let b = 0; b < bc; b++) {
          mu[(c0 + b) * (T + 1) + k] = muT[k * bc + b]!;
          logvar[(c0 + b) * (T + 1) + k] = lvT[k * bc + b]!;
        }
      }
    });
    return { mu, logvar };
  }

  destroy(): void {
    this.pool?.destroy();
    this.pool = undefined;
  }

  /**
   * Forward (and, when `train`, BPTT and the weight gradients into grad) over chunks of the batch; returns the summed
   * loss (per sequence in float64, added in sequence order). `outputs` receives each chunk's time-major μ, logvar.
   */
  private run(
    x: Float32Array,
    B: number,
    T: number,
    train: boolean,
    what: string,
    outputs?: (c0: number, bc: number, mu: Float32Array, lv: Float32Array) => void,
  ): number {
    const pool = this.pool;
    if (!pool) throw new Error('CPU engine used after destroy()');
    const F = this.config.features;
    checkInput(x, B, T, F, what);
    if (B === 0) {
      if (train) this.f32(this.grad, this.P).fill(0);
      return 0;
    }
    if (this.stale) {
      this.ex.packWeights(this.ctx);
      this.stale = false;
    }
    const chunk = train ? this.maxBatch(T) : FORECAST_ROWS_PER_THREAD * this.threads;
    let loss = 0;
    for (let c0 = 0; c0 < B; c0 += chunk) {
      const bc = Math.min(chunk, B - c0);
      this.layout(bc, T, train, c0 > 0);
      const ctx = this.ctxView();
      this.f32(ctx[Ctx.X]!, bc * T * F).set(x.subarray(c0 * T * F, (c0 + bc) * T * F));
      this.runPhase(pool, 'forwardBackward');
      if (train) this.runPhase(pool, 'weightGrads');
      const nll = new Float64Array(this.memory.buffer, ctx[Ctx.NLL]!, bc);
      for (let b = 0; b < bc; b++) loss += nll[b]!;
      outputs?.(c0, bc, this.f32(ctx[Ctx.MU]!, (T + 1) * bc), this.f32(ctx[Ctx.LV]!, (T + 1) * bc));
    }
    return loss;
  }

  /** runs a phase on all threads, its work-item counter zeroed */
  private runPhase(pool: ThreadPool, phase: Phase): void {
    this.ctxView()[Ctx.WORK] = 0;
    pool.run(phase, this.ctx);
  }

  /** places the activation arrays of a chunk of bc sequences and the threads' scratch; grows memory as needed */
  private layout(bc: number, T: number, train: boolean, accumulate: boolean): void {
    const { hidden: H, mlp: M, features: F } = this.config;
    const ctx = this.ctxView();
    ctx[Ctx.B] = bc;
    ctx[Ctx.T] = T;
    ctx[Ctx.TRAIN] = train ? 1 : 0;
    ctx[Ctx.ACCUMULATE] = accumulate ? 1 : 0;
    let top = this.dynamic;
    for (const [field, perRow] of activationFloats(this.config, T, train)) {
      ctx[field] = top;
      const floats = field === Ctx.DGATE ? this.ex.gatePanelFloats(T * bc, H) : perRow * bc;
      top = align64(top + floats * 4);
    }
    const scratch = align64(this.ex.scratchBytes(Math.min(bc, this.ex.sequenceItemRows(bc, this.threads)), H, M, F));
    ctx[Ctx.SCRATCH] = top;
    ctx[Ctx.SCRATCH_BYTES] = scratch;
    this.ensure(top + scratch * this.threads);
  }

  private ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    try {
      this.memory.grow(Math.ceil((bytes - have) / 65536));
    } catch {
      throw new DpmError(`CPU engine: cannot reserve ${(bytes / 2 ** 20).toFixed(0)} MiB of wasm memory`);
    }
  }

  /** views are made afresh: a grown shared memory has a new, longer buffer */
  private ctxView(): Int32Array {
    return new Int32Array(this.memory.buffer, this.ctx, this.ex.CTX_FIELDS.value);
  }
  private f32(at: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, at, length);
  }
}

/** the GPU engine's checks and messages (host/gpu/forecaster.ts): shapes, and NaN only in feature 0 */
function checkInput(x: Float32Array, B: number, T: number, F: number, what: string): void {
  if (!Number.isInteger(B) || B < 0) throw new DpmError(`${what}: batch size must be a non-negative integer, got ${B}`);
  if (!Number.isInteger(T) || T < 1) {
    throw new DpmError(`${what}: sequence length must be a positive integer, got ${T}`);
  }
  if (x.length !== B * T * F) {
    throw new DpmError(`${what}: x holds ${x.length} values, expected B·T·F = ${B}·${T}·${F} = ${B * T * F}`);
  }
  for (let i = 0; F > 1 && i < x.length; i += F) {
    for (let f = 1; f < F; f++) {
      if (Number.isNaN(x[i + f]!)) {
        const b = Math.floor(i / F / T),
          k = (i / F) % T;
        throw new DpmError(`${what}: feature ${f} of sequence ${b}, step ${k} is NaN (only feature 0 may be missing)`);
      }
    }
  }
}
