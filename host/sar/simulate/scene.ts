// The simulated scene: land cover, fields, buildings and their damage, the acquisition calendar, weather, and the
// true coherence of every consecutive pair at every SLC pixel. Pure computation (no I/O); writer.ts turns it into
// files. Everything is a deterministic function of the options: each part draws from its own named random stream.
//
// Coherence model (γ of pair k = dates (k, k+1), Δ_k days apart, mid-date day-of-year doy; t = static texture and
// n_k = per-pair texture, both smooth fields in [−1, 1]; W_k = weather factor of the pair):
//   built-up, building footprint : (0.93 + 0.03 t + 0.015 n_k) · e^(−Δ/2000) · W_k      high and steady
//   built-up, streets and yards  : (0.80 + 0.06 t + 0.04 n_k) · e^(−Δ/600) · W_k
//   agriculture                  : field value of the pair + 0.04 t + 0.03 n_k, · W_k   (see fieldCoherence)
//   vegetation                   : (0.36 + 0.10 cos(2π(doy − 20)/365) + 0.07 t + 0.05 n_k) · e^(−(Δ−12)/45) · W_k
//   water                        : 0.02 + 0.02 (t + 1)/2                                 near 0
//   bare rock (ridge)            : (0.84 + 0.04 t + 0.02 n_k) · e^(−Δ/1500) · W_k
// then clipped to [0, 0.98]. In the co-event pair only, the pixels of damaged buildings are multiplied by the
// grade's factor (DAMAGE_FACTOR). Weather never falls on the two co-event dates, so nothing else is special there.
import { consecutivePairs, valueAt } from '../../core/arrays.js';
import { type ChipSize, parseChipSize } from '../../core/chip.js';
import { DEFAULT_CHIP } from '../../core/defaults.js';
import { SimRng } from './rng.js';
import { GridMap, defaultGrid, type RadarGrid } from './geometry.js';
import { acquisitionDays, dayOfYear, formatDay } from './dates.js';
import { CanceledError, DpmError } from '../../core/errors.js';

export const LANDCOVER = { built_up: 1, agriculture: 2, vegetation: 3, water: 4, bare: 5 } as const;
export const LANDCOVER_NAMES: Record<number, string> = {
  1: 'built_up',
  2: 'agriculture',
  3: 'vegetation',
  4: 'water',
  5: 'bare',
};

/** Copernicus EMS damage grades, worst first. */
export const GRADES = ['Destroyed', 'Damaged', 'Possibly damaged', 'No visible damage'] as const;
export type Grade = (typeof GRADES)[number];
/** Grades that count as damaged in the truth mask (the paper groups moderate and worse as "damaged"). */
export const DAMAGED_GRADES: readonly Grade[] = ['Destroyed', 'Damaged'];
/** Co-event coherence factor per grade. "Possibly damaged" loses a little: realistic label noise. */
export const DAMAGE_FACTOR: Record<Grade, number> = {
  Destroyed: 0.1,
  Damaged: 0.3,
  'Possibly damaged': 0.75,
  'No visible damage': 1,
};

// below 120 × 60 some seeds leave too few damaged chips in the area of interest (seen: 90 × 45 always did)
export const MIN_WIDTH = 120;
export const MIN_HEIGHT = 60;
export const MIN_DATES = 3;
export const MAX_SIDE = 8192;
export const MAX_DATES = 400;
/** bound on width·height·pairs: the truth coherence stack is held in memory as float32 (1 GiB) */
export const MAX_TRUTH_SAMPLES = 268_435_456;
export const START_DATE = '20190105';
/** The chip of the paper (15 range × 5 azimuth) used for the AOI checks written to scene.json. */
export const CHIP: ChipSize = parseChipSize(DEFAULT_CHIP, 'chip');
export const DAMAGED_CHIP_FRACTION = 1 / 3;
const DAMAGED_CHIP_FRACTION_DEN = 3;

export interface SimOptions {
  seed: number;
  /** SLC columns (range) */
  width: number;
  /** SLC rows (azimuth) */
  height: number;
  /** number of acquisitions */
  dates: number;
  /** the event lies between dates eventIndex and eventIndex + 1; default dates − 2 (the last pair is co-event) */
  eventIndex?: number;
}

