// The landslide scene simulator (`dpm simulate --kind landslide`): a papers/003-style datacube with known truth.
//
//   terrain        a DEM of random sinusoidal ridges (wavelengths 250–1200 m) on a 10 m UTM grid near Hokkaido
//                  (EPSG 32654); slope, aspect and curvature from host/raster/terrain.ts
//   land cover     forest on slopes, grass on gentle ground, bare rock on the steepest, water in flat lows, a few
//                  built-up blocks on flat ground
//   landslides     susceptibility = logistic(0.25 (slope − 30°) − 400 m · curvature) (steep hollows fail first);
//                  seeds drawn by susceptibility on forest and grass run downslope (following the aspect) 6–25 px
//                  with a width of 2–6 px until the mask covers `share` of the scene; triggered between timestep
//                  eventIndex and eventIndex + 1
//   acquisitions   alternating ascending/descending passes every 6 days (each orbit every 12 days)
//   backscatter    γ0 in dB = land-cover level (VV/VH) + seasonal sine (amplitude per cover) + a static per-pixel
//                  texture + the orbit's view of the slope (6 dB × sin(slope)·cos(aspect − azimuth to the sensor))
//                  + a region-wide weather term per pass; then multiplicative speckle, Gamma with LOOKS looks
//                  (mean 1). After the event, scar pixels lose their cover: VV and VH drop by a per-landslide amount
//                  (VV −3 ± 1.5 dB, VH −2 ± 1.5 dB), lose the seasonal term, and recover with a 200-day time constant
//   coherence      per consecutive pass of the same orbit (12 days): the true γ of the cover times a per-pair weather
//                  factor; scars decorrelate in the co-event pair (γ × 0.2) and are bare soil after it (γ 0.6);
//                  estimated from COHERENCE_LOOKS circular Gaussian samples, so it is biased and noisy as real
//                  coherence; the interferogram is the phase of the same estimate
//   truth          `landslides` (1 = scar) on the grid
// Same seed, same cube: every part draws from its own named stream (rng.ts).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DpmError } from '../../core/errors.js';
import type { Feedback } from '../../core/feedback.js';
import { withOutputPolicy, withOutputs } from '../../io/outputs.js';
import { terrain } from '../../raster/terrain.js';
import type { GeoTransform } from '../../raster/types.js';
import { writeZarrV2, type ZarrV2Variable } from '../../raster/zarr-write.js';
import { isZarr } from '../../raster/zarr.js';
import { dayNumber, dayOfYear, formatDay } from './dates.js';
import { SimRng } from './rng.js';

export interface LandslideOptions {
  seed: number;
  /** cube columns and rows (10 m pixels) */
  width: number;
  height: number;
  /** number of passes (timesteps), alternating ascending/descending */
  dates: number;
  /** the event lies between timestep eventIndex and eventIndex + 1; default dates − 7 (6 post-event passes) */
  eventIndex?: number;
}

export const LANDSLIDE_DEFAULTS = { seed: 1, width: 128, height: 128, dates: 30 } as const;
/** speckle looks of the RTC backscatter (Sentinel-1 IW GRD at 10 m has an ENL of about 4–5) */
export const LOOKS = 5;
/** samples per coherence estimate */
export const COHERENCE_LOOKS = 15;
/** pixel size in metres */
export const PIXEL_M = 10;
/** target landslide share of the scene (papers/003: about 9 % in Hokkaido) */
export const LANDSLIDE_SHARE = 0.08;
const FIRST_DAY = '20180705';
const ORIGIN: [number, number] = [530_000, 4_730_000]; // UTM 54N, Iburi (Hokkaido)

