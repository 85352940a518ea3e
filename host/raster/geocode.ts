// Geocoding: resample a radar-geometry raster (WGS84 lat/lon of each pixel centre) onto a regular map grid.
//
// Inverse mapping through triangles: every cell between four neighbouring radar pixel centres is split into two
// triangles; projected into the target CRS (proj4), each triangle is rasterised onto the output grid and, at each
// output pixel centre inside it, the barycentric weights give the fractional radar (row, col). The radar raster is
// then sampled there (nearest or bilinear). Exact when lat/lon vary affinely over a cell. Output pixels outside the
// mesh of pixel centres (including the outer half pixel of the radar grid) are NaN.
import { valueAt } from '../core/arrays.js';
import proj4 from 'proj4';
import { DpmError } from '../core/errors.js';
import { checkpoint, silentFeedback, type Feedback } from '../core/feedback.js';
import type { GeoTransform, Raster } from './types.js';

export type GeocodeTarget = 'wgs84' | 'utm' | number;

export interface GeocodeOptions {
  /** 'wgs84' (EPSG:4326, default), 'utm' (the UTM zone of the scene centre), or an EPSG code (4326, 3857, 326xx, 327xx) */
  epsg?: GeocodeTarget;
  /** output pixel size in target units (degrees for 4326, metres otherwise); default: from the data's spacing */
  pixelSize?: number;
  method?: 'nearest' | 'bilinear';
  feedback?: Feedback;
  /** largest output in pixels (default 2e8) */
  maxPixels?: number;
}

/** EPSG code of the UTM zone holding (lon, lat). */
export function utmEpsg(lon: number, lat: number): number {
  const zone = Math.min(60, Math.max(1, Math.floor(((((lon + 180) % 360) + 360) % 360) / 6) + 1));
  return (lat >= 0 ? 32600 : 32700) + zone;
}

/** proj4 definition of the EPSG codes we can target. */
export function proj4Def(epsg: number): string {
  if (epsg === 4326) return '+proj=longlat +datum=WGS84 +no_defs';
  if (epsg === 3857) return 'EPSG:3857';
  const zone = epsg % 100;
  if ((Math.floor(epsg / 100) === 326 || Math.floor(epsg / 100) === 327) && zone >= 1 && zone <= 60) {
    return `+proj=utm +zone=${zone}${epsg >= 32700 ? ' +south' : ''} +datum=WGS84 +units=m +no_defs`;
  }
  throw new DpmError(`EPSG:${epsg}: geocoding supports EPSG:4326, EPSG:3857 and the WGS84 UTM zones (326xx/327xx)`);
}

function median(values: number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  return v[v.length >> 1] ?? NaN;
}

/** A radar-geometry source read by row blocks: its lat/lon lookups and its layers (one band each). */
export interface RadarRows {
  width: number;
  height: number;
  /** for messages */
  what: string;
  /** rows [r0, r1) of the WGS84 latitude/longitude of pixel centres, row-major */
  latLon(r0: number, r1: number): Promise<{ lat: ArrayLike<number>; lon: ArrayLike<number> }>;
  /** rows [r0, r1) of each layer to geocode */
  layers: ((r0: number, r1: number) => Promise<ArrayLike<number>>)[];
}

/** The map grid chosen for a radar source (geocodeGrid), and what geocodeBlocks needs to fill it. */
export interface GeocodeGrid {
  width: number;
  height: number;
  geoTransform: GeoTransform;
  epsg: number;
  px: number;
  /** per radar row pair (r, r + 1): the output rows its cells can touch, [lo, hi] (lo > hi: none) */
  pairLo: Float64Array;
  pairHi: Float64Array;
  project: (lon: number, lat: number) => [number, number];
}

/** Radar rows (pass over the lookups) or output rows (the resampling) per block. */
const GEOCODE_ROWS = 256;

/** Map grid of a radar source: the target CRS, the pixel size (the smaller median spacing between neighbouring
 *  centres, along rows or columns: keeps detail) and the extent, from two streamed passes over the lat/lon rows. */