export const DEFAULT_OPTIONS: Required<Omit<SimOptions, 'eventIndex'>> = {
  seed: 1,
  width: 480,
  height: 240,
  dates: 26,
};

export interface Building {
  id: number;
  /** SLC pixel rows [r0, r1) and columns [c0, c1) */
  r0: number;
  r1: number;
  c0: number;
  c1: number;
  grade: Grade;
}

interface Field {
  /** activity probability per 12 days (ploughing, harvest, irrigation: coherence collapses for that pair) */
  pActive: number;
  /** coherence of a quiet 12-day pair on bare soil */
  quiet: number;
  /** coherence of an active pair */
  low: number;
  /** day-of-year of the crop's growth peak (winter crop ≈ 110, summer crop ≈ 200) */
  growthPeak: number;
}

export interface Window {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
}

export function formatWindow(w: Window): string {
  return `${w.r0}:${w.r1},${w.c0}:${w.c1}`;
}

/** Checks the options and fills the default event index; one DpmError naming the parameter otherwise. */
export function checkOptions(o: SimOptions): Required<SimOptions> {
  const whole = (name: string, v: number, lo: number, hi: number): void => {
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new DpmError(`simulate: --${name} must be a whole number in [${lo}, ${hi}], got ${v}`);
    }
  };
  whole('seed', o.seed, 0, 0xffffffff);
  whole('width', o.width, MIN_WIDTH, MAX_SIDE);
  whole('height', o.height, MIN_HEIGHT, MAX_SIDE);
  whole('dates', o.dates, MIN_DATES, MAX_DATES);
  const eventIndex = o.eventIndex ?? o.dates - 2;
  if (!Number.isInteger(eventIndex) || eventIndex < 1 || eventIndex > o.dates - 2) {
    throw new DpmError(
      `simulate: --event-index must be in [1, ${o.dates - 2}] for ${o.dates} dates (the event lies between dates ` +
        `event-index and event-index+1, and at least one pre-event pair is needed), got ${eventIndex}`,
    );
  }
  const samples = o.width * o.height * (o.dates - 1);
  if (samples > MAX_TRUTH_SAMPLES) {
    throw new DpmError(
      `simulate: width × height × (dates − 1) = ${samples} exceeds ${MAX_TRUTH_SAMPLES} (the truth coherence stack is held ` +
        `in memory); make the scene smaller`,
    );
  }
  return { seed: o.seed, width: o.width, height: o.height, dates: o.dates, eventIndex };
}

/** Smooth random field in about [−1, 1]: two octaves of value noise (bilinear with smoothstep) on the ground. */
function smoothField(rng: SimRng, map: GridMap, cellM: number): Float32Array {
  const { width, height } = map.grid;
  // the ground bounding box of the grid
  const corners = [
    map.toGround(-1, -1),
    map.toGround(-1, width),
    map.toGround(height, -1),
    map.toGround(height, width),
  ];
  const e0 = Math.min(...corners.map((p) => p.e));
  const n0 = Math.min(...corners.map((p) => p.n));
  const e1 = Math.max(...corners.map((p) => p.e));
  const n1 = Math.max(...corners.map((p) => p.n));
  const octaves = [
    { cell: cellM, weight: 0.7 },
    { cell: cellM / 3, weight: 0.3 },
  ];
  const out = new Float32Array(width * height);
  for (const { cell, weight } of octaves) {
    const ne = Math.ceil((e1 - e0) / cell) + 2;
    const nn = Math.ceil((n1 - n0) / cell) + 2;
    const lattice = new Float64Array(ne * nn);
    for (let i = 0; i < lattice.length; i++) lattice[i] = 2 * rng.uniform() - 1;
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const g = map.toGround(r, c);
        const x = (g.e - e0) / cell;
        const y = (g.n - n0) / cell;
        const ix = Math.floor(x);
        const iy = Math.floor(y);
        const fx = smoothstep(x - ix);
        const fy = smoothstep(y - iy);
        // the lattice has a cell of margin on every side of the grid: these reads are inside it
        const v00 = valueAt(lattice, iy * ne + ix);
        const v01 = valueAt(lattice, iy * ne + ix + 1);
        const v10 = valueAt(lattice, (iy + 1) * ne + ix);
        const v11 = valueAt(lattice, (iy + 1) * ne + ix + 1);
        const v = (v00 * (1 - fx) + v01 * fx) * (1 - fy) + (v10 * (1 - fx) + v11 * fx) * fy;
        const p = r * width + c;
        out[p] = valueAt(out, p) + weight * v;
      }
    }
  }
  // value noise rarely reaches ±1 after blending: stretch so the field spans about [−1, 1]
  return out.map((v) => Math.max(-1, Math.min(1, v * 1.6)));
}