const COVERS = ['forest', 'grass', 'bare', 'water', 'urban'] as const;
type Cover = 0 | 1 | 2 | 3 | 4;
// γ0 levels in dB (VV, VH), seasonal amplitudes (dB) and 12-day coherence per cover
const LEVEL_DB: Record<Cover, [number, number]> = {
  0: [-7.5, -13],
  1: [-10, -17],
  2: [-11, -20],
  3: [-21, -28],
  4: [-3, -10],
};
const SEASON_DB: Record<Cover, [number, number]> = { 0: [0.6, 1], 1: [1.5, 2], 2: [0.2, 0.2], 3: [0, 0], 4: [0, 0] };
const GAMMA: Record<Cover, number> = { 0: 0.25, 1: 0.45, 2: 0.7, 3: 0.05, 4: 0.8 };

export interface LandslideScene {
  width: number;
  height: number;
  dates: string[];
  orbits: ('ascending' | 'descending')[];
  eventIndex: number;
  eventDate: string;
  geoTransform: GeoTransform;
  epsg: number;
  dem: Float32Array;
  slope: Float32Array;
  aspect: Float32Array;
  curvature: Float32Array;
  cover: Uint8Array;
  landslides: Uint8Array;
  /** [T, H, W] linear γ0 */
  vv: Float32Array;
  vh: Float32Array;
  /** consecutive same-orbit pairs: indices into dates */
  pairs: [number, number][];
  /** [P, H, W] */
  coherence: Float32Array;
  interferogram: Float32Array;
  landslideCount: number;
}

export function checkLandslideOptions(o: LandslideOptions): Required<LandslideOptions> {
  const whole = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw new DpmError(`simulate --kind landslide: --${name} must be a whole number in [${lo}, ${hi}], got ${v}`);
  };
  whole('seed', o.seed, 0, 0xffffffff);
  whole('width', o.width, 32, 4096);
  whole('height', o.height, 32, 4096);
  whole('dates', o.dates, 10, 400);
  const eventIndex = o.eventIndex ?? o.dates - 7;
  // the GRU needs ≥ 2 pre-event passes per orbit, the early-detection table 4 post-event passes
  whole('event-index', eventIndex, 4, o.dates - 5);
  return { ...o, eventIndex };
}

/** Sum of random sinusoidal ridges: smooth, anisotropic, slopes up to ~45°. */
function makeDem(W: number, H: number, seed: number): Float32Array {
  const rng = new SimRng(seed, 'landslide:dem');
  const waves = Array.from({ length: 7 }, () => {
    const lambda = rng.range(250, 1200);
    const th = rng.range(0, Math.PI);
    const k = (2 * Math.PI) / lambda;
    return { kx: k * Math.cos(th), ky: k * Math.sin(th), a: lambda * rng.range(0.02, 0.06), ph: rng.range(0, 6.3) };
  });
  const dem = new Float32Array(W * H);
  for (let r = 0; r < H; r++)
    for (let c = 0; c < W; c++) {
      let z = 300;
      for (const w of waves) z += w.a * Math.sin(w.kx * c * PIXEL_M + w.ky * r * PIXEL_M + w.ph);
      dem[r * W + c] = z;
    }
  return dem;
}

/** A smooth field in [0, 1) (a few random sinusoids) for land-cover patches and textures. */
function smoothField(W: number, H: number, rng: SimRng, lambdaMin: number, lambdaMax: number): Float64Array {
  const waves = Array.from({ length: 5 }, () => {
    const k = (2 * Math.PI) / rng.range(lambdaMin, lambdaMax);
    const th = rng.range(0, 2 * Math.PI);
    return { kx: k * Math.cos(th), ky: k * Math.sin(th), ph: rng.range(0, 6.3) };
  });
  const f = new Float64Array(W * H);
  for (let i = 0; i < W * H; i++) {
    const r = Math.floor(i / W),
      c = i % W;
    let s = 0;
    for (const w of waves) s += Math.sin(w.kx * c + w.ky * r + w.ph);
    f[i] = 0.5 + s / (2 * waves.length);
  }
  return f;
}

/** Gamma(L, 1/L) speckle for integer L: the mean of L unit exponentials. */
function speckle(rng: SimRng): number {
  let s = 0;
  for (let k = 0; k < LOOKS; k++) s -= Math.log(1 - rng.uniform());
  return s / LOOKS;
}

