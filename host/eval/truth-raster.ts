// Raster ground truth (1 damaged, 0 undamaged, NaN/nodata ignored) brought onto the score's grid.
// - same size as the score (and no chip layout given): taken as it is (a fraction of 0 or 1 per pixel);
// - both rasters georeferenced (geotransform + CRS, or lat/lon lookups; e.g. the simulator's SLC-grid
//   truth/damage_mask.tif and a coherence grid of chip centres): every truth pixel centre is placed in the metric
//   working CRS of the score grid (host/vector/labels.ts) and counted in each chip footprint that contains it, so
//   the damaged fraction of a chip is the mean over the valid truth pixels inside it (overlapping chips at
//   stride < chip each count the pixel, as the coherence estimate does);
// - neither georeferenced: score pixel (i, j) covers truth rows [i·sa, i·sa + ca) and columns [j·sr, j·sr + cr)
//   (ARCHITECTURE.md chip notation), with chip/stride given, or inferred as chip = stride = the size ratio.
import { valueAt } from '../core/arrays.js';
import type { Georef, Raster } from '../raster/types.js';
import { DpmError } from '../core/errors.js';
import type { ChipLayout } from '../core/chip.js';
import { chipPolygon, footprintGrid, type ChipLabels } from '../vector/labels.js';
import { epsgDef, transformer } from '../vector/crs.js';

export interface GridShape {
  width: number;
  height: number;
  georef: Georef;
}

function finish(fraction: Float64Array, threshold: number): ChipLabels {
  const labels = new Float32Array(fraction.length);
  let damaged = 0,
    undamaged = 0;
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
  return { fraction, labels, damaged, undamaged, polygonsInScene: 0 };
}

function truthValue(v: number, path: string): number {
  if (Number.isNaN(v)) return NaN;
  if (v === 0 || v === 1) return v;
  throw new DpmError(`truth raster ${path}: value ${v} found; a truth mask holds 1 (damaged), 0 (undamaged) or nodata`);
}

/** Labels the score grid from a truth mask raster (band 1). */
export function labelsFromMask(mask: Raster, score: GridShape, threshold = 1 / 3, layout?: ChipLayout): ChipLabels {
  const path = mask.source ?? '(in memory)';
  if (!(threshold > 0 && threshold <= 1)) throw new DpmError(`--fraction must be in (0, 1], got ${threshold}`);
  const m = mask.bands[0];
  if (!m) throw new DpmError(`truth raster ${path}: no band`);
  const n = score.width * score.height;
  const sum = new Float64Array(n),
    cnt = new Float64Array(n);
  if (mask.width === score.width && mask.height === score.height && !layout) {
    const fraction = new Float64Array(n);
    for (let k = 0; k < n; k++) fraction[k] = truthValue(valueAt(m, k), path);
    return finish(fraction, threshold);
  }
  const georeferenced = (g: Georef) => (g.geoTransform && g.epsg !== undefined) || (g.lat && g.lon);
  if (georeferenced(score.georef) && georeferenced(mask.georef)) {
    accumulateByGeometry(mask, score, layout, sum, cnt, path);
  } else {
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
    for (let i = 0; i < score.height; i++) {
      for (let j = 0; j < score.width; j++) {
        let s = 0,
          c = 0;
        for (let r = i * sa; r < i * sa + ca; r++) {
          for (let q = j * sr; q < j * sr + cr; q++) {
            const v = truthValue(valueAt(m, r * mask.width + q), path);
            if (!Number.isNaN(v)) {
              s += v;
              c++;
            }
          }
        }
        sum[i * score.width + j] = s;
        cnt[i * score.width + j] = c;
      }
    }
  }
  const fraction = new Float64Array(n);
  cnt.forEach((c, k) => {
    fraction[k] = c > 0 ? valueAt(sum, k) / c : NaN;
  });
  return finish(fraction, threshold);
}

