// Landslide scores from a backscatter/coherence datacube (papers/003), every one a per-pixel map where higher = more
// likely a landslide, computed after the first n post-event passes (the early-detection axis of papers/003 Fig. 4):
//
//   gru_vv, gru_vh   the GRU forecaster (host/model, any engine) trained on each orbit's pre-event series of
//                    standardised log-backscatter (dB − mean)/sd of that polarisation; its one-step forecast μ, σ of
//                    the orbit's next pass gives z_k = (μ − x_k)/σ for each post-event pass k of that orbit (later
//                    passes of the orbit are scored against the same forecast: feeding them in would teach the model
//                    the change). Per orbit Stouffer Z_o = Σ z_k / √m_o (the sign of a scar's change is the same from
//                    one pass to the next of an orbit, not between orbits: their view of the slope differs), then the
//                    two-sided anomaly √(Σ_o Z_o²)
//   gru_vvvh         √(S_vv² + S_vh²) (measured against max and mean: LandslideScores.combinations)
//   coherence_z      the same GRU on each orbit's logit coherence series; z of the co-event pair (positive = lower
//                    coherence than forecast), orbits whose co-event pair exists after n passes combined by Stouffer
//   gru_combined     √(S_vv² + S_vh² + max(0, Z_coh)²): backscatter anomalies and coherence loss
//   mean_z           as gru_vvvh with each pixel's own pre-event mean and sd (n − 1) per orbit as the forecast: the
//                    per-pixel Gaussian of OPERA DIST-S1 without a learned model (sampleMeanForecast)
//   log_ratio        per orbit, mean dB of its post-event passes among the first n minus the mean dB of as many of
//                    its last pre-event passes (papers/003 averages 1–4 steps before and after); √(mean over orbits,
//                    weighted by passes, of LR²) per polarisation, then √(LR_vv² + LR_vh²)
//   pwtt             Welch's t per pixel, orbit and polarisation between all pre-event passes and the post-event
//                    passes of that orbit (stats.ts; one post pass: the prediction t), as |z| of its two-sided p;
//                    orbits combined by Stouffer; the larger of VV and VH (PWTT takes the max over polarisations)
//   dem_slope        slope in degrees: the terrain-only reference (steep ground fails)
import { DpmError } from '../core/errors.js';
import { stage, type Feedback } from '../core/feedback.js';
import { coherenceToLogit } from '../model/series.js';
import type { Pair } from '../raster/pairs.js';
import type { Georef } from '../raster/types.js';
import { stouffer, welchT, zOfWelch } from './stats.js';

/** A landslide datacube in memory: what the scores read. */
export interface LandslideCube {
  source: string;
  width: number;
  height: number;
  georef: Georef;
  /** acquisition dates YYYYMMDD per timestep, in time order */
  dates: string[];
  /** orbit per timestep ('ascending'/'descending'; '' when unknown: one orbit) */
  orbits: string[];
  /** linear backscatter per timestep (NaN = missing) */
  vv?: Float32Array[];
  vh?: Float32Array[];
  coherence?: { pairs: Pair[]; bands: Float32Array[] };
  /** slope in degrees */
  slope?: Float32Array;
  /** truth: 1 landslide, 0 not, NaN unknown */
  landslides?: Float32Array;
}

/** Trains a forecaster on [N, T] sequences and returns each sequence's one-step forecast (engine chosen above). */
export type ForecastNext = (
  x: Float32Array,
  N: number,
  T: number,
  what: string,
  fb: Feedback,
) => Promise<{ mu: Float32Array; sigma: Float32Array }>;

/** The obvious forecast: each sequence's own mean and standard deviation (n − 1) of its valid values; NaN with < 2. */
export const sampleMeanForecast: ForecastNext = async (x, N, T) => {
  const mu = new Float32Array(N).fill(NaN),
    sigma = new Float32Array(N).fill(NaN);
  for (let i = 0; i < N; i++) {
    let s = 0,
      n = 0;
    for (let t = 0; t < T; t++) {
      const v = x[i * T + t]!;
      if (Number.isNaN(v)) continue;
      s += v;
      n++;
    }
    if (n < 2) continue;
    const m = s / n;
    let ss = 0;
    for (let t = 0; t < T; t++) {
      const v = x[i * T + t]!;
      if (!Number.isNaN(v)) ss += (v - m) ** 2;
    }
    mu[i] = m;
    sigma[i] = Math.sqrt(ss / (n - 1));
  }
  return { mu, sigma };
};

export interface EventSplit {
  /** timestep indices dated on or before the event, in time order */
  pre: number[];
  /** timestep indices after the event, in time order: pass 1, 2, … */
  post: number[];
}