export function simulateLandslides(options: LandslideOptions): LandslideScene {
  const o = checkLandslideOptions(options);
  const { width: W, height: H, seed } = o;
  const N = W * H;
  const gt: GeoTransform = [ORIGIN[0], PIXEL_M, 0, ORIGIN[1], 0, -PIXEL_M];
  const dem = makeDem(W, H, seed);
  const t = terrain({ width: W, height: H, bands: [dem], descriptions: ['dem'], georef: { geoTransform: gt } });
  // the 1-pixel border has no 3 × 3 window: give it its neighbour's values so the cube has no holes
  for (const band of [t.slope, t.aspect, t.curvature]) fillBorder(band, W, H);
  for (let i = 0; i < N; i++) if (Number.isNaN(t.aspect[i]!)) t.aspect[i] = 0;

  // land cover
  const patches = smoothField(W, H, new SimRng(seed, 'landslide:cover'), 20, 60);
  let zSorted = Float32Array.from(dem).sort();
  const zLow = zSorted[Math.floor(0.06 * N)] ?? 0;
  zSorted = new Float32Array(0);
  const cover = new Uint8Array(N);
  for (let i = 0; i < N; i++) {
    const s = t.slope[i]!;
    const p = patches[i]!;
    cover[i] =
      dem[i]! <= zLow && s < 6 ? 3 : s > 38 ? 2 : s < 8 && p > 0.78 ? 4 : s < 12 || (s < 20 && p < 0.3) ? 1 : 0;
  }

  // landslides
  const rngL = new SimRng(seed, 'landslide:slides');
  const landslides = new Uint8Array(N);
  const slideOf = new Int32Array(N).fill(-1);
  const susceptibility = Float64Array.from(t.slope, (s, i) => {
    const x = 0.25 * (s - 30) - 400 * t.curvature[i]!;
    return cover[i]! <= 1 ? 1 / (1 + Math.exp(-x)) : 0;
  });
  // a loop, not Math.max(...array): spreading a 512 × 512 grid overflows the call stack
  const maxS = susceptibility.reduce((m, v) => Math.max(m, v), 0);
  let count = 0,
    covered = 0;
  for (let attempt = 0; attempt < 50_000 && covered < LANDSLIDE_SHARE * N; attempt++) {
    const i = rngL.int(0, N - 1);
    if (rngL.uniform() * maxS >= susceptibility[i]!) continue;
    const length = rngL.int(6, 25),
      radius = rngL.range(1, 3);
    let r = Math.floor(i / W) + 0.5,
      c = (i % W) + 0.5;
    for (let step = 0; step < length; step++) {
      const k = Math.floor(r) * W + Math.floor(c);
      if (r < 0 || c < 0 || r >= H || c >= W || cover[k]! >= 3 || (step > 3 && t.slope[k]! < 8)) break;
      for (let dr = -Math.ceil(radius); dr <= Math.ceil(radius); dr++)
        for (let dc = -Math.ceil(radius); dc <= Math.ceil(radius); dc++) {
          const rr = Math.floor(r) + dr,
            cc = Math.floor(c) + dc;
          if (rr < 0 || cc < 0 || rr >= H || cc >= W || dr * dr + dc * dc > radius * radius) continue;
          const kk = rr * W + cc;
          if (cover[kk]! >= 3 || landslides[kk]) continue;
          landslides[kk] = 1;
          slideOf[kk] = count;
          covered++;
        }
      const az = (t.aspect[k]! * Math.PI) / 180; // downslope, clockwise from north
      c += Math.sin(az);
      r -= Math.cos(az);
    }
    count++;
  }
  const slideVv = Array.from({ length: count }, () => -3 + 1.5 * rngL.normal());
  const slideVh = Array.from({ length: count }, () => -2 + 1.5 * rngL.normal());

  // acquisitions: alternating orbits every 6 days
  const T = o.dates;
  const day0 = dayNumber(FIRST_DAY);
  const days = Array.from({ length: T }, (_, k) => day0 + 6 * k);
  const dates = days.map(formatDay);
  const orbits = days.map((_, k): 'ascending' | 'descending' => (k % 2 === 0 ? 'ascending' : 'descending'));
  const eventDay = days[o.eventIndex]! + 3;

  // backscatter
  const texture = smoothField(W, H, new SimRng(seed, 'landslide:texture'), 3, 12);
  const rngW = new SimRng(seed, 'landslide:weather');
  const weather = days.map(() => 0.3 * rngW.normal());
  const rngS = new SimRng(seed, 'landslide:speckle');
  const vv = new Float32Array(T * N),
    vh = new Float32Array(T * N);
  for (let k = 0; k < T; k++) {
    const season = Math.sin((2 * Math.PI * (dayOfYear(days[k]!) - 100)) / 365);
    const towardSensor = orbits[k] === 'ascending' ? 270 : 90; // S1 looks right: east when ascending
    const since = days[k]! - eventDay;
    for (let i = 0; i < N; i++) {
      const cv = cover[i]! as Cover;
      const facing =
        Math.sin((t.slope[i]! * Math.PI) / 180) * Math.cos(((t.aspect[i]! - towardSensor) * Math.PI) / 180);
      const common = 6 * facing + 2 * (texture[i]! - 0.5) + weather[k]!;
      const scar = since > 0 && landslides[i] === 1;
      const recovery = scar ? Math.exp(-since / 200) : 0;
      const seasonal = scar ? 1 - recovery : 1;
      const s = slideOf[i]!;
      const dbVv = LEVEL_DB[cv][0] + seasonal * SEASON_DB[cv][0] * season + common + recovery * (slideVv[s] ?? 0);
      const dbVh = LEVEL_DB[cv][1] + seasonal * SEASON_DB[cv][1] * season + common + recovery * (slideVh[s] ?? 0);
      vv[k * N + i] = 10 ** (dbVv / 10) * speckle(rngS);
      vh[k * N + i] = 10 ** (dbVh / 10) * speckle(rngS);
    }
  }

  // coherence of consecutive same-orbit passes
  const pairs: [number, number][] = [];
  for (let k = 0; k + 2 < T; k++) pairs.push([k, k + 2]);
  pairs.sort((a, b) => a[1] - b[1]);
  const rngC = new SimRng(seed, 'landslide:coherence');
  const pairWeather = pairs.map(() => 0.75 + 0.25 * rngC.uniform());
  const P = pairs.length;
  const coherence = new Float32Array(P * N),
    interferogram = new Float32Array(P * N);
  for (const [p, [a, b]] of pairs.entries()) {
    const coEvent = days[a]! < eventDay && eventDay < days[b]!;
    const after = days[a]! > eventDay;
    for (let i = 0; i < N; i++) {
      const g0 = GAMMA[cover[i]! as Cover] * pairWeather[p]!;
      const g = landslides[i] ? (coEvent ? g0 * 0.2 : after ? 0.6 * pairWeather[p]! : g0) : g0;
      const est = sampleCoherence(g, rngC);
      coherence[p * N + i] = est.gamma;
      interferogram[p * N + i] = est.phase;
    }
  }
  return {
    width: W,
    height: H,
    dates,
    orbits,
    eventIndex: o.eventIndex,
    eventDate: formatDay(eventDay),
    geoTransform: gt,
    epsg: 32654,
    dem,
    ...t,
    cover,
    landslides,
    vv,
    vh,
    pairs,
    coherence,
    interferogram,
    landslideCount: count,
  };
}

