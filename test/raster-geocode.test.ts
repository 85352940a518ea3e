// Geocoding a radar-geometry raster on a synthetic rotated+skewed lat/lon grid, where the exact answer is known:
// lon/lat are affine in (row, col), so each output pixel centre maps back to one exact (row, col).
import test from 'node:test';
import assert from 'node:assert/strict';
import proj4 from 'proj4';
import { geocode, utmEpsg } from '../host/raster/geocode.js';
import { CanceledError, DpmError } from '../host/core/errors.js';
import { recordingFeedback } from '../host/core/feedback.js';
import type { Raster } from '../host/raster/types.js';
import { at } from './at.js';

const w = 40,
  h = 30;
// lon = 10 + a·c + b·r, lat = 45 + d·c + e·r: rotated and skewed (not orthogonal) axes
const [a, b, d, e] = [0.004, 0.0015, 0.001, -0.003];
const value = (r: number, c: number) => 3 + 0.5 * c - 0.25 * r; // linear: bilinear sampling reproduces it exactly
/** (row, col) of a lon/lat by inverting the affine map in float64 */
function radarOf(lon: number, lat: number): [number, number] {
  const x = lon - 10,
    y = lat - 45,
    det = a * e - b * d;
  return [(a * y - d * x) / det, (e * x - b * y) / det];
}

function scene(): Raster {
  const lat = new Float32Array(w * h),
    lon = new Float32Array(w * h),
    v = new Float32Array(w * h),
    v2 = new Float32Array(w * h);
  for (let r = 0; r < h; r++)
    for (let c = 0; c < w; c++) {
      const i = r * w + c;
      lon[i] = 10 + a * c + b * r;
      lat[i] = 45 + d * c + e * r;
      v[i] = value(r, c);
      v2[i] = r * 1000 + c; // identifies the nearest pixel
    }
  return {
    width: w,
    height: h,
    bands: [v, v2],
    descriptions: ['linear', 'id'],
    georef: { lat, lon },
    source: 'synthetic',
  };
}

/** Checks every output pixel against the exact answer; returns how many were inside. */
function check(out: Raster, toLonLat: (x: number, y: number) => [number, number], tol: number): number {
  const [x0, px, , y0, , py] = out.georef.geoTransform!;
  let inside = 0;
  for (let R = 0; R < out.height; R++)
    for (let C = 0; C < out.width; C++) {
      const [lon, lat] = toLonLat(x0 + (C + 0.5) * px, y0 + (R + 0.5) * py);
      const [r, c] = radarOf(lon, lat);
      const got = at(at(out.bands, 0), R * out.width + C);
      const m = 0.01; // pixels this close to the mesh border may fall either way (lat/lon are float32)
      if (r > m && r < h - 1 - m && c > m && c < w - 1 - m) {
        inside++;
        // float32 lat/lon (ulp ≈ 4e-6° at 45°) over a 0.003° spacing moves (r, c) by ≤ ~2e-3 pixel; gradient ≤ 0.5/pixel
        assert.ok(Math.abs(got - value(r, c)) < tol, `(${R},${C}): ${got} vs ${value(r, c)}`);
      } else if (r < -m || r > h - 1 + m || c < -m || c > w - 1 + m) {
        assert.ok(Number.isNaN(got), `(${R},${C}) outside the scene must be NaN, got ${got}`);
      }
    }
  return inside;
}

test('EPSG:4326, bilinear: values, NaN outside, pixel size from the spacing', async () => {
  const out = await geocode(scene());
  assert.equal(out.georef.epsg, 4326);
  const px = out.georef.geoTransform![1];
  // smaller of the two neighbour spacings: across rows hypot(b, e); the float32 lat/lon differences are each off
  // by up to an ulp (3.8e-6° at 45°)
  assert.ok(Math.abs(px - Math.hypot(b, e)) < 8e-6, `pixel ${px}`);
  assert.equal(out.georef.geoTransform![5], -px);
  const inside = check(out, (x, y) => [x, y], 2e-3);
  // the parallelogram's area in output pixels: |det|·(w−1)(h−1)/px²; the count of interior centres is close to it
  const area = (Math.abs(a * e - b * d) * (w - 1) * (h - 1)) / px ** 2;
  assert.ok(Math.abs(inside - area) < 0.05 * area, `${inside} pixels inside, area ${area}`);
  assert.deepEqual(out.descriptions, ['linear', 'id']);
});

