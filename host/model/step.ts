// One GRU step at a time from a stored hidden state: what monitoring needs (host/monitor) and the engines do not
// offer (their forecast starts every sequence from h_0 = 0 and keeps no state). Plain loops over float64 copies of
// the weights, the same arithmetic as reference.ts (which the tests hold it to); states are kept in float32 [N, H].
//
//   decode(h, i)      → [μ, logvar] of pixel i's state (the forecast of the pair after the last one fed)
//   advance(h, u, i)  → h_i := GRU(u_i, h_i), u [N, F] (feature 0 NaN → the state's own μ, as the engines do)
//   run(x, N, T)      → the state after feeding T steps of x [N, T, F] from h_0 = 0
//   advanceAll / decodeAll over a range of pixels: blocks of 4 pixels share each weight load (about 2× faster in
//   V8), with the very same summation order per pixel as the one-pixel methods, hence bit-identical results.
import { paramLayout, type ModelConfig } from './params.js';

export class GruStepper {
  readonly H: number;
  readonly M: number;
  readonly F: number;
  private readonly wih: Float64Array;
  private readonly whh: Float64Array;
  private readonly bih: Float64Array;
  private readonly bhh: Float64Array;
  private readonly w1: Float64Array;
  private readonly b1: Float64Array;
  private readonly w2: Float64Array;
  private readonly b2: Float64Array;
  private readonly w3: Float64Array;
  private readonly b3: Float64Array;
  private readonly wm: Float64Array;
  private readonly wl: Float64Array;
  private readonly bm: number;
  private readonly bl: number;
  private readonly hv: Float64Array;
  private readonly f1: Float64Array;
  private readonly f2: Float64Array;
  private readonly hNew: Float64Array;
  private readonly fed: Float64Array;

  constructor(
    readonly config: ModelConfig,
    params: Float32Array,
  ) {
    this.H = config.hidden;
    this.M = config.mlp;
    this.F = config.features;
    const w: Record<string, Float64Array> = {};
    for (const s of paramLayout(config)) w[s.name] = Float64Array.from(params.subarray(s.offset, s.offset + s.size));
    const get = (name: string) => w[name]!;
    this.wih = get('rnn.weight_ih_l0');
    this.whh = get('rnn.weight_hh_l0');
    this.bih = get('rnn.bias_ih_l0');
    this.bhh = get('rnn.bias_hh_l0');
    this.w1 = get('dec_fc.0.weight');
    this.b1 = get('dec_fc.0.bias');
    this.w2 = get('dec_fc.2.weight');
    this.b2 = get('dec_fc.2.bias');
    this.w3 = get('dec_fc.4.weight');
    this.b3 = get('dec_fc.4.bias');
    this.wm = get('dec_mean.weight');
    this.wl = get('dec_logvar.weight');
    this.bm = get('dec_mean.bias')[0]!;
    this.bl = get('dec_logvar.bias')[0]!;
    this.hv = new Float64Array(this.H);
    this.f1 = new Float64Array(this.M);
    this.f2 = new Float64Array(this.M);
    this.hNew = new Float64Array(this.H);
    this.fed = new Float64Array(this.F);
    const R = Math.max(3 * this.H, this.M);
    this.x4 = new Float64Array(4 * Math.max(this.H, this.M));
    this.u4 = new Float64Array(4 * this.F);
    this.a4 = new Float64Array(4 * R);
    this.b4 = new Float64Array(4 * R);
  }
  private readonly x4: Float64Array;
  private readonly u4: Float64Array;
  private readonly a4: Float64Array;
  private readonly b4: Float64Array;

  /** advance() for pixels [from, to) */
  advanceAll(h: Float32Array, u: Float32Array, from: number, to: number): void {
    const { H, F, x4, u4, a4: gi, b4: gh, wih, whh, bih, bhh } = this;
    let i = from;
    for (; i + 4 <= to; i += 4) {
      for (let p = 0; p < 4; p++) {
        for (let k = 0; k < H; k++) x4[p * H + k] = h[(i + p) * H + k]!;
        for (let f = 0; f < F; f++) u4[p * F + f] = u[(i + p) * F + f]!;
        if (Number.isNaN(u4[p * F]!)) u4[p * F] = this.decode(h, i + p)[0];
      }
      matvec4(wih, bih, 3 * H, F, u4, gi, false);
      matvec4(whh, bhh, 3 * H, H, x4, gh, false);
      for (let p = 0; p < 4; p++) {
        const o = p * 3 * H;
        for (let g = 0; g < H; g++) {
          const r = 1 / (1 + Math.exp(-(gi[o + g]! + gh[o + g]!)));
          const z = 1 / (1 + Math.exp(-(gi[o + H + g]! + gh[o + H + g]!)));
          const n = Math.tanh(gi[o + 2 * H + g]! + r * gh[o + 2 * H + g]!);
          h[(i + p) * H + g] = (1 - z) * n + z * x4[p * H + g]!;
        }
      }
    }
    for (; i < to; i++) this.advance(h, u, i);
  }