/** |Σ s1 s2*| / √(Σ|s1|² Σ|s2|²) over COHERENCE_LOOKS circular Gaussian sample pairs of true coherence g. */
function sampleCoherence(g: number, rng: SimRng): { gamma: number; phase: number } {
  let re = 0,
    im = 0,
    p1 = 0,
    p2 = 0;
  const q = Math.sqrt(1 - g * g);
  for (let k = 0; k < COHERENCE_LOOKS; k++) {
    const ar = rng.normal(),
      ai = rng.normal();
    const br = g * ar + q * rng.normal(),
      bi = g * ai + q * rng.normal();
    re += ar * br + ai * bi;
    im += ai * br - ar * bi;
    p1 += ar * ar + ai * ai;
    p2 += br * br + bi * bi;
  }
  return { gamma: Math.hypot(re, im) / Math.sqrt(p1 * p2), phase: Math.atan2(im, re) };
}

function fillBorder(a: Float32Array, W: number, H: number): void {
  for (let c = 0; c < W; c++) {
    a[c] = a[W + Math.min(Math.max(c, 1), W - 2)]!;
    a[(H - 1) * W + c] = a[(H - 2) * W + Math.min(Math.max(c, 1), W - 2)]!;
  }
  for (let r = 0; r < H; r++) {
    a[r * W] = a[r * W + 1]!;
    a[r * W + W - 1] = a[r * W + W - 2]!;
  }
}

