// DPM2-style temporal decorrelation index. NOT ARIA's DPM2: ARIA's exact equations (Jung et al. 2016, 2018) are not
// in our papers (notes/dpm-methods.md §3 marks them unverified); this is a documented model in the same spirit.
//
// Model (per pixel, fitted to every pre-event pair k with temporal span Δt_k in days):
//     γ(Δt) = γ0 · [ (1 − ρ) · exp(−Δt/τ) + ρ ]
//   γ0 ∈ [0, 1] — the Δt-independent ("temporally uncorrelated") coherence, the value as Δt → 0;
//   τ > 0     — the e-folding time of the temporally correlated decay, days;
//   ρ ∈ [0, 1] — the long-term floor as a fraction of γ0 (γ∞ = γ0·ρ).
// This is the Rocca (2007) / Parizzi (2009) form written multiplicatively, as the task brief gives it.
// Fit: least squares in γ. For fixed τ the model is linear in A = γ0(1−ρ) and B = γ0ρ (γ = A·e^(−Δt/τ) + B, with
// A, B ≥ 0, A + B ≤ 1), so τ is found by a scan over a log grid followed by golden-section refinement (variable projection).
//
// Noise model for the probability: the pre-event residuals are independent Gaussian with one per-pixel standard
// deviation σ, estimated as sqrt(SSE/(n − 3)) and floored at σ_min. For the co-event pair(s) the residual
// r = γ_obs − γ(Δt) is compared with it: the index is
//     P = T_ν(−r / (σ·sqrt(1 + h))),   ν = n − 3   (Student t: σ itself is estimated from n − 3 degrees of freedom)
// where h = j(Δt)ᵀ(JᵀJ)⁻¹j(Δt) is the leverage of the co-event span (j, J: model gradients in (A, B, τ) at the fit),
// so the uncertainty of the fitted curve at Δt is included to first order (the usual regression prediction interval).
// P is the probability that a natural (undisturbed) coherence would be higher than the one observed; P > 0.5 means the
// co-event coherence is below the model, P → 1 anomalously low. Residuals of pairs that share an acquisition are in
// reality correlated (a wet or windy date lowers every pair holding it); the model ignores that, which makes P
// overconfident on real stacks: on the PyRate Mexico City stack with no event, 35% of pixels exceed 0.75 (25% if the
// noise model were exact). Pixels whose decay finishes before the shortest span leave τ and γ0 unidentified; the
// γ0 ≤ 1 bound keeps them finite and the count of τ at the search edge is reported.
import { DPM2_DEFAULTS, SIGMA_MIN } from '../core/defaults.js';
import { DpmError } from '../core/errors.js';
import { jStat } from '../eval/points/jstat.js';
import type { CoherenceStack } from '../raster/types.js';
import { checkpoint, type Feedback } from '../core/feedback.js';

export const DPM2_NAME = "DPM2-style temporal decorrelation index (not ARIA's DPM2)";

export interface DecorrelationFit {
  gamma0: number;
  tau: number;
  /** ρ: floor as a fraction of γ0 (γ∞ = γ0·ρ) */
  floor: number;
  /** residual standard deviation sqrt(SSE/(n − 3)), before the σ_min floor */
  sigma: number;
  sse: number;
  n: number;
  /** τ hit the edge of the search range: the decay is not resolved by the spans available (τ is a bound) */
  tauAtBound: boolean;
}

export function decorrelationModel(fit: Pick<DecorrelationFit, 'gamma0' | 'tau' | 'floor'>, dt: number): number {
  return fit.gamma0 * ((1 - fit.floor) * Math.exp(-dt / fit.tau) + fit.floor);
}

export interface FitOptions {
  /** τ search range, days */
  tauMin?: number;
  tauMax?: number;
  /** scan points over [tauMin, tauMax] (log-spaced) */
  gridSize?: number;
}

/**
 * Best (A, B) for γ ≈ A·e + B with A ≥ 0, B ≥ 0 and A + B ≤ 1 (γ0 is a coherence), and its SSE, from the sums
 * Σe, Σe², Σγ, Σeγ, Σγ² over n pairs. Without the γ0 ≤ 1 bound, pixels whose decay is complete before the
 * shortest span trade a tiny τ for an unbounded γ0 (seen on the real PyRate stack).
 */
