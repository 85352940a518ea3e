// GeoTIFF writer/reader checked with GDAL (gdalinfo -json, gdal_translate to raw ENVI) and fuzzed with bad files.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRaster, writeGeoTiff, writeRaster, companionPaths } from '../host/raster/geotiff.js';
import { withOutputs } from '../host/io/outputs.js';
import { DpmError } from '../host/core/errors.js';
import { needsShared, sharedPath } from './shared.js';
import type { Raster } from '../host/raster/types.js';
import { at } from './at.js';

const dir = mkdtempSync(join(tmpdir(), 'dpm-raster-geotiff-'));

/** gdalinfo -json of a file (GDAL is installed by .ci/run). */
export function gdalinfo(path: string): any {
  return JSON.parse(execFileSync('gdalinfo', ['-json', path], { encoding: 'utf8' }));
}

/** All bands as GDAL reads them: gdal_translate to ENVI (raw, band-sequential, native little-endian). */
function gdalValues(path: string, type: 'Float32' | 'Byte' | 'Int16'): number[] {
  const out = join(dir, `gdal-${Math.random().toString(36).slice(2)}.bin`);
  execFileSync('gdal_translate', ['-q', '-of', 'ENVI', '-co', 'INTERLEAVE=BSQ', '-ot', type, path, out]);
  const b = readFileSync(out);
  if (type === 'Float32') return Array.from(new Float32Array(b.buffer, b.byteOffset, b.length / 4));
  if (type === 'Int16') return Array.from(new Int16Array(b.buffer, b.byteOffset, b.length / 2));
  return Array.from(b);
}

function randomRaster(width: number, height: number, nb: number, seed = 1): Raster {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const bands = Array.from({ length: nb }, () => {
    const a = new Float32Array(width * height);
    for (let i = 0; i < a.length; i++) a[i] = rnd() < 0.05 ? NaN : rnd() * 2 - 0.5;
    return a;
  });
  return { width, height, bands, descriptions: bands.map((_, k) => `2018010${k + 1}_2018011${k + 1}`), georef: {} };
}

const sameFloat = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  // exact: float32 written and read back without any arithmetic; NaN must stay NaN
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.fail(`value ${i}: ${a[i]} ≠ ${b[i]}`);
};

test('float32 multi-band UTM: GDAL sees size, type, CRS, nodata, descriptions, tiles, DEFLATE and the values', async () => {
  const r = randomRaster(300, 260, 3); // 2×2 tiles, ragged edges
  r.georef = { geoTransform: [500000, 30, 0, 4000000, 0, -30], epsg: 32611 };
  r.metadata = { UNITS: 'z-score' };
  const p = join(dir, 'utm.tif');
  await writeGeoTiff(p, r);
  const j = gdalinfo(p);
  assert.deepEqual(j.size, [300, 260]);
  assert.equal(j.bands.length, 3);
  assert.match(j.coordinateSystem.wkt, /ID\["EPSG",32611\]\]$/);
  assert.deepEqual(j.geoTransform, [500000, 30, 0, 4000000, 0, -30]);
  assert.equal(j.metadata.IMAGE_STRUCTURE.COMPRESSION, 'DEFLATE');
  assert.equal(j.metadata[''].UNITS, 'z-score');
  j.bands.forEach((b: any, k: number) => {
    assert.equal(b.type, 'Float32');
    assert.equal(b.noDataValue, 'NaN');
    assert.equal(b.description, r.descriptions[k]);
    assert.deepEqual(b.block, [256, 256]);
  });
  sameFloat(
    gdalValues(p, 'Float32'),
    r.bands.flatMap((b) => Array.from(b)),
  );
  const back = await readRaster(p);
  assert.deepEqual([back.width, back.height, back.descriptions, back.georef], [300, 260, r.descriptions, r.georef]);
  assert.equal(back.metadata?.UNITS, 'z-score');
  r.bands.forEach((b, k) => sameFloat(at(back.bands, k), b));

  // the optional predictors: floating point (3) and horizontal (2), decoded by GDAL and by geotiff.js
  const pf = join(dir, 'utm-pred.tif');
  await writeGeoTiff(pf, r, { predictor: true });
  assert.equal(gdalinfo(pf).metadata.IMAGE_STRUCTURE.PREDICTOR, '3');
  sameFloat(
    gdalValues(pf, 'Float32'),
    r.bands.flatMap((b) => Array.from(b)),
  );
  (await readRaster(pf)).bands.forEach((b, k) => sameFloat(b, at(r.bands, k)));
  const pi = join(dir, 'int-pred.tif');
  const ints = r.bands.map((b) => Float32Array.from(b, (v, i) => (Number.isNaN(v) ? 0 : (i * 37) % 256)));
  await writeGeoTiff(pi, { ...r, bands: ints }, { predictor: true, type: 'uint8' });
  assert.equal(gdalinfo(pi).metadata.IMAGE_STRUCTURE.PREDICTOR, '2');
  assert.deepEqual(
    gdalValues(pi, 'Byte'),
    ints.flatMap((b) => Array.from(b)),
  );
  (await readRaster(pi)).bands.forEach((b, k) => sameFloat(b, at(ints, k)));
});

