// An area-of-interest polygon → the window of a radar-geometry grid it covers, through per-pixel lat/lon lookups.
import { DpmError } from '../core/errors.js';
import { readPolygons, skippedSummary, type PolygonCoords } from './read.js';
import { transformer } from './crs.js';

export interface LatLonGrid {
  width: number;
  height: number;
  /** WGS84 degrees of each pixel centre, row-major */
  lat: ArrayLike<number>;
  lon: ArrayLike<number>;
}

/** Even-odd rule over every ring (holes included). */
function inside(rings: PolygonCoords, x: number, y: number): boolean {
  let hit = false;
  for (const ring of rings) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i]!,
        [xj, yj] = ring[j]!;
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
    }
  }
  return hit;
}

/**
 * The window r0:r1,c0:c1 (grid pixels) holding every pixel whose centre lies in one of the polygons, grown by
 * `pad` = [columns, rows] on each side so that the chips around the edge pixels are complete.
 */
export function windowOfPolygons(
  grid: LatLonGrid,
  polygons: PolygonCoords[],
  pad: [number, number],
  what: string,
): string {
  let lo0 = Infinity,
    la0 = Infinity,
    lo1 = -Infinity,
    la1 = -Infinity;
  for (const rings of polygons)
    for (const [x, y] of rings[0] ?? []) {
      lo0 = Math.min(lo0, x);
      lo1 = Math.max(lo1, x);
      la0 = Math.min(la0, y);
      la1 = Math.max(la1, y);
    }
  let r0 = Infinity,
    r1 = -Infinity,
    c0 = Infinity,
    c1 = -Infinity;
  for (let r = 0; r < grid.height; r++) {
    for (let c = 0; c < grid.width; c++) {
      const k = r * grid.width + c;
      const x = grid.lon[k]!,
        y = grid.lat[k]!;
      if (!(x >= lo0 && x <= lo1 && y >= la0 && y <= la1)) continue; // cheap box test first
      if (!polygons.some((rings) => inside(rings, x, y))) continue;
      r0 = Math.min(r0, r);
      r1 = Math.max(r1, r);
      c0 = Math.min(c0, c);
      c1 = Math.max(c1, c);
    }
  }
  if (r0 === Infinity)
    throw new DpmError(`${what}: the polygon covers no pixel of the ${grid.width} × ${grid.height} scene`);
  const [pc, pr] = pad;
  return `${Math.max(0, r0 - pr)}:${Math.min(grid.height, r1 + 1 + pr)},${Math.max(0, c0 - pc)}:${Math.min(grid.width, c1 + 1 + pc)}`;
}

/** Reads an AOI vector file and returns its polygons in WGS84 lon/lat. */
export async function readAoiPolygons(path: string): Promise<PolygonCoords[]> {
  const v = await readPolygons(path, '--aoi');
  if (v.polygons.length === 0)
    throw new DpmError(`--aoi ${path}: no polygon in the file (left out: ${skippedSummary(v.skippedWhy) || 'none'})`);
  const toWgs = transformer(v.crs, 'EPSG:4326');
  return v.polygons.map((p) => p.rings.map((ring) => ring.map((pt) => toWgs(pt as [number, number]))));
}