function smoothstep(x: number): number {
  return x * x * (3 - 2 * x);
}

/** Circular Gaussian bump over the year. */
function seasonalBump(doy: number, peak: number, width: number): number {
  let d = Math.abs(doy - peak) % 365;
  if (d > 182.5) d = 365 - d;
  return Math.exp(-0.5 * (d / width) ** 2);
}

function clip(g: number): number {
  return g < 0 ? 0 : g > 0.98 ? 0.98 : g;
}

interface Ellipse {
  e: number;
  n: number;
  a: number;
  b: number;
  angle: number;
}

function ellipseRadius(el: Ellipse, e: number, n: number): number {
  const ca = Math.cos(el.angle);
  const sa = Math.sin(el.angle);
  const de = e - el.e;
  const dn = n - el.n;
  const u = (de * ca + dn * sa) / el.a;
  const v = (-de * sa + dn * ca) / el.b;
  return Math.sqrt(u * u + v * v);
}

export class Scene {
  readonly options: Required<SimOptions>;
  readonly grid: RadarGrid;
  readonly map: GridMap;
  /** acquisition days since 1970-01-01, and as YYYYMMDD */
  readonly days: number[];
  readonly dates: string[];
  readonly eventDate: string;
  /** land-cover code per SLC pixel (LANDCOVER) */
  readonly landcover: Uint8Array;
  /** building index per pixel, −1 outside buildings */
  readonly buildingOf: Int32Array;
  /** field index per pixel, −1 outside agriculture */
  readonly fieldOf: Int32Array;
  readonly buildings: Building[];
  /** 1 where a building of a DAMAGED_GRADES grade stands, else 0 */
  readonly damageMask: Uint8Array;
  /** time-invariant amplitude per pixel (the speckle is multiplied by it) */
  readonly amplitude: Float32Array;
  /** weather factor per date (1 = dry); a pair's factor is the product of its two dates' */
  readonly weather: number[];
  /** per pair and field: the field's coherence (pairs × fields) */
  private readonly fieldGamma: Float64Array;
  readonly fieldActive: Uint8Array;
  private readonly fields: Field[];
  private readonly texture: Float32Array;
  readonly town: Ellipse;
  readonly damageZones: Ellipse[];
  readonly aoiWindow: Window;
  readonly trainWindow: Window;

