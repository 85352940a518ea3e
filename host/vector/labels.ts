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
  width: number;
  height: number;
  /** proj4 definition of the metric working CRS */
  crs: string;
  /** pixel centres in the working CRS (NaN where the lookup has no position) */
  cx: Float64Array;
  cy: Float64Array;
  /** chip extent in pixel steps: chip/stride (1 when the chip equals the stride) */
  kCol: number;
  kRow: number;
}

/**
 * Pixel centres of a grid in a metric CRS. With a geotransform, centres are exact; with lat/lon lookups, they are the
 * lookup values. `layout` widens each pixel's footprint to its chip when chips overlap (stride < chip).
 */
export function footprintGrid(
  georef: Georef,
  width: number,
  height: number,
  layout?: ChipLayout,
  what = 'score raster',
): FootprintGrid {
  const n = width * height;
  const cx = new Float64Array(n),
    cy = new Float64Array(n);
  let crs: string;
  const gt = georef.geoTransform;
  if (gt) {
    if (georef.epsg === undefined)
      throw new DpmError(`${what}: has a geotransform but no CRS; the truth cannot be placed on it`);
    const src = epsgDef(georef.epsg);
    const geo = isGeographic(src);
    if (geo) {
      const lon = gt[0] + (width / 2) * gt[1] + (height / 2) * gt[2];
      const lat = gt[3] + (width / 2) * gt[4] + (height / 2) * gt[5];
      crs = localEqualArea(lon, lat);
    } else crs = src;
    const tr = transformer(src, crs);
    for (let i = 0; i < height; i++) {
      for (let j = 0; j < width; j++) {
        const p = tr([gt[0] + (j + 0.5) * gt[1] + (i + 0.5) * gt[2], gt[3] + (j + 0.5) * gt[4] + (i + 0.5) * gt[5]]);
        cx[i * width + j] = p[0];
        cy[i * width + j] = p[1];
      }
    }
  } else if (georef.lat && georef.lon) {
    if (georef.lat.length !== n || georef.lon.length !== n)
      throw new DpmError(`${what}: lat/lon lookups do not match its ${width}×${height} grid`);
    let sl = 0,
      sb = 0,
      c = 0;
    const { lat, lon } = georef;
    for (let k = 0; k < n; k++) {
      const la = valueAt(lat, k),
        lo = valueAt(lon, k);
      if (Number.isFinite(la) && Number.isFinite(lo)) {
        sb += la;
        sl += lo;
        c++;
      }
    }
    if (c === 0) throw new DpmError(`${what}: its lat/lon lookups hold no valid position`);
    crs = localEqualArea(sl / c, sb / c);
    const tr = transformer('EPSG:4326', crs);
    for (let k = 0; k < n; k++) {
      const la = valueAt(lat, k),
        lo = valueAt(lon, k);
      if (Number.isFinite(la) && Number.isFinite(lo)) {
        const p = tr([lo, la]);
        cx[k] = p[0];
        cy[k] = p[1];
      } else cx[k] = cy[k] = NaN;
    }
  } else {
    throw new DpmError(
      `${what}: has neither a geotransform nor lat/lon lookups; vector truth cannot be placed on it (use --truth-raster)`,
    );
  }
  const kCol = layout ? layout.chip.range / layout.stride.range : 1;
  const kRow = layout ? layout.chip.azimuth / layout.stride.azimuth : 1;
  return { width, height, crs, cx, cy, kCol, kRow };
}

/** The chip footprint of pixel (i, j): centre ± half a chip along the local column and row directions of the grid
 *  (central differences of neighbouring centres; one-sided at the edges). Undefined where a centre is missing. */
/** A chip's footprint: four corners and the first again (a closed ring). */
export type ChipRing = [[number, number], [number, number], [number, number], [number, number], [number, number]];

