// Raster ground truth (1 damaged, 0 undamaged, NaN/nodata ignored) brought onto the score's grid.
// - same size as the score (and no chip layout given): taken as it is (a fraction of 0 or 1 per pixel);
// - both rasters georeferenced (geotransform + CRS, or lat/lon lookups; e.g. the simulator's SLC-grid
//   truth/damage_mask.tif and a coherence grid of chip centres): every truth pixel centre is placed in the metric
//   working CRS of the score grid (host/vector/labels.ts) and counted in each chip footprint that contains it, so
//   the damaged fraction of a chip is the mean over the valid truth pixels inside it (overlapping chips at
//   stride < chip each count the pixel, as the coherence estimate does);
// - neither georeferenced: score pixel (i, j) covers truth rows [i·sa, i·sa + ca) and columns [j·sr, j·sr + cr)
//   (ARCHITECTURE.md chip notation), with chip/stride given, or inferred as chip = stride = the size ratio.
// Everything goes by blocks of score rows, reading the mask rows each block needs (bounded memory, issue 16).
import { valueAt } from '../core/arrays.js';
import type { Georef, Raster } from '../raster/types.js';
import { DpmError } from '../core/errors.js';
import type { ChipLayout } from '../core/chip.js';
import {
  type Box,
  type ChipLabels,
  chipPolygon,
  gridPlacement,
  type LatLonRows,
  latLonRowsOf,
  meets,
} from '../vector/labels.js';
import { epsgDef, transformer } from '../vector/crs.js';

export interface GridShape {
  width: number;
  height: number;
  georef: Georef;
}

/** The score grid; a radar grid's lookups read by rows where given (else georef's in memory). */
export interface ScoreGrid extends GridShape {
  latLon?: LatLonRows;
}

/** A truth mask read by rows (band 1): in memory (maskSource) or a GeoTIFF (`dpm evaluate`). */
export interface MaskSource extends ScoreGrid {
  path: string;
  /** rows [r0, r1) of band 1, row-major; NaN = nodata */
  values(r0: number, r1: number): Promise<ArrayLike<number>>;
}

export type LabelCounts = Pick<ChipLabels, 'damaged' | 'undamaged' | 'polygonsInScene'>;

/** Labels a block of score rows at a time; the counts once every row is done. */
export interface BlockLabeller {
  rows(r0: number, r1: number): Promise<{ fraction: Float64Array; labels: Float32Array }>;
  finish(): LabelCounts;
}

/** Rows of mask read at once for the geometric placement (a 20,000-wide mask block: ~25 MB with its positions). */
const MASK_ROWS = 64;

/** A mask held in memory as a MaskSource. */
export function maskSource(mask: Raster): MaskSource {
  const path = mask.source ?? '(in memory)';
  const m = mask.bands[0];
  if (!m) throw new DpmError(`truth raster ${path}: no band`);
  const { width, height, georef } = mask;
  return { width, height, georef, path, values: async (r0, r1) => m.subarray(r0 * width, r1 * width) };
}

function truthValue(v: number, path: string): number {
  if (Number.isNaN(v)) return NaN;
  if (v === 0 || v === 1) return v;
  throw new DpmError(`truth raster ${path}: value ${v} found; a truth mask holds 1 (damaged), 0 (undamaged) or nodata`);
}

type Fractions = (r0: number, r1: number) => Promise<Float64Array>;

/** Labels the score grid from a truth mask, block by block of score rows. */
export async function maskLabeller(
  mask: MaskSource,
  score: ScoreGrid,
  threshold = 1 / 3,
  layout?: ChipLayout,
): Promise<BlockLabeller> {
  if (!(threshold > 0 && threshold <= 1)) throw new DpmError(`--fraction must be in (0, 1], got ${threshold}`);
  let fractions: Fractions;
  let check = () => {};
  if (mask.width === score.width && mask.height === score.height && !layout) {
    fractions = async (r0, r1) => Float64Array.from(await mask.values(r0, r1), (v) => truthValue(v, mask.path));
  } else {
    const scoreRows = score.latLon ?? latLonRowsOf(score.georef, score.width, score.height, 'score raster');
    const maskRows = mask.latLon ?? latLonRowsOf(mask.georef, mask.width, mask.height, `truth raster ${mask.path}`);
    const placed = (g: Georef, rows: LatLonRows | undefined) => (g.geoTransform && g.epsg !== undefined) || !!rows;
    if (placed(score.georef, scoreRows) && placed(mask.georef, maskRows)) {
      const g = await byGeometry({ ...mask, latLon: maskRows }, { ...score, latLon: scoreRows }, layout);
      fractions = g.fractions;
      check = g.check;
    } else fractions = byIndex(mask, score, layout);
  }
  let damaged = 0,
    undamaged = 0;
  return {
    rows: async (r0, r1) => {
      const fraction = await fractions(r0, r1);
      const labels = new Float32Array(fraction.length);
      fraction.forEach((f, k) => {
        if (!Number.isFinite(f)) {
          labels[k] = NaN;
          return;
        }
        // slack for the float rounding of "exactly one third" (e.g. 5 of 15 pixels)
        labels[k] = f >= threshold * (1 - 1e-9) ? 1 : 0;
        if (labels[k] === 1) damaged++;
        else undamaged++;
      });
      return { fraction, labels };
    },
    finish: () => {
      check();
      return { damaged, undamaged, polygonsInScene: 0 };
    },
  };
}

