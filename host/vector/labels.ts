// Chip-fraction labelling (papers/001 §V-A): for every coherence pixel, the fraction of its chip's ground footprint
// covered by damaged building footprints; the pixel is "truly damaged" when that fraction ≥ 1/3 (configurable).
// Footprints come from the geotransform (map grids) or from the lat/lon of pixel centres (radar geometry). Areas
// are computed in metres: in the raster's projected CRS, or in a local Lambert equal-area projection when the grid
// is geographic or radar geometry.
import polygonClipping from 'polygon-clipping';
import type { Georef } from '../raster/types.js';
import { DpmError } from '../core/errors.js';
import { checkpoint, silentFeedback, type Feedback } from '../core/feedback.js';
import { consecutivePairs, valueAt } from '../core/arrays.js';
import type { ChipLayout } from '../core/chip.js';
import { epsgDef, isGeographic, localEqualArea, transformer } from './crs.js';
import type { PolygonCoords, Ring, TruthFootprints } from './read.js';

export interface FootprintGrid {
  /** the whole grid */
  width: number;
  height: number;
  /** proj4 definition of the metric working CRS */
  crs: string;
  /** the first grid row held below: 0 for a whole grid, else a block of rows (GridPlacement.rows) */
  row0: number;
  /** pixel centres of the rows held, in the working CRS (NaN where the lookup has no position) */
  cx: Float64Array;
  cy: Float64Array;
  /** chip extent in pixel steps: chip/stride (1 when the chip equals the stride) */
  kCol: number;
  kRow: number;
}

/** Rows [r0, r1) of a grid's lat/lon lookups (radar geometry), e.g. read from its companion files by blocks. */
export type LatLonRows = (r0: number, r1: number) => Promise<{ lat: ArrayLike<number>; lon: ArrayLike<number> }>;

/** Rows per block when a whole lookup is walked (the working CRS's centre). */
const ROWS = 256;

function chipSteps(layout: ChipLayout | undefined): { kCol: number; kRow: number } {
  return {
    kCol: layout ? layout.chip.range / layout.stride.range : 1,
    kRow: layout ? layout.chip.azimuth / layout.stride.azimuth : 1,
  };
}

/** A map grid's working CRS (its own, or local equal-area when geographic) and the centres of any rows. */
function mapGrid(georef: Georef, width: number, height: number, what: string) {
  const gt = georef.geoTransform;
  if (!gt) throw new Error('internal: mapGrid without a geotransform');
  if (georef.epsg === undefined)
    throw new DpmError(`${what}: has a geotransform but no CRS; the truth cannot be placed on it`);
  const src = epsgDef(georef.epsg);
  let crs = src;
  if (isGeographic(src)) {
    const lon = gt[0] + (width / 2) * gt[1] + (height / 2) * gt[2];
    const lat = gt[3] + (width / 2) * gt[4] + (height / 2) * gt[5];
    crs = localEqualArea(lon, lat);
  }
  const tr = transformer(src, crs);
  const centres = (r0: number, r1: number) => {
    const cx = new Float64Array((r1 - r0) * width),
      cy = new Float64Array((r1 - r0) * width);
    for (let i = r0; i < r1; i++) {
      for (let j = 0; j < width; j++) {
        const p = tr([gt[0] + (j + 0.5) * gt[1] + (i + 0.5) * gt[2], gt[3] + (j + 0.5) * gt[4] + (i + 0.5) * gt[5]]);
        cx[(i - r0) * width + j] = p[0];
        cy[(i - r0) * width + j] = p[1];
      }
    }
    return { cx, cy };
  };
  return { crs, centres };
}

/** The mean position of lat/lon lookups given block by block: the centre of the local equal-area working CRS. */
class MeanPosition {
  private lat = 0;
  private lon = 0;
  private n = 0;
  add(lat: ArrayLike<number>, lon: ArrayLike<number>): void {
    for (let k = 0; k < lat.length; k++) {
      const la = valueAt(lat, k),
        lo = valueAt(lon, k);
      if (Number.isFinite(la) && Number.isFinite(lo)) {
        this.lat += la;
        this.lon += lo;
        this.n++;
      }
    }
  }
  crs(what: string): string {
    if (this.n === 0) throw new DpmError(`${what}: its lat/lon lookups hold no valid position`);
    return localEqualArea(this.lon / this.n, this.lat / this.n);
  }
}