/** γ ≈ a·e + b and its SSE; one object per fit, overwritten by every linearFit call (no allocation per τ). */
interface LinearFit {
  a: number;
  b: number;
  sse: number;
}

function linearFit(se: number, see: number, sg: number, seg: number, sgg: number, n: number, out: LinearFit): void {
  // SSE(A, B) = Σγ² − 2AΣeγ − 2BΣγ + A²Σe² + 2ABΣe + nB²  (convex: the optimum is inside or on an edge)
  const sse = (a: number, b: number) =>
    Math.max(0, sgg - 2 * a * seg - 2 * b * sg + a * a * see + 2 * a * b * se + n * b * b);
  const det = n * see - se * se;
  if (det > 1e-12 * n * see) {
    const a = (n * seg - se * sg) / det;
    const b = (see * sg - se * seg) / det;
    if (a >= 0 && b >= 0 && a + b <= 1) {
      out.a = a;
      out.b = b;
      out.sse = sse(a, b);
      return;
    }
  }
  const clamp = (v: number) => (v > 0 ? (v < 1 ? v : 1) : 0);
  // edges: A = 0; B = 0; A + B = 1 (γ = 1 + A(e − 1))
  const b0 = clamp(sg / n);
  const a1 = see > 0 ? clamp(seg / see) : 0;
  const d2 = see - 2 * se + n;
  const a2 = d2 > 0 ? clamp((seg - se - sg + n) / d2) : 0;
  const s0 = sse(0, b0),
    s1 = sse(a1, 0),
    s2 = sse(a2, 1 - a2);
  if (s0 <= s1 && s0 <= s2) {
    out.a = 0;
    out.b = b0;
    out.sse = s0;
  } else if (s1 <= s2) {
    out.a = a1;
    out.b = 0;
    out.sse = s1;
  } else {
    out.a = a2;
    out.b = 1 - a2;
    out.sse = s2;
  }
}

/**
 * Fits the decorrelation model to n pairs (spans `dt`, coherences `gamma`, both without NaN).
 * Needs n ≥ 4 (three parameters and one degree of freedom for σ). Every sum runs over the DISTINCT spans (a few
 * multiples of the revisit time), so one τ costs a handful of exponentials whatever the number of pairs. `grid`
 * (tauGrid of the same spans, in the same order) is shared by all pixels that have every pair.
 */