test('EPSG:4326, rotated transform, no CRS, int16 with a nodata value', async () => {
  const r = randomRaster(40, 30, 1);
  r.georef = { geoTransform: [-99.2, 0.001, 0, 19.45, 0, -0.001], epsg: 4326 };
  const p = join(dir, 'geo.tif');
  await writeGeoTiff(p, r);
  assert.match(gdalinfo(p).coordinateSystem.wkt, /ID\["EPSG",4326\]\]$/);
  assert.deepEqual((await readRaster(p)).georef, r.georef);

  // PixelIsPoint (GDAL writes it for AREA_OR_POINT=Point): the tie point is a pixel centre; the transform read
  // back must still be the corner one GDAL reports
  const pt = join(dir, 'point.tif');
  execFileSync('gdal_translate', ['-q', '-mo', 'AREA_OR_POINT=Point', p, pt]);
  assert.equal(gdalinfo(pt).metadata[''].AREA_OR_POINT, 'Point');
  (await readRaster(pt)).georef.geoTransform!.forEach((v, k) =>
    assert.ok(Math.abs(v - at(r.georef.geoTransform!, k)) < 1e-12, `gt[${k}] = ${v}`),
  );

  const rot = {
    ...r,
    georef: { geoTransform: [1000, 10, 2, 5000, 3, -10] as [number, number, number, number, number, number] },
  };
  const pr = join(dir, 'rot.tif');
  await writeGeoTiff(pr, rot);
  const jr = gdalinfo(pr);
  assert.deepEqual(jr.geoTransform, [1000, 10, 2, 5000, 3, -10]);
  assert.equal(jr.coordinateSystem, undefined);
  assert.deepEqual((await readRaster(pr)).georef, rot.georef);

  const none = join(dir, 'none.tif');
  await writeGeoTiff(none, { ...r, georef: {} });
  const jn = gdalinfo(none);
  assert.equal(jn.coordinateSystem, undefined);
  assert.equal(jn.geoTransform, undefined);

  const ints = join(dir, 'int16.tif');
  const m = {
    ...r,
    bands: [Float32Array.from(at(r.bands, 0), (v) => (Number.isNaN(v) ? NaN : Math.round(v * 100) + 0))],
  }; // + 0: no -0
  await writeGeoTiff(ints, m, { type: 'int16', nodata: -9999 });
  const ji = gdalinfo(ints);
  assert.equal(ji.bands[0].type, 'Int16');
  assert.equal(ji.bands[0].noDataValue, -9999);
  assert.deepEqual(
    gdalValues(ints, 'Int16'),
    Array.from(at(m.bands, 0), (v) => (Number.isNaN(v) ? -9999 : v)),
  );
  sameFloat(at((await readRaster(ints)).bands, 0), at(m.bands, 0)); // nodata → NaN, integers exact
});

test('uint8 RGBA overlay: Red, Green, Blue, Alpha bands of type Byte', async () => {
  const w = 20,
    h = 10;
  const bands = [0, 1, 2, 3].map((k) => Float32Array.from({ length: w * h }, (_, i) => (i * (k + 3)) % 256));
  const p = join(dir, 'rgba.tif');
  await writeGeoTiff(
    p,
    { width: w, height: h, bands, descriptions: [], georef: { geoTransform: [0, 1, 0, 0, 0, -1], epsg: 32633 } },
    { type: 'uint8', rgba: true },
  );
  const j = gdalinfo(p);
  assert.deepEqual(
    j.bands.map((b: any) => [b.type, b.colorInterpretation]),
    [
      ['Byte', 'Red'],
      ['Byte', 'Green'],
      ['Byte', 'Blue'],
      ['Byte', 'Alpha'],
    ],
  );
  assert.equal(j.metadata.IMAGE_STRUCTURE.INTERLEAVE, 'PIXEL');
  assert.deepEqual(
    gdalValues(p, 'Byte'),
    bands.flatMap((b) => Array.from(b)),
  );
});