/** Adds every valid truth pixel to the sums of the chips whose footprint contains its centre. */
function accumulateByGeometry(
  mask: Raster,
  score: GridShape,
  layout: ChipLayout | undefined,
  sum: Float64Array,
  cnt: Float64Array,
  path: string,
): void {
  const g = footprintGrid(score.georef, score.width, score.height, layout, 'score raster');
  const n = score.width * score.height;
  // each chip as centre c and half-axes a, b: p inside ⇔ p − c = u·a + v·b with −1 ≤ u, v < 1 (half-open, so a
  // truth pixel on the shared edge of two touching chips counts once)
  const geo = new Float64Array(6 * n).fill(NaN);
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (let i = 0; i < score.height; i++) {
    for (let j = 0; j < score.width; j++) {
      const r = chipPolygon(g, i, j);
      if (!r) continue;
      const k = i * score.width + j;
      const [[ax, ay], [bx, by], [cx, cy], [dx, dy]] = r; // corners (−1,−1), (1,−1), (1,1), (−1,1)
      geo.set([(ax + cx) / 2, (ay + cy) / 2, (bx - ax) / 2, (by - ay) / 2, (dx - ax) / 2, (dy - ay) / 2], 6 * k);
      for (const [x, y] of r) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
    }
  }
  // truth pixel centres in the working CRS
  const m = mask.georef;
  const W = mask.width,
    H = mask.height;
  let toWork: (row: number, col: number) => [number, number];
  if (m.geoTransform && m.epsg !== undefined) {
    const t = transformer(epsgDef(m.epsg), g.crs),
      gt = m.geoTransform;
    toWork = (r, c) =>
      t([gt[0] + (c + 0.5) * gt[1] + (r + 0.5) * gt[2], gt[3] + (c + 0.5) * gt[4] + (r + 0.5) * gt[5]]);
  } else {
    const { lat, lon } = m;
    if (!lat || !lon) throw new Error('internal: accumulateByGeometry needs a geotransform or lat/lon');
    const t = transformer('EPSG:4326', g.crs);
    toWork = (r, c) => t([valueAt(lon, r * W + c), valueAt(lat, r * W + c)]);
  }
  // bucket chips on a coarse grid by their bounding boxes
  const G = Math.max(1, Math.ceil(Math.sqrt(n / 4)));
  const bw = (x1 - x0) / G || 1,
    bh = (y1 - y0) / G || 1;
  const cell = (v: number, lo: number, step: number) => Math.min(G - 1, Math.max(0, Math.floor((v - lo) / step)));
  const buckets: number[][] = Array.from({ length: G * G }, () => []);
  /** chip k: centre (cx, cy) and half-axes a = (ax, ay), b = (bx, by); cx is NaN where the footprint is unknown */
  const chipAt = (k: number) => {
    const o = 6 * k;
    return {
      cx: valueAt(geo, o),
      cy: valueAt(geo, o + 1),
      ax: valueAt(geo, o + 2),
      ay: valueAt(geo, o + 3),
      bx: valueAt(geo, o + 4),
      by: valueAt(geo, o + 5),
    };
  };
  for (let k = 0; k < n; k++) {
    const { cx, cy, ax, ay, bx, by } = chipAt(k);
    if (Number.isNaN(cx)) continue;
    const ex = Math.abs(ax) + Math.abs(bx),
      ey = Math.abs(ay) + Math.abs(by);
    for (let iy = cell(cy - ey, y0, bh); iy <= cell(cy + ey, y0, bh); iy++) {
      for (let ix = cell(cx - ex, x0, bw); ix <= cell(cx + ex, x0, bw); ix++) buckets[iy * G + ix]?.push(k);
    }
  }
  const truth = mask.bands[0];
  if (!truth) throw new DpmError(`truth raster ${path}: no band`);
  let inside = 0;
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      const v = truthValue(valueAt(truth, r * W + c), path);
      if (Number.isNaN(v)) continue;
      const [px, py] = toWork(r, c);
      if (!(px >= x0 && px <= x1 && py >= y0 && py <= y1)) continue;
      for (const k of buckets[cell(py, y0, bh) * G + cell(px, x0, bw)] ?? []) {
        const { cx, cy, ax, ay, bx, by } = chipAt(k);
        const dx = px - cx,
          dy = py - cy;
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
  if (inside === 0)
    throw new DpmError(
      `truth raster ${path}: lies outside the score raster's scene (no truth pixel falls in any chip)`,
    );
}
