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

/** Resamples a radar-geometry raster onto a north-up map grid; returns a raster with geoTransform and epsg. */
export async function geocode(raster: Raster, opts: GeocodeOptions = {}): Promise<Raster> {
  const fb = opts.feedback ?? silentFeedback;
  const { width: w, height: h } = raster;
  const what = raster.source ?? 'raster';
  const { lat, lon } = raster.georef;
  if (!lat || !lon) throw new DpmError(`${what}: no per-pixel latitude/longitude, nothing to geocode`);
  if (lat.length !== w * h || lon.length !== w * h)
    throw new DpmError(`${what}: lat/lon arrays do not match the ${w}×${h} raster`);
  if (w < 2 || h < 2) throw new DpmError(`${what}: ${w}×${h} is too small to geocode (needs 2×2 pixels)`);

  // Target CRS and projected pixel centres.
  let cLon = 0,
    cLat = 0,
    n = 0;
  // lat and lon hold w × h values (checked above); valueAt reads NaN (no data) past the end
  for (let i = 0; i < w * h; i++) {
    const la = valueAt(lat, i),
      lo = valueAt(lon, i);
    if (Number.isFinite(la) && Number.isFinite(lo)) {
      cLon += lo;
      cLat += la;
      n++;
    }
  }
  if (n === 0) throw new DpmError(`${what}: every latitude/longitude is NaN`);
  const target = opts.epsg ?? 'wgs84';
  const epsg = target === 'wgs84' ? 4326 : target === 'utm' ? utmEpsg(cLon / n, cLat / n) : target;
  const def = proj4Def(epsg);
  const fwd = epsg === 4326 ? null : proj4('+proj=longlat +datum=WGS84 +no_defs', def);
  const X = new Float64Array(w * h),
    Y = new Float64Array(w * h);
  for (let i = 0; i < w * h; i++) {
    const la = valueAt(lat, i),
      lo = valueAt(lon, i);
    if (!(Number.isFinite(la) && Number.isFinite(lo))) {
      X[i] = Y[i] = NaN;
      continue;
    }
    const [x = NaN, y = NaN] = fwd ? fwd.forward([lo, la]) : [lo, la];
    X[i] = x;
    Y[i] = y;
  }

  // Pixel size: the smaller median spacing between neighbouring centres, along rows or columns (keeps detail).
  let px = opts.pixelSize;
  if (px === undefined) {
    const along: number[] = [],
      across: number[] = [];
    const step = Math.max(1, Math.floor(Math.sqrt((w * h) / 20000))); // a sample of cells is enough
    for (let r = 0; r < h - 1; r += step)
      for (let c = 0; c < w - 1; c += step) {
        const i = r * w + c;
        const x = valueAt(X, i),
          y = valueAt(Y, i);
        along.push(Math.hypot(valueAt(X, i + 1) - x, valueAt(Y, i + 1) - y));
        across.push(Math.hypot(valueAt(X, i + w) - x, valueAt(Y, i + w) - y));
      }
    px = Math.min(median(along), median(across));
  }
  if (!(px > 0 && Number.isFinite(px)))
    throw new DpmError(`${what}: cannot choose a pixel size (spacing ${px}); give one`);

  let minX = Infinity,
    maxX = -Infinity,
    minY = Infinity,
    maxY = -Infinity;
  for (const x of X) {
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
  }
  for (const y of Y) {
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  // Grid snapped to multiples of the pixel size, covering every pixel centre.
  const x0 = Math.floor(minX / px) * px;
  const y0 = Math.ceil(maxY / px) * px;
  const W = Math.max(1, Math.ceil((maxX - x0) / px + 1e-9));
  const H = Math.max(1, Math.ceil((y0 - minY) / px + 1e-9));
  if (W * H > (opts.maxPixels ?? 2e8))
    throw new DpmError(`${what}: geocoded grid of ${W}×${H} pixels at ${px} is too large; give a larger pixel size`);

  // Fractional radar coordinates of each output pixel centre (NaN = outside the mesh).
  const R = new Float32Array(W * H).fill(NaN);
  const C = new Float32Array(W * H).fill(NaN);
  const tri = (a: number, b: number, c: number) => {
    const ax = valueAt(X, a),
      ay = valueAt(Y, a),
      bx = valueAt(X, b),
      by = valueAt(Y, b);
    const cx = valueAt(X, c),
      cy = valueAt(Y, c);
    const det = (by - cy) * (ax - cx) + (cx - bx) * (ay - cy);
    if (!(Math.abs(det) > 0)) return; // degenerate or NaN corner
    const ra = Math.floor(a / w),
      ca = a % w,
      rb = Math.floor(b / w),
      cb = b % w,
      rc = Math.floor(c / w),
      cc = c % w;
    const colLo = Math.max(0, Math.ceil((Math.min(ax, bx, cx) - x0) / px - 0.5));
    const colHi = Math.min(W - 1, Math.floor((Math.max(ax, bx, cx) - x0) / px - 0.5));
    const rowLo = Math.max(0, Math.ceil((y0 - Math.max(ay, by, cy)) / px - 0.5));
    const rowHi = Math.min(H - 1, Math.floor((y0 - Math.min(ay, by, cy)) / px - 0.5));
    const eps = -1e-9; // shared edges belong to both triangles (same answer either way)
    for (let or = rowLo; or <= rowHi; or++) {
      const yc = y0 - (or + 0.5) * px;
      for (let oc = colLo; oc <= colHi; oc++) {
        const xc = x0 + (oc + 0.5) * px;
        const l1 = ((by - cy) * (xc - cx) + (cx - bx) * (yc - cy)) / det;
        const l2 = ((cy - ay) * (xc - cx) + (ax - cx) * (yc - cy)) / det;
        const l3 = 1 - l1 - l2;
        if (l1 < eps || l2 < eps || l3 < eps) continue;
        R[or * W + oc] = l1 * ra + l2 * rb + l3 * rc;
        C[or * W + oc] = l1 * ca + l2 * cb + l3 * cc;
      }
    }
  };
  for (let r = 0; r < h - 1; r++) {
    if (r % 64 === 0) {
      await checkpoint(fb);
      fb.progress((80 * r) / (h - 1), 'geocoding');
    }
    for (let c = 0; c < w - 1; c++) {
      const i = r * w + c;
      tri(i, i + 1, i + w);
      tri(i + 1, i + w + 1, i + w);
    }
  }

  const method = opts.method ?? 'bilinear';
  const bands: Float32Array[] = [];
  for (const src of raster.bands) {
    await checkpoint(fb);
    const out = new Float32Array(W * H).fill(NaN);
    for (let k = 0; k < W * H; k++) {
      const r = valueAt(R, k),
        c = valueAt(C, k);
      if (r !== r) continue;
      out[k] = method === 'nearest' ? valueAt(src, Math.round(r) * w + Math.round(c)) : bilinear(src, w, h, r, c);
    }
    bands.push(out);
  }
  fb.progress(100, 'geocoding');
  const geoTransform: GeoTransform = [x0, px, 0, y0, 0, -px];
  fb.log('info', `geocoded ${w}×${h} → ${W}×${H} EPSG:${epsg}, pixel ${Number(px.toPrecision(6))} (${method})`);
  return {
    width: W,
    height: H,
    bands,
    descriptions: [...raster.descriptions],
    georef: { geoTransform, epsg },
    metadata: raster.metadata,
    source: raster.source,
  };
}

/** Bilinear sample at fractional (r, c); NaN neighbours are left out and the weights renormalised. */
export function bilinear(src: ArrayLike<number>, w: number, h: number, r: number, c: number): number {
  const r0 = Math.min(h - 2, Math.max(0, Math.floor(r)));
  const c0 = Math.min(w - 2, Math.max(0, Math.floor(c)));
  const fr = r - r0,
    fc = c - c0;
  let sum = 0,
    wsum = 0;
  const add = (rr: number, cc: number, wt: number) => {
    const v = valueAt(src, rr * w + cc);
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
