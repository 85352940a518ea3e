// Which pixels belong to each building footprint (issue 14, `dpm buildings`): a pixel belongs to a footprint when
// its centre lies inside it (holes excluded; a multipolygon is the union of its parts). A footprint that holds no
// pixel centre (smaller than a pixel, or between centres) takes the one pixel that contains its area centroid.
// Everything is done in the grid's metric working CRS (labels.ts footprintGrid: the raster's projected CRS, or a
// local Lambert equal-area projection for geographic grids and radar geometry), so centroids are area centroids.
import { valueAt } from '../core/arrays.js';
import { checkpoint, type Feedback, silentFeedback } from '../core/feedback.js';
import type { Georef } from '../raster/types.js';
import { epsgDef, transformer } from './crs.js';
import { chipPolygon, type FootprintGrid, footprintGrid } from './labels.js';
import type { PolygonCoords, Ring } from './read.js';

/** Pixel centres bucketed on a coarse grid, for bounding-box and nearest-centre queries. */
class CentreIndex {
  private readonly x0: number;
  private readonly y0: number;
  private readonly cell: number;
  private readonly nx: number;
  private readonly ny: number;
  private readonly start: Int32Array;
  private readonly items: Int32Array;

  constructor(private readonly g: FootprintGrid) {
    let x0 = Infinity,
      y0 = Infinity,
      x1 = -Infinity,
      y1 = -Infinity,
      n = 0;
    g.cx.forEach((x, k) => {
      const y = valueAt(g.cy, k);
      if (!Number.isFinite(x) || !Number.isFinite(y)) return;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
      n++;
    });
    // about one centre per cell: queries touch few cells whatever the pixel size
    const span = Math.max(x1 - x0, y1 - y0, 1e-9);
    this.cell = n > 0 ? Math.max(Math.sqrt(((x1 - x0 || span) * (y1 - y0 || span)) / n), span / 4096) : 1;
    this.x0 = x0;
    this.y0 = y0;
    this.nx = n > 0 ? Math.floor((x1 - x0) / this.cell) + 1 : 0;
    this.ny = n > 0 ? Math.floor((y1 - y0) / this.cell) + 1 : 0;
    const counts = new Int32Array(this.nx * this.ny + 1);
    const cellOf = new Int32Array(g.cx.length).fill(-1);
    g.cx.forEach((x, k) => {
      const y = valueAt(g.cy, k);
      if (!Number.isFinite(x) || !Number.isFinite(y)) return;
      const c = this.cellIndex(x, y);
      cellOf[k] = c;
      counts[c + 1] = valueAt(counts, c + 1) + 1;
    });
    for (let c = 1; c < counts.length; c++) counts[c] = valueAt(counts, c) + valueAt(counts, c - 1);
    this.start = counts;
    this.items = new Int32Array(n);
    const fill = counts.slice(0, -1);
    cellOf.forEach((c, k) => {
      if (c < 0) return;
      this.items[valueAt(fill, c)] = k;
      fill[c] = valueAt(fill, c) + 1;
    });
  }

  private cellIndex(x: number, y: number): number {
    const i = Math.min(this.nx - 1, Math.max(0, Math.floor((x - this.x0) / this.cell)));
    const j = Math.min(this.ny - 1, Math.max(0, Math.floor((y - this.y0) / this.cell)));
    return j * this.nx + i;
  }

  /** centres inside the box [xa, xb] × [ya, yb] */
  within(xa: number, ya: number, xb: number, yb: number, visit: (k: number) => void): void {
    if (this.nx === 0) return;
    const i0 = Math.max(0, Math.floor((xa - this.x0) / this.cell)),
      i1 = Math.min(this.nx - 1, Math.floor((xb - this.x0) / this.cell));
    const j0 = Math.max(0, Math.floor((ya - this.y0) / this.cell)),
      j1 = Math.min(this.ny - 1, Math.floor((yb - this.y0) / this.cell));
    for (let j = j0; j <= j1; j++) {
      for (let i = i0; i <= i1; i++) {
        const c = j * this.nx + i;
        for (let s = valueAt(this.start, c); s < valueAt(this.start, c + 1); s++) {
          const k = valueAt(this.items, s);
          const x = valueAt(this.g.cx, k),
            y = valueAt(this.g.cy, k);
          if (x >= xa && x <= xb && y >= ya && y <= yb) visit(k);
        }
      }
    }
  }

  /** the centre nearest to (x, y) within `radius` cells, or -1 */
  nearest(x: number, y: number, radius = 3): number {
    let best = -1,
      bestD = Infinity;
    const r = radius * this.cell;
    this.within(x - r, y - r, x + r, y + r, (k) => {
      const d = (valueAt(this.g.cx, k) - x) ** 2 + (valueAt(this.g.cy, k) - y) ** 2;
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    });
    return best;
  }
}

/** Even-odd crossing test over every ring (an outer ring and its holes). */
function insideRings(rings: Ring[], x: number, y: number): boolean {
  let inside = false;
  for (const ring of rings) {
    for (let a = 0, b = ring.length - 1; a < ring.length; b = a++) {
      const [xa, ya] = ring[a] ?? [NaN, NaN];
      const [xb, yb] = ring[b] ?? [NaN, NaN];
      if (ya > y !== yb > y && x < ((xb - xa) * (y - ya)) / (yb - ya) + xa) inside = !inside;
    }
  }
  return inside;
}