test('nearest neighbour returns the radar pixel whose centre is nearest in (row, col)', async () => {
  const out = await geocode(scene(), { method: 'nearest', pixelSize: 0.002 });
  const [x0, px, , y0, , py] = out.georef.geoTransform!;
  let n = 0;
  for (let R = 0; R < out.height; R++)
    for (let C = 0; C < out.width; C++) {
      const [r, c] = radarOf(x0 + (C + 0.5) * px, y0 + (R + 0.5) * py);
      const id = at(out.bands, 1)[R * out.width + C];
      const tie = Math.abs((r % 1) - 0.5) < 0.01 || Math.abs((c % 1) - 0.5) < 0.01; // rounding ties may go either way
      if (r > 0.01 && r < h - 1.01 && c > 0.01 && c < w - 1.01 && !tie) {
        assert.equal(id, Math.round(r) * 1000 + Math.round(c));
        n++;
      }
    }
  assert.ok(n > 1000, `${n} pixels checked`);
});

test('UTM zone of the scene centre via proj4, metres; NaN lat/lon leave holes, not garbage', async () => {
  const s = scene();
  const out = await geocode(s, { epsg: 'utm' });
  assert.equal(out.georef.epsg, 32632);
  assert.equal(utmEpsg(10.1, 44.95), 32632);
  assert.equal(utmEpsg(-99.1, -19.4), 32714);
  const px = out.georef.geoTransform![1];
  assert.ok(px > 200 && px < 400, `pixel ${px} m`); // 0.003° of latitude ≈ 333 m, skewed spacing ≈ 300 m
  const inv = proj4('+proj=utm +zone=32 +datum=WGS84 +units=m +no_defs', '+proj=longlat +datum=WGS84 +no_defs');
  // UTM is not affine in lon/lat, but over one 300 m cell its curvature is < 1e-6 of a pixel: same tolerance
  assert.ok(check(out, (x, y) => inv.forward([x, y]) as [number, number], 2e-3) > 500);

  s.georef.lat![5 * w + 5] = NaN;
  const holes = await geocode(s);
  assert.ok(
    at(holes.bands, 0).every((v) => Number.isNaN(v) || (v > -10 && v < 25)),
    'only NaN or plausible values',
  );
  assert.ok(
    at(holes.bands, 0).filter(Number.isNaN).length > at((await geocode(scene())).bands, 0).filter(Number.isNaN).length,
  );
});

test('bad requests are DpmErrors', async () => {
  const s = scene();
  await assert.rejects(
    () => geocode({ ...s, georef: { geoTransform: [0, 1, 0, 0, 0, -1] } }),
    (e: unknown) => e instanceof DpmError && /synthetic: no per-pixel latitude/.test(e.message),
  );
  await assert.rejects(
    () => geocode(s, { epsg: 2154 }),
    (e: unknown) => e instanceof DpmError && /EPSG:2154/.test(e.message),
  );
  await assert.rejects(
    () => geocode(s, { pixelSize: 1e-7 }),
    (e: unknown) => e instanceof DpmError && /too large/.test(e.message),
  );
});

test('a cancel raised by the event loop (as Ctrl-C is) stops a long geocode at its next row block', async () => {
  // 600 × 600 radar pixels: ten row blocks; the cancel is queued on the event loop at the first progress report,
  // as the CLI's SIGINT handler would run, so only a geocode that yields between row blocks can see it
  const n = 600;
  const lat = new Float32Array(n * n);
  const lon = new Float32Array(n * n);
  for (let r = 0; r < n; r++)
    for (let c = 0; c < n; c++) {
      lon[r * n + c] = 10 + 1e-4 * c;
      lat[r * n + c] = 45 - 1e-4 * r;
    }
  const big: Raster = {
    width: n,
    height: n,
    bands: [new Float32Array(n * n)],
    descriptions: ['x'],
    georef: { lat, lon },
  };
  const fb = recordingFeedback();
  let queued = false;
  const feedback = {
    ...fb,
    progress(p: number) {
      fb.progress(p);
      if (!queued) setImmediate(() => fb.cancel());
      queued = true;
    },
  };
  await assert.rejects(geocode(big, { feedback }), CanceledError);
  assert.ok(fb.percents.length < 3, `stopped at the next row block, got ${fb.percents.length} progress reports`);
  assert.ok(!fb.percents.includes(100));
});