  /** `damage: false` gives the same scene without the event's damage (tests compare the two). */
  /** `isCanceled` is polled between rows of the layout, which can take seconds on large scenes. */
  constructor(
    opts: SimOptions,
    private readonly model: { damage?: boolean; isCanceled?: () => boolean } = {},
  ) {
    this.options = checkOptions(opts);
    const { seed, width, height, dates: nDates, eventIndex } = this.options;
    this.grid = defaultGrid(width, height);
    this.map = new GridMap(this.grid);
    const N = width * height;

    // calendar: the last pre-event pair and the co-event pair are both 12 days, so the CCD baseline is fair
    this.days = acquisitionDays(
      START_DATE,
      nDates,
      new SimRng(seed, 'dates'),
      0.15,
      new Set([eventIndex - 1, eventIndex]),
    );
    this.dates = this.days.map(formatDay);
    const [before = NaN, after = NaN] = this.days.slice(eventIndex, eventIndex + 2);
    this.eventDate = formatDay(before + Math.floor((after - before) / 2));

    // weather: a wet (rain, snow) date lowers both pairs that use it, everywhere; never on the co-event dates
    const wrng = new SimRng(seed, 'weather');
    this.weather = this.days.map((_, d) => {
      const u = wrng.uniform();
      const strength = wrng.range(0.5, 0.75);
      return u < 0.12 && d !== eventIndex && d !== eventIndex + 1 ? strength : 1;
    });

    // layout on the ground (metres from the scene centre)
    const extE = width * this.grid.rangeSpacingM;
    const extN = height * this.grid.azimuthSpacingM;
    const lrng = new SimRng(seed, 'layout');
    this.town = {
      e: lrng.range(-0.06, 0.06) * extE,
      n: lrng.range(-0.06, 0.06) * extN,
      a: lrng.range(0.17, 0.2) * extE,
      b: lrng.range(0.12, 0.14) * extN,
      angle: lrng.range(-0.3, 0.3),
    };
    const t = this.town;
    this.damageZones = [
      {
        e: t.e + lrng.range(-0.3, 0.3) * t.a,
        n: t.n + lrng.range(-0.3, 0.3) * t.b,
        a: lrng.range(0.5, 0.65) * t.a,
        b: lrng.range(0.5, 0.65) * t.b,
        angle: lrng.range(0, Math.PI),
      },
    ];
    if (lrng.uniform() < 0.6) {
      this.damageZones.push({
        e: t.e + lrng.range(-0.6, 0.6) * t.a,
        n: t.n + lrng.range(-0.6, 0.6) * t.b,
        a: lrng.range(0.15, 0.25) * t.a,
        b: lrng.range(0.15, 0.25) * t.b,
        angle: lrng.range(0, Math.PI),
      });
    }
    const riverSide = lrng.uniform() < 0.5 ? -1 : 1;
    const riverOffset = riverSide * (t.a * 1.3 + 40);
    const riverWave = { amp: lrng.range(30, 70), len: lrng.range(700, 1400), phase: lrng.range(0, 2 * Math.PI) };
    const waterHalf = lrng.range(10, 16);
    const riparianHalf = lrng.range(45, 70);
    const ridgeAngle = lrng.range(0, 2 * Math.PI);
    const support = Math.hypot(t.a * Math.cos(ridgeAngle), t.b * Math.sin(ridgeAngle));
    const halfExtAlong = 0.5 * Math.hypot(extE * Math.cos(ridgeAngle), extN * Math.sin(ridgeAngle));
    const ridgeDist = Math.max(support + 200, 0.75 * halfExtAlong);
    const hamlets: Ellipse[] = [];
    for (let i = 0; i < 2; i++) {
      const r = lrng.range(50, 90);
      hamlets.push({
        e: lrng.range(-0.45, 0.45) * extE,
        n: lrng.range(-0.45, 0.45) * extN,
        a: r,
        b: r * lrng.range(0.7, 1.3),
        angle: 0,
      });
    }
    const fieldAngle = lrng.range(0.15, 0.6);
    const fieldSize = { u: lrng.range(180, 320), v: lrng.range(140, 240) };

    const trng = new SimRng(seed, 'texture');
    this.texture = smoothField(trng, this.map, 220);
    const townEdge = smoothField(trng, this.map, 150);
    const vegPatch = smoothField(trng, this.map, 300);
    const ampTexture = smoothField(trng, this.map, 120);

    // land cover, field membership
    this.landcover = new Uint8Array(N);
    this.fieldOf = new Int32Array(N).fill(-1);
    const fieldKeys = new Map<string, number>();
    const rowShift = new Map<number, number>(); // jitter: each strip of fields is shifted along its length
    for (let r = 0; r < height; r++) {
      this.checkCanceled();
      for (let c = 0; c < width; c++) {
        const p = r * width + c;
        const g = this.map.toGround(r, c);
        const riverE =
          t.e + riverOffset + riverWave.amp * Math.sin((2 * Math.PI * g.n) / riverWave.len + riverWave.phase);
        const dRiver = Math.abs(g.e - riverE);
        const edge = valueAt(townEdge, p),
          patch = valueAt(vegPatch, p);
        const inTown = ellipseRadius(t, g.e, g.n) < 1 + 0.12 * edge;
        const inHamlet = hamlets.some((h) => ellipseRadius(h, g.e, g.n) < 1 + 0.15 * edge);
        const ridge = g.e * Math.cos(ridgeAngle) + g.n * Math.sin(ridgeAngle) > ridgeDist + 60 * patch;
        let cls: number;
        if (dRiver < waterHalf) cls = LANDCOVER.water;
        else if (inTown || inHamlet) cls = LANDCOVER.built_up;
        else if (dRiver < riparianHalf) cls = LANDCOVER.vegetation;
        else if (ridge) cls = LANDCOVER.bare;
        else if (patch > 0.55) cls = LANDCOVER.vegetation;
        else cls = LANDCOVER.agriculture;
        this.landcover[p] = cls;
        if (cls === LANDCOVER.agriculture) {
          // fields: a rotated grid of strips on the ground, each strip shifted by its own random amount
          const u = g.e * Math.cos(fieldAngle) + g.n * Math.sin(fieldAngle);
          const v = -g.e * Math.sin(fieldAngle) + g.n * Math.cos(fieldAngle);
          const j = Math.floor(v / fieldSize.v);
          let shift = rowShift.get(j);
          if (shift === undefined) {
            shift = new SimRng(seed, `strip:${j}`).uniform() * fieldSize.u;
            rowShift.set(j, shift);
          }
          const i = Math.floor((u + shift) / fieldSize.u);
          const key = `${i},${j}`;
          let f = fieldKeys.get(key);
          if (f === undefined) {
            f = fieldKeys.size;
            fieldKeys.set(key, f);
          }
          this.fieldOf[p] = f;
        }
      }
    }

    // fields' behaviour, in the order fields were met (row-major), each from its own stream
    this.fields = [];
    for (const key of fieldKeys.keys()) {
      const r = new SimRng(seed, `field:${key}`);
      this.fields.push({
        pActive: r.range(0.28, 0.5),
        quiet: r.range(0.65, 0.9),
        low: r.range(0.03, 0.15),
        growthPeak: r.uniform() < 0.6 ? r.range(95, 130) : r.range(180, 215),
      });
    }
    const nPairs = nDates - 1;
    const nFields = this.fields.length;
    this.fieldGamma = new Float64Array(nPairs * nFields);
    this.fieldActive = new Uint8Array(nPairs * nFields);
    const intervals = consecutivePairs(this.days);
    for (const [f, fld] of this.fields.entries()) {
      const r = new SimRng(seed, `field-activity:${f}`);
      for (const [k, [day0, day1]] of intervals.entries()) {
        const dt = day1 - day0;
        const doy = dayOfYear(Math.floor((day0 + day1) / 2));
        // activity peaks at the winter-wheat harvest (early June) and at ploughing/sowing (October–December)
        const p12 = Math.min(
          0.9,
          fld.pActive * (0.6 + 0.6 * seasonalBump(doy, 160, 25) + 0.9 * seasonalBump(doy, 320, 40)),
        );
        const p = 1 - (1 - p12) ** (dt / 12);
        const u = r.uniform();
        const jitter = r.uniform();
        const active = u < p;
        const growth = seasonalBump(doy, fld.growthPeak, 35);
        const quiet = (fld.quiet * (1 - 0.45 * growth)) ** (dt / 12);
        this.fieldGamma[k * nFields + f] = active ? fld.low + 0.12 * jitter : quiet - 0.05 * jitter;
        this.fieldActive[k * nFields + f] = active ? 1 : 0;
      }
    }

    // buildings: strips of 2–4 rows (28–56 m) separated by one street row; 6–16 columns (24–64 m) with 1–3
    // columns (4–12 m) between; a candidate stands only where every pixel is built-up; 8% vacant lots
    const brng = new SimRng(seed, 'buildings');
    this.buildings = [];
    this.buildingOf = new Int32Array(N).fill(-1);
    const grng = new SimRng(seed, 'grades');
    for (let r = 0; r < height; ) {
      const h = brng.int(2, 4);
      let c = brng.int(0, 4);
      while (c < width) {
        const w = brng.int(6, 16);
        const gap = brng.int(1, 3);
        const vacant = brng.uniform() < 0.08;
        const r1 = Math.min(height, r + h);
        const c1 = Math.min(width, c + w);
        if (!vacant && r1 - r >= 2 && c1 - c >= 4 && this.allBuiltUp(r, r1, c, c1)) {
          const centre = this.map.toGround((r + r1 - 1) / 2, (c + c1 - 1) / 2);
          const grade = this.drawGrade(grng, centre.e, centre.n);
          const id = this.buildings.length;
          this.buildings.push({ id, r0: r, r1, c0: c, c1, grade });
          for (let rr = r; rr < r1; rr++) this.buildingOf.fill(id, rr * width + c, rr * width + c1);
        }
        c += w + gap;
      }
      r += h + 1;
    }
    this.damageMask = new Uint8Array(N);
    for (const b of this.buildings) {
      if (!DAMAGED_GRADES.includes(b.grade)) continue;
      for (let rr = b.r0; rr < b.r1; rr++) this.damageMask.fill(1, rr * width + b.c0, rr * width + b.c1);
    }

    // amplitude: class brightness × smooth texture; buildings are bright (double bounce), water dark
    const base: Record<number, number> = { 1: 90, 2: 45, 3: 60, 4: 8, 5: 80 };
    this.amplitude = new Float32Array(N);
    for (let p = 0; p < N; p++) {
      const b = valueAt(this.buildingOf, p) >= 0 ? 220 : (base[valueAt(this.landcover, p)] ?? NaN);
      this.amplitude[p] = b * Math.exp(0.35 * valueAt(ampTexture, p));
    }

    // windows: training = whole scene (stride = chip); AOI = the town's bounding box grown by 25% on each side,
    // which takes in the fields around the town (where single-pair change detection goes wrong)
    let tr0 = height,
      tr1 = 0,
      tc0 = width,
      tc1 = 0;
    for (let r = 0; r < height; r++) {
      this.checkCanceled();
      for (let c = 0; c < width; c++) {
        const g = this.map.toGround(r, c);
        if (ellipseRadius(t, g.e, g.n) < 1) {
          tr0 = Math.min(tr0, r);
          tr1 = Math.max(tr1, r + 1);
          tc0 = Math.min(tc0, c);
          tc1 = Math.max(tc1, c + 1);
        }
      }
    }
    if (tr1 <= tr0) throw new Error('internal: the simulated town has no pixels');
    const gr = Math.round(0.25 * (tr1 - tr0));
    const gc = Math.round(0.25 * (tc1 - tc0));
    this.aoiWindow = {
      r0: Math.max(0, tr0 - gr),
      r1: Math.min(height, tr1 + gr),
      c0: Math.max(0, tc0 - gc),
      c1: Math.min(width, tc1 + gc),
    };
    this.trainWindow = { r0: 0, r1: height, c0: 0, c1: width };
  }