export function splitEvent(cube: LandslideCube, eventDate: string): EventSplit {
  if (!/^\d{8}$/.test(eventDate)) throw new DpmError(`--event-date must be YYYYMMDD, got '${eventDate}'`);
  const unordered = cube.dates.findIndex((d, k) => k > 0 && d < cube.dates[k - 1]!);
  if (unordered > 0)
    throw new DpmError(
      `${cube.source}: timesteps are not in time order (${cube.dates[unordered - 1]} before ${cube.dates[unordered]})`,
    );
  const pre: number[] = [],
    post: number[] = [];
  cube.dates.forEach((d, k) => (d <= eventDate ? pre : post).push(k));
  if (post.length === 0)
    throw new DpmError(`${cube.source}: no pass after the event date ${eventDate} (last ${cube.dates.at(-1)})`);
  if (pre.length < 2)
    throw new DpmError(`${cube.source}: ${pre.length} pass(es) before the event date ${eventDate}; at least 2 needed`);
  return { pre, post };
}

const dB = (v: number) => (v > 0 ? 10 * Math.log10(v) : NaN);

function orbitKeys(cube: LandslideCube): string[] {
  return [...new Set(cube.orbits.length === cube.dates.length ? cube.orbits : cube.dates.map(() => ''))];
}
function orbitOf(cube: LandslideCube, k: number): string {
  return cube.orbits.length === cube.dates.length ? (cube.orbits[k] ?? '') : '';
}

/** Per polarisation: the forecast of each orbit's next pass, and the standardisation it was made in. */
interface PolForecast {
  orbits: string[];
  /** per orbit: μ, σ [N] in standardised dB */
  mu: Float32Array[];
  sigma: Float32Array[];
  mean: number;
  sd: number;
}

async function forecastBackscatter(
  cube: LandslideCube,
  bands: Float32Array[],
  split: EventSplit,
  forecast: ForecastNext,
  what: string,
  fb: Feedback,
): Promise<PolForecast> {
  const N = cube.width * cube.height;
  const orbits = orbitKeys(cube);
  const preOf = orbits.map((o) => split.pre.filter((k) => orbitOf(cube, k) === o));
  const usable = orbits.filter((_, j) => (preOf[j]?.length ?? 0) >= 2);
  if (usable.length === 0) throw new DpmError(`${cube.source}: no orbit has 2 pre-event passes of ${what}`);
  const T = Math.min(...preOf.filter((p) => p.length >= 2).map((p) => p.length));
  // standardisation over every pre-event value: dB of a few −10s would slow the first epochs down
  let s = 0,
    ss = 0,
    n = 0;
  for (const k of split.pre) {
    for (const v of bands[k]!) {
      const d = dB(v);
      if (Number.isNaN(d)) continue;
      s += d;
      ss += d * d;
      n++;
    }
  }
  const mean = s / n,
    sd = Math.sqrt(Math.max(ss / n - mean * mean, 1e-12));
  const x = new Float32Array(usable.length * N * T);
  usable.forEach((o, j) => {
    const ks = preOf[orbits.indexOf(o)]!.slice(-T);
    ks.forEach((k, t) => {
      const b = bands[k]!;
      for (let i = 0; i < N; i++) x[(j * N + i) * T + t] = (dB(b[i]!) - mean) / sd;
    });
  });
  const f = await forecast(x, usable.length * N, T, what, fb);
  return {
    orbits: usable,
    mu: usable.map((_, j) => f.mu.subarray(j * N, (j + 1) * N)),
    sigma: usable.map((_, j) => f.sigma.subarray(j * N, (j + 1) * N)),
    mean,
    sd,
  };
}

interface CoherenceForecast {
  /** per orbit with a co-event pair: z of that pair [N], and the pass index (1-based) that completes it */
  z: Float32Array[];
  completedAt: number[];
}

