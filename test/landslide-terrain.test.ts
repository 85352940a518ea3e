// DEM derivatives (host/raster/terrain.ts) against `gdaldem` on a real geographic DEM and against exact values on
// planes and paraboloids. gdaldem 3.6 takes one scale for both axes and its aspect in pixel units, so the per-latitude
// metres of a geographic DEM are checked through copies of the DEM on a metric grid with that latitude's pixel size.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRaster, writeGeoTiff } from '../host/raster/geotiff.js';
import { metresPerDegree, terrain } from '../host/raster/terrain.js';
import type { GeoTransform, Raster } from '../host/raster/types.js';
import { execute } from '../host/toolbox/execute.js';
import { silentFeedback } from '../host/core/feedback.js';
import { needsShared, sharedPath } from './shared.js';
import { packageRoot } from '../host/paths.js';
import { at } from './at.js';

const root = mkdtempSync(join(tmpdir(), 'dpm-terrain-'));
const DEM = sharedPath('data', 'real', 'pyrate-mexico-coherence', 'cropA_T005A_dem.tif');
const hasGdaldem = (() => {
  try {
    execFileSync('which', ['gdaldem'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const skip =
  needsShared('data', 'real', 'pyrate-mexico-coherence', 'cropA_T005A_dem.tif').skip ||
  (!hasGdaldem && 'needs gdaldem (gdal-bin)');
/** gdaldem works in float32; 0.01° is the bar */
const TOL_DEG = 0.01;

async function gdaldem(mode: 'slope' | 'aspect', input: string): Promise<Float32Array> {
  const out = join(root, `${mode}-${Math.random().toString(36).slice(2)}.tif`);
  execFileSync('gdaldem', [mode, '-q', input, out]);
  return at((await readRaster(out)).bands, 0);
}

/** The DEM's values on a projected grid with pixel dx × dy metres. */
async function metricCopy(dem: Raster, dx: number, dy: number): Promise<string> {
  const path = join(root, `copy-${dx.toFixed(3)}-${dy.toFixed(3)}.tif`);
  const geoTransform: GeoTransform = [0, dx, 0, 0, 0, -dy];
  await writeGeoTiff(path, { ...dem, georef: { geoTransform, epsg: 32614 } });
  return path;
}

const angleDiff = (a: number, b: number) => Math.abs(((a - b + 540) % 360) - 180);

test('slope equals gdaldem on a real geographic DEM (metres per degree at each latitude)', { skip }, async () => {
  const dem = await readRaster(DEM);
  const gt = dem.georef.geoTransform!;
  assert.equal(dem.georef.epsg, 4326);
  const ours = terrain(dem);
  const { width: W, height: H } = dem;
  let checked = 0;
  for (const r of [1, Math.floor(H / 3), Math.floor(H / 2), H - 2]) {
    // gdaldem on a copy whose square-metre pixel is this row's: the row's slopes are then exactly comparable
    const m = metresPerDegree(gt[3] + (r + 0.5) * gt[5]);
    const ref = await gdaldem('slope', await metricCopy(dem, gt[1] * m.lon, -gt[5] * m.lat));
    for (let c = 1; c < W - 1; c++) {
      const want = at(ref, r * W + c),
        got = at(ours.slope, r * W + c);
      assert.ok(Math.abs(got - want) <= TOL_DEG, `row ${r} col ${c}: ${got} vs gdaldem ${want}`);
      checked++;
    }
  }
  assert.ok(checked > 300);
});

test('aspect equals gdaldem: directly on square pixels, mapped to metres on the geographic DEM', { skip }, async () => {
  const dem = await readRaster(DEM);
  const gt = dem.georef.geoTransform!;
  const { width: W, height: H } = dem;
  // square metric pixels: gdaldem's pixel-unit aspect is the metric one
  const square = await metricCopy(dem, 30, 30);
  const squareOurs = terrain({ ...dem, georef: { geoTransform: [0, 30, 0, 0, 0, -30], epsg: 32614 } });
  const squareSlope = await gdaldem('slope', square);
  const squareAspect = await gdaldem('aspect', square);
  // the geographic DEM itself: gdaldem's aspect is in degree units; map its direction to metres per axis
  const geoAspect = await gdaldem('aspect', DEM);
  const ours = terrain(dem);
  let flat = 0,
    checked = 0;
  for (let r = 1; r < H - 1; r++) {
    const m = metresPerDegree(gt[3] + (r + 0.5) * gt[5]);
    const dx = gt[1] * m.lon,
      dy = -gt[5] * m.lat;
    for (let c = 1; c < W - 1; c++) {
      const k = r * W + c;
      assert.ok(Math.abs(at(squareOurs.slope, k) - at(squareSlope, k)) <= TOL_DEG, `square slope ${r},${c}`);
      const want = at(squareAspect, k);
      if (Number.isNaN(want)) {
        // gdaldem's flat marker (-9999, its nodata): ours is NaN there
        assert.ok(Number.isNaN(at(squareOurs.aspect, k)), `flat ${r},${c}`);
        flat++;
        continue;
      }
      assert.ok(
        angleDiff(at(squareOurs.aspect, k), want) <= TOL_DEG,
        `square aspect ${r},${c}: ${at(squareOurs.aspect, k)} vs ${want}`,
      );
      const th = (at(geoAspect, k) * Math.PI) / 180;
      const metric = ((Math.atan2(Math.sin(th) / dx, Math.cos(th) / dy) * 180) / Math.PI + 360) % 360;
      assert.ok(
        angleDiff(at(ours.aspect, k), metric) <= TOL_DEG,
        `geographic aspect ${r},${c}: ${at(ours.aspect, k)} vs ${metric}`,
      );
      checked++;
    }
  }
  assert.ok(checked > 4000, `${checked} pixels compared, ${flat} flat`);
});

test('planes and paraboloids: exact slope, aspect, curvature; border and NaN windows are NaN', () => {
  const W = 9,
    H = 7,
    d = 10;
  const gt: GeoTransform = [1000, d, 0, 5000, 0, -d];
  const grid = (f: (x: number, y: number) => number) =>
    Float32Array.from({ length: W * H }, (_, i) => f((i % W) * d, -Math.floor(i / W) * d));
  // z = 0.3 x − 0.4 y (y northwards): rises east and south, so it faces north-west downhill
  const plane = terrain({
    width: W,
    height: H,
    bands: [grid((x, y) => 0.3 * x - 0.4 * y)],
    descriptions: [''],
    georef: { geoTransform: gt, epsg: 32633 },
  });
  const k = 3 * W + 4;
  assert.ok(Math.abs(at(plane.slope, k) - (Math.atan(0.5) * 180) / Math.PI) < 1e-4);
  assert.ok(Math.abs(at(plane.aspect, k) - ((Math.atan2(-0.3, 0.4) * 180) / Math.PI + 360)) < 1e-3);
  assert.ok(Math.abs(at(plane.curvature, k)) < 1e-6);
  for (const i of [0, W - 1, (H - 1) * W, 2 * W]) assert.ok(Number.isNaN(at(plane.slope, i)), `border ${i}`);
  // a bowl z = 0.002 (x² + y²): ∇²z = 0.008, so curvature −0.008 (concave); central differences are exact
  const bowl = terrain({
    width: W,
    height: H,
    bands: [grid((x, y) => 0.002 * ((x - 40) ** 2 + (y + 30) ** 2))],
    descriptions: [''],
    georef: { geoTransform: gt, epsg: 32633 },
  });
  assert.ok(Math.abs(at(bowl.curvature, k) + 0.008) < 1e-6, `${at(bowl.curvature, k)}`);
  assert.ok(Number.isNaN(at(bowl.aspect, 3 * W + 4)), 'the bottom of the bowl is flat');
  const holed = grid(() => 1);
  holed[2 * W + 2] = NaN;
  const h = terrain({
    width: W,
    height: H,
    bands: [holed],
    descriptions: [''],
    georef: { geoTransform: gt, epsg: 32633 },
  });
  assert.ok(Number.isNaN(at(h.slope, 3 * W + 3)) && Number.isNaN(at(h.slope, W + 1)));
  assert.equal(at(h.slope, 4 * W + 4), 0);
});

test('dpm terrain writes slope, aspect and curvature GeoTIFFs on the DEM grid', async () => {
  const gt: GeoTransform = [0, 20, 0, 0, 0, -20];
  const dem = join(root, 'dem.tif');
  await writeGeoTiff(dem, {
    width: 6,
    height: 5,
    bands: [Float32Array.from({ length: 30 }, (_, i) => (i % 6) * 5)],
    descriptions: ['dem'],
    georef: { geoTransform: gt, epsg: 32633 },
  });
  const out = await execute('terrain', { dem, 'out-dir': join(root, 'terrain') }, silentFeedback);
  const slope = await readRaster(String(out.slope));
  assert.deepEqual(slope.georef.geoTransform, gt);
  assert.equal(slope.georef.epsg, 32633);
  // 5 m per 20 m pixel: atan(0.25)
  assert.ok(Math.abs(at(at(slope.bands, 0), 2 * 6 + 2) - (Math.atan(0.25) * 180) / Math.PI) < 1e-4);
  const aspect = await readRaster(String(out.aspect));
  assert.ok(Math.abs(at(at(aspect.bands, 0), 2 * 6 + 2) - 270) < 1e-4, 'rises east: faces west');
  await assert.rejects(
    execute('terrain', { 'out-dir': join(root, 'x') }, silentFeedback),
    /exactly one of --dem or --cube/,
  );
  // the dem of a datacube (the xarray fixture: dem = 100 + 10 row + col on 10 m pixels, rows run south)
  const cube = join(packageRoot, 'test', 'fixtures', 'landslide-xarray.zarr');
  const fromCube = await execute('terrain', { cube, 'out-dir': join(root, 'cube-terrain') }, silentFeedback);
  const s = await readRaster(String(fromCube.slope));
  assert.equal(s.georef.epsg, 32654);
  assert.ok(Math.abs(at(at(s.bands, 0), 5 + 2) - (Math.atan(Math.hypot(0.1, 1)) * 180) / Math.PI) < 1e-4);
  const a = await readRaster(String(fromCube.aspect));
  // rises south (1 m/m) and east (0.1 m/m): downslope points north, a little west
  assert.ok(Math.abs(at(at(a.bands, 0), 5 + 2) - (360 + (Math.atan2(-0.1, 1) * 180) / Math.PI)) < 1e-3);
});
