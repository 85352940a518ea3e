// Circular buffers around WGS84 points, measured in metres on the ground whatever the raster's CRS, and the
// mean index of the pixels inside each one (papers/002: 60 m diameter buffers, mean DPM index per buffer).
//
// "Inside": a pixel belongs to a buffer when its CENTRE lies within the circle (geodesic distance ≤ radius,
// computed in an azimuthal-equidistant projection centred on the point, whose distances from the centre are true
// ellipsoidal distances). Pixels are not area-weighted. NaN (nodata) pixels are skipped. When no pixel centre falls
// inside (buffer smaller than a pixel), the pixel containing the point is used instead and the buffer is flagged
// `fallback`. A point whose buffer touches no pixel of the raster is `outside`.
import { valueAt } from '../../core/arrays.js';
import proj4, { type Converter } from 'proj4';
import { DpmError } from '../../core/errors.js';
import type { Raster } from '../../raster/types.js';
import { epsgDef } from '../../vector/crs.js';

/** proj4 definition of the raster's CRS (any EPSG code proj4 knows, e.g. 4326, 4269, 3857, plus WGS84 UTM),
 *  with an error naming the raster. */
function rasterCrs(epsg: number, what: string): string {
  try {
    return epsgDef(epsg);
  } catch (e) {
    if (e instanceof DpmError)
      throw new DpmError(
        `${what}: CRS EPSG:${epsg} is not supported (EPSG:4326, 4269, 3857 and WGS84 UTM 326xx/327xx are); reproject the raster`,
      );
    throw e;
  }
}

export interface BufferResult {
  /** mean of the valid pixels inside the buffer; NaN when none is valid */
  mean: Float64Array;
  /** pixels whose centre lies inside, and how many of them hold data */
  inside: Int32Array;
  valid: Int32Array;
  /** no pixel centre inside: the containing pixel was used */
  fallback: Uint8Array;
  /** the buffer does not touch the raster */
  outside: Uint8Array;
}

const WGS84 = '+proj=longlat +datum=WGS84 +no_defs';

/** Per-point local frame: (lon, lat) → metres east/north of the point, with true distances from it. */
function localFrame(lon: number, lat: number): Converter {
  return proj4(WGS84, `+proj=aeqd +lat_0=${lat} +lon_0=${lon} +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs`);
}

/**
 * Mean of band `band` (0-based) inside a circle of `diameter` metres around each point.
 * The raster needs a map grid (geoTransform + epsg) or per-pixel lat/lon (radar geometry).
 */
export function bufferMeans(
  raster: Raster,
  band: number,
  lon: ArrayLike<number>,
  lat: ArrayLike<number>,
  diameter: number,
): BufferResult {
  const what = raster.source ?? 'raster';
  if (!(diameter > 0)) throw new DpmError(`--buffer must be a positive diameter in metres, got ${diameter}`);
  if (band < 0 || band >= raster.bands.length)
    throw new DpmError(`${what}: no band ${band + 1} (the raster has ${raster.bands.length})`);
  const n = lon.length;
  const res: BufferResult = {
    mean: new Float64Array(n),
    inside: new Int32Array(n),
    valid: new Int32Array(n),
    fallback: new Uint8Array(n),
    outside: new Uint8Array(n),
  };
  const g = raster.georef;
  if (g.geoTransform) {
    if (g.epsg === undefined)
      throw new DpmError(
        `${what}: the raster has a geotransform but no CRS (EPSG code); cannot place WGS84 points on it`,
      );
    gridMeans(raster, band, lon, lat, diameter / 2, res);
  } else if (g.lat && g.lon) {
    radarMeans(raster, band, lon, lat, diameter / 2, res);
  } else {
    throw new DpmError(`${what}: the raster is not georeferenced (no geotransform, no lat/lon companions)`);
  }
  return res;
}

function gridMeans(
  raster: Raster,
  band: number,
  lon: ArrayLike<number>,
  lat: ArrayLike<number>,
  radius: number,
  res: BufferResult,
): void {
  const what = raster.source ?? 'raster';
  const [x0, dx, rx, y0, ry, dy] = raster.georef.geoTransform!;
  const det = dx * dy - rx * ry;
  if (!(Math.abs(det) > 0)) throw new DpmError(`${what}: degenerate geotransform`);
  const toRaster = proj4(WGS84, rasterCrs(raster.georef.epsg!, what));
  // map (x, y) → fractional (col, row); pixel (c, r) spans [c, c+1) × [r, r+1)
  const toPixel = (x: number, y: number): [number, number] => {
    const ex = x - x0,
      ey = y - y0;
    return [(dy * ex - rx * ey) / det, (-ry * ex + dx * ey) / det];
  };
  const { width, height } = raster;
  const data = bandOf(raster, band);
  for (let i = 0; i < lon.length; i++) {
    const pointLon = valueAt(lon, i),
      pointLat = valueAt(lat, i);
    const local = localFrame(pointLon, pointLat);
    // pixel-space bounding box of the circle, from 16 points on its rim, padded by one pixel
    let cmin = Infinity,
      cmax = -Infinity,
      rmin = Infinity,
      rmax = -Infinity;
    for (let k = 0; k < 16; k++) {
      const ang = (k * Math.PI) / 8;
      const ll = local.inverse([radius * 1.05 * Math.cos(ang), radius * 1.05 * Math.sin(ang)]);
      const [c, r] = toPixel(...(toRaster.forward(ll) as [number, number]));
      cmin = Math.min(cmin, c);
      cmax = Math.max(cmax, c);
      rmin = Math.min(rmin, r);
      rmax = Math.max(rmax, r);
    }
    const [pc, pr] = toPixel(...(toRaster.forward([pointLon, pointLat]) as [number, number]));
    if (!Number.isFinite(pc) || !Number.isFinite(pr))
      throw new DpmError(
        `${what}: point ${i + 1} (${pointLon}, ${pointLat}) cannot be projected into EPSG:${raster.georef.epsg}`,
      );
    const c0 = Math.max(0, Math.floor(cmin) - 1),
      c1 = Math.min(width - 1, Math.ceil(cmax) + 1);
    const r0 = Math.max(0, Math.floor(rmin) - 1),
      r1 = Math.min(height - 1, Math.ceil(rmax) + 1);
    let sum = 0,
      inside = 0,
      valid = 0;
    const toRasterInv = toRaster.inverse.bind(toRaster);
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const x = x0 + (c + 0.5) * dx + (r + 0.5) * rx;
        const y = y0 + (c + 0.5) * ry + (r + 0.5) * dy;
        const [ex, ny] = local.forward(toRasterInv([x, y])) as [number, number];
        if (Math.hypot(ex, ny) > radius) continue;
        inside++;
        const v = valueAt(data, r * width + c);
        if (Number.isNaN(v)) continue;
        valid++;
        sum += v;
      }
    }
    if (inside === 0) {
      const c = Math.floor(pc),
        r = Math.floor(pr);
      if (c >= 0 && c < width && r >= 0 && r < height) {
        res.fallback[i] = 1;
        const v = valueAt(data, r * width + c);
        if (!Number.isNaN(v)) {
          sum = v;
          valid = 1;
        }
      } else {
        res.outside[i] = 1;
      }
    }
    res.inside[i] = inside;
    res.valid[i] = valid;
    res.mean[i] = valid > 0 ? sum / valid : NaN;
  }
}