async function forecastCoherence(
  cube: LandslideCube,
  split: EventSplit,
  eventDate: string,
  forecast: ForecastNext,
  fb: Feedback,
): Promise<CoherenceForecast | undefined> {
  const coh = cube.coherence;
  if (!coh || coh.pairs.length === 0) return undefined;
  const N = cube.width * cube.height;
  const orbitOfDate = new Map(cube.dates.map((d, k) => [d, orbitOf(cube, k)]));
  const orbits = orbitKeys(cube);
  const per = orbits
    .map((o) => {
      const mine = coh.pairs.map((p, k) => ({ p, k })).filter(({ p }) => (orbitOfDate.get(p.first) ?? '') === o);
      const pre = mine.filter(({ p }) => p.second <= eventDate).map(({ k }) => k);
      const co = mine.find(({ p }) => p.first <= eventDate && eventDate < p.second);
      const pass = co ? split.post.findIndex((k) => cube.dates[k] === co.p.second) + 1 : 0;
      return { pre, co: co?.k, pass };
    })
    .filter((o) => o.pre.length >= 2 && o.co !== undefined && o.pass > 0);
  if (per.length === 0) {
    fb.log('warning', `${cube.source}: no orbit has 2 pre-event pairs and a co-event pair: no coherence score`);
    return undefined;
  }
  const T = Math.min(...per.map((o) => o.pre.length));
  const x = new Float32Array(per.length * N * T);
  per.forEach((o, j) =>
    o.pre.slice(-T).forEach((k, t) => {
      const b = coh.bands[k]!;
      for (let i = 0; i < N; i++) x[(j * N + i) * T + t] = coherenceToLogit(b[i]!);
    }),
  );
  const f = await forecast(x, per.length * N, T, 'coherence', fb);
  return {
    z: per.map((o, j) => {
      const b = coh.bands[o.co!]!;
      return Float32Array.from(
        { length: N },
        (_, i) => (f.mu[j * N + i]! - coherenceToLogit(b[i]!)) / f.sigma[j * N + i]!,
      );
    }),
    completedAt: per.map((o) => o.pass),
  };
}

/** Everything the scores need, computed once; `after(n)` then combines the first n post-event passes. */
export interface LandslideScores {
  /** scores after the first n post-event passes (n ≥ 1), by entry name */
  after(n: number): Map<string, Float32Array>;
  /** alternative combinations of the anomalies (the measured choice of gru_vvvh and gru_combined) */
  combinations(n: number): Map<string, Float32Array>;
  /** how many post-event passes there are */
  postPasses: number;
  split: EventSplit;
}

/** Entry names and their descriptions, in report order. */
export const METHODS: readonly { name: string; label: string }[] = [
  { name: 'gru_vv', label: 'GRU VV two-sided anomaly' },
  { name: 'gru_vh', label: 'GRU VH two-sided anomaly' },
  { name: 'gru_vvvh', label: 'GRU VV+VH √(S_vv² + S_vh²)' },
  { name: 'coherence_z', label: 'GRU coherence z (co-event pairs, Stouffer)' },
  { name: 'gru_combined', label: 'GRU VV+VH + coherence loss' },
  { name: 'mean_z', label: 'pre-event mean/sd z, VV+VH (DIST-S1-like, no GRU)' },
  { name: 'log_ratio', label: 'log-ratio post/pre (n passes each)' },
  { name: 'pwtt', label: 'PWTT (Welch t, Stouffer over orbits, max VV/VH)' },
  { name: 'dem_slope', label: 'DEM slope (terrain only)' },
];