  private allBuiltUp(r0: number, r1: number, c0: number, c1: number): boolean {
    const w = this.grid.width;
    for (let r = r0; r < r1; r++) {
      for (let c = c0; c < c1; c++) if (this.landcover[r * w + c] !== LANDCOVER.built_up) return false;
    }
    return true;
  }

  private drawGrade(rng: SimRng, e: number, n: number): Grade {
    const u = rng.uniform(); // always one draw per building, so grades do not shift each other
    const d = Math.min(...this.damageZones.map((z) => ellipseRadius(z, e, n)));
    // probabilities of Destroyed, Damaged, Possibly damaged (rest: No visible damage)
    const [destroyed, damaged, possibly] = d < 1 ? [0.45, 0.35, 0.1] : d < 1.5 ? [0.08, 0.17, 0.25] : [0.0, 0.02, 0.06];
    if (u < destroyed) return 'Destroyed';
    if (u < destroyed + damaged) return 'Damaged';
    if (u < destroyed + damaged + possibly) return 'Possibly damaged';
    return 'No visible damage';
  }

  get pairs(): number {
    return this.options.dates - 1;
  }

  get fieldCount(): number {
    return this.fields.length;
  }

  /** YYYYMMDD_YYYYMMDD of pair k */
  pairName(k: number): string {
    return `${this.dates[k]}_${this.dates[k + 1]}`;
  }

