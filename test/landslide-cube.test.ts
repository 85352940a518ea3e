// Landslide datacube ingest: a cube written by xarray itself (test/fixtures/landslide-xarray.zarr, made by
// scripts/make-xarray-cube.py: Blosc chunks, int16 coherence with scale_factor/_FillValue, CF dates, consolidated v2),
// a Zarr v3 cube, the simulator's cube opened by xarray (Debian's python3-xarray), and OPERA RTC-S1 GeoTIFF folders.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zarr from 'zarrita';
import FileSystemStore from '@zarrita/storage/fs';
import { openDatacube } from '../host/raster/zarr.js';
import { writeGeoTiff } from '../host/raster/geotiff.js';
import { loadLandslideCube } from '../host/landslide/cube.js';
import { simulateLandslides, writeLandslideCube } from '../host/sar/simulate/landslide.js';
import { execute } from '../host/toolbox/execute.js';
import { silentFeedback } from '../host/core/feedback.js';
import { DpmError } from '../host/core/errors.js';
import { packageRoot } from '../host/paths.js';
import { at } from './at.js';

const root = mkdtempSync(join(tmpdir(), 'dpm-landslide-cube-'));
const fixture = join(packageRoot, 'test', 'fixtures', 'landslide-xarray.zarr');
const PY = '/usr/bin/python3';
const hasXarray = (() => {
  try {
    execFileSync(PY, ['-c', 'import xarray, zarr'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('a cube written by xarray: values, fills, scale, dates, orbits, pairs and georeferencing', async () => {
  const c = await openDatacube(fixture);
  assert.equal(c.zarrFormat, 2);
  assert.deepEqual([c.width, c.height], [5, 3]);
  // x/y are pixel centres 500005 + 10 c, 4700095 − 10 r: the corner is half a pixel out
  assert.deepEqual(c.georef.geoTransform, [500000, 10, 0, 4700100, 0, -10]);
  assert.equal(c.georef.epsg, 32654);
  assert.deepEqual(c.timesteps, ['20180704', '20180710', '20180716', '20180722']);
  assert.deepEqual(c.orbits, ['ascending', 'descending', 'ascending', 'descending']);
  assert.deepEqual(c.pairs, [
    { first: '20180704', second: '20180716' },
    { first: '20180710', second: '20180722' },
  ]);
  assert.equal(c.attrs.event_date, '2018-07-13');
  const names = c.variables.map((v) => v.name);
  for (const v of ['vv', 'vh', 'coherence', 'dem', 'landslides', 'sat:orbit_state', 'spatial_ref'])
    assert.ok(names.includes(v), v);
  assert.deepEqual(c.variables.find((v) => v.name === 'vv')?.dims, ['timestep', 'y', 'x']);
  for (let t = 0; t < 4; t++) {
    const vv = await c.readGrid('vv', t),
      vh = await c.readGrid('vh', t);
    for (let y = 0; y < 3; y++)
      for (let x = 0; x < 5; x++) {
        const want = Math.fround(0.01 * (1 + t) + 0.001 * y + 0.0001 * x);
        if (t === 1 && y === 2 && x === 4) assert.ok(Number.isNaN(at(vv, y * 5 + x)), 'the NaN pixel');
        else {
          assert.equal(at(vv, y * 5 + x), want);
          assert.equal(at(vh, y * 5 + x), Math.fround(want / 5));
        }
      }
  }
  for (let p = 0; p < 2; p++) {
    const coh = await c.readGrid('coherence', p);
    for (let y = 0; y < 3; y++)
      for (let x = 0; x < 5; x++) {
        const v = at(coh, y * 5 + x);
        if (p === 0 && y === 0 && x === 0) assert.ok(Number.isNaN(v), '_FillValue −9999 → NaN');
        // int16 with scale_factor 0.001: the packed value is rounded to a thousandth
        else assert.ok(Math.abs(v - (0.1 * (1 + p) + 0.01 * y + 0.001 * x)) < 1e-6, `coherence ${p} ${y} ${x}: ${v}`);
      }
  }
  const dem = await c.readGrid('dem'),
    mask = await c.readGrid('landslides');
  for (let y = 0; y < 3; y++)
    for (let x = 0; x < 5; x++) {
      assert.equal(at(dem, y * 5 + x), 100 + 10 * y + x);
      assert.equal(at(mask, y * 5 + x), (y + x) % 3 === 0 ? 1 : 0);
    }
  await assert.rejects(c.readGrid('vv', 4), DpmError);
  await assert.rejects(c.readGrid('nothing'), /no variable 'nothing'/);
});

test('dpm cube-info lists the xarray cube', async () => {
  const r = await execute('cube-info', { cube: fixture }, silentFeedback);
  assert.equal(r.timesteps, 4);
  assert.equal(r.pairs, 2);
  assert.equal(r.event_date, '20180713');
  assert.match(String(r.summary), /sat:orbit_state\s+\(timestep\) \[4\]/);
  assert.match(String(r.summary), /EPSG:32654/);
});

test('a Zarr v3 cube (dimension_names, zarr.json) reads the same way', async () => {
  const dir = join(root, 'v3.zarr');
  const store = new FileSystemStore(dir);
  const grp = await zarr.create(zarr.root(store), { attributes: { event_date: '2020-01-05' } });
  const put = async (
    name: string,
    shape: number[],
    data: Float32Array | Float64Array | BigInt64Array,
    attributes: Record<string, unknown>,
    dims: string[],
  ) => {
    const stride = shape.map((_, k) => shape.slice(k + 1).reduce((x, y) => x * y, 1));
    const base = { shape, chunkShape: shape, attributes, dimensionNames: dims };
    if (data instanceof BigInt64Array) {
      const a = await zarr.create(grp.resolve(name), { ...base, dtype: 'int64' });
      await zarr.set(a, null, { data, shape, stride });
    } else if (data instanceof Float64Array) {
      const a = await zarr.create(grp.resolve(name), { ...base, dtype: 'float64', fillValue: Number.NaN });
      await zarr.set(a, null, { data, shape, stride });
    } else {
      const a = await zarr.create(grp.resolve(name), { ...base, dtype: 'float32', fillValue: Number.NaN });
      await zarr.set(a, null, { data, shape, stride });
    }
  };
  await put(
    'vv',
    [3, 2, 2],
    Float32Array.from({ length: 12 }, (_, i) => i / 100),
    {},
    ['timestep', 'y', 'x'],
  );
  await put('timestep', [3], BigInt64Array.from([0n, 12n, 24n]), { units: 'days since 2020-01-01' }, ['timestep']);
  await put('x', [2], Float64Array.from([15, 45]), {}, ['x']);
  await put('y', [2], Float64Array.from([105, 75]), {}, ['y']);
  const c = await openDatacube(dir);
  assert.equal(c.zarrFormat, 3);
  assert.deepEqual(c.timesteps, ['20200101', '20200113', '20200125']);
  assert.deepEqual(c.georef.geoTransform, [0, 30, 0, 120, 0, -30]);
  assert.deepEqual(Array.from(await c.readGrid('vv', 2)), [0.08, 0.09, 0.1, 0.11].map(Math.fround));
  assert.equal(c.attrs.event_date, '2020-01-05');
});

test('the simulated landslide cube: xarray opens it with the simulator values; openDatacube reads them back', async (t) => {
  const out = join(root, 'sim');
  const opts = { seed: 3, width: 40, height: 36, dates: 14 };
  const r = await writeLandslideCube(opts, out, silentFeedback);
  const s = simulateLandslides(opts); // same seed, same scene
  const c = await openDatacube(r.cube);
  assert.deepEqual(c.timesteps, s.dates);
  assert.deepEqual(c.orbits, s.orbits);
  assert.equal(c.pairs.length, s.pairs.length);
  assert.deepEqual(Array.from(await c.readGrid('vv', 5)), Array.from(s.vv.subarray(5 * 1440, 6 * 1440)));
  assert.deepEqual(Array.from(await c.readGrid('landslides')), Array.from(s.landslides));
  assert.equal(c.georef.epsg, 32654);
  const loaded = await loadLandslideCube(r.cube);
  assert.equal(loaded.eventDate, s.eventDate);
  assert.equal(loaded.cube.vh?.length, 14);
  if (!hasXarray) {
    t.skip(`${PY} has no xarray/zarr (apt-get install python3-xarray python3-zarr)`);
    return;
  }
  const py = `
import sys, json, xarray as xr
ds = xr.open_zarr(sys.argv[1])
print(json.dumps({
  "dates": [str(d)[:10].replace("-", "") for d in ds.timestep.values],
  "orbits": [str(o) for o in ds["sat:orbit_state"].values],
  "vv": float(ds.vv.isel(timestep=5, y=7, x=9)),
  "mask": int(ds.landslides.sum()),
  "pairs": int(ds.sizes["timepair"]),
  "x0": float(ds.x[0]), "y0": float(ds.y[0]),
  "crs": ds.spatial_ref.attrs["crs_wkt"][-30:],
  "event": ds.attrs["event_date"],
}))`;
  const got = JSON.parse(execFileSync(PY, ['-c', py, r.cube], { encoding: 'utf8' })) as Record<string, unknown>;
  assert.deepEqual(got.dates, s.dates);
  assert.deepEqual(got.orbits, s.orbits);
  assert.equal(got.vv, at(s.vv, 5 * 1440 + 7 * 40 + 9));
  assert.equal(
    got.mask,
    s.landslides.reduce((a, b) => a + b, 0),
  );
  assert.equal(got.pairs, s.pairs.length);
  assert.equal(got.x0, s.geoTransform[0] + 5);
  assert.equal(got.y0, s.geoTransform[3] - 5);
  assert.match(String(got.crs), /EPSG","32654"\]\]$/);
  assert.equal(String(got.event).replace(/-/g, ''), s.eventDate);
});

test('a folder of OPERA RTC-S1 GeoTIFFs: dates, tracks as orbits, VV/VH', async () => {
  const dir = join(root, 'opera');
  mkdirSync(dir, { recursive: true });
  const gt = [500000, 30, 0, 4000000, 0, -30] as [number, number, number, number, number, number];
  const name = (track: string, date: string, pol: string) =>
    `OPERA_L2_RTC-S1_${track}-147170-IW1_${date}T015623Z_20231004T113212Z_S1A_30_v1.0_${pol}.tif`;
  const files: [string, string, string, number][] = [
    ['T069', '20230910', 'VV', 1],
    ['T069', '20230910', 'VH', 2],
    ['T142', '20230915', 'VV', 3],
    ['T069', '20230922', 'VV', 4],
    ['T069', '20230922', 'VH', 5],
  ];
  for (const [track, date, pol, v] of files) {
    await writeGeoTiff(join(dir, name(track, date, pol)), {
      width: 4,
      height: 3,
      bands: [new Float32Array(12).fill(v)],
      descriptions: [''],
      georef: { geoTransform: gt, epsg: 32611 },
    });
  }
  const { cube } = await loadLandslideCube(dir);
  assert.deepEqual(cube.dates, ['20230910', '20230915', '20230922']);
  assert.deepEqual(cube.orbits, ['T069', 'T142', 'T069']);
  assert.deepEqual(
    cube.vv?.map((b) => at(b, 0)),
    [1, 3, 4],
  );
  assert.ok(Number.isNaN(at(at(cube.vh ?? [], 1), 0)), 'no VH on 20230915: NaN');
  assert.deepEqual(cube.georef.geoTransform, gt);
  await assert.rejects(loadLandslideCube(join(root, 'missing')), DpmError);
});