/** Lookup positions in the working CRS (NaN where a position is missing). */
function latLonCentres(crs: string, lat: ArrayLike<number>, lon: ArrayLike<number>) {
  const tr = transformer('EPSG:4326', crs);
  const cx = new Float64Array(lat.length),
    cy = new Float64Array(lat.length);
  for (let k = 0; k < lat.length; k++) {
    const la = valueAt(lat, k),
      lo = valueAt(lon, k);
    if (Number.isFinite(la) && Number.isFinite(lo)) {
      const p = tr([lo, la]);
      cx[k] = p[0];
      cy[k] = p[1];
    } else cx[k] = cy[k] = NaN;
  }
  return { cx, cy };
}

const neitherError = (what: string) =>
  new DpmError(
    `${what}: has neither a geotransform nor lat/lon lookups; vector truth cannot be placed on it (use --truth-raster)`,
  );

function checkLookups(georef: Georef, n: number, width: number, height: number, what: string) {
  const { lat, lon } = georef;
  if (!lat || !lon) return undefined;
  if (lat.length !== n || lon.length !== n)
    throw new DpmError(`${what}: lat/lon lookups do not match its ${width}×${height} grid`);
  return { lat, lon };
}

/** Rows of a grid's in-memory lat/lon lookups (undefined without them). */
export function latLonRowsOf(georef: Georef, width: number, height: number, what: string): LatLonRows | undefined {
  const lookups = checkLookups(georef, width * height, width, height, what);
  if (!lookups) return undefined;
  const { lat, lon } = lookups;
  return async (r0, r1) => ({ lat: lat.subarray(r0 * width, r1 * width), lon: lon.subarray(r0 * width, r1 * width) });
}

/**
 * Pixel centres of a whole grid in a metric CRS. With a geotransform, centres are exact; with lat/lon lookups, they
 * are the lookup values. `layout` widens each pixel's footprint to its chip when chips overlap (stride < chip).
 */
export function footprintGrid(
  georef: Georef,
  width: number,
  height: number,
  layout?: ChipLayout,
  what = 'score raster',
): FootprintGrid {
  const steps = chipSteps(layout);
  if (georef.geoTransform) {
    const m = mapGrid(georef, width, height, what);
    return { width, height, crs: m.crs, row0: 0, ...m.centres(0, height), ...steps };
  }
  const lookups = checkLookups(georef, width * height, width, height, what);
  if (!lookups) throw neitherError(what);
  const mean = new MeanPosition();
  mean.add(lookups.lat, lookups.lon);
  const crs = mean.crs(what);
  return { width, height, crs, row0: 0, ...latLonCentres(crs, lookups.lat, lookups.lon), ...steps };
}

/** A grid placed in its metric working CRS whose centres are made a block of rows at a time (bounded memory). */
export interface GridPlacement {
  width: number;
  height: number;
  crs: string;
  /** the footprint grid of rows [r0 − 1, r1 + 1) ∩ the grid: what chipPolygon needs for the rows [r0, r1) */
  rows(r0: number, r1: number): Promise<FootprintGrid>;
}

/** footprintGrid's twin for a grid read by row blocks: lat/lon from `latLon` (else georef's lookups in memory). The
 *  working CRS is the same; a radar grid's lookups are walked once for it. */
export async function gridPlacement(
  georef: Georef,
  width: number,
  height: number,
  layout?: ChipLayout,
  what = 'score raster',
  latLon?: LatLonRows,
): Promise<GridPlacement> {
  const steps = chipSteps(layout);
  const halo = (r0: number, r1: number) => [Math.max(0, r0 - 1), Math.min(height, r1 + 1)] as const;
  if (georef.geoTransform) {
    const m = mapGrid(georef, width, height, what);
    return {
      width,
      height,
      crs: m.crs,
      rows: async (r0, r1) => {
        const [a, b] = halo(r0, r1);
        return { width, height, crs: m.crs, row0: a, ...m.centres(a, b), ...steps };
      },
    };
  }
  const lookup = latLon ?? latLonRowsOf(georef, width, height, what);
  if (!lookup) throw neitherError(what);
  const mean = new MeanPosition();
  for (let r0 = 0; r0 < height; r0 += ROWS) {
    const { lat, lon } = await lookup(r0, Math.min(height, r0 + ROWS));
    mean.add(lat, lon);
  }
  const crs = mean.crs(what);
  return {
    width,
    height,
    crs,
    rows: async (r0, r1) => {
      const [a, b] = halo(r0, r1);
      const { lat, lon } = await lookup(a, b);
      return { width, height, crs, row0: a, ...latLonCentres(crs, lat, lon), ...steps };
    },
  };
}