export function chipPolygon(g: FootprintGrid, i: number, j: number): ChipRing | undefined {
  const w = g.width;
  const at = (r: number, c: number): [number, number] => [valueAt(g.cx, r * w + c), valueAt(g.cy, r * w + c)];
  const c0 = at(i, j);
  if (!Number.isFinite(c0[0])) return undefined;
  const ok = (r: number, c: number) =>
    r >= 0 && c >= 0 && r < g.height && c < w && Number.isFinite(valueAt(g.cx, r * w + c));
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

/**
 * Labels every pixel of `grid` from the damaged footprints in `truth`: fraction of the chip area covered by the union
 * of damaged polygons (overlapping footprints are not counted twice), damaged when fraction ≥ `threshold`.
 * Truth that does not meet the scene at all is a DpmError (wrong file or wrong CRS).
 */
export async function labelChips(
  truth: TruthFootprints,
  grid: FootprintGrid,
  threshold = 1 / 3,
  fb: Feedback = silentFeedback,
  what = 'truth',
): Promise<ChipLabels> {
  if (!(threshold > 0 && threshold <= 1)) throw new DpmError(`--fraction must be in (0, 1], got ${threshold}`);
  const { width, height } = grid;
  const n = width * height;
  // each pixel's chip footprint and its bounding box (undefined where the footprint is unknown)
  const chips: ({ ring: ChipRing; bb: [number, number, number, number] } | undefined)[] = new Array(n);
  let sx0 = Infinity,
    sy0 = Infinity,
    sx1 = -Infinity,
    sy1 = -Infinity;
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      const k = i * width + j;
      const ring = chipPolygon(grid, i, j);
      if (!ring) continue;
      const bb = bboxOf([ring]);
      chips[k] = { ring, bb };
      sx0 = Math.min(sx0, bb[0]);
      sy0 = Math.min(sy0, bb[1]);
      sx1 = Math.max(sx1, bb[2]);
      sy1 = Math.max(sy1, bb[3]);
    }
  }
  if (!(sx1 > sx0)) throw new DpmError('score raster: no pixel has a ground footprint (all positions missing?)');

  let tr: (p: [number, number]) => [number, number];
  try {
    tr = transformer(truth.crs, grid.crs);
  } catch (e) {
    throw new DpmError(`${what}: ${(e as Error).message}`);
  }
  let inScene = 0;
  const damagedPolys: { rings: Ring[]; bb: [number, number, number, number] }[] = [];
  for (const p of truth.polygons) {
    const rings = p.rings.map((r) => r.map((pt) => tr([pt[0], pt[1]])));
    const bb = bboxOf(rings);
    if (!bb.every(Number.isFinite)) continue;
    if (bb[2] < sx0 || bb[0] > sx1 || bb[3] < sy0 || bb[1] > sy1) continue;
    inScene++;
    if (p.damaged) damagedPolys.push({ rings, bb });
  }
  if (inScene === 0) {
    throw new DpmError(
      `${what}: none of its ${truth.polygons.length} footprints lies inside the score raster's scene (wrong file, or a CRS mismatch?)`,
    );
  }

  // bucket the chips on a coarse grid so each polygon only meets the chips near it
  const G = Math.max(1, Math.ceil(Math.sqrt(n / 4)));
  const bw = (sx1 - sx0) / G || 1,
    bh = (sy1 - sy0) / G || 1;
  const cell = (x: number, lo: number, step: number) => Math.min(G - 1, Math.max(0, Math.floor((x - lo) / step)));
  const buckets: number[][] = Array.from({ length: G * G }, () => []);
  chips.forEach((chip, k) => {
    if (!chip) return;
    const [x0, y0, x1, y1] = chip.bb;
    for (let by = cell(y0, sy0, bh); by <= cell(y1, sy0, bh); by++) {
      for (let bx = cell(x0, sx0, bw); bx <= cell(x1, sx0, bw); bx++) buckets[by * G + bx]?.push(k);
    }
  });
  // chip → the damaged footprints whose boxes meet its box
  const perChip = new Map<number, { chip: ChipRing; polys: Ring[][] }>();
  for (const { rings, bb } of damagedPolys) {
    const seen = new Set<number>();
    for (let by = cell(bb[1], sy0, bh); by <= cell(bb[3], sy0, bh); by++) {
      for (let bx = cell(bb[0], sx0, bw); bx <= cell(bb[2], sx0, bw); bx++) {
        for (const k of buckets[by * G + bx] ?? []) {
          const chip = chips[k];
          if (!chip || seen.has(k)) continue;
          seen.add(k);
          const [x0, y0, x1, y1] = chip.bb;
          if (x1 < bb[0] || x0 > bb[2] || y1 < bb[1] || y0 > bb[3]) continue;
          let entry = perChip.get(k);
          if (!entry) perChip.set(k, (entry = { chip: chip.ring, polys: [] }));
          entry.polys.push(rings);
        }
      }
    }
  }

  const fraction = new Float64Array(n);
  const labels = new Float32Array(n);
  for (let k = 0; k < n; k++)
    if (!chips[k]) {
      fraction[k] = NaN;
      labels[k] = NaN;
    }
  let done = 0;
  for (const [k, { chip, polys }] of perChip) {
    // union first so overlapping footprints count once (a single footprint needs no union)
    let covered: polygonClipping.MultiPolygon;
    try {
      const [first, ...others] = polys as polygonClipping.Polygon[];
      if (!first) continue;
      const damagedArea = others.length === 0 ? first : polygonClipping.union(first, ...others);
      covered = polygonClipping.intersection([chip as polygonClipping.Ring], damagedArea);
    } catch (e) {
      throw new DpmError(
        `${what}: a damaged footprint near pixel (row ${Math.floor(k / width)}, col ${k % width}) is not a valid polygon (${(e as Error).message})`,
      );
    }
    fraction[k] = Math.min(1, multiPolygonArea(covered as PolygonCoords[]) / ringArea(chip));
    if (++done % 2000 === 0) {
      await checkpoint(fb); // polygon clipping of many chips: let Ctrl-C in
      fb.progress((100 * done) / perChip.size, 'labelling chips');
    }
  }
  let damaged = 0,
    undamaged = 0;
  for (let k = 0; k < n; k++) {
    if (!chips[k]) continue;
    // the threshold compares with a hair of slack so "exactly one third" survives float rounding of the areas
    const d = valueAt(fraction, k) >= threshold * (1 - 1e-9);
    labels[k] = d ? 1 : 0;
    if (d) damaged++;
    else undamaged++;
  }
  return { fraction, labels, damaged, undamaged, polygonsInScene: inScene };
}
