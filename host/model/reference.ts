// The slow, obvious float64 forecaster: plain loops over sequences, steps and units, written to be read next to
// ARCHITECTURE.md "Numerics" and fixtures/manifest.json. It is the yardstick for the WGSL engine and the `cpu` device.
//
// Per sequence: h_0 = 0; at step k the decoder reads h_k and predicts (μ_k, logvar_k) for x_k; the GRU then reads
// x_k — or μ_k when x_k is NaN (a constant: no gradient flows through that substitution) — and yields h_{k+1}.
// Loss = Σ over valid steps ½(log 2π + logvar + (x − μ)² e^(−logvar)). Backprop through time, global-norm clipping
// and Adam follow PyTorch 1.13 (manifest.json "clipping", "adam").
import { addAt } from '../core/arrays.js';
import { checkOptimizerState, type AdamOptions, type ForecasterEngine, type OptimizerState } from './engine.js';
import { paramCount, paramLayout, type ModelConfig } from './params.js';

const LOG_2PI = Math.log(2 * Math.PI);

export interface ReferenceOptions {
  /** largest batch per call (the reference has no buffer limit; callers still chunk) */
  maxBatch?: number;
  /** round parameters and Adam moments to float32 after every step, so that a float32 checkpoint resumes exactly */
  storeFloat32?: boolean;
}

interface Offsets {
  wih: number;
  whh: number;
  bih: number;
  bhh: number;
  w1: number;
  b1: number;
  w2: number;
  b2: number;
  w3: number;
  b3: number;
  wm: number;
  bm: number;
  wl: number;
  bl: number;
}

export interface ReferenceResult {
  loss: number;
  /** [B, T+1] forecast-mode outputs (column k from h_k) */
  mu: Float64Array;
  logvar: Float64Array;
  grad?: Float64Array;
}

export class ReferenceEngine implements ForecasterEngine {
  readonly description = 'reference float64 (TypeScript)';
  private readonly batchLimit: number;
  private readonly storeFloat32: boolean;
  private readonly o: Offsets;
  private readonly P: number;
  p: Float64Array;
  private m: Float64Array;
  private v: Float64Array;
  private step = 0;

  constructor(
    readonly config: ModelConfig,
    opts: ReferenceOptions = {},
  ) {
    this.batchLimit = opts.maxBatch ?? 65536;
    this.storeFloat32 = opts.storeFloat32 ?? false;
    const off = Object.fromEntries(paramLayout(config).map((s) => [s.name, s.offset]));
    this.o = {
      wih: off['rnn.weight_ih_l0']!,
      whh: off['rnn.weight_hh_l0']!,
      bih: off['rnn.bias_ih_l0']!,
      bhh: off['rnn.bias_hh_l0']!,
      w1: off['dec_fc.0.weight']!,
      b1: off['dec_fc.0.bias']!,
      w2: off['dec_fc.2.weight']!,
      b2: off['dec_fc.2.bias']!,
      w3: off['dec_fc.4.weight']!,
      b3: off['dec_fc.4.bias']!,
      wm: off['dec_mean.weight']!,
      bm: off['dec_mean.bias']!,
      wl: off['dec_logvar.weight']!,
      bl: off['dec_logvar.bias']!,
    };
    this.P = paramCount(config);
    this.p = new Float64Array(this.P);
    this.m = new Float64Array(this.P);
    this.v = new Float64Array(this.P);
  }

  maxBatch(_T: number): number {
    return this.batchLimit;
  }

  async setParams(packed: Float32Array): Promise<void> {
    this.setParams64(packed);
  }
  setParams64(packed: ArrayLike<number>): void {
    if (packed.length !== this.P) throw new Error(`internal: ${packed.length} parameters, expected ${this.P}`);
    this.p = Float64Array.from(packed);
  }
  async getParams(): Promise<Float32Array> {
    return Float32Array.from(this.p);
  }
  async getOptimizerState(): Promise<OptimizerState> {
    return { step: this.step, m: Float32Array.from(this.m), v: Float32Array.from(this.v) };
  }
  async setOptimizerState(state: OptimizerState | undefined): Promise<void> {
    if (!state) {
      this.step = 0;
      this.m.fill(0);
      this.v.fill(0);
      return;
    }
    checkOptimizerState(state, this.P);
    this.step = state.step;
    this.m = Float64Array.from(state.m);
    this.v = Float64Array.from(state.v);
  }
  /** Adam moments in float64 (tests) */
  moments(): { step: number; m: Float64Array; v: Float64Array } {
    return { step: this.step, m: this.m, v: this.v };
  }