const DAY_UNITS = 'days since 1970-01-01';
const UTM54N_WKT =
  'PROJCS["WGS 84 / UTM zone 54N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,' +
  'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433],' +
  'AUTHORITY["EPSG","4326"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],' +
  'PARAMETER["central_meridian",141],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],' +
  'PARAMETER["false_northing",0],UNIT["metre",1],AXIS["Easting",EAST],AXIS["Northing",NORTH],' +
  'AUTHORITY["EPSG","32654"]]';

/** The scene as papers/003 cube variables (xarray's Zarr layout). */
export function landslideCubeVariables(s: LandslideScene): ZarrV2Variable[] {
  const { width: W, height: H } = s;
  const T = s.dates.length,
    P = s.pairs.length;
  const time = { units: DAY_UNITS, calendar: 'proleptic_gregorian' };
  const gt = s.geoTransform;
  /** a float32 variable on the grid: (y, x) or (dim, y, x) */
  const onGrid = (name: string, data: ArrayLike<number>, attrs: Record<string, unknown>, dim?: string) => ({
    name,
    dims: dim ? [dim, 'y', 'x'] : ['y', 'x'],
    shape: dim ? [data.length / (W * H), H, W] : [H, W],
    dtype: '<f4' as const,
    data,
    attrs: { grid_mapping: 'spatial_ref', ...attrs },
  });
  const dayNumbers = (ks: number[]) => ks.map((k) => dayNumber(s.dates[k]!));
  const axis = (n: number, origin: number, step: number) =>
    Array.from({ length: n }, (_, k) => origin + (k + 0.5) * step);
  return [
    onGrid('vv', s.vv, { units: 'gamma0 (linear power)', coordinates: 'sat:orbit_state' }, 'timestep'),
    onGrid('vh', s.vh, { units: 'gamma0 (linear power)', coordinates: 'sat:orbit_state' }, 'timestep'),
    onGrid('coherence', s.coherence, { coordinates: 'timepair_start timepair_end' }, 'timepair'),
    onGrid('interferogram', s.interferogram, { units: 'radians (wrapped phase)' }, 'timepair'),
    onGrid('dem', s.dem, { units: 'm' }),
    onGrid(
      'dem_slope_radians',
      Float32Array.from(s.slope, (v) => (v * Math.PI) / 180),
      { units: 'radians' },
    ),
    onGrid('dem_aspect', s.aspect, { units: 'degrees clockwise from north, downslope' }),
    onGrid('dem_curvature', s.curvature, { units: '1/m, positive = convex' }),
    { ...onGrid('landslides', s.landslides, { flag_values: [0, 1], flag_meanings: 'none landslide' }), dtype: '|u1' },
    {
      name: 'timestep',
      dims: ['timestep'],
      shape: [T],
      dtype: '<i8',
      data: dayNumbers(s.dates.map((_, k) => k)),
      attrs: time,
    },
    { name: 'sat:orbit_state', dims: ['timestep'], shape: [T], dtype: '<U10', data: s.orbits },
    {
      name: 'timepair_start',
      dims: ['timepair'],
      shape: [P],
      dtype: '<i8',
      data: dayNumbers(s.pairs.map(([a]) => a)),
      attrs: time,
    },
    {
      name: 'timepair_end',
      dims: ['timepair'],
      shape: [P],
      dtype: '<i8',
      data: dayNumbers(s.pairs.map(([, b]) => b)),
      attrs: time,
    },
    {
      name: 'x',
      dims: ['x'],
      shape: [W],
      dtype: '<f8',
      data: axis(W, gt[0], gt[1]),
      attrs: { units: 'm', standard_name: 'projection_x_coordinate' },
    },
    {
      name: 'y',
      dims: ['y'],
      shape: [H],
      dtype: '<f8',
      data: axis(H, gt[3], gt[5]),
      attrs: { units: 'm', standard_name: 'projection_y_coordinate' },
    },
    {
      name: 'spatial_ref',
      dims: [],
      shape: [],
      dtype: '<i8',
      data: [0],
      fill: null,
      attrs: { crs_wkt: UTM54N_WKT, spatial_ref: UTM54N_WKT, GeoTransform: gt.join(' ') },
    },
  ];
}