  /** Weather factor of pair k. */
  pairWeather(k: number): number {
    return valueAt(this.weather, k) * valueAt(this.weather, k + 1);
  }

  /** The field's coherence in pair k (before texture and weather). */
  fieldCoherence(k: number, field: number): number {
    return valueAt(this.fieldGamma, k * this.fields.length + field);
  }

  /** True coherence of pair k at every SLC pixel (row-major); a pure function of the options and k. */
  pairCoherence(k: number, out = new Float32Array(this.grid.width * this.grid.height)): Float32Array {
    if (!(k >= 0 && k < this.pairs)) throw new Error(`internal: pair ${k} outside 0..${this.pairs - 1}`);
    const { seed, eventIndex } = this.options;
    const noise = smoothField(new SimRng(seed, `pair-texture:${k}`), this.map, 400);
    const [day0 = NaN, day1 = NaN] = this.days.slice(k, k + 2);
    const dt = day1 - day0;
    const doy = dayOfYear(Math.floor((day0 + day1) / 2));
    const w = this.pairWeather(k);
    const decBuilding = Math.exp(-dt / 2000);
    const decStreet = Math.exp(-dt / 600);
    const decBare = Math.exp(-dt / 1500);
    const vegLevel = 0.36 + 0.1 * Math.cos((2 * Math.PI * (doy - 20)) / 365);
    const decVeg = Math.exp(-(dt - 12) / 45);
    const nFields = this.fields.length;
    const coEvent = k === eventIndex && this.model.damage !== false;
    for (let p = 0; p < out.length; p++) {
      const t = valueAt(this.texture, p);
      const n = valueAt(noise, p);
      let g: number;
      switch (this.landcover[p]) {
        case LANDCOVER.built_up: {
          const building = this.buildings[valueAt(this.buildingOf, p)]; // buildingOf: -1 off buildings
          if (building) {
            g = (0.93 + 0.03 * t + 0.015 * n) * decBuilding * w;
            if (coEvent) g *= DAMAGE_FACTOR[building.grade];
          } else {
            g = (0.8 + 0.06 * t + 0.04 * n) * decStreet * w;
          }
          break;
        }
        case LANDCOVER.agriculture:
          g = (valueAt(this.fieldGamma, k * nFields + valueAt(this.fieldOf, p)) + 0.04 * t + 0.03 * n) * w;
          break;
        case LANDCOVER.vegetation:
          g = (vegLevel + 0.07 * t + 0.05 * n) * decVeg * w;
          break;
        case LANDCOVER.water:
          g = 0.02 + 0.01 * (t + 1);
          break;
        default:
          g = (0.84 + 0.04 * t + 0.02 * n) * decBare * w;
      }
      out[p] = clip(g);
    }
    return out;
  }

