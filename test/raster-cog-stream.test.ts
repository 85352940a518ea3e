// The streaming COG writer (CogWriter, issue 16): rows fed in blocks of any size, or band after band, give the bytes
// of the same raster written whole (writeTiff); GDAL's validator accepts the streamed file and reads its values back.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CogWriter, GcpCollector, gcpGrid, type SampleType, type TiffSpec, writeTiff } from '../host/raster/cog.js';
import { readRaster } from '../host/raster/geotiff.js';
import { cogErrors } from './gdal.js';
import { mulberry32 } from './random.js';

const dir = mkdtempSync(join(tmpdir(), 'dpm-cog-stream-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function spec(w: number, h: number, bands: number, type: SampleType, seed: number, radar = false): TiffSpec {
  const rnd = mulberry32(seed);
  const band = () =>
    type === 'float32'
      ? Float32Array.from({ length: w * h }, () => (rnd() < 0.1 ? NaN : rnd() * 10 - 3))
      : type === 'uint8'
        ? Uint8Array.from({ length: w * h }, () => rnd() * 256)
        : Float64Array.from({ length: w * h }, () => rnd() * 60000 - (type === 'int16' ? 30000 : 0));
  const all = Array.from({ length: bands }, band);
  // a whole NaN tile row and column in the first band: overviews and tiles of missing data only
  if (type === 'float32' && w > 300 && h > 300)
    for (let i = 0; i < w * h; i++) if (Math.floor(i / w) >= 256 || i % w < 40) all[0]![i] = NaN;
  return {
    width: w,
    height: h,
    bands: all,
    type,
    rgba: type === 'uint8' && bands === 4,
    descriptions: all.map((_, k) => `band ${k}`),
    metadata: { DPM_TEST: 'stream' },
    geolocation: {},
    tileSize: 256,
    level: 6,
    predictor: type === 'float32',
    ...(radar
      ? {
          latLon: {
            lat: Float32Array.from({ length: w * h }, (_, i) => 34 + Math.floor(i / w) * 1e-4),
            lon: Float32Array.from({ length: w * h }, (_, i) => -118 + (i % w) * 1e-4),
          },
        }
      : { geoTransform: [500000, 10, 0, 4000000, 0, -10], epsg: 32611 }),
  };
}

/** Feeds `s` to a CogWriter `block` rows at a time (all bands together, or band after band). */
function streamed(path: string, s: TiffSpec, block: number, bandByBand: boolean): void {
  const { bands, latLon, ...rest } = s;
  const rows = (b: ArrayLike<number>, r: number, n: number) =>
    (b as Float32Array).subarray(r * s.width, (r + n) * s.width);
  const gcps = latLon
    ? (() => {
        // the GCPs from lat/lon rows as they pass, as a mosaic collects them
        const c = new GcpCollector(s.width, s.height);
        for (let r = 0; r < s.height; r += block) {
          const n = Math.min(block, s.height - r);
          c.add(rows(latLon.lat, r, n), rows(latLon.lon, r, n), n);
        }
        return c.gcps;
      })()
    : undefined;
  const w = new CogWriter(path, { ...rest, bandCount: bands.length, ...(gcps ? { gcps } : {}) });
  for (const k of bandByBand ? bands.keys() : [undefined]) {
    for (let r = 0; r < s.height; r += block) {
      const n = Math.min(block, s.height - r);
      if (k === undefined)
        w.write(
          bands.map((b) => rows(b, r, n)),
          n,
        );
      else w.write([rows(bands[k]!, r, n)], n, k);
    }
  }
  w.finish();
}

const CASES: [string, TiffSpec][] = [
  ['600 × 290 float32, NaN', spec(600, 290, 1, 'float32', 1)],
  ['513 × 700 float32, 3 bands, radar GCPs', spec(513, 700, 3, 'float32', 2, true)],
  ['1 × 1 float32', spec(1, 1, 1, 'float32', 3)],
  ['257 × 257 float32, 2 bands', spec(257, 257, 2, 'float32', 4)],
  ['700 × 300 uint8 RGBA', spec(700, 300, 4, 'uint8', 5)],
  ['300 × 520 int16, 2 bands', spec(300, 520, 2, 'int16', 6)],
];

test('CogWriter: rows in blocks of 1, 7, 256, 300 and band after band give the bytes of the whole-raster write', () => {
  for (const [name, s] of CASES) {
    const whole = join(dir, 'whole.tif');
    writeTiff(whole, s);
    const expected = readFileSync(whole);
    for (const block of [1, 7, 256, 300]) {
      for (const bandByBand of s.rgba ? [false] : [false, true]) {
        const p = join(dir, `s-${block}-${bandByBand}.tif`);
        streamed(p, s, block, bandByBand);
        assert.ok(readFileSync(p).equals(expected), `${name}: blocks of ${block}${bandByBand ? ', band by band' : ''}`);
      }
    }
  }
  // the scratch files are gone
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith('.tiles')),
    [],
  );
});

test('CogWriter: a missing row or one too many is an internal error, and abort leaves no scratch file', () => {
  const s = CASES[0]![1];
  const p = join(dir, 'short.tif');
  const w = new CogWriter(p, { ...s, bandCount: 1 });
  w.write([(s.bands[0] as Float32Array).subarray(0, 100 * s.width)], 100);
  assert.throws(() => w.finish(), /got 100 of 290 rows/);
  assert.throws(() => w.write([s.bands[0]!], s.height), /rows written, the image has 290/);
  w.abort();
  assert.equal(existsSync(`${p}.tiles`), false);
});

test('CogWriter: GDAL validates a streamed COG (full check) and the values read back', async () => {
  for (const [name, s] of CASES) {
    if (s.type !== 'float32') continue;
    const p = join(dir, 'valid.tif');
    streamed(p, s, 100, !s.rgba);
    assert.equal(cogErrors(p), '', name);
    const back = await readRaster(p, { companions: false });
    assert.deepEqual(back.bands, s.bands, name);
  }
});

test('CogWriter: a BigTIFF (written past 4 GiB; forced here) is a valid COG with the same values', async () => {
  const [name, s] = CASES[1]!; // 3 bands, radar GCPs, overviews
  const { bands, latLon, ...rest } = s;
  const p = join(dir, 'big.tif');
  const w = new CogWriter(p, { ...rest, bandCount: bands.length, bigTiff: true });
  w.write(bands, s.height);
  w.finish(latLon ? gcpGrid(latLon.lat, latLon.lon, s.width, s.height) : undefined);
  const head = readFileSync(p).subarray(0, 4);
  assert.deepEqual([...head], [0x49, 0x49, 43, 0], 'BigTIFF signature');
  assert.equal(cogErrors(p), '', name);
  const info = JSON.parse(spawnSync('gdalinfo', ['-json', p], { encoding: 'utf8' }).stdout);
  assert.equal(info.bands.length, 3);
  assert.deepEqual(info.bands[0].overviews.length, 2);
  assert.equal(info.gcps.gcpList.length, 24 * 24, 'the GCPs of the radar grid');
  const back = await readRaster(p, { companions: false });
  assert.deepEqual(back.bands, bands, name);
});