/** maskLabeller over the whole grid in memory (small grids, tests). */
export async function labelsFromMask(
  mask: Raster,
  score: GridShape,
  threshold = 1 / 3,
  layout?: ChipLayout,
): Promise<ChipLabels> {
  const labeller = await maskLabeller(maskSource(mask), score, threshold, layout);
  const rows = await labeller.rows(0, score.height);
  return { ...rows, ...labeller.finish() };
}

/** Neither grid georeferenced: each score pixel's chip as a window of mask rows and columns. */
function byIndex(mask: MaskSource, score: GridShape, layout: ChipLayout | undefined): Fractions {
  const { path } = mask;
  let lay = layout;
  if (!lay) {
    if (mask.width % score.width !== 0 || mask.height % score.height !== 0) {
      throw new DpmError(
        `truth raster ${path}: its ${mask.width}×${mask.height} grid is not the score's ${score.width}×${score.height} grid, ` +
          'nor a whole multiple of it, and no map georeferencing relates them; give --chip and --stride',
      );
    }
    const f = { range: mask.width / score.width, azimuth: mask.height / score.height };
    lay = { chip: f, stride: f };
  }
  const { range: cr, azimuth: ca } = lay.chip,
    { range: sr, azimuth: sa } = lay.stride;
  if ((score.width - 1) * sr + cr > mask.width || (score.height - 1) * sa + ca > mask.height) {
    throw new DpmError(
      `truth raster ${path}: ${mask.width}×${mask.height} is too small for ${score.width}×${score.height} chips of ${cr}x${ca} at stride ${sr}x${sa}`,
    );
  }
  const W = score.width;
  return async (r0, r1) => {
    const m0 = r0 * sa;
    const m = await mask.values(m0, (r1 - 1) * sa + ca);
    const fraction = new Float64Array((r1 - r0) * W);
    for (let i = r0; i < r1; i++) {
      for (let j = 0; j < W; j++) {
        let s = 0,
          c = 0;
        for (let r = i * sa; r < i * sa + ca; r++) {
          for (let q = j * sr; q < j * sr + cr; q++) {
            const v = truthValue(valueAt(m, (r - m0) * mask.width + q), path);
            if (!Number.isNaN(v)) {
              s += v;
              c++;
            }
          }
        }
        fraction[(i - r0) * W + j] = c > 0 ? s / c : NaN;
      }
    }
    return fraction;
  };
}

/** A block of mask rows: values and pixel centres in the working CRS. */
interface MaskBlock {
  values: ArrayLike<number>;
  px: Float64Array;
  py: Float64Array;
}

/**
 * Both georeferenced: every valid truth pixel centre is added to the sums of the chips whose footprint contains it.
 * The mask is walked once for the box of each block of its rows; a block of score rows then reads only the mask
 * blocks whose boxes meet its chips' box (a few, in radar geometry), the last few kept.
 */