export interface LandslideCubeResult {
  dir: string;
  cube: string;
  scene: string;
  eventDate: string;
  landslideShare: number;
}

/** Whether `sceneFile` is the scene.json of an earlier `simulate --kind landslide` (so its folder is ours). */
function isEarlierLandslideScene(sceneFile: string): boolean {
  try {
    return (JSON.parse(readFileSync(sceneFile, 'utf8')) as { kind?: unknown }).kind === 'landslide';
  } catch {
    return false;
  }
}

/** Simulates and writes `outDir/cube.zarr` and `outDir/scene.json` (all or nothing). */
export async function writeLandslideCube(
  options: LandslideOptions,
  outDir: string,
  fb: Feedback,
): Promise<LandslideCubeResult> {
  const s = simulateLandslides(options);
  let share = 0;
  for (const v of s.landslides) share += v;
  share /= s.landslides.length;
  const cube = join(outDir, 'cube.zarr'),
    sceneFile = join(outDir, 'scene.json');
  // an earlier simulated cube there is replaced as a whole (rename at commit); anything else needs --overwrite
  const eventIso = `${s.eventDate.slice(0, 4)}-${s.eventDate.slice(4, 6)}-${s.eventDate.slice(6, 8)}`;
  const earlier = isEarlierLandslideScene(sceneFile) && existsSync(cube) && isZarr(cube);
  await withOutputPolicy(earlier ? { overwrite: true } : {}, () =>
    withOutputs(async (outs) => {
      writeZarrV2(outs.path(cube, { folder: true }), landslideCubeVariables(s), {
        title: 'dpm simulate --kind landslide',
        event_date: eventIso,
        speckle_looks: LOOKS,
        coherence_looks: COHERENCE_LOOKS,
        seed: options.seed,
      });
      const scene = {
        kind: 'landslide',
        seed: options.seed,
        width: s.width,
        height: s.height,
        dates: s.dates,
        orbits: s.orbits,
        event_index: s.eventIndex,
        event_date: s.eventDate,
        landslides: s.landslideCount,
        landslide_share: share,
        covers: Object.fromEntries(COVERS.map((c, k) => [c, s.cover.filter((v) => v === k).length / s.cover.length])),
        looks: LOOKS,
        coherence_looks: COHERENCE_LOOKS,
      };
      writeFileSync(outs.path(sceneFile), `${JSON.stringify(scene, null, 2)}\n`);
    }, fb),
  );
  fb.log(
    'info',
    `landslide cube ${cube}: ${s.width} × ${s.height}, ${s.dates.length} passes ${s.dates[0]}…${s.dates.at(-1)}, ` +
      `event ${s.eventDate} (${s.dates.length - 1 - s.eventIndex} post-event passes), ${s.landslideCount} landslides ` +
      `covering ${(100 * share).toFixed(1)} %`,
  );
  return { dir: outDir, cube, scene: sceneFile, eventDate: s.eventDate, landslideShare: share };
}