  async lossAndGrad(
    x: Float32Array,
    B: number,
    T: number,
  ): Promise<{ loss: number; grad: Float32Array; gradNorm: number }> {
    const r = this.run(x, B, T, true);
    return { loss: r.loss, grad: Float32Array.from(r.grad!), gradNorm: globalNorm(r.grad!, this.config) };
  }

  async trainStep(
    x: Float32Array,
    B: number,
    T: number,
    opt: AdamOptions,
  ): Promise<{ loss: number; gradNorm: number }> {
    return this.trainStep64(x, B, T, opt);
  }

  /** One clipped Adam step; accepts float64 input (fixture tests). */
  trainStep64(x: ArrayLike<number>, B: number, T: number, opt: AdamOptions): { loss: number; gradNorm: number } {
    const r = this.run(x, B, T, true);
    const g = r.grad!;
    const norm = globalNorm(g, this.config);
    // torch.nn.utils.clip_grad_norm_: always multiplies by min(1, max_norm / (norm + 1e-6))
    const coef = Number.isFinite(opt.clipNorm) ? Math.min(1, opt.clipNorm / (norm + 1e-6)) : 1;
    this.step += 1;
    const bc1 = 1 - opt.beta1 ** this.step;
    const bc2 = 1 - opt.beta2 ** this.step;
    const stepSize = opt.lr / bc1;
    const bc2sqrt = Math.sqrt(bc2);
    const { p, m, v } = this;
    for (let i = 0; i < this.P; i++) {
      const gi = g[i]! * coef;
      m[i] = opt.beta1 * m[i]! + (1 - opt.beta1) * gi;
      v[i] = opt.beta2 * v[i]! + (1 - opt.beta2) * gi * gi;
      p[i] = p[i]! - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / bc2sqrt + opt.eps);
      if (this.storeFloat32) {
        p[i] = Math.fround(p[i]!);
        m[i] = Math.fround(m[i]!);
        v[i] = Math.fround(v[i]!);
      }
    }
    return { loss: r.loss, gradNorm: norm };
  }

  async loss(x: Float32Array, B: number, T: number): Promise<number> {
    return this.run(x, B, T, false).loss;
  }

  async forecast(x: Float32Array, B: number, T: number): Promise<{ mu: Float32Array; logvar: Float32Array }> {
    const r = this.run(x, B, T, false);
    return { mu: Float32Array.from(r.mu), logvar: Float32Array.from(r.logvar) };
  }

  destroy(): void {}

  /**
   * Forward (both modes at once) and, when `withGrad`, backprop through time for the summed loss.
   * x is [B, T, F]; `scored` [B, T] (tests) leaves steps with 0 out of the loss while still feeding their x; returns the loss over valid steps and the forecast-mode outputs [B, T+1].
   */
  run(x: ArrayLike<number>, B: number, T: number, withGrad: boolean, scored?: ArrayLike<number>): ReferenceResult {
    const { hidden: H, mlp: M, features: F } = this.config;
    if (x.length !== B * T * F) throw new Error(`internal: x has ${x.length} values, expected ${B}×${T}×${F}`);
    const p = this.p,
      o = this.o;
    const g = withGrad ? new Float64Array(this.P) : undefined;
    const mu = new Float64Array(B * (T + 1));
    const logvar = new Float64Array(B * (T + 1));
    // per-sequence caches, index [step][unit]
    const h = new Float64Array((T + 1) * H); // h_0 … h_T
    const u = new Float64Array(T * F); // GRU inputs actually fed (x or μ)
    const rG = new Float64Array(T * H),
      zG = new Float64Array(T * H),
      nG = new Float64Array(T * H),
      hn = new Float64Array(T * H);
    const a1 = new Float64Array((T + 1) * M),
      f1 = new Float64Array((T + 1) * M);
    const a2 = new Float64Array((T + 1) * M),
      f2 = new Float64Array((T + 1) * M);
    const a3 = new Float64Array((T + 1) * M),
      f3 = new Float64Array((T + 1) * M);
    const dMu = new Float64Array(T),
      dLv = new Float64Array(T);
    const valid = new Uint8Array(T);
    let loss = 0;

    const decode = (k: number) => {
      const hk = k * H,
        mk = k * M;
      for (let j = 0; j < M; j++) {
        let s = p[o.b1 + j]!;
        for (let i = 0; i < H; i++) s += p[o.w1 + j * H + i]! * h[hk + i]!;
        a1[mk + j] = s;
        f1[mk + j] = s > 0 ? s : 0;
      }
      for (let j = 0; j < M; j++) {
        let s = p[o.b2 + j]!;
        for (let i = 0; i < M; i++) s += p[o.w2 + j * M + i]! * f1[mk + i]!;
        a2[mk + j] = s;
        f2[mk + j] = s > 0 ? s : 0;
      }
      for (let j = 0; j < M; j++) {
        let s = p[o.b3 + j]!;
        for (let i = 0; i < M; i++) s += p[o.w3 + j * M + i]! * f2[mk + i]!;
        a3[mk + j] = s;
        f3[mk + j] = s > 0 ? s : 0;
      }
      let sm = p[o.bm]!,
        sl = p[o.bl]!;
      for (let i = 0; i < M; i++) {
        sm += p[o.wm + i]! * f3[mk + i]!;
        sl += p[o.wl + i]! * f3[mk + i]!;
      }
      return [sm, sl] as const;
    };

    for (let b = 0; b < B; b++) {
      h.fill(0, 0, H);
      for (let k = 0; k <= T; k++) {
        const [m_, lv] = decode(k);
        mu[b * (T + 1) + k] = m_;
        logvar[b * (T + 1) + k] = lv;
        if (k === T) break;
        const xk = x[(b * T + k) * F]!;
        const fed = !Number.isNaN(xk);
        valid[k] = fed && scored?.[b * T + k] !== 0 ? 1 : 0;
        if (valid[k]) {
          const d = xk - m_;
          const e = Math.exp(-lv);
          loss += 0.5 * (LOG_2PI + lv + d * d * e);
          dMu[k] = -d * e;
          dLv[k] = 0.5 * (1 - d * d * e);
        } else {
          dMu[k] = 0;
          dLv[k] = 0;
        }
        // GRU input: x_k, or the model's own forecast mean where x_k is missing; extra features: NaN → 0
        u[k * F] = fed ? xk : m_;
        for (let f = 1; f < F; f++) {
          const v = x[(b * T + k) * F + f]!;
          u[k * F + f] = Number.isNaN(v) ? 0 : v;
        }
        // h_{k+1} = GRU(u_k, h_k), gates r | z | n
        const hp = k * H,
          hq = (k + 1) * H;
        for (let i = 0; i < H; i++) {
          let ir = p[o.bih + i]!,
            iz = p[o.bih + H + i]!,
            inn = p[o.bih + 2 * H + i]!;
          for (let f = 0; f < F; f++) {
            const uf = u[k * F + f]!;
            ir += p[o.wih + i * F + f]! * uf;
            iz += p[o.wih + (H + i) * F + f]! * uf;
            inn += p[o.wih + (2 * H + i) * F + f]! * uf;
          }
          let hr = p[o.bhh + i]!,
            hz = p[o.bhh + H + i]!,
            hnn = p[o.bhh + 2 * H + i]!;
          for (let j = 0; j < H; j++) {
            const hj = h[hp + j]!;
            hr += p[o.whh + i * H + j]! * hj;
            hz += p[o.whh + (H + i) * H + j]! * hj;
            hnn += p[o.whh + (2 * H + i) * H + j]! * hj;
          }
          const r = sigmoid(ir + hr);
          const z = sigmoid(iz + hz);
          const n = Math.tanh(inn + r * hnn);
          rG[hp + i] = r;
          zG[hp + i] = z;
          nG[hp + i] = n;
          hn[hp + i] = hnn;
          h[hq + i] = (1 - z) * n + z * h[hp + i]!;
        }
      }
      if (!g) continue;

      // ---- backward through time ----
      const gh = new Float64Array(H); // dL/dh_{k+1} flowing back from later steps
      const dh = new Float64Array(H);
      const df = new Float64Array(M),
        da = new Float64Array(M);
      // decoder backward at step k: adds dL/dh_k into `out`
      const decBack = (k: number, out: Float64Array) => {
        const mk = k * M,
          hk = k * H;
        const dm = dMu[k]!,
          dl = dLv[k]!;
        addAt(g, o.bm, dm);
        addAt(g, o.bl, dl);
        for (let i = 0; i < M; i++) {
          addAt(g, o.wm + i, dm * f3[mk + i]!);
          addAt(g, o.wl + i, dl * f3[mk + i]!);
          df[i] = dm * p[o.wm + i]! + dl * p[o.wl + i]!;
        }
        // layer 3 (M→M), ReLU'(a) = a > 0 as in torch's threshold_backward
        for (let j = 0; j < M; j++) da[j] = a3[mk + j]! > 0 ? df[j]! : 0;
        df.fill(0);
        for (let j = 0; j < M; j++) {
          const dj = da[j]!;
          addAt(g, o.b3 + j, dj);
          for (let i = 0; i < M; i++) {
            addAt(g, o.w3 + j * M + i, dj * f2[mk + i]!);
            addAt(df, i, p[o.w3 + j * M + i]! * dj);
          }
        }
        for (let j = 0; j < M; j++) da[j] = a2[mk + j]! > 0 ? df[j]! : 0;
        df.fill(0);
        for (let j = 0; j < M; j++) {
          const dj = da[j]!;
          addAt(g, o.b2 + j, dj);
          for (let i = 0; i < M; i++) {
            addAt(g, o.w2 + j * M + i, dj * f1[mk + i]!);
            addAt(df, i, p[o.w2 + j * M + i]! * dj);
          }
        }
        for (let j = 0; j < M; j++) da[j] = a1[mk + j]! > 0 ? df[j]! : 0;
        for (let j = 0; j < M; j++) {
          const dj = da[j]!;
          addAt(g, o.b1 + j, dj);
          for (let i = 0; i < H; i++) {
            addAt(g, o.w1 + j * H + i, dj * h[hk + i]!);
            addAt(out, i, p[o.w1 + j * H + i]! * dj);
          }
        }
      };

      gh.fill(0);
      for (let k = T - 1; k >= 0; k--) {
        // complete dL/dh_{k+1}: its decoder term (h_T is not decoded in training)
        if (k + 1 < T && valid[k + 1]) decBack(k + 1, gh);
        // GRU step k backward: h_{k+1} = (1 − z) n + z h_k
        const hp = k * H;
        dh.fill(0);
        for (let i = 0; i < H; i++) {
          const gi = gh[i]!;
          const r = rG[hp + i]!,
            z = zG[hp + i]!,
            n = nG[hp + i]!,
            hprev = h[hp + i]!;
          const dn = gi * (1 - z);
          const dz = gi * (hprev - n);
          addAt(dh, i, gi * z);
          const dan = dn * (1 - n * n);
          const dr = dan * hn[hp + i]!;
          const dhn = dan * r; // into W_hn h + b_hn (inside the reset product)
          const daz = dz * z * (1 - z);
          const dar = dr * r * (1 - r);
          // input side: W_ih u + b_ih
          addAt(g, o.bih + i, dar);
          addAt(g, o.bih + H + i, daz);
          addAt(g, o.bih + 2 * H + i, dan);
          for (let f = 0; f < F; f++) {
            const uf = u[k * F + f]!;
            addAt(g, o.wih + i * F + f, dar * uf);
            addAt(g, o.wih + (H + i) * F + f, daz * uf);
            addAt(g, o.wih + (2 * H + i) * F + f, dan * uf);
          }
          // hidden side: W_hh h_k + b_hh
          addAt(g, o.bhh + i, dar);
          addAt(g, o.bhh + H + i, daz);
          addAt(g, o.bhh + 2 * H + i, dhn);
          for (let j = 0; j < H; j++) {
            const hj = h[hp + j]!;
            addAt(g, o.whh + i * H + j, dar * hj);
            addAt(g, o.whh + (H + i) * H + j, daz * hj);
            addAt(g, o.whh + (2 * H + i) * H + j, dhn * hj);
            addAt(
              dh,
              j,
              p[o.whh + i * H + j]! * dar + p[o.whh + (H + i) * H + j]! * daz + p[o.whh + (2 * H + i) * H + j]! * dhn,
            );
          }
        }
        gh.set(dh);
      }
      // the prior (prediction 0, from h_0 = 0): parameter gradients only
      if (T > 0 && valid[0]) decBack(0, dh);
    }
    return { loss, mu, logvar, grad: g };
  }
}

export function sigmoid(a: number): number {
  return 1 / (1 + Math.exp(-a));
}

/** torch.nn.utils.clip_grad_norm_'s total norm: the norm of the per-tensor norms. */
export function globalNorm(g: ArrayLike<number>, config: ModelConfig): number {
  let total = 0;
  for (const s of paramLayout(config)) {
    let t = 0;
    for (let i = s.offset; i < s.offset + s.size; i++) t += g[i]! * g[i]!;
    total += t; // (√t)² = t: the norm of the per-tensor norms
  }
  return Math.sqrt(total);
}
