// The simulated scene: land cover, fields, buildings and their damage, the acquisition calendar, weather, and the
// true coherence of every consecutive pair at every SLC pixel. Pure computation (no I/O); simulate.ts turns it into
// files. Everything is a deterministic function of the options: each part draws from its own named random stream.
// Nothing per pixel is held for the whole scene: the constructor keeps the layout (fields, buildings, windows) and
// block(r0, r1) computes any rows' land cover, amplitude and texture, pairCoherenceRows their true coherence.
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
import { SmoothField } from './field.js';
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
export const MAX_SIDE = 100_000;
export const MAX_DATES = 400;
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
  return { seed: o.seed, width: o.width, height: o.height, dates: o.dates, eventIndex };
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

/** The ellipse's radius function (1 on its edge), its rotation's cosine and sine taken once (per-pixel loops). */
function ellipseMeasure(el: Ellipse): (e: number, n: number) => number {
  const ca = Math.cos(el.angle);
  const sa = Math.sin(el.angle);
  return (e, n) => {
    const de = e - el.e;
    const dn = n - el.n;
    const u = (de * ca + dn * sa) / el.a;
    const v = (-de * sa + dn * ca) / el.b;
    return Math.sqrt(u * u + v * v);
  };
}

function ellipseRadius(el: Ellipse, e: number, n: number): number {
  return ellipseMeasure(el)(e, n);
}

/** Pixel rows per block when a scene is computed or written block by block (about 2^20 pixels: tens of MB). */
export function rowsPerBlock(width: number): number {
  return Math.max(8, Math.floor(2 ** 20 / width));
}

/** One block of rows [r0, r1) of the scene, all columns, row-major. */
export interface SceneBlock {
  r0: number;
  r1: number;
  /** land-cover code per pixel (LANDCOVER) */
  landcover: Uint8Array;
  /** field index per pixel, −1 outside agriculture */
  fieldOf: Int32Array;
  /** building index per pixel, −1 outside buildings */
  buildingOf: Int32Array;
  /** 1 where a building of a DAMAGED_GRADES grade stands, else 0 */
  damage: Uint8Array;
  /** time-invariant amplitude (the speckle is multiplied by it) */
  amplitude: Float32Array;
  /** the static texture t of the coherence model */
  texture: Float32Array;
}

interface Layout {
  riverOffset: number;
  riverWave: { amp: number; len: number; phase: number };
  waterHalf: number;
  riparianHalf: number;
  ridgeAngle: number;
  ridgeDist: number;
  hamlets: Ellipse[];
  fieldAngle: number;
  fieldSize: { u: number; v: number };
}

/** Field key of strip j, cell i (numbers, not strings, on the per-pixel path). */
function fieldKey(i: number, j: number): number {
  return (i + 2 ** 25) * 2 ** 26 + (j + 2 ** 25);
}

export class Scene {
  readonly options: Required<SimOptions>;
  readonly grid: RadarGrid;
  readonly map: GridMap;
  /** acquisition days since 1970-01-01, and as YYYYMMDD */
  readonly days: number[];
  readonly dates: string[];
  readonly eventDate: string;
  readonly buildings: Building[];
  /** weather factor per date (1 = dry); a pair's factor is the product of its two dates' */
  readonly weather: number[];
  /** land-cover pixels per class name, in the order classes are first met (row-major) */
  readonly landcoverPixels: Record<string, number> = {};
  /** per pair and field: the field's coherence (pairs × fields) */
  private readonly fieldGamma: Float64Array;
  readonly fieldActive: Uint8Array;
  private readonly fields: Field[];
  /** field index of each field key, numbered in the order fields are first met (row-major) */
  private readonly fieldIndex = new Map<number, number>();
  private readonly fieldNames: string[] = [];
  /** jitter: each strip of fields is shifted along its length */
  private readonly rowShift = new Map<number, number>();
  private readonly layout: Layout;
  private readonly texture: SmoothField;
  private readonly townEdge: SmoothField;
  private readonly vegPatch: SmoothField;
  private readonly ampTexture: SmoothField;
  private whole?: SceneBlock;
  readonly town: Ellipse;
  readonly damageZones: Ellipse[];
  readonly aoiWindow: Window;
  readonly trainWindow: Window;