async function byGeometry(mask: MaskSource, score: ScoreGrid, layout: ChipLayout | undefined) {
  const { path } = mask;
  const W = score.width;
  const placement = await gridPlacement(score.georef, W, score.height, layout, 'score raster', score.latLon);
  const m = mask.georef;
  const MW = mask.width;
  let toWork: (m0: number, m1: number) => Promise<{ px: Float64Array; py: Float64Array }>;
  if (m.geoTransform && m.epsg !== undefined) {
    const t = transformer(epsgDef(m.epsg), placement.crs),
      gt = m.geoTransform;
    toWork = async (m0, m1) => {
      const px = new Float64Array((m1 - m0) * MW),
        py = new Float64Array(px.length);
      for (let r = m0; r < m1; r++)
        for (let c = 0; c < MW; c++) {
          const p = t([gt[0] + (c + 0.5) * gt[1] + (r + 0.5) * gt[2], gt[3] + (c + 0.5) * gt[4] + (r + 0.5) * gt[5]]);
          px[(r - m0) * MW + c] = p[0];
          py[(r - m0) * MW + c] = p[1];
        }
      return { px, py };
    };
  } else {
    const rows = mask.latLon;
    if (!rows) throw new Error('internal: byGeometry needs a geotransform or lat/lon');
    const t = transformer('EPSG:4326', placement.crs);
    toWork = async (m0, m1) => {
      const { lat, lon } = await rows(m0, m1);
      const px = new Float64Array(lat.length),
        py = new Float64Array(lat.length);
      for (let k = 0; k < lat.length; k++) [px[k], py[k]] = t([valueAt(lon, k), valueAt(lat, k)]);
      return { px, py };
    };
  }
  const blockCount = Math.ceil(mask.height / MASK_ROWS);
  const span = (b: number) => [b * MASK_ROWS, Math.min(mask.height, (b + 1) * MASK_ROWS)] as const;
  const boxes: Box[] = [];
  for (let b = 0; b < blockCount; b++) {
    const { px, py } = await toWork(...span(b));
    boxes.push(boxOf(px, py));
  }
  const cache = new Map<number, MaskBlock>();
  const block = async (b: number): Promise<MaskBlock> => {
    const hit = cache.get(b);
    if (hit) return hit;
    const [m0, m1] = span(b);
    const got = { values: await mask.values(m0, m1), ...(await toWork(m0, m1)) };
    cache.set(b, got);
    if (cache.size > 3) cache.delete(cache.keys().next().value ?? b);
    return got;
  };
  let inside = 0;
  const fractions: Fractions = async (r0, r1) => {
    const g = await placement.rows(r0, r1);
    const n = (r1 - r0) * W;
    // each chip as centre c and half-axes a, b: p inside ⇔ p − c = u·a + v·b with −1 ≤ u, v < 1 (half-open, so a
    // truth pixel on the shared edge of two touching chips counts once)
    const geo = new Float64Array(6 * n).fill(NaN);
    const xs: number[] = [],
      ys: number[] = [];
    for (let i = r0; i < r1; i++) {
      for (let j = 0; j < W; j++) {
        const r = chipPolygon(g, i, j);
        if (!r) continue;
        const [[ax, ay], [bx, by], [cx, cy], [dx, dy]] = r; // corners (−1,−1), (1,−1), (1,1), (−1,1)
        geo.set(
          [(ax + cx) / 2, (ay + cy) / 2, (bx - ax) / 2, (by - ay) / 2, (dx - ax) / 2, (dy - ay) / 2],
          6 * ((i - r0) * W + j),
        );
        for (const [x, y] of r) {
          xs.push(x);
          ys.push(y);
        }
      }
    }
    const sum = new Float64Array(n),
      cnt = new Float64Array(n);
    const chips = boxOf(xs, ys);
    const [x0, y0, x1, y1] = chips;
    if (!(x1 >= x0)) return Float64Array.from(cnt, () => NaN);
    // bucket the block's chips on a coarse grid by their bounding boxes
    const G = Math.max(1, Math.ceil(Math.sqrt(n / 4)));
    const bw = (x1 - x0) / G || 1,
      bh = (y1 - y0) / G || 1;
    const cell = (v: number, lo: number, step: number) => Math.min(G - 1, Math.max(0, Math.floor((v - lo) / step)));
    const buckets: number[][] = Array.from({ length: G * G }, () => []);
    for (let k = 0; k < n; k++) {
      const o = 6 * k;
      const cx = valueAt(geo, o),
        cy = valueAt(geo, o + 1);
      if (Number.isNaN(cx)) continue;
      const ex = Math.abs(valueAt(geo, o + 2)) + Math.abs(valueAt(geo, o + 4)),
        ey = Math.abs(valueAt(geo, o + 3)) + Math.abs(valueAt(geo, o + 5));
      for (let iy = cell(cy - ey, y0, bh); iy <= cell(cy + ey, y0, bh); iy++) {
        for (let ix = cell(cx - ex, x0, bw); ix <= cell(cx + ex, x0, bw); ix++) buckets[iy * G + ix]?.push(k);
      }
    }
    for (const [b, box] of boxes.entries()) {
      if (!meets(box, chips)) continue;
      const { values, px: PX, py: PY } = await block(b);
      for (let q = 0; q < values.length; q++) {
        const v = truthValue(valueAt(values, q), path);
        if (Number.isNaN(v)) continue;
        const px = valueAt(PX, q),
          py = valueAt(PY, q);
        if (!(px >= x0 && px <= x1 && py >= y0 && py <= y1)) continue;
        for (const k of buckets[cell(py, y0, bh) * G + cell(px, x0, bw)] ?? []) {
          const o = 6 * k;
          const dx = px - valueAt(geo, o),
            dy = py - valueAt(geo, o + 1);
          const ax = valueAt(geo, o + 2),
            ay = valueAt(geo, o + 3),
            bx = valueAt(geo, o + 4),
            by = valueAt(geo, o + 5);
          const det = ax * by - ay * bx;
          const u = (dx * by - dy * bx) / det,
            w = (ax * dy - ay * dx) / det;
          if (u >= -1 && u < 1 && w >= -1 && w < 1) {
            sum[k] = valueAt(sum, k) + v;
            cnt[k] = valueAt(cnt, k) + 1;
            inside++;
          }
        }
      }
    }
    return Float64Array.from(cnt, (c, k) => (c > 0 ? valueAt(sum, k) / c : NaN));
  };
  const check = () => {
    if (inside === 0)
      throw new DpmError(
        `truth raster ${path}: lies outside the score raster's scene (no truth pixel falls in any chip)`,
      );
  };
  return { fractions, check };
}

/** The box of the finite points (x0 > x1 when there is none). */
function boxOf(xs: ArrayLike<number>, ys: ArrayLike<number>): Box {
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (let k = 0; k < xs.length; k++) {
    const x = valueAt(xs, k),
      y = valueAt(ys, k);
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x);
    y1 = Math.max(y1, y);
  }
  return [x0, y0, x1, y1];
}
