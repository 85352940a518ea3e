// One GRU step at a time from a stored hidden state: what monitoring needs (host/monitor) and the engines do not
// offer (their forecast starts every sequence from h_0 = 0 and keeps no state). Plain loops over float64 copies of
// the weights, the same arithmetic as reference.ts (which the tests hold it to); states are kept in float32 [N, H].
//
//   decode(h, i)      → [μ, logvar] of pixel i's state (the forecast of the pair after the last one fed)
//   advance(h, u, i)  → h_i := GRU(u_i, h_i), u [N, F] (feature 0 NaN → the state's own μ, as the engines do)
//   run(x, N, T)      → the state after feeding T steps of x [N, T, F] from h_0 = 0
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
      for (let i = 0; i < N; i++) this.advance(h, u, i);
    }
    return h;
  }
}