  /** Rows per block of the layout and chip passes (rowsPerBlock unless a test sets `blockRows`). */
  readonly blockRows: number;

  /** `damage: false` gives the same scene without the event's damage (tests compare the two). `isCanceled` is
   *  polled between blocks of the layout, which takes minutes on frame-sized scenes. */
  constructor(
    opts: SimOptions,
    private readonly model: { damage?: boolean; isCanceled?: () => boolean; blockRows?: number } = {},
  ) {
    this.options = checkOptions(opts);
    const { seed, width, height, dates: nDates, eventIndex } = this.options;
    this.grid = defaultGrid(width, height);
    this.map = new GridMap(this.grid);
    this.blockRows = model.blockRows ?? rowsPerBlock(width);

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
    this.layout = {
      riverOffset,
      riverWave,
      waterHalf,
      riparianHalf,
      ridgeAngle,
      ridgeDist,
      hamlets,
      fieldAngle,
      fieldSize,
    };

    // four static fields, one after the other on the 'texture' stream
    this.texture = new SmoothField(seed, 'texture', this.map, 220);
    this.townEdge = new SmoothField(seed, 'texture', this.map, 150, this.texture.draws);
    this.vegPatch = new SmoothField(seed, 'texture', this.map, 300, this.texture.draws + this.townEdge.draws);
    this.ampTexture = new SmoothField(
      seed,
      'texture',
      this.map,
      120,
      this.texture.draws + this.townEdge.draws + this.vegPatch.draws,
    );

    // one pass over the scene in row blocks: land cover (numbering fields as met), the town's pixel bounding box,
    // and the buildings, strip by strip: strips of 2–4 rows (28–56 m) separated by one street row; 6–16 columns
    // (24–64 m) with 1–3 columns (4–12 m) between; a candidate stands only where every pixel is built-up; 8% vacant
    const townBox = { r0: height, r1: 0, c0: width, c1: 0 };
    const cached: { r0: number; r1: number; landcover: Uint8Array }[] = [];
    let laidOut = 0;
    const layOutTo = (row: number): void => {
      while (laidOut < row) {
        this.checkCanceled();
        const r0 = laidOut;
        const r1 = Math.min(height, r0 + this.blockRows);
        const { landcover } = this.landcoverRows(r0, r1, townBox);
        for (const v of landcover) {
          const name = LANDCOVER_NAMES[v] ?? `class ${v}`;
          this.landcoverPixels[name] = (this.landcoverPixels[name] ?? 0) + 1;
        }
        cached.push({ r0, r1, landcover });
        laidOut = r1;
      }
    };
    const builtUp = (r0: number, r1: number, c0: number, c1: number): boolean => {
      for (let r = r0; r < r1; r++) {
        const blk = cached.find((b) => b.r0 <= r && r < b.r1);
        if (!blk) throw new Error(`internal: row ${r} not laid out`);
        const o = (r - blk.r0) * width;
        for (let c = c0; c < c1; c++) if (blk.landcover[o + c] !== LANDCOVER.built_up) return false;
      }
      return true;
    };
    const brng = new SimRng(seed, 'buildings');
    this.buildings = [];
    const grng = new SimRng(seed, 'grades');
    for (let r = 0; r < height; ) {
      const h = brng.int(2, 4);
      let c = brng.int(0, 4);
      const r1 = Math.min(height, r + h);
      layOutTo(r1);
      while (cached.length > 0 && (cached[0]?.r1 ?? 0) <= r) cached.shift();
      while (c < width) {
        const w = brng.int(6, 16);
        const gap = brng.int(1, 3);
        const vacant = brng.uniform() < 0.08;
        const c1 = Math.min(width, c + w);
        if (!vacant && r1 - r >= 2 && c1 - c >= 4 && builtUp(r, r1, c, c1)) {
          const centre = this.map.toGround((r + r1 - 1) / 2, (c + c1 - 1) / 2);
          const grade = this.drawGrade(grng, centre.e, centre.n);
          this.buildings.push({ id: this.buildings.length, r0: r, r1, c0: c, c1, grade });
        }
        c += w + gap;
      }
      r += h + 1;
    }
    layOutTo(height); // the fields of rows no strip looked at are numbered too

    // fields' behaviour, in the order fields were met (row-major), each from its own stream
    this.fields = [];
    for (const key of this.fieldNames) {
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

    // windows: training = whole scene (stride = chip); AOI = the town's bounding box grown by 25% on each side,
    // which takes in the fields around the town (where single-pair change detection goes wrong)
    if (townBox.r1 <= townBox.r0) throw new Error('internal: the simulated town has no pixels');
    const gr = Math.round(0.25 * (townBox.r1 - townBox.r0));
    const gc = Math.round(0.25 * (townBox.c1 - townBox.c0));
    this.aoiWindow = {
      r0: Math.max(0, townBox.r0 - gr),
      r1: Math.min(height, townBox.r1 + gr),
      c0: Math.max(0, townBox.c0 - gc),
      c1: Math.min(width, townBox.c1 + gc),
    };
    this.trainWindow = { r0: 0, r1: height, c0: 0, c1: width };
  }

  /**
   * Land cover and field index of rows [r0, r1). Fields are numbered as they are first met; rows must come in
   * order the first time (the constructor's pass), later calls only look fields up. `townBox` grows to the pixels
   * inside the town's ellipse.
   */
  private landcoverRows(r0: number, r1: number, townBox?: Window): { landcover: Uint8Array; fieldOf: Int32Array } {
    const { width } = this.grid;
    const { seed } = this.options;
    const t = this.town;
    const L = this.layout;
    const n = (r1 - r0) * width;
    const landcover = new Uint8Array(n);
    const fieldOf = new Int32Array(n).fill(-1);
    const townEdge = this.townEdge.rows(r0, r1);
    const vegPatch = this.vegPatch.rows(r0, r1);
    const cosF = Math.cos(L.fieldAngle);
    const sinF = Math.sin(L.fieldAngle);
    const cosR = Math.cos(L.ridgeAngle);
    const sinR = Math.sin(L.ridgeAngle);
    const townRadiusAt = ellipseMeasure(t);
    const hamletRadius = L.hamlets.map(ellipseMeasure);
    const ge = new Float64Array(width);
    const gn = new Float64Array(width);
    for (let r = r0; r < r1; r++) {
      this.map.groundRow(r, ge, gn);
      for (let c = 0; c < width; c++) {
        const p = (r - r0) * width + c;
        const gE = ge[c] ?? NaN;
        const gN = gn[c] ?? NaN;
        const riverE =
          t.e + L.riverOffset + L.riverWave.amp * Math.sin((2 * Math.PI * gN) / L.riverWave.len + L.riverWave.phase);
        const dRiver = Math.abs(gE - riverE);
        const edge = townEdge[p] ?? NaN,
          patch = vegPatch[p] ?? NaN;
        const townRadius = townRadiusAt(gE, gN);
        if (townBox && townRadius < 1) {
          townBox.r0 = Math.min(townBox.r0, r);
          townBox.r1 = Math.max(townBox.r1, r + 1);
          townBox.c0 = Math.min(townBox.c0, c);
          townBox.c1 = Math.max(townBox.c1, c + 1);
        }
        const inTown = townRadius < 1 + 0.12 * edge;
        let inHamlet = false;
        for (const radius of hamletRadius) inHamlet ||= radius(gE, gN) < 1 + 0.15 * edge;
        const ridge = gE * cosR + gN * sinR > L.ridgeDist + 60 * patch;
        let cls: number;
        if (dRiver < L.waterHalf) cls = LANDCOVER.water;
        else if (inTown || inHamlet) cls = LANDCOVER.built_up;
        else if (dRiver < L.riparianHalf) cls = LANDCOVER.vegetation;
        else if (ridge) cls = LANDCOVER.bare;
        else if (patch > 0.55) cls = LANDCOVER.vegetation;
        else cls = LANDCOVER.agriculture;
        landcover[p] = cls;
        if (cls === LANDCOVER.agriculture) {
          // fields: a rotated grid of strips on the ground, each strip shifted by its own random amount
          const u = gE * cosF + gN * sinF;
          const v = -gE * sinF + gN * cosF;
          const j = Math.floor(v / L.fieldSize.v);
          let shift = this.rowShift.get(j);
          if (shift === undefined) {
            shift = new SimRng(seed, `strip:${j}`).uniform() * L.fieldSize.u;
            this.rowShift.set(j, shift);
          }
          const i = Math.floor((u + shift) / L.fieldSize.u);
          const key = fieldKey(i, j);
          let f = this.fieldIndex.get(key);
          if (f === undefined) {
            if (!townBox) throw new Error(`internal: field ${i},${j} met after the layout pass`);
            f = this.fieldNames.length;
            this.fieldIndex.set(key, f);
            this.fieldNames.push(`${i},${j}`);
          }
          fieldOf[p] = f;
        }
      }
    }
    return { landcover, fieldOf };
  }

  /** Everything of rows [r0, r1) the writer and the coherence model need, computed from the layout. */
  block(r0: number, r1: number): SceneBlock {
    if (!(0 <= r0 && r0 < r1 && r1 <= this.grid.height)) throw new Error(`internal: rows ${r0}:${r1} outside`);
    const { width } = this.grid;
    const n = (r1 - r0) * width;
    const { landcover, fieldOf } = this.landcoverRows(r0, r1);
    const buildingOf = new Int32Array(n).fill(-1);
    const damage = new Uint8Array(n);
    // buildings come in strip order (r0 ascending) and span at most 4 rows: start a few rows above the block
    let lo = 0,
      hi = this.buildings.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.buildings[mid]?.r0 ?? 0) < r0 - 4) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.buildings.length; i++) {
      const b = this.buildings[i];
      if (!b || b.r0 >= r1) break;
      const damaged = DAMAGED_GRADES.includes(b.grade);
      for (let rr = Math.max(r0, b.r0); rr < Math.min(r1, b.r1); rr++) {
        const o = (rr - r0) * width;
        buildingOf.fill(b.id, o + b.c0, o + b.c1);
        if (damaged) damage.fill(1, o + b.c0, o + b.c1);
      }
    }
    // amplitude: class brightness × smooth texture; buildings are bright (double bounce), water dark
    const base: Record<number, number> = { 1: 90, 2: 45, 3: 60, 4: 8, 5: 80 };
    const amplitude = this.ampTexture.rows(r0, r1);
    for (let p = 0; p < n; p++) {
      const b = valueAt(buildingOf, p) >= 0 ? 220 : (base[valueAt(landcover, p)] ?? NaN);
      amplitude[p] = b * Math.exp(0.35 * valueAt(amplitude, p));
    }
    return { r0, r1, landcover, fieldOf, buildingOf, damage, amplitude, texture: this.texture.rows(r0, r1) };
  }

  /** The whole scene as one block (tests and small scenes; the writer goes block by block). */
  private wholeScene(): SceneBlock {
    this.whole ??= this.block(0, this.grid.height);
    return this.whole;
  }

  /** Land-cover code per SLC pixel, whole scene (see wholeScene). */
  get landcover(): Uint8Array {
    return this.wholeScene().landcover;
  }

  /** Building index per pixel, −1 outside buildings, whole scene. */
  get buildingOf(): Int32Array {
    return this.wholeScene().buildingOf;
  }

  /** 1 where a building of a DAMAGED_GRADES grade stands, whole scene. */
  get damageMask(): Uint8Array {
    return this.wholeScene().damage;
  }

  /** Time-invariant amplitude per pixel, whole scene. */
  get amplitude(): Float32Array {
    return this.wholeScene().amplitude;
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

  /** True coherence of pair k at every SLC pixel (row-major, whole scene); a pure function of the options and k. */
  pairCoherence(k: number, out?: Float32Array<ArrayBuffer>): Float32Array {
    return this.pairCoherenceRows(k, this.wholeScene(), out);
  }

  /** True coherence of pair k on the rows of `blk` (row-major). */
  pairCoherenceRows(
    k: number,
    blk: SceneBlock,
    out = new Float32Array((blk.r1 - blk.r0) * this.grid.width),
  ): Float32Array {
    if (!(k >= 0 && k < this.pairs)) throw new Error(`internal: pair ${k} outside 0..${this.pairs - 1}`);
    const { seed, eventIndex } = this.options;
    const noise = new SmoothField(seed, `pair-texture:${k}`, this.map, 400).rows(blk.r0, blk.r1);
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
    const n = (blk.r1 - blk.r0) * this.grid.width;
    const { texture, landcover, buildingOf, fieldOf } = blk;
    const fieldGamma = this.fieldGamma;
    for (let p = 0; p < n; p++) {
      const t = texture[p] ?? NaN;
      const nk = noise[p] ?? NaN;
      let g: number;
      switch (landcover[p]) {
        case LANDCOVER.built_up: {
          const building = this.buildings[buildingOf[p] ?? -1]; // buildingOf: -1 off buildings
          if (building) {
            g = (0.93 + 0.03 * t + 0.015 * nk) * decBuilding * w;
            if (coEvent) g *= DAMAGE_FACTOR[building.grade];
          } else {
            g = (0.8 + 0.06 * t + 0.04 * nk) * decStreet * w;
          }
          break;
        }
        case LANDCOVER.agriculture:
          g = ((fieldGamma[k * nFields + (fieldOf[p] ?? -1)] ?? NaN) + 0.04 * t + 0.03 * nk) * w;
          break;
        case LANDCOVER.vegetation:
          g = (vegLevel + 0.07 * t + 0.05 * nk) * decVeg * w;
          break;
        case LANDCOVER.water:
          g = 0.02 + 0.01 * (t + 1);
          break;
        default:
          g = (0.84 + 0.04 * t + 0.02 * nk) * decBare * w;
      }
      out[p] = clip(g);
    }
    return out;
  }

  private checkCanceled(): void {
    if (this.model.isCanceled?.()) throw new CanceledError();
  }

  /**
   * Chips of CHIP size at stride 1 lying wholly inside `win`: how many have a damaged fraction ≥ 1/3 (damaged),
   * how many are undamaged, and how many are mostly agriculture. Streams the window's rows in blocks, keeping the
   * column prefix sums of the last CHIP.azimuth rows.
   */
  chipCounts(win: Window): { damaged: number; undamaged: number; agriculture: number; total: number } {
    const { width } = this.grid;
    const ca = CHIP.azimuth,
      cr = CHIP.range;
    const cols = win.c1 - win.c0;
    const area = cr * ca;
    // ring of the last `ca` rows' prefix sums over the window's columns (integers: exact in float64)
    const dmRows = Array.from({ length: ca }, () => new Float64Array(cols + 1));
    const agRows = Array.from({ length: ca }, () => new Float64Array(cols + 1));
    let damaged = 0,
      undamaged = 0,
      agriculture = 0;
    for (let b0 = win.r0; b0 < win.r1; b0 += this.blockRows) {
      this.checkCanceled();
      const b1 = Math.min(win.r1, b0 + this.blockRows);
      const blk = this.block(b0, b1);
      for (let r = b0; r < b1; r++) {
        const dm = dmRows[(r - win.r0) % ca] ?? new Float64Array(0);
        const ag = agRows[(r - win.r0) % ca] ?? new Float64Array(0);
        const o = (r - b0) * width + win.c0;
        for (let c = 0; c < cols; c++) {
          dm[c + 1] = valueAt(dm, c) + valueAt(blk.damage, o + c);
          ag[c + 1] = valueAt(ag, c) + (blk.landcover[o + c] === LANDCOVER.agriculture ? 1 : 0);
        }
        if (r - win.r0 + 1 < ca) continue; // the chip starting at row r − ca + 1 ends at row r
        for (let c = 0; c + cr <= cols; c++) {
          let dmBox = 0,
            agBox = 0;
          for (let i = 0; i < ca; i++) {
            const d = dmRows[i] ?? dm,
              a = agRows[i] ?? ag;
            dmBox += valueAt(d, c + cr) - valueAt(d, c);
            agBox += valueAt(a, c + cr) - valueAt(a, c);
          }
          if (dmBox * DAMAGED_CHIP_FRACTION_DEN >= area)
            damaged++; // exact integer test of fraction ≥ 1/3
          else undamaged++;
          if (agBox > 0.5 * area) agriculture++;
        }
      }
    }
    return { damaged, undamaged, agriculture, total: damaged + undamaged };
  }
}