export async function geocodeGrid(src: RadarRows, opts: GeocodeOptions = {}): Promise<GeocodeGrid> {
  const fb = opts.feedback ?? silentFeedback;
  const { width: w, height: h, what } = src;
  if (w < 2 || h < 2) throw new DpmError(`${what}: ${w}×${h} is too small to geocode (needs 2×2 pixels)`);
  const blocks = async (
    pass: number,
    each: (lat: ArrayLike<number>, lon: ArrayLike<number>, r0: number, n: number) => void,
  ) => {
    for (let r0 = 0; r0 < h; r0 += GEOCODE_ROWS) {
      await checkpoint(fb);
      fb.progress(10 * pass + (10 * r0) / h, 'geocoding: map grid');
      const n = Math.min(GEOCODE_ROWS, h - r0);
      const { lat, lon } = await src.latLon(r0, r0 + n);
      if (lat.length !== w * n || lon.length !== w * n)
        throw new DpmError(`${what}: lat/lon arrays do not match the ${w}×${h} raster`);
      each(lat, lon, r0, n);
    }
  };
  // Target CRS: the UTM zone of the centre of the valid lat/lon
  let cLon = 0,
    cLat = 0,
    valid = 0;
  await blocks(0, (lat, lon, _r0, n) => {
    for (let i = 0; i < w * n; i++) {
      const la = valueAt(lat, i),
        lo = valueAt(lon, i);
      if (Number.isFinite(la) && Number.isFinite(lo)) {
        cLon += lo;
        cLat += la;
        valid++;
      }
    }
  });
  if (valid === 0) throw new DpmError(`${what}: every latitude/longitude is NaN`);
  const target = opts.epsg ?? 'wgs84';
  const epsg = target === 'wgs84' ? 4326 : target === 'utm' ? utmEpsg(cLon / valid, cLat / valid) : target;
  const def = proj4Def(epsg);
  const fwd = epsg === 4326 ? null : proj4('+proj=longlat +datum=WGS84 +no_defs', def);
  const project = (lo: number, la: number): [number, number] => {
    if (!(Number.isFinite(la) && Number.isFinite(lo))) return [NaN, NaN];
    const [x = NaN, y = NaN] = fwd ? fwd.forward([lo, la]) : [lo, la];
    return [x, y];
  };

  // Extent, each radar row's Y range and a sample of cells for the pixel size, one row of projected centres at a time
  const along: number[] = [],
    across: number[] = [];
  const step = Math.max(1, Math.floor(Math.sqrt((w * h) / 20000))); // a sample of cells is enough
  let minX = Infinity,
    maxX = -Infinity,
    minY = Infinity,
    maxY = -Infinity;
  const rowMinY = new Float64Array(h).fill(Infinity),
    rowMaxY = new Float64Array(h).fill(-Infinity);
  let X = new Float64Array(w),
    Y = new Float64Array(w),
    prevX = new Float64Array(w),
    prevY = new Float64Array(w);
  await blocks(1, (lat, lon, r0, n) => {
    for (let k = 0; k < n; k++) {
      const r = r0 + k;
      for (let c = 0; c < w; c++) {
        const [x, y] = project(valueAt(lon, k * w + c), valueAt(lat, k * w + c));
        X[c] = x;
        Y[c] = y;
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
        if (y < valueAt(rowMinY, r)) rowMinY[r] = y;
        if (y > valueAt(rowMaxY, r)) rowMaxY[r] = y;
      }
      if (opts.pixelSize === undefined) {
        // cell (r, c): along its row now, across it once row r + 1 is here
        if (r < h - 1 && r % step === 0)
          for (let c = 0; c < w - 1; c += step)
            along.push(Math.hypot(valueAt(X, c + 1) - valueAt(X, c), valueAt(Y, c + 1) - valueAt(Y, c)));
        if (r >= 1 && (r - 1) % step === 0)
          for (let c = 0; c < w - 1; c += step)
            across.push(Math.hypot(valueAt(X, c) - valueAt(prevX, c), valueAt(Y, c) - valueAt(prevY, c)));
      }
      [prevX, X] = [X, prevX];
      [prevY, Y] = [Y, prevY];
    }
  });
  const px = opts.pixelSize ?? Math.min(median(along), median(across));
  if (!(px > 0 && Number.isFinite(px)))
    throw new DpmError(`${what}: cannot choose a pixel size (spacing ${px}); give one`);
  // Grid snapped to multiples of the pixel size, covering every pixel centre.
  const x0 = Math.floor(minX / px) * px;
  const y0 = Math.ceil(maxY / px) * px;
  const W = Math.max(1, Math.ceil((maxX - x0) / px + 1e-9));
  const H = Math.max(1, Math.ceil((y0 - minY) / px + 1e-9));
  if (W * H > (opts.maxPixels ?? 2e8))
    throw new DpmError(`${what}: geocoded grid of ${W}×${H} pixels at ${px} is too large; give a larger pixel size`);
  // the output rows a cell between radar rows r and r + 1 can reach (its triangles' rows lie inside)
  const pairLo = new Float64Array(h - 1),
    pairHi = new Float64Array(h - 1);
  for (let r = 0; r < h - 1; r++) {
    const top = Math.max(valueAt(rowMaxY, r), valueAt(rowMaxY, r + 1));
    const bottom = Math.min(valueAt(rowMinY, r), valueAt(rowMinY, r + 1));
    pairLo[r] = Math.max(0, Math.ceil((y0 - top) / px - 0.5));
    pairHi[r] = Math.min(H - 1, Math.floor((y0 - bottom) / px - 0.5));
  }
  return { width: W, height: H, geoTransform: [x0, px, 0, y0, 0, -px], epsg, px, pairLo, pairHi, project };
}