export function fitDecorrelation(
  dtIn: ArrayLike<number>,
  gammaIn: ArrayLike<number>,
  opts: FitOptions = {},
  grid?: TauGrid,
): DecorrelationFit {
  const n = dtIn.length;
  if (n < 4) throw new DpmError(`decorrelation fit needs at least 4 pre-event pairs, got ${n}`);
  const g = grid && grid.n === n ? grid : tauGrid(dtIn, opts);
  const nd = g.spans.length;
  // per distinct span: Σγ; and Σγ, Σγ² over all pairs
  const agg = new Float64Array(nd);
  let sg = 0,
    sgg = 0;
  // g.index has one entry per pair (k < n): pair k adds to its span's sum
  g.index.forEach((u, k) => {
    const v = gammaIn[k] ?? NaN;
    agg[u] = (agg[u] ?? 0) + v;
    sg += v;
    sgg += v * v;
  });
  const r: LinearFit = { a: 0, b: 0, sse: 0 };
  let best = 0,
    bestSse = Infinity;
  const m = g.taus.length;
  const table = g.table;
  for (let j = 0; j < m; j++) {
    const row = table.subarray(j * nd, (j + 1) * nd);
    let seg = 0;
    row.forEach((e, u) => {
      seg += e * (agg[u] ?? NaN);
    });
    linearFit(g.se[j] ?? NaN, g.see[j] ?? NaN, sg, seg, sgg, n, r);
    if (r.sse < bestSse) {
      bestSse = r.sse;
      best = j;
    }
  }
  // golden-section refinement on ln τ between the neighbours of the best grid point
  const { spans, counts } = g;
  const evalAt = (lnTau: number): number => {
    const inv = Math.exp(-lnTau);
    let se = 0,
      see = 0,
      seg = 0;
    spans.forEach((span, u) => {
      const e = Math.exp(-span * inv);
      const count = counts[u] ?? 0;
      se += count * e;
      see += count * e * e;
      seg += e * (agg[u] ?? NaN);
    });
    linearFit(se, see, sg, seg, sgg, n, r);
    return r.sse;
  };
  const lnTauAt = (j: number) => Math.log(g.taus[j] ?? NaN);
  let lo = lnTauAt(Math.max(0, best - 1)),
    hi = lnTauAt(Math.min(m - 1, best + 1));
  const R = (Math.sqrt(5) - 1) / 2;
  let c = hi - R * (hi - lo),
    d = lo + R * (hi - lo);
  let fc = evalAt(c),
    fd = evalAt(d);
  // 40 steps shrink the bracket (two grid steps, ~0.14 in ln τ) by 0.618^40 ≈ 4e-9
  for (let it = 0; it < 40 && hi - lo > 1e-10; it++) {
    if (fc <= fd) {
      hi = d;
      d = c;
      fd = fc;
      c = hi - R * (hi - lo);
      fc = evalAt(c);
    } else {
      lo = c;
      c = d;
      fc = fd;
      d = lo + R * (hi - lo);
      fd = evalAt(d);
    }
  }
  let lnTau = (lo + hi) / 2;
  if (evalAt(lnTau) > bestSse) {
    lnTau = lnTauAt(best);
    evalAt(lnTau);
  }
  const tau = Math.exp(lnTau);
  const gamma0 = r.a + r.b;
  return {
    gamma0,
    tau,
    floor: gamma0 > 0 ? r.b / gamma0 : 0,
    sse: r.sse,
    n,
    sigma: Math.sqrt(r.sse / (n - 3)),
    tauAtBound: best === 0 || best === m - 1,
  };
}

export interface TauGrid {
  taus: Float64Array;
  /** number of pairs the grid was made for, the distinct spans, how many pairs have each, and pair → span index */
  n: number;
  spans: Float64Array;
  counts: Float64Array;
  index: Int32Array;
  /** exp(−span_u/τ_j) in row j, and the pair-weighted row sums Σe and Σe² */
  table: Float64Array;
  se: Float64Array;
  see: Float64Array;
}

export function tauGrid(dt: ArrayLike<number>, opts: FitOptions = {}): TauGrid {
  const tauMin = opts.tauMin ?? 1;
  const tauMax = opts.tauMax ?? DPM2_DEFAULTS.tauMax;
  const m = opts.gridSize ?? 120;
  const taus = new Float64Array(m);
  for (let j = 0; j < m; j++) taus[j] = tauMin * (tauMax / tauMin) ** (j / (m - 1));
  const n = dt.length;
  const distinct = [...new Set(Array.from(dt))].sort((x, y) => x - y);
  const spans = Float64Array.from(distinct);
  const pos = new Map(distinct.map((v, u) => [v, u]));
  // every value of dt is a key of pos: pos was built from the same values
  const index = Int32Array.from(Array.from(dt), (v) => pos.get(v) ?? -1);
  const counts = new Float64Array(spans.length);
  for (const u of index) counts[u] = (counts[u] ?? 0) + 1;
  const nd = spans.length;
  const table = new Float64Array(m * nd);
  const se = new Float64Array(m),
    see = new Float64Array(m);
  taus.forEach((tau, j) => {
    let sum = 0,
      sumSq = 0;
    spans.forEach((span, u) => {
      const e = Math.exp(-span / tau);
      const count = counts[u] ?? 0;
      table[j * nd + u] = e;
      sum += count * e;
      sumSq += count * e * e;
    });
    se[j] = sum;
    see[j] = sumSq;
  });
  return { taus, n, spans, counts, index, table, se, see };
}

/** The probability that the co-event coherence is anomalously low (see the header for the noise model). */
export function anomalyProbability(residual: number, sigma: number, dof: number, leverage = 0): number {
  return jStat.studentt.cdf(-residual / (sigma * Math.sqrt(1 + leverage)), dof);
}