  /** decode() for pixels [from, to): μ and logvar into mu[i − from], logvar[i − from] */
  decodeAll(h: Float32Array, from: number, to: number, mu: Float64Array, logvar: Float64Array): void {
    const { H, M, x4, a4, b4 } = this;
    let i = from;
    for (; i + 4 <= to; i += 4) {
      for (let p = 0; p < 4; p++) for (let k = 0; k < H; k++) x4[p * H + k] = h[(i + p) * H + k]!;
      matvec4(this.w1, this.b1, M, H, x4, a4, true);
      matvec4(this.w2, this.b2, M, M, a4, b4, true);
      matvec4(this.w3, this.b3, M, M, b4, a4, true);
      for (let p = 0; p < 4; p++) {
        let m = this.bm,
          l = this.bl;
        for (let j = 0; j < M; j++) {
          m += this.wm[j]! * a4[p * M + j]!;
          l += this.wl[j]! * a4[p * M + j]!;
        }
        mu[i + p - from] = m;
        logvar[i + p - from] = l;
      }
    }
    for (; i < to; i++) [mu[i - from], logvar[i - from]] = this.decode(h, i);
  }

  /** [μ, logvar] decoded from pixel i's state in h [N, H] */
  decode(h: Float32Array, i: number): [number, number] {
    const { H, M, f1, f2, w1, b1, w2, b2, w3, b3, wm, wl, hv } = this;
    const hk = i * H;
    for (let k = 0; k < H; k++) hv[k] = h[hk + k]!;
    for (let j = 0; j < M; j++) {
      let s = b1[j]!;
      const row = j * H;
      for (let k = 0; k < H; k++) s += w1[row + k]! * hv[k]!;
      f1[j] = s > 0 ? s : 0;
    }
    for (let j = 0; j < M; j++) {
      let s = b2[j]!;
      const row = j * M;
      for (let k = 0; k < M; k++) s += w2[row + k]! * f1[k]!;
      f2[j] = s > 0 ? s : 0;
    }
    let mu = this.bm,
      lv = this.bl;
    for (let j = 0; j < M; j++) {
      let s = b3[j]!;
      const row = j * M;
      for (let k = 0; k < M; k++) s += w3[row + k]! * f2[k]!;
      const a = s > 0 ? s : 0;
      mu += wm[j]! * a;
      lv += wl[j]! * a;
    }
    return [mu, lv];
  }

  /** h_i := GRU(u_i, h_i) for pixel i; u [N, F]; a NaN feature 0 is replaced by the state's own forecast mean */
  advance(h: Float32Array, u: Float32Array, i: number): void {
    const { H, F, hNew, fed, wih, whh, bih, bhh, hv } = this;
    for (let f = 0; f < F; f++) fed[f] = u[i * F + f]!;
    if (Number.isNaN(fed[0]!)) fed[0] = this.decode(h, i)[0];
    const hk = i * H;
    for (let k = 0; k < H; k++) hv[k] = h[hk + k]!;
    for (let g = 0; g < H; g++) {
      let ir = bih[g]!,
        iz = bih[H + g]!,
        inn = bih[2 * H + g]!;
      for (let f = 0; f < F; f++) {
        const v = fed[f]!;
        ir += wih[g * F + f]! * v;
        iz += wih[(H + g) * F + f]! * v;
        inn += wih[(2 * H + g) * F + f]! * v;
      }
      let hr = bhh[g]!,
        hz = bhh[H + g]!,
        hn = bhh[2 * H + g]!;
      const rr = g * H,
        rz = (H + g) * H,
        rn = (2 * H + g) * H;
      for (let k = 0; k < H; k++) {
        const v = hv[k]!;
        hr += whh[rr + k]! * v;
        hz += whh[rz + k]! * v;
        hn += whh[rn + k]! * v;
      }
      const r = 1 / (1 + Math.exp(-(ir + hr)));
      const z = 1 / (1 + Math.exp(-(iz + hz)));
      const n = Math.tanh(inn + r * hn);
      hNew[g] = (1 - z) * n + z * hv[g]!;
    }
    for (let g = 0; g < H; g++) h[hk + g] = hNew[g]!;
  }

  /** The states [N, H] after feeding the T steps of x [N, T, F] from h_0 = 0. */
  run(x: Float32Array, N: number, T: number): Float32Array {
    const { H, F } = this;
    const h = new Float32Array(N * H);
    const u = new Float32Array(N * F);
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < N; i++) for (let f = 0; f < F; f++) u[i * F + f] = x[(i * T + t) * F + f]!;
      this.advanceAll(h, u, 0, N);
    }
    return h;
  }
}

/** out[p·R + j] = b[j] + Σ_k W[j·C + k] x[p·C + k] for 4 vectors p (ReLU when `relu`), summed in k order */
function matvec4(
  W: Float64Array,
  b: Float64Array,
  R: number,
  C: number,
  x: Float64Array,
  out: Float64Array,
  relu: boolean,
): void {
  for (let j = 0; j < R; j++) {
    let s0 = b[j]!,
      s1 = s0,
      s2 = s0,
      s3 = s0;
    const row = j * C;
    for (let k = 0; k < C; k++) {
      const w = W[row + k]!;
      s0 += w * x[k]!;
      s1 += w * x[C + k]!;
      s2 += w * x[2 * C + k]!;
      s3 += w * x[3 * C + k]!;
    }
    if (relu) {
      s0 = s0 > 0 ? s0 : 0;
      s1 = s1 > 0 ? s1 : 0;
      s2 = s2 > 0 ? s2 : 0;
      s3 = s3 > 0 ? s3 : 0;
    }
    out[j] = s0;
    out[R + j] = s1;
    out[2 * R + j] = s2;
    out[3 * R + j] = s3;
  }
}