/**
 * Resamples the layers of `src` onto `grid` in blocks of output rows: `sink` gets each block (one array per layer,
 * count × grid.width) in order. Memory: a block of output rows and the radar rows whose cells reach it (for a
 * radar grid whose rows run across the map, that is most of the scene: this path is bounded for near north-up
 * rows, as ours and most SAR frames' azimuth lines are within a few tens of degrees).
 */
export async function geocodeBlocks(
  src: RadarRows,
  grid: GeocodeGrid,
  opts: GeocodeOptions,
  sink: (rows: Float32Array[], count: number) => void | Promise<void>,
): Promise<void> {
  const fb = opts.feedback ?? silentFeedback;
  const { width: w, height: h } = src;
  const { width: W, height: H, px, pairLo, pairHi } = grid;
  const [x0, , , y0] = grid.geoTransform;
  const method = opts.method ?? 'bilinear';
  for (let o0 = 0; o0 < H; o0 += GEOCODE_ROWS) {
    await checkpoint(fb);
    fb.progress(20 + (80 * o0) / H, 'geocoding');
    const o1 = Math.min(H, o0 + GEOCODE_ROWS);
    // the radar row pairs whose cells reach output rows [o0, o1)
    let rmin = -1,
      rmax = -1;
    for (let r = 0; r < h - 1; r++) {
      if (valueAt(pairLo, r) <= o1 - 1 && valueAt(pairHi, r) >= o0) {
        if (rmin < 0) rmin = r;
        rmax = r;
      }
    }
    const R = new Float32Array(W * (o1 - o0)).fill(NaN);
    const C = new Float32Array(W * (o1 - o0)).fill(NaN);
    // radar rows [base, end): the cells' corners, and one more row for bilinear sampling at the last
    const base = Math.max(0, rmin),
      end = rmin < 0 ? 0 : Math.min(h, rmax + 3);
    if (rmin >= 0) {
      const { lat, lon } = await src.latLon(base, end);
      const X = new Float64Array(w * (end - base)),
        Y = new Float64Array(w * (end - base));
      for (let i = 0; i < X.length; i++) [X[i], Y[i]] = grid.project(valueAt(lon, i), valueAt(lat, i));
      // Fractional radar coordinates of each output pixel centre (NaN = outside the mesh); a triangle (corner
      // indices local to the rows read) is rasterised on the rows of this block only. Later triangles overwrite
      // earlier ones on shared edges, in the same order as over the whole grid.
      const tri = (a: number, b: number, c: number) => {
        const ax = valueAt(X, a),
          ay = valueAt(Y, a),
          bx = valueAt(X, b),
          by = valueAt(Y, b);
        const cx = valueAt(X, c),
          cy = valueAt(Y, c);
        const det = (by - cy) * (ax - cx) + (cx - bx) * (ay - cy);
        if (!(Math.abs(det) > 0)) return; // degenerate or NaN corner
        const ra = Math.floor(a / w) + base,
          ca = a % w,
          rb = Math.floor(b / w) + base,
          cb = b % w,
          rc = Math.floor(c / w) + base,
          cc = c % w;
        const colLo = Math.max(0, Math.ceil((Math.min(ax, bx, cx) - x0) / px - 0.5));
        const colHi = Math.min(W - 1, Math.floor((Math.max(ax, bx, cx) - x0) / px - 0.5));
        const rowLo = Math.max(o0, Math.ceil((y0 - Math.max(ay, by, cy)) / px - 0.5));
        const rowHi = Math.min(o1 - 1, Math.floor((y0 - Math.min(ay, by, cy)) / px - 0.5));
        const eps = -1e-9; // shared edges belong to both triangles (same answer either way)
        for (let or = rowLo; or <= rowHi; or++) {
          const yc = y0 - (or + 0.5) * px;
          for (let oc = colLo; oc <= colHi; oc++) {
            const xc = x0 + (oc + 0.5) * px;
            const l1 = ((by - cy) * (xc - cx) + (cx - bx) * (yc - cy)) / det;
            const l2 = ((cy - ay) * (xc - cx) + (ax - cx) * (yc - cy)) / det;
            const l3 = 1 - l1 - l2;
            if (l1 < eps || l2 < eps || l3 < eps) continue;
            R[(or - o0) * W + oc] = l1 * ra + l2 * rb + l3 * rc;
            C[(or - o0) * W + oc] = l1 * ca + l2 * cb + l3 * cc;
          }
        }
      };
      for (let r = rmin; r <= rmax; r++) {
        for (let c = 0; c < w - 1; c++) {
          const i = (r - base) * w + c;
          tri(i, i + 1, i + w);
          tri(i + 1, i + w + 1, i + w);
        }
      }
    }
    const out: Float32Array[] = [];
    for (const layer of src.layers) {
      const band = new Float32Array(W * (o1 - o0)).fill(NaN);
      if (rmin >= 0) {
        const values = await layer(base, end);
        for (let k = 0; k < band.length; k++) {
          const r = valueAt(R, k),
            c = valueAt(C, k);
          if (r !== r) continue;
          band[k] =
            method === 'nearest'
              ? valueAt(values, (Math.round(r) - base) * w + Math.round(c))
              : bilinear(values, w, h, r, c, base);
        }
      }
      out.push(band);
    }
    await sink(out, o1 - o0);
  }
  fb.progress(100, 'geocoding');
}