/** Area and area centroid of polygons with holes (shoelace, relative to the first vertex for precision). */
export function areaCentroid(polys: PolygonCoords[]): { area: number; x: number; y: number } {
  const [ox, oy] = polys[0]?.[0]?.[0] ?? [0, 0];
  let area = 0,
    sx = 0,
    sy = 0;
  for (const rings of polys) {
    for (const [r, ring] of rings.entries()) {
      // signed area of each ring taken positive for the outer ring, negative for holes, whatever its winding
      let a = 0,
        cx = 0,
        cy = 0;
      for (let k = 0, m = ring.length - 1; k < ring.length; m = k++) {
        const [x0, y0] = ring[m] ?? [0, 0];
        const [x1, y1] = ring[k] ?? [0, 0];
        const c = (x0 - ox) * (y1 - oy) - (x1 - ox) * (y0 - oy);
        a += c;
        cx += (x0 - ox + x1 - ox) * c;
        cy += (y0 - oy + y1 - oy) * c;
      }
      const sign = (a < 0 ? -1 : 1) * (r === 0 ? 1 : -1);
      area += (sign * a) / 2;
      sx += (sign * cx) / 6;
      sy += (sign * cy) / 6;
    }
  }
  return area > 0 ? { area, x: ox + sx / area, y: oy + sy / area } : { area: 0, x: NaN, y: NaN };
}

export interface FootprintZone {
  /** row-major pixel indices of the footprint (ascending) */
  pixels: number[];
  /** true when no pixel centre lay inside and `pixels` is the pixel holding the area centroid */
  centroidPixel: boolean;
}

/**
 * The pixels of each footprint (`null` entries: features without polygons → null). `crs` is the footprints' proj4
 * definition; the raster is `width`×`height` with `georef` (geotransform + EPSG, or lat/lon of pixel centres).
 */
export async function footprintZones(
  footprints: (PolygonCoords[] | null)[],
  crs: string,
  georef: Georef,
  width: number,
  height: number,
  fb: Feedback = silentFeedback,
  what = 'score raster',
): Promise<(FootprintZone | null)[]> {
  const g = footprintGrid(georef, width, height, undefined, what);
  const index = new CentreIndex(g);
  const toWork = transformer(crs, g.crs);
  const containing = containingPixel(g, georef, index);
  const zones: (FootprintZone | null)[] = [];
  for (const [f, polys] of footprints.entries()) {
    if (f % 1000 === 0) {
      await checkpoint(fb); // many footprints are minutes of synchronous work: let Ctrl-C in
      fb.progress((100 * f) / footprints.length, 'building footprints');
    }
    zones.push(zoneOf(polys));
  }
  return zones;

  function zoneOf(polys: PolygonCoords[] | null): FootprintZone | null {
    if (!polys || polys.length === 0) return null;
    const work = polys.map((rings) => rings.map((ring) => ring.map((p) => toWork(p))));
    const pixels: number[] = [];
    for (const rings of work) {
      const outer = rings[0] ?? [];
      const xs = outer.map((p) => p[0]),
        ys = outer.map((p) => p[1]);
      index.within(Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys), (k) => {
        if (insideRings(rings, valueAt(g.cx, k), valueAt(g.cy, k))) pixels.push(k);
      });
    }
    if (pixels.length > 0) return { pixels: [...new Set(pixels)].sort((a, b) => a - b), centroidPixel: false };
    const c = areaCentroid(work);
    const k = Number.isFinite(c.x) ? containing(c.x, c.y) : -1;
    return { pixels: k >= 0 ? [k] : [], centroidPixel: k >= 0 };
  }
}

/** The pixel whose area holds a point of the working CRS, or -1 off the grid. */
function containingPixel(g: FootprintGrid, georef: Georef, index: CentreIndex): (x: number, y: number) => number {
  const gt = georef.geoTransform;
  if (gt && georef.epsg !== undefined) {
    // map grid: back to the raster's CRS, then the inverse geotransform
    const toRaster = transformer(g.crs, epsgDef(georef.epsg));
    const det = gt[1] * gt[5] - gt[2] * gt[4];
    return (x, y) => {
      const [u, v] = toRaster([x, y]);
      const du = u - gt[0],
        dv = v - gt[3];
      const col = Math.floor((gt[5] * du - gt[2] * dv) / det);
      const row = Math.floor((-gt[4] * du + gt[1] * dv) / det);
      return col >= 0 && row >= 0 && col < g.width && row < g.height ? row * g.width + col : -1;
    };
  }
  // radar geometry: the nearest centre, if the point lies within that pixel's footprint (half-way to its neighbours)
  return (x, y) => {
    const k = index.nearest(x, y);
    if (k < 0) return -1;
    const ring = chipPolygon(g, Math.floor(k / g.width), k % g.width);
    return ring && insideRings([ring], x, y) ? k : -1;
  };
}