test('radar geometry: lat/lon companions written, referenced in GEOLOCATION, warpable by GDAL, read back', async () => {
  const w = 24,
    h = 16;
  const lat = new Float32Array(w * h),
    lon = new Float32Array(w * h);
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++) {
      lon[i * w + j] = 10 + 0.01 * j + 0.003 * i;
      lat[i * w + j] = 45 - 0.01 * i + 0.002 * j;
    }
  const r: Raster = { ...randomRaster(w, h, 2), georef: { lat, lon } };
  const p = join(dir, 'radar', 'z.tif');
  const written = await withOutputs((outs) => writeRaster(outs, p, r));
  const c = companionPaths(p);
  assert.deepEqual(written, [p, c.lat, c.lon]);
  assert.deepEqual(readdirSync(join(dir, 'radar')).sort(), ['z.lat.tif', 'z.lon.tif', 'z.tif']); // no temporaries left
  const geo = gdalinfo(p).metadata.GEOLOCATION;
  assert.equal(geo.X_DATASET, c.lon);
  assert.equal(geo.Y_DATASET, c.lat);
  const warped = join(dir, 'warped.tif');
  execFileSync('gdalwarp', ['-q', '-geoloc', p, warped]);
  const ext = gdalinfo(warped).cornerCoordinates; // the warp covers the lon/lat range (± one output pixel)
  assert.ok(
    Math.abs(ext.upperLeft[0] - 10) < 0.02 && Math.abs(ext.upperLeft[1] - (45 + 0.002 * (w - 1))) < 0.02,
    JSON.stringify(ext),
  );
  const back = await readRaster(p);
  sameFloat(back.georef.lat!, lat);
  sameFloat(back.georef.lon!, lon);
  assert.equal(back.georef.geoTransform, undefined);
  // a moved folder: the absolute GEOLOCATION paths are gone, the companions beside the file are found
  const moved = join(dir, 'moved');
  renameSync(join(dir, 'radar'), moved);
  sameFloat((await readRaster(join(moved, 'z.tif'))).georef.lat!, lat);
  rmSync(join(moved, 'z.lon.tif'));
  await assert.rejects(
    readRaster(join(moved, 'z.tif')),
    (e: unknown) => e instanceof DpmError && /z\.tif: its geolocation files .* are missing/.test(e.message),
  );
});

const pyrateFile = ['data', 'real', 'pyrate-mexico-coherence', 'cropA_20180106-20180130_VV_8rlks_flat_eqa_cc.tif'];
test(
  'real PyRate/GAMMA coherence (PackBits strips, nodata 0) reads as GDAL reads it',
  needsShared(...pyrateFile),
  async () => {
    const p = sharedPath(...pyrateFile);
    const r = await readRaster(p, { nodata: 0 });
    const j = gdalinfo(p);
    assert.deepEqual([r.width, r.height, r.bands.length], [100, 60, 1]);
    assert.equal(r.georef.epsg, 4326);
    r.georef.geoTransform!.forEach((v, k) => assert.ok(Math.abs(v - j.geoTransform[k]) < 1e-12, `gt[${k}]`)); // doubles from the same tags
    assert.equal(r.metadata?.FIRST_DATE, '2018-01-06');
    const g = gdalValues(p, 'Float32');
    assert.ok(
      g.some((v) => v === 0),
      'the file has nodata zeros',
    );
    sameFloat(
      at(r.bands, 0),
      g.map((v) => (v === 0 ? NaN : v)),
    );
  },
);

test('bad files: missing, empty, text, truncated, corrupted → one DpmError naming the file', async () => {
  const good = join(dir, 'fuzz-src.tif');
  const r = randomRaster(300, 40, 2);
  r.georef = { geoTransform: [0, 1, 0, 0, 0, -1], epsg: 4326 };
  await writeGeoTiff(good, r);
  const bytes = readFileSync(good);
  const expectDpm = async (p: string) => {
    try {
      await readRaster(p);
    } catch (err) {
      assert.ok(err instanceof DpmError, `${p}: ${(err as Error).stack}`);
      assert.ok(err.message.includes(p), err.message);
      return true;
    }
    return false;
  };
  assert.ok(await expectDpm(join(dir, 'does-not-exist.tif')));
  const cases: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['text', Buffer.from('hello, this is not a tiff at all')],
  ];
  // (a COG ends with its last tile's 4-byte trailer, a copy of the tile's end: the shortest cut that loses data is 5)
  for (const n of [8, 100, 1000, bytes.length >> 1, bytes.length - 300, bytes.length - 5])
    cases.push([`trunc${n}`, bytes.subarray(0, n)]);
  for (const [name, b] of cases) {
    const p = join(dir, `${name}.tif`);
    writeFileSync(p, b);
    assert.ok(await expectDpm(p), `${name} was accepted`);
  }
  // Random corruption anywhere: either a DpmError or a raster of the right shape; never another error or a hang.
  let s = 7;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let t = 0; t < 40; t++) {
    const b = Buffer.from(bytes);
    const region = t % 2 ? b.length - 400 : 0; // tile data at the end, or the header, ghost area and IFDs at the start
    for (let k = 0; k < 8; k++) b[region + Math.floor(rnd() * Math.min(400, b.length))] = Math.floor(rnd() * 256);
    const p = join(dir, `corrupt${t}.tif`);
    writeFileSync(p, b);
    try {
      const got = await readRaster(p);
      assert.equal(at(got.bands, 0).length, got.width * got.height);
    } catch (err) {
      assert.ok(err instanceof DpmError, `corrupt${t}: ${(err as Error).stack}`);
    }
  }
  assert.ok(existsSync(good));
});