/**
 * Leverage j(t)ᵀ(JᵀJ)⁻¹j(t) of span `t` for the fit on spans `dt`, with gradients in (A, B, τ) of A·e^(−Δt/τ) + B.
 * When the decay term vanishes (A ≈ 0: τ unidentifiable) the model is a constant and the leverage is 1/n.
 */
export function leverage(fit: DecorrelationFit, dt: ArrayLike<number>, t: number): number {
  const A = fit.gamma0 * (1 - fit.floor);
  const grad = (x: number): [number, number, number] => {
    const e = Math.exp(-x / fit.tau);
    return [e, 1, (A * e * x) / (fit.tau * fit.tau)];
  };
  // JᵀJ, symmetric: its six distinct entries
  let m00 = 0,
    m01 = 0,
    m02 = 0,
    m11 = 0,
    m12 = 0,
    m22 = 0;
  for (const x of Array.from(dt)) {
    const [g0, g1, g2] = grad(x);
    m00 += g0 * g0;
    m01 += g0 * g1;
    m02 += g0 * g2;
    m11 += g1 * g1;
    m12 += g1 * g2;
    m22 += g2 * g2;
  }
  const c00 = m11 * m22 - m12 * m12,
    c01 = m02 * m12 - m01 * m22,
    c02 = m01 * m12 - m02 * m11;
  const c11 = m00 * m22 - m02 * m02,
    c12 = m01 * m02 - m00 * m12,
    c22 = m00 * m11 - m01 * m01;
  const det = m00 * c00 + m01 * c01 + m02 * c02;
  // relative singularity test: the τ column vanishes when A → 0, and e → const when τ ≫ every span
  if (!(A > 1e-6) || !(Math.abs(det) > 1e-12 * m00 * m11 * Math.max(m22, 1e-300))) return 1 / dt.length;
  const g = grad(t);
  const h =
    (g[0] * (c00 * g[0] + c01 * g[1] + c02 * g[2]) +
      g[1] * (c01 * g[0] + c11 * g[1] + c12 * g[2]) +
      g[2] * (c02 * g[0] + c12 * g[1] + c22 * g[2])) /
    det;
  return Number.isFinite(h) && h >= 0 ? h : 1 / dt.length;
}

// ───────────────────────────── whole stacks ─────────────────────────────

export interface Dpm2Options extends FitOptions {
  /** YYYYMMDD; an acquisition dated on the event day counts as pre-event */
  eventDate: string;
  /** pixels with fewer valid pre-event pairs get NaN */
  minPairs?: number;
  sigmaMin?: number;
  /** 'shortest': the co-event pair(s) of shortest span (ARIA-like); 'all': mean residual of every co-event pair */
  coEvent?: 'shortest' | 'all';
}

export interface Dpm2Result {
  probability: Float32Array;
  gamma0: Float32Array;
  tau: Float32Array;
  floor: Float32Array;
  sigma: Float32Array;
  /** mean co-event residual γ_obs − γ_model */
  residual: Float32Array;
  preCount: Float32Array;
  prePairs: number;
  coPairs: { first: string; second: string }[];
  masked: number;
  /** fitted pixels whose τ ended on the edge of the search range (decay not resolved by the spans available) */
  tauAtBound: number;
}

export function dayNumber(yyyymmdd: string, what: string): number {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(yyyymmdd.trim());
  const [, y = '', mo = '', d = ''] = m ?? [];
  const t = m ? Date.UTC(+y, +mo - 1, +d) : NaN;
  if (!m || Number.isNaN(t) || new Date(t).getUTCDate() !== +d)
    throw new DpmError(`${what}: '${yyyymmdd}' is not a date (YYYYMMDD or YYYY-MM-DD)`);
  return t / 86_400_000;
}

