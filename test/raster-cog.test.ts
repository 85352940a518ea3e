// Cloud-optimized GeoTIFFs (issue 14), checked with GDAL: its COG validator (full check: ghost area, IFDs before
// data, tile leaders/trailers) on every raster of the demo, overview values (2×2 means of the finite pixels),
// predictor and band units, and radar-geometry outputs that keep their georeferencing after the folder is moved.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../host/paths.js';
import { readRaster, writeGeoTiff } from '../host/raster/geotiff.js';
import { cogErrors } from './gdal.js';
import type { Raster } from '../host/raster/types.js';

const dir = mkdtempSync(join(tmpdir(), 'dpm-cog-'));

const gdalinfo = (path: string, cwd = dir) =>
  JSON.parse(execFileSync('gdalinfo', ['-json', path], { encoding: 'utf8', cwd }));

function tifs(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.tif$/.test(f))
    .map((f) => join(root, f));
}

/** Overview `level` as GDAL reads it (gdal_translate -ovr to raw float32). */
function gdalOverview(path: string, level: number): Float32Array {
  const out = join(dir, `ovr-${Math.random().toString(36).slice(2)}.bin`);
  execFileSync('gdal_translate', ['-q', '-ovr', String(level), '-of', 'ENVI', '-ot', 'Float32', path, out]);
  const b = readFileSync(out);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
}

test('COG: overviews are 2×2 means of the finite pixels; predictor 3, units, valid layout; values read back', async () => {
  const w = 600,
    h = 290; // 3×2 tiles at full size, then 300×145 and 150×73 (one tile)
  const band = Float32Array.from({ length: w * h }, (_, k) => (k % 7 === 0 ? NaN : (k % w) * 0.01 + Math.floor(k / w)));
  const r: Raster = {
    width: w,
    height: h,
    bands: [band],
    descriptions: ['z'],
    georef: { geoTransform: [500000, 10, 0, 4000000, 0, -10], epsg: 32633 },
  };
  const p = join(dir, 'pyramid.tif');
  await writeGeoTiff(p, r, { units: ['z'] });
  assert.equal(cogErrors(p), '');
  const j = gdalinfo(p);
  assert.deepEqual(
    j.bands[0].overviews.map((o: { size: number[] }) => o.size),
    [
      [300, 145],
      [150, 73],
    ],
  );
  assert.equal(j.metadata.IMAGE_STRUCTURE.PREDICTOR, '3');
  assert.equal(j.metadata.IMAGE_STRUCTURE.LAYOUT, 'COG');
  assert.equal(j.bands[0].unit, 'z');
  const ovr = gdalOverview(p, 0);
  for (const [i, jj] of [
    [0, 0],
    [10, 33],
    [144, 299],
    [72, 150],
  ] as const) {
    const vals = [0, 1]
      .flatMap((di) => [0, 1].map((dj) => [2 * i + di, 2 * jj + dj] as const))
      .filter(([a, b]) => a < h && b < w)
      .map(([a, b]) => band[a * w + b] ?? NaN)
      .filter(Number.isFinite);
    const want = vals.reduce((s, v) => s + v, 0) / vals.length;
    // the mean is taken in float64 and stored as float32
    assert.equal(ovr[i * 300 + jj], Math.fround(want), `overview pixel (${i}, ${jj})`);
  }
  const back = await readRaster(p);
  assert.ok(
    back.bands[0]?.every((v, k) => Object.is(v, band[k])),
    'full resolution read back exactly',
  );
});

test('npm run demo: every raster passes GDAL COG validation; the moved folder keeps its radar georeferencing', () => {
  const out = join(dir, 'demo');
  const r = spawnSync(
    process.execPath,
    [join(packageRoot, 'dist', 'host', 'cli.js'), 'demo', '--out-dir', out, '--width', '240', '--height', '120'],
    { encoding: 'utf8', env: { ...process.env, DPM_DEVICE: 'cpu' } },
  );
  assert.equal(r.status, 0, r.stderr);
  const files = tifs(out);
  assert.ok(files.length >= 20, `${files.length} rasters`);
  const radar = files.filter((f) => gdalinfo(f).metadata?.GEOLOCATION);
  assert.ok(radar.length >= 5, 'radar-geometry outputs among them');
  for (const f of files) assert.equal(cogErrors(f), '', f);
  // band units where the quantity is ours to name
  const unit = (rel: string) => gdalinfo(join(out, rel)).bands[0].unit;
  assert.equal(unit('run/forecast/zscore.tif'), 'sigma');
  assert.equal(unit('run/forecast/mu.tif'), 'logit coherence');
  assert.equal(unit('run/coherence_aoi.tif'), 'coherence');

  const moved = join(dir, 'moved');
  renameSync(out, moved);
  const elsewhere = mkdtempSync(join(tmpdir(), 'dpm-cog-cwd-')); // GDAL must not rely on the working folder
  for (const f of radar.map((f) => f.replace(out, moved))) {
    const j = gdalinfo(f, elsewhere);
    const gcps: { pixel: number; line: number; x: number; y: number }[] = j.gcps?.gcpList ?? [];
    assert.ok(gcps.length >= 16, `${f}: ${gcps.length} GCPs`);
    assert.match(j.gcps.coordinateSystem.wkt, /ID\["EPSG",4326\]\]$/);
    const lat = gdalinfo(f.replace(/\.tif$/, '.lat.tif'), elsewhere);
    assert.equal(lat.bands[0].unit, 'degree');
    const warped = join(elsewhere, 'warped.tif');
    execFileSync('gdalwarp', ['-q', '-overwrite', f, warped], { cwd: elsewhere });
    const wj = gdalinfo(warped, elsewhere);
    // the warped extent holds every GCP
    const [x0, dx, , y0, , dy] = wj.geoTransform;
    for (const g of gcps) {
      assert.ok(g.x >= x0 - dx && g.x <= x0 + dx * (wj.size[0] + 1), `${f}: GCP lon ${g.x} outside the warp`);
      assert.ok(g.y <= y0 - dy && g.y >= y0 + dy * (wj.size[1] + 1), `${f}: GCP lat ${g.y} outside the warp`);
    }
  }
});