/** Band `band` (0-based) of the DPM raster. */
function bandOf(raster: Raster, band: number): Float32Array {
  const data = raster.bands[band];
  if (!data) throw new DpmError(`${raster.source ?? 'raster'}: no band ${band + 1} (it has ${raster.bands.length})`);
  return data;
}

/** Radar geometry: pixel centres are scattered lat/lon; a bucket grid finds the candidates near each point. */
function radarMeans(
  raster: Raster,
  band: number,
  lon: ArrayLike<number>,
  lat: ArrayLike<number>,
  radius: number,
  res: BufferResult,
): void {
  const { lat: plat, lon: plon } = raster.georef;
  if (!plat || !plon) throw new Error('internal: radarMeans needs the lat/lon companions');
  const data = bandOf(raster, band);
  const npx = raster.width * raster.height;
  // bucket edge in degrees: the larger of the buffer radius and a coarse pixel spacing estimate
  let latMin = Infinity,
    latMax = -Infinity;
  for (let k = 0; k < npx; k++) {
    const v = valueAt(plat, k);
    if (Number.isFinite(v)) {
      latMin = Math.min(latMin, v);
      latMax = Math.max(latMax, v);
    }
  }
  if (!Number.isFinite(latMin))
    throw new DpmError(`${raster.source ?? 'raster'}: the latitude companion holds no valid value`);
  const spacingDeg = (latMax - latMin) / Math.max(1, Math.sqrt(npx)) + 1e-9;
  const cell = Math.max(radius / 111_000, spacingDeg * 2);
  const buckets = new Map<string, number[]>();
  const key = (la: number, lo: number) => `${Math.floor(la / cell)},${Math.floor(lo / cell)}`;
  for (let k = 0; k < npx; k++) {
    const la = valueAt(plat, k),
      lo = valueAt(plon, k);
    if (!Number.isFinite(la) || !Number.isFinite(lo)) continue;
    const kk = key(la, lo);
    let b = buckets.get(kk);
    if (!b) buckets.set(kk, (b = []));
    b.push(k);
  }
  for (let i = 0; i < lon.length; i++) {
    const pointLon = valueAt(lon, i),
      pointLat = valueAt(lat, i);
    const local = localFrame(pointLon, pointLat);
    const latSpan = Math.ceil(radius / 111_000 / cell) + 1;
    const lonSpan = Math.ceil(radius / (111_000 * Math.max(0.01, Math.cos((pointLat * Math.PI) / 180))) / cell) + 1;
    const bi = Math.floor(pointLat / cell),
      bj = Math.floor(pointLon / cell);
    let sum = 0,
      inside = 0,
      valid = 0;
    let nearest = -1,
      nearestD = Infinity;
    for (let a = bi - latSpan; a <= bi + latSpan; a++) {
      for (let b = bj - lonSpan; b <= bj + lonSpan; b++) {
        for (const k of buckets.get(`${a},${b}`) ?? []) {
          const [ex, ny] = local.forward([valueAt(plon, k), valueAt(plat, k)]) as [number, number];
          const d = Math.hypot(ex, ny);
          if (d < nearestD) {
            nearestD = d;
            nearest = k;
          }
          if (d > radius) continue;
          inside++;
          const v = valueAt(data, k);
          if (Number.isNaN(v)) continue;
          valid++;
          sum += v;
        }
      }
    }
    if (inside === 0) {
      // no centre inside: the pixel "containing" the point is the nearest centre, if it is within one pixel spacing
      if (nearest >= 0 && nearestD <= spacingDeg * 111_000 * 1.5 + radius) {
        res.fallback[i] = 1;
        const v = valueAt(data, nearest);
        if (!Number.isNaN(v)) {
          sum = v;
          valid = 1;
        }
      } else res.outside[i] = 1;
    }
    res.inside[i] = inside;
    res.valid[i] = valid;
    res.mean[i] = valid > 0 ? sum / valid : NaN;
  }
}