/** The chip footprint of pixel (i, j): centre ± half a chip along the local column and row directions of the grid
 *  (central differences of neighbouring centres; one-sided at the edges). Undefined where a centre is missing. */
/** A chip's footprint: four corners and the first again (a closed ring). */
export type ChipRing = [[number, number], [number, number], [number, number], [number, number], [number, number]];

export function chipPolygon(g: FootprintGrid, i: number, j: number): ChipRing | undefined {
  const w = g.width;
  const held = g.cx.length / w; // rows [row0, row0 + held) of the grid
  const at = (r: number, c: number): [number, number] => {
    const k = (r - g.row0) * w + c;
    return [valueAt(g.cx, k), valueAt(g.cy, k)];
  };
  const c0 = at(i, j);
  if (!Number.isFinite(c0[0])) return undefined;
  const ok = (r: number, c: number) =>
    r >= g.row0 && c >= 0 && r < g.row0 + held && c < w && Number.isFinite(valueAt(g.cx, (r - g.row0) * w + c));
  // step along one grid axis around pixel (r, c): central difference, or one-sided where a neighbour is missing
  // (edges, NaN lookups); if both are missing, the same step measured on a row/column beside it (smooth grids)
  const stepAt = (r: number, c: number, di: number, dj: number): [number, number] | undefined => {
    if (!ok(r, c)) return undefined;
    const fwd = ok(r + di, c + dj),
      back = ok(r - di, c - dj);
    const a = at(back ? r - di : r, back ? c - dj : c),
      b = at(fwd ? r + di : r, fwd ? c + dj : c);
    const n = (fwd ? 1 : 0) + (back ? 1 : 0);
    return n === 0 ? undefined : [(b[0] - a[0]) / n, (b[1] - a[1]) / n];
  };
  const step = (di: number, dj: number) =>
    stepAt(i, j, di, dj) ?? stepAt(i + dj, j + di, di, dj) ?? stepAt(i - dj, j - di, di, dj);
  const dC = step(0, 1),
    dR = step(1, 0);
  if (!dC || !dR) return undefined; // a 1-pixel-wide grid, or an isolated position, has no local direction
  const a: [number, number] = [(dC[0] * g.kCol) / 2, (dC[1] * g.kCol) / 2];
  const b: [number, number] = [(dR[0] * g.kRow) / 2, (dR[1] * g.kRow) / 2];
  const p = (sa: number, sb: number): [number, number] => [
    c0[0] + sa * a[0] + sb * b[0],
    c0[1] + sa * a[1] + sb * b[1],
  ];
  return [p(-1, -1), p(1, -1), p(1, 1), p(-1, 1), p(-1, -1)];
}

function ringArea(r: Ring): number {
  // relative to the first vertex: map coordinates of ~5e6 m would otherwise cancel away ~1e-2 m² of a 900 m² chip
  const [origin, ...rest] = r;
  if (!origin || r.length < 3) return 0;
  const [ox, oy] = origin;
  let s = 0;
  for (const [[x0, y0], [x1, y1]] of consecutivePairs(rest)) s += (x0 - ox) * (y1 - oy) - (x1 - ox) * (y0 - oy);
  return Math.abs(s) / 2;
}

/** Area of polygons with holes (outer ring minus inner rings). */
export function multiPolygonArea(mp: PolygonCoords[]): number {
  let a = 0;
  for (const poly of mp) {
    const [outer, ...holes] = poly;
    if (!outer) continue;
    a += ringArea(outer);
    for (const hole of holes) a -= ringArea(hole);
  }
  return a;
}