/** Fits every pixel; yields between blocks of pixels so that Ctrl-C is heard (checkpoint). */
export async function dpm2Stack(stack: CoherenceStack, o: Dpm2Options, fb: Feedback): Promise<Dpm2Result> {
  const what = stack.source ?? 'pair stack';
  const ev = dayNumber(o.eventDate, '--event-date');
  const minPairs = Math.max(4, o.minPairs ?? DPM2_DEFAULTS.minPairs);
  const sigmaMin = o.sigmaMin ?? SIGMA_MIN;
  /** one band of the stack: its pair, its span in days and its values */
  interface Band {
    pair: { first: string; second: string };
    span: number;
    values: Float32Array;
  }
  const pre: Band[] = [],
    co: Band[] = [];
  stack.pairs.forEach((pair, k) => {
    const a = dayNumber(pair.first, `${what} band ${k + 1}`),
      b = dayNumber(pair.second, `${what} band ${k + 1}`);
    if (!(b > a))
      throw new DpmError(`${what}: band ${k + 1} pair ${pair.first}_${pair.second} does not go forward in time`);
    const values = stack.bands[k];
    if (!values) throw new DpmError(`${what}: ${stack.pairs.length} pairs but ${stack.bands.length} bands`);
    if (b <= ev) pre.push({ pair, span: b - a, values });
    else if (a <= ev) co.push({ pair, span: b - a, values });
  });
  if (pre.length < minPairs) {
    throw new DpmError(
      `${what}: ${pre.length} pre-event pair(s) end on or before ${o.eventDate}; the DPM2-style fit needs at least ${minPairs} (compute more pairs with 'dpm coherence --pairs all' or lower --min-pairs)`,
    );
  }
  if (co.length === 0)
    throw new DpmError(`${what}: no pair spans the event date ${o.eventDate} (first ≤ event < second)`);
  let coUsed = co;
  if ((o.coEvent ?? DPM2_DEFAULTS.coEvent) === 'shortest') {
    const s = Math.min(...co.map((c) => c.span));
    coUsed = co.filter((c) => c.span === s);
  }
  const npx = stack.width * stack.height;
  const nan = () => new Float32Array(npx).fill(NaN);
  const res: Dpm2Result = {
    probability: nan(),
    gamma0: nan(),
    tau: nan(),
    floor: nan(),
    sigma: nan(),
    residual: nan(),
    preCount: new Float32Array(npx),
    prePairs: pre.length,
    coPairs: coUsed.map((c) => c.pair),
    masked: 0,
    tauAtBound: 0,
  };
  const preDt = Float64Array.from(pre, (c) => c.span);
  const full = tauGrid(preDt, o);
  const dtBuf = new Float64Array(pre.length),
    gBuf = new Float64Array(pre.length);
  const block = Math.max(1, Math.floor(20_000 / pre.length));
  for (let p = 0; p < npx; p++) {
    if (p % block === 0) {
      await checkpoint(fb);
      fb.progress((100 * p) / npx, 'fitting the decorrelation model');
    }
    let n = 0;
    for (const band of pre) {
      const v = band.values[p] ?? NaN;
      if (Number.isNaN(v)) continue;
      dtBuf[n] = band.span;
      gBuf[n] = v;
      n++;
    }
    res.preCount[p] = n;
    let rsum = 0,
      rn = 0,
      hsum = 0;
    if (n < minPairs) {
      res.masked++;
      continue;
    }
    // pixels with every pair share the precomputed grid; the others build theirs from their own spans
    const fit = fitDecorrelation(dtBuf.subarray(0, n), gBuf.subarray(0, n), o, n === pre.length ? full : undefined);
    for (const band of coUsed) {
      const v = band.values[p] ?? NaN;
      if (Number.isNaN(v)) continue;
      rsum += v - decorrelationModel(fit, band.span);
      hsum += leverage(fit, dtBuf.subarray(0, n), band.span);
      rn++;
    }
    if (fit.tauAtBound) res.tauAtBound++;
    res.gamma0[p] = fit.gamma0;
    res.tau[p] = fit.tau;
    res.floor[p] = fit.floor;
    res.sigma[p] = fit.sigma;
    if (rn === 0) {
      res.masked++;
      continue;
    }
    const r = rsum / rn;
    res.residual[p] = r;
    // the mean residual of several co-event pairs keeps the single-pair noise σ (they share the post-event date,
    // so their errors are far from independent) and the mean leverage
    res.probability[p] = anomalyProbability(r, Math.max(fit.sigma, sigmaMin), n - 3, hsum / rn);
  }
  fb.progress(100);
  return res;
}