  /**
   * Chips of CHIP size at stride 1 lying wholly inside `win`: how many have a damaged fraction ≥ 1/3 (damaged),
   * how many are undamaged, and how many are mostly agriculture. Uses a summed-area table of the mask.
   */
  private checkCanceled(): void {
    if (this.model.isCanceled?.()) throw new CanceledError();
  }

  chipCounts(win: Window): { damaged: number; undamaged: number; agriculture: number; total: number } {
    const { width } = this.grid;
    const W1 = width + 1;
    const sat = (src: (p: number) => number): Float64Array => {
      const s = new Float64Array((this.grid.height + 1) * W1);
      for (let r = 0; r < this.grid.height; r++) {
        let row = 0;
        for (let c = 0; c < width; c++) {
          row += src(r * width + c);
          s[(r + 1) * W1 + c + 1] = valueAt(s, r * W1 + c + 1) + row;
        }
      }
      return s;
    };
    const dm = sat((p) => valueAt(this.damageMask, p));
    const ag = sat((p) => (this.landcover[p] === LANDCOVER.agriculture ? 1 : 0));
    const area = CHIP.range * CHIP.azimuth;
    let damaged = 0,
      undamaged = 0,
      agriculture = 0;
    for (let r = win.r0; r + CHIP.azimuth <= win.r1; r++) {
      for (let c = win.c0; c + CHIP.range <= win.c1; c++) {
        const box = (s: Float64Array): number =>
          valueAt(s, (r + CHIP.azimuth) * W1 + c + CHIP.range) -
          valueAt(s, r * W1 + c + CHIP.range) -
          valueAt(s, (r + CHIP.azimuth) * W1 + c) +
          valueAt(s, r * W1 + c);
        if (box(dm) * DAMAGED_CHIP_FRACTION_DEN >= area)
          damaged++; // exact integer test of fraction ≥ 1/3
        else undamaged++;
        if (box(ag) > 0.5 * area) agriculture++;
      }
    }
    return { damaged, undamaged, agriculture, total: damaged + undamaged };
  }
}