export interface ChipLabels {
  /** covered fraction per pixel in [0, 1]; NaN where the footprint is unknown */
  fraction: Float64Array;
  /** 1 damaged, 0 undamaged, NaN unknown (the labels prCurve takes) */
  labels: Float32Array;
  damaged: number;
  undamaged: number;
  /** truth polygons whose bounding box meets the scene */
  polygonsInScene: number;
}

function bboxOf(rings: Ring[]): [number, number, number, number] {
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (const r of rings)
    for (const [x, y] of r) {
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  return [x0, y0, x1, y1];
}

export type Box = [number, number, number, number];

/** Whether two boxes [x0, y0, x1, y1] meet (touching counts). */
export const meets = (a: Box, b: Box) => !(a[2] < b[0] || a[0] > b[2] || a[3] < b[1] || a[1] > b[3]);

/**
 * Labels pixels from the damaged footprints in `truth`, a block of rows at a time: fraction of each chip's area
 * covered by the union of damaged polygons (overlapping footprints are not counted twice), damaged when fraction ≥
 * `threshold`. The footprints are indexed once; memory is theirs and a block's, whatever the grid's size. finish()
 * gives the counts, and refuses truth that met no chip of the whole grid (wrong file or wrong CRS).
 */
export class ChipLabeller {
  /** every footprint's box in the working CRS (the scene test at the end), and the damaged ones' rings */
  private readonly boxes: Box[] = [];
  private readonly damagedPolys: { rings: Ring[]; bb: Box }[] = [];
  /** the damaged footprints on a coarse grid of cells over their extent */
  private readonly index: { extent: Box; g: number; cells: number[][] };
  /** the extent of every chip footprint seen so far */
  private readonly scene: Box = [Infinity, Infinity, -Infinity, -Infinity];
  private damaged = 0;
  private undamaged = 0;
  private clipped = 0;

  constructor(
    private readonly truth: TruthFootprints,
    crs: string,
    private readonly threshold = 1 / 3,
    private readonly what = 'truth',
  ) {
    if (!(threshold > 0 && threshold <= 1)) throw new DpmError(`--fraction must be in (0, 1], got ${threshold}`);
    let tr: (p: [number, number]) => [number, number];
    try {
      tr = transformer(truth.crs, crs);
    } catch (e) {
      throw new DpmError(`${what}: ${(e as Error).message}`);
    }
    const extent: Box = [Infinity, Infinity, -Infinity, -Infinity];
    for (const p of truth.polygons) {
      const rings = p.rings.map((r) => r.map((pt) => tr([pt[0], pt[1]])));
      const bb = bboxOf(rings);
      if (!bb.every(Number.isFinite)) continue;
      this.boxes.push(bb);
      if (!p.damaged) continue;
      this.damagedPolys.push({ rings, bb });
      extent[0] = Math.min(extent[0], bb[0]);
      extent[1] = Math.min(extent[1], bb[1]);
      extent[2] = Math.max(extent[2], bb[2]);
      extent[3] = Math.max(extent[3], bb[3]);
    }
    const g = Math.max(1, Math.ceil(Math.sqrt(this.damagedPolys.length / 4)));
    this.index = { extent, g, cells: Array.from({ length: g * g }, () => []) };
    this.damagedPolys.forEach(({ bb }, k) => this.eachCell(bb, (c) => this.index.cells[c]?.push(k)));
  }

  /** Calls `f` with every index cell a box (inside the index's extent) touches. */
  private eachCell(bb: Box, f: (cell: number) => void): void {
    const { extent: e, g } = this.index;
    const w = (e[2] - e[0]) / g || 1,
      h = (e[3] - e[1]) / g || 1;
    const cell = (v: number, lo: number, step: number) => Math.min(g - 1, Math.max(0, Math.floor((v - lo) / step)));
    for (let y = cell(bb[1], e[1], h); y <= cell(bb[3], e[1], h); y++)
      for (let x = cell(bb[0], e[0], w); x <= cell(bb[2], e[0], w); x++) f(y * g + x);
  }

  /** The damaged footprints whose boxes meet `bb`, in file order (the union's operand order does not vary). */
  private near(bb: Box): Ring[][] {
    if (this.damagedPolys.length === 0 || !meets(bb, this.index.extent)) return [];
    const found = new Set<number>();
    this.eachCell(bb, (c) => {
      for (const k of this.index.cells[c] ?? []) found.add(k);
    });
    return [...found]
      .sort((a, b) => a - b)
      .flatMap((k) => {
        const p = this.damagedPolys[k];
        return p && meets(bb, p.bb) ? [p.rings] : [];
      });
  }

  /** Fractions and labels of the rows [r0, r1); `grid` holds their centres and those of the rows beside them. */
  async rows(
    grid: FootprintGrid,
    r0: number,
    r1: number,
    fb: Feedback = silentFeedback,
  ): Promise<{ fraction: Float64Array; labels: Float32Array }> {
    const { width } = grid;
    const fraction = new Float64Array((r1 - r0) * width);
    const labels = new Float32Array(fraction.length);
    for (let i = r0; i < r1; i++) {
      for (let j = 0; j < width; j++) {
        const k = (i - r0) * width + j;
        const chip = chipPolygon(grid, i, j);
        if (!chip) {
          fraction[k] = labels[k] = NaN;
          continue;
        }
        const bb = bboxOf([chip]);
        this.scene[0] = Math.min(this.scene[0], bb[0]);
        this.scene[1] = Math.min(this.scene[1], bb[1]);
        this.scene[2] = Math.max(this.scene[2], bb[2]);
        this.scene[3] = Math.max(this.scene[3], bb[3]);
        const polys = this.near(bb);
        if (polys.length > 0) {
          fraction[k] = this.coveredFraction(chip, polys, i, j);
          if (++this.clipped % 2000 === 0) await checkpoint(fb); // polygon clipping of many chips: let Ctrl-C in
        }
        // the threshold compares with a hair of slack so "exactly one third" survives float rounding of the areas
        const d = valueAt(fraction, k) >= this.threshold * (1 - 1e-9);
        labels[k] = d ? 1 : 0;
        if (d) this.damaged++;
        else this.undamaged++;
      }
    }
    return { fraction, labels };
  }

  private coveredFraction(chip: ChipRing, polys: Ring[][], i: number, j: number): number {
    // union first so overlapping footprints count once (a single footprint needs no union)
    try {
      const [first, ...others] = polys as polygonClipping.Polygon[];
      if (!first) return 0;
      const damagedArea = others.length === 0 ? first : polygonClipping.union(first, ...others);
      const covered = polygonClipping.intersection([chip as polygonClipping.Ring], damagedArea);
      return Math.min(1, multiPolygonArea(covered as PolygonCoords[]) / ringArea(chip));
    } catch (e) {
      throw new DpmError(
        `${this.what}: a damaged footprint near pixel (row ${i}, col ${j}) is not a valid polygon (${(e as Error).message})`,
      );
    }
  }

  /** The counts over every row labelled; truth that met none of the chips is a DpmError. */
  finish(): Pick<ChipLabels, 'damaged' | 'undamaged' | 'polygonsInScene'> {
    if (!(this.scene[2] > this.scene[0]))
      throw new DpmError('score raster: no pixel has a ground footprint (all positions missing?)');
    const inScene = this.boxes.filter((bb) => meets(bb, this.scene)).length;
    if (inScene === 0) {
      throw new DpmError(
        `${this.what}: none of its ${this.truth.polygons.length} footprints lies inside the score raster's scene (wrong file, or a CRS mismatch?)`,
      );
    }
    return { damaged: this.damaged, undamaged: this.undamaged, polygonsInScene: inScene };
  }
}

/** ChipLabeller over a whole grid in memory (small grids, tests). */
export async function labelChips(
  truth: TruthFootprints,
  grid: FootprintGrid,
  threshold = 1 / 3,
  fb: Feedback = silentFeedback,
  what = 'truth',
): Promise<ChipLabels> {
  const labeller = new ChipLabeller(truth, grid.crs, threshold, what);
  const rows = await labeller.rows(grid, grid.row0, grid.row0 + grid.cx.length / grid.width, fb);
  return { ...rows, ...labeller.finish() };
}