/** Resamples a radar-geometry raster onto a north-up map grid; returns a raster with geoTransform and epsg
 *  (geocodeGrid and geocodeBlocks over the arrays in memory). */
export async function geocode(raster: Raster, opts: GeocodeOptions = {}): Promise<Raster> {
  const fb = opts.feedback ?? silentFeedback;
  const { width: w, height: h } = raster;
  const what = raster.source ?? 'raster';
  const { lat, lon } = raster.georef;
  if (!lat || !lon) throw new DpmError(`${what}: no per-pixel latitude/longitude, nothing to geocode`);
  if (lat.length !== w * h || lon.length !== w * h)
    throw new DpmError(`${what}: lat/lon arrays do not match the ${w}×${h} raster`);
  const src: RadarRows = {
    width: w,
    height: h,
    what,
    latLon: async (r0, r1) => ({ lat: lat.subarray(r0 * w, r1 * w), lon: lon.subarray(r0 * w, r1 * w) }),
    layers: raster.bands.map((b) => async (r0: number, r1: number) => b.subarray(r0 * w, r1 * w)),
  };
  const grid = await geocodeGrid(src, opts);
  const { width: W, height: H } = grid;
  const bands = raster.bands.map(() => new Float32Array(W * H));
  let row = 0;
  await geocodeBlocks(src, grid, opts, (rows, n) => {
    rows.forEach((r, k) => bands[k]?.set(r, row * W));
    row += n;
  });
  fb.log('info', geocodeLog(raster, grid, opts));
  return {
    width: W,
    height: H,
    bands,
    descriptions: [...raster.descriptions],
    georef: { geoTransform: grid.geoTransform, epsg: grid.epsg },
    metadata: raster.metadata,
    source: raster.source,
  };
}

/** The log line of a geocoding. */
export function geocodeLog(src: { width: number; height: number }, g: GeocodeGrid, opts: GeocodeOptions): string {
  return (
    `geocoded ${src.width}×${src.height} → ${g.width}×${g.height} EPSG:${g.epsg}, pixel ` +
    `${Number(g.px.toPrecision(6))} (${opts.method ?? 'bilinear'})`
  );
}

/** Bilinear sample at fractional (r, c); NaN neighbours are left out and the weights renormalised. `src` holds
 *  rows from `base` on (a block of an h-row raster). */
export function bilinear(src: ArrayLike<number>, w: number, h: number, r: number, c: number, base = 0): number {
  const r0 = Math.min(h - 2, Math.max(0, Math.floor(r)));
  const c0 = Math.min(w - 2, Math.max(0, Math.floor(c)));
  const fr = r - r0,
    fc = c - c0;
  let sum = 0,
    wsum = 0;
  const add = (rr: number, cc: number, wt: number) => {
    const v = valueAt(src, (rr - base) * w + cc);
    if (wt > 0 && v === v) {
      sum += wt * v;
      wsum += wt;
    }
  };
  add(r0, c0, (1 - fr) * (1 - fc));
  add(r0, c0 + 1, (1 - fr) * fc);
  add(r0 + 1, c0, fr * (1 - fc));
  add(r0 + 1, c0 + 1, fr * fc);
  return wsum > 0 ? sum / wsum : NaN;
}
