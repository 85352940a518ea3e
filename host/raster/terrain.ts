// DEM derivatives on the DEM's own grid (papers/003 datacubes carry dem_slope_radians, dem_aspect, dem_curvature; this
// computes them when a cube or a user lacks them). Every output pixel uses the 3 × 3 window around it; the border row
// and column and any window with a NaN give NaN (as gdaldem without -compute_edges).
//
//   slope      degrees, Horn (1981) as `gdaldem slope`: dz/dx = ((c + 2f + i) − (a + 2d + g)) / (8 Δx),
//              dz/dy = ((a + 2b + c) − (g + 2h + i)) / (8 Δy) for the window a b c / d e f / g h i (north up);
//              slope = atan(√(dz/dx² + dz/dy²)).
//   aspect     degrees clockwise from north of the DOWNSLOPE direction (as `gdaldem aspect`): atan2(−dz/dx, −dz/dy),
//              in [0, 360); NaN where the window is flat. gdaldem 3.6 takes the gradient in pixel units; we take it in
//              metres, which is the same on square pixels and the true azimuth on geographic grids.
//   curvature  1/m: −∇²z = −(∂²z/∂x² + ∂²z/∂y²) by central differences, so positive = convex (ridges, crests) and
//              negative = concave (hollows, channels, where shallow landslides start) — Zevenbergen & Thorne's sign
//              (ArcGIS reports the same ×100 in 1/100 m).
// Δx, Δy in metres: the geotransform's pixel size on projected grids; on geographic grids (EPSG 4xxx) degrees times
// the WGS84 metres per degree of longitude and latitude at each pixel centre's latitude.
import { DpmError } from '../core/errors.js';
import type { Raster } from './types.js';

export interface Terrain {
  slope: Float32Array;
  aspect: Float32Array;
  curvature: Float32Array;
}

const WGS84_A = 6378137;
const WGS84_E2 = 0.00669437999014;

/** Metres per degree of latitude (meridian arc) and of longitude (parallel) at latitude φ on the WGS84 ellipsoid. */
export function metresPerDegree(latDeg: number): { lat: number; lon: number } {
  const phi = (latDeg * Math.PI) / 180;
  const w = 1 - WGS84_E2 * Math.sin(phi) ** 2;
  const meridian = (WGS84_A * (1 - WGS84_E2)) / w ** 1.5;
  const normal = WGS84_A / Math.sqrt(w);
  return { lat: (meridian * Math.PI) / 180, lon: (normal * Math.cos(phi) * Math.PI) / 180 };
}

/** EPSG codes 4000–4999 are geographic (degrees); anything else is taken as projected in metres. */
export function isGeographic(epsg: number | undefined): boolean {
  return epsg !== undefined && epsg >= 4000 && epsg < 5000;
}

/** Slope, aspect and curvature of band 0 of `dem` (float64 arithmetic, float32 results). */
export function terrain(dem: Raster): Terrain {
  const { width: W, height: H } = dem;
  const z = dem.bands[0];
  const gt = dem.georef.geoTransform;
  const where = dem.source ?? 'DEM';
  if (!z) throw new DpmError(`${where}: no band to derive terrain from`);
  if (!gt) throw new DpmError(`${where}: no geotransform; slope needs the pixel size (a geocoded DEM)`);
  if (gt[2] !== 0 || gt[4] !== 0) throw new DpmError(`${where}: rotated grids are not supported for terrain`);
  if (!(gt[1] > 0 && gt[5] < 0)) throw new DpmError(`${where}: terrain needs a north-up grid (pixel height < 0)`);
  const geographic = isGeographic(dem.georef.epsg);
  const slope = new Float32Array(W * H).fill(NaN);
  const aspect = new Float32Array(W * H).fill(NaN);
  const curvature = new Float32Array(W * H).fill(NaN);
  for (let r = 1; r < H - 1; r++) {
    let dx = gt[1],
      dy = -gt[5];
    if (geographic) {
      const m = metresPerDegree(gt[3] + (r + 0.5) * gt[5]);
      dx *= m.lon;
      dy *= m.lat;
    }
    for (let c = 1; c < W - 1; c++) {
      const at = (rr: number, cc: number) => z[rr * W + cc] ?? NaN;
      const a = at(r - 1, c - 1),
        b = at(r - 1, c),
        cc = at(r - 1, c + 1);
      const d = at(r, c - 1),
        e = at(r, c),
        f = at(r, c + 1);
      const g = at(r + 1, c - 1),
        h = at(r + 1, c),
        i = at(r + 1, c + 1);
      const gx = (cc + 2 * f + i - (a + 2 * d + g)) / (8 * dx);
      const gy = (a + 2 * b + cc - (g + 2 * h + i)) / (8 * dy);
      const k = r * W + c;
      slope[k] = (Math.atan(Math.hypot(gx, gy)) * 180) / Math.PI;
      if (gx !== 0 || gy !== 0) {
        // flat windows keep NaN: no downslope direction
        const az = (Math.atan2(-gx, -gy) * 180) / Math.PI;
        aspect[k] = az < 0 ? az + 360 : az;
      }
      curvature[k] = -((d - 2 * e + f) / (dx * dx) + (b - 2 * e + h) / (dy * dy));
    }
  }
  return { slope, aspect, curvature };
}