export async function landslideScores(
  cube: LandslideCube,
  eventDate: string,
  forecast: ForecastNext,
  fb: Feedback,
): Promise<LandslideScores> {
  const split = splitEvent(cube, eventDate);
  const N = cube.width * cube.height;
  const pols = (['vv', 'vh'] as const).filter((p) => cube[p]);
  if (pols.length === 0) throw new DpmError(`${cube.source}: no vv or vh backscatter`);
  const fc = new Map<string, PolForecast>();
  const fcMean = new Map<string, PolForecast>();
  for (const [j, p] of pols.entries()) {
    const what = p.toUpperCase();
    fc.set(p, await forecastBackscatter(cube, cube[p]!, split, forecast, what, stage(fb, j * 30, j * 30 + 30)));
    fcMean.set(p, await forecastBackscatter(cube, cube[p]!, split, sampleMeanForecast, what, fb));
  }
  const coh = await forecastCoherence(cube, split, eventDate, forecast, stage(fb, 60, 95));

  /** Per polarisation: S after n passes, the log-ratio and the PWTT |z|. */
  const polScores = (p: 'vv' | 'vh', n: number) => {
    const f = fc.get(p)!,
      fm = fcMean.get(p)!;
    const bands = cube[p]!;
    const passes = split.post.slice(0, n);
    const S = new Float32Array(N).fill(NaN);
    const Sm = new Float32Array(N).fill(NaN);
    const lr = new Float32Array(N).fill(NaN);
    const pw = new Float32Array(N).fill(NaN);
    const byOrbit = f.orbits
      .map((o, j) => ({
        j,
        post: passes.filter((k) => orbitOf(cube, k) === o),
        pre: split.pre.filter((k) => orbitOf(cube, k) === o),
      }))
      .filter((o) => o.post.length > 0);
    for (let i = 0; i < N; i++) {
      let s2 = 0,
        sm2 = 0,
        l2 = 0,
        w = 0;
      const pwz: number[] = [];
      for (const o of byOrbit) {
        const postDb = o.post.map((k) => dB(bands[k]![i]!));
        /** Stouffer Z_o of this orbit's post passes against a forecast */
        const stoufferZ = (g: PolForecast) => {
          const mu = g.mu[o.j]![i]!,
            sg = g.sigma[o.j]![i]!;
          let zs = 0;
          for (const d of postDb) zs += (mu - (d - g.mean) / g.sd) / sg;
          return zs / Math.sqrt(postDb.length);
        };
        s2 += stoufferZ(f) ** 2;
        sm2 += stoufferZ(fm) ** 2;
        const preDb = o.pre.map((k) => dB(bands[k]![i]!));
        const m = postDb.length;
        const lrO = mean(postDb) - mean(preDb.slice(-m));
        l2 += m * lrO * lrO;
        w += m;
        // a missing pass shortens the windows instead of blanking the pixel
        pwz.push(zOfWelch(welchT(preDb.filter(Number.isFinite), postDb.filter(Number.isFinite))));
      }
      if (byOrbit.length > 0) {
        S[i] = Math.sqrt(s2);
        Sm[i] = Math.sqrt(sm2);
        lr[i] = Math.sqrt(l2 / w);
        pw[i] = stouffer(pwz);
      }
    }
    return { S, Sm, lr, pw };
  };

  const cohZ = (n: number): Float32Array | undefined => {
    if (!coh) return undefined;
    const ready = coh.completedAt.map((pass, j) => (pass <= n ? j : -1)).filter((j) => j >= 0);
    if (ready.length === 0) return undefined;
    return Float32Array.from({ length: N }, (_, i) => stouffer(ready.map((j) => coh.z[j]![i]!)));
  };

  const parts = (n: number) => {
    if (!Number.isInteger(n) || n < 1) throw new Error(`internal: passes ${n}`);
    const byPol = new Map(pols.map((p) => [p, polScores(p, n)] as const));
    const zero = new Float32Array(N);
    const vv = byPol.get('vv'),
      vh = byPol.get('vh');
    return { vv, vh, zero, coh: cohZ(n) };
  };
  const map2 = (a: Float32Array, b: Float32Array, f: (x: number, y: number) => number) =>
    Float32Array.from(a, (x, i) => f(x, b[i]!));
  const rss = (x: number, y: number) => Math.sqrt(x * x + y * y);

  return {
    split,
    postPasses: split.post.length,
    after(n) {
      const { vv, vh, zero, coh: c } = parts(n);
      const S = map2(vv?.S ?? zero, vh?.S ?? zero, rss);
      const out = new Map<string, Float32Array>();
      if (vv) out.set('gru_vv', vv.S);
      if (vh) out.set('gru_vh', vh.S);
      out.set('gru_vvvh', S);
      if (c) {
        out.set('coherence_z', c);
        out.set(
          'gru_combined',
          map2(S, c, (s, z) => rss(s, Number.isNaN(z) ? 0 : Math.max(0, z))),
        );
      }
      out.set('mean_z', map2(vv?.Sm ?? zero, vh?.Sm ?? zero, rss));
      out.set('log_ratio', map2(vv?.lr ?? zero, vh?.lr ?? zero, rss));
      out.set(
        'pwtt',
        map2(vv?.pw ?? zero, vh?.pw ?? zero, (a, b) => Math.max(a, b)),
      );
      if (cube.slope) out.set('dem_slope', cube.slope);
      return out;
    },
    combinations(n) {
      const { vv, vh, zero, coh: c } = parts(n);
      const a = vv?.S ?? zero,
        b = vh?.S ?? zero;
      const out = new Map<string, Float32Array>([
        ['VV+VH root sum of squares (used)', map2(a, b, rss)],
        ['VV+VH max', map2(a, b, Math.max)],
        ['VV+VH mean', map2(a, b, (x, y) => (x + y) / 2)],
      ]);
      if (c) {
        const S = map2(a, b, rss);
        out.set(
          '+ coherence loss, root sum of squares (used)',
          map2(S, c, (s, z) => rss(s, Math.max(0, z))),
        );
        out.set('+ coherence two-sided, root sum of squares', map2(S, c, rss));
        out.set(
          '+ coherence, sum of anomalies',
          map2(S, c, (s, z) => s + Math.max(0, z)),
        );
      }
      return out;
    },
  };
}

function mean(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}
