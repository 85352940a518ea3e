// Coherence stacks: pair discovery, the consecutive chain, grid checks, the stack file (checked with GDAL).
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRaster, writeGeoTiff } from '../host/raster/geotiff.js';
import { daysBetween, parsePair } from '../host/raster/pairs.js';
import { chainOf, readCoherenceStack, readPairStack, writeCoherenceStack } from '../host/raster/stack.js';
import { recordingFeedback } from '../host/core/feedback.js';
import { DpmError } from '../host/core/errors.js';
import { needsShared, sharedPath } from './shared.js';
import type { CoherenceStack, GeoTransform } from '../host/raster/types.js';
import { at } from './at.js';
import { assertWindowsEqualCrop } from './stack-windows.js';

const root = mkdtempSync(join(tmpdir(), 'dpm-raster-stack-'));
const pyrate = sharedPath('data', 'real', 'pyrate-mexico-coherence');
const GT: GeoTransform = [500000, 20, 0, 4000000, 0, -20];

/** A single-band file whose every pixel holds `value` (so we can tell which file a band came from). */
async function dated(path: string, value: number, w = 6, h = 5, gt: GeoTransform = GT) {
  mkdirSync(join(path, '..'), { recursive: true });
  await writeGeoTiff(path, {
    width: w,
    height: h,
    bands: [new Float32Array(w * h).fill(value)],
    descriptions: [''],
    georef: { geoTransform: gt, epsg: 32633 },
  });
}

async function rejects(p: Promise<unknown>, re: RegExp) {
  await assert.rejects(
    p,
    (e: unknown) => (e instanceof DpmError && re.test(e.message)) || assert.fail(String((e as Error).stack)),
  );
}

test(
  'real PyRate network: 30 pairs → the 7 consecutive pairs 0106→0518, files logged, values as read singly',
  needsShared('data', 'real', 'pyrate-mexico-coherence'),
  async () => {
    const fb = recordingFeedback();
    const s = await readCoherenceStack(pyrate, { nodata: 0, feedback: fb });
    assert.deepEqual(
      s.pairs.map((p) => `${p.first}_${p.second}`),
      [
        '20180106_20180130',
        '20180130_20180307',
        '20180307_20180319',
        '20180319_20180331',
        '20180331_20180412',
        '20180412_20180506',
        '20180506_20180518',
      ],
    );
    assert.deepEqual(
      s.pairs.map((p) => daysBetween(p.first, p.second)),
      [24, 36, 12, 12, 12, 24, 12],
    );
    assert.deepEqual(
      s.descriptions,
      s.pairs.map((p) => `${p.first}_${p.second}`),
    );
    assert.deepEqual([s.width, s.height, s.bands.length, s.georef.epsg], [100, 60, 7, 4326]);
    const used = fb.logs.map((l) => l.message).filter((m) => m.includes('_VV_8rlks'));
    assert.equal(used.length, 7, 'each file used is logged');
    assert.ok(
      fb.logs.some((l) => l.level === 'warning' && l.message.includes('20180530')),
      'dropped tail dates are reported',
    );
    const one = await readRaster(join(pyrate, 'cropA_20180331-20180412_VV_8rlks_flat_eqa_cc.tif'), { nodata: 0 });
    assert.deepEqual(s.bands[4], one.bands[0]);
    assert.ok(at(s.bands, 4).some(Number.isNaN), 'nodata 0 became NaN');
    const all = await readPairStack(pyrate, { nodata: 0 });
    assert.equal(all.pairs.length, 30);
  },
);

test('folder network (HyP3 names with times, product subfolders, long pairs) → consecutive chain', async () => {
  const d = join(root, 'hyp3');
  const pairs = [
    ['20200101', '20200113'],
    ['20200113', '20200125'],
    ['20200125', '20200206'],
    ['20200101', '20200125'],
    ['20200113', '20200206'],
  ];
  for (const [k, [a, b]] of pairs.entries()) {
    const name = `S1AA_${a}T111554_${b}T111602_VVP012_INT80_G_ueF_5BF1`;
    await dated(join(d, name, `${name}_corr.tif`), (k + 1) / 10); // coherence in [0, 1]: 0.1 … 0.5 mark the files
    await dated(join(d, name, `${name}_amp.tif`), 99);
  }
  await dated(join(d, 'dem.tif'), 500);
  const fb = recordingFeedback();
  const s = await readCoherenceStack(d, { feedback: fb });
  assert.deepEqual(s.descriptions, ['20200101_20200113', '20200113_20200125', '20200125_20200206']);
  assert.deepEqual(
    s.bands.map((b) => b[0]),
    [0.1, 0.2, 0.3].map(Math.fround),
  ); // the corr files, not amp (99) or dem (500)
  assert.ok(fb.logs.some((l) => l.message.includes('dem.tif') && l.message.includes('skipped')));
  const all = await readPairStack(d);
  assert.deepEqual(all.descriptions, [
    '20200101_20200113',
    '20200101_20200125',
    '20200113_20200125',
    '20200113_20200206',
    '20200125_20200206',
  ]);
});

test('a missing link, duplicates, mismatched grids, bad names and empty input are one clear error each', async () => {
  const gap = join(root, 'gap');
  for (const [k, n] of ['a_20200101-20200113.tif', 'a_20200125-20200206.tif', 'a_20200101-20200125.tif'].entries())
    await dated(join(gap, n), k);
  await rejects(readCoherenceStack(gap), /missing pair 20200113_20200125/);

  const grid = join(root, 'grid');
  await dated(join(grid, 'c_20200101_20200113.tif'), 1);
  await dated(join(grid, 'c_20200113_20200125.tif'), 2, 6, 5, [500020, 20, 0, 4000000, 0, -20]);
  await rejects(readCoherenceStack(grid), /c_20200113_20200125\.tif: grid .* differs/);
  await dated(join(grid, 'c_20200113_20200125.tif'), 2, 7, 5);
  await rejects(readCoherenceStack(grid), /c_20200113_20200125\.tif: grid 7×5/);

  const names = join(root, 'names');
  await dated(join(names, 'x_20200101_20200113.tif'), 1);
  await dated(join(names, 'nodates.tif'), 2);
  await dated(join(names, 'bad_20201345_20201401.tif'), 3);
  await rejects(
    readCoherenceStack([join(names, 'x_20200101_20200113.tif'), join(names, 'nodates.tif')]),
    /nodates\.tif: no date pair/,
  );
  await rejects(readCoherenceStack(names), /bad_20201345_20201401\.tif: '20201345'.* not a valid date/);
  await rejects(
    readCoherenceStack([join(names, 'x_20200101_20200113.tif'), join(names, 'x_20200101_20200113.tif')]),
    /pair 20200101_20200113 is given twice/,
  );
  await rejects(readCoherenceStack(join(root, 'nope')), /nope: no such file or folder/);
  mkdirSync(join(root, 'empty'));
  await dated(join(root, 'empty', 'dem.tif'), 1);
  await rejects(readCoherenceStack(join(root, 'empty')), /empty: no GeoTIFF named with a date pair/);
  assert.throws(() => parsePair('x_20200101_20200101', 'f'), /same date twice/);
  assert.deepEqual(parsePair('ifg_20200113-20200101_unw', 'f'), { first: '20200101', second: '20200113' }); // order fixed
  assert.throws(
    () =>
      chainOf(
        [
          { first: '20200101', second: '20200125' },
          { first: '20200113', second: '20200206' },
        ],
        'net',
      ),
    /no pair of consecutive/,
  );
});

test('stack file: written with GDAL-visible band descriptions, read back as the same stack; 1-band stack', async () => {
  const w = 300,
    h = 20;
  const pairs = [
    { first: '20200101', second: '20200113' },
    { first: '20200113', second: '20200125' },
  ];
  const bands = pairs.map((_, k) =>
    Float32Array.from({ length: w * h }, (_, i) => (i % 17 === 0 ? NaN : ((i * (k + 1)) % 101) / 100)),
  );
  const stack: CoherenceStack = {
    width: w,
    height: h,
    bands,
    descriptions: [],
    pairs,
    georef: { geoTransform: GT, epsg: 32633 },
  };
  const p = join(root, 'stack.tif');
  await writeCoherenceStack(p, stack);
  const j = JSON.parse(execFileSync('gdalinfo', ['-json', p], { encoding: 'utf8' }));
  assert.deepEqual(
    j.bands.map((b: any) => [b.description, b.type, b.noDataValue]),
    [
      ['20200101_20200113', 'Float32', 'NaN'],
      ['20200113_20200125', 'Float32', 'NaN'],
    ],
  );
  const back = await readCoherenceStack(p);
  assert.deepEqual(back.pairs, pairs);
  assert.deepEqual(back.bands, bands); // float32 stored and read without arithmetic: exact, NaN included
  assert.deepEqual(back.georef, stack.georef);

  const p1 = join(root, 'one.tif');
  await writeCoherenceStack(p1, { ...stack, bands: bands.slice(0, 1), pairs: pairs.slice(0, 1) });
  assert.equal((await readCoherenceStack(p1)).bands.length, 1);
  await rejects(readCoherenceStack(p1, { minPairs: 2 }), /one\.tif: 1 consecutive pair, at least 2 needed/);

  const bad = join(root, 'baddesc.tif');
  await writeGeoTiff(bad, { ...stack, descriptions: ['20200101_20200113', 'coherence'] });
  await rejects(readCoherenceStack(bad), /baddesc\.tif: band 2 description 'coherence'/);
  writeFileSync(join(root, 'junk_20200101_20200113.tif'), 'not a tiff');
  await rejects(
    readCoherenceStack([join(root, 'junk_20200101_20200113.tif')]),
    /junk_20200101_20200113\.tif: not a readable GeoTIFF/,
  );
});

/** An xarray-style Zarr v2 datacube (papers/003): coherence (timepair, y, x), x/y pixel-centre coordinates,
 *  spatial_ref with a WKT, and the pair dates either as start/end CF day numbers or as one string coordinate. */
function writeCube(dir: string, dates: 'cf' | 'strings', pairs: [number, number][], w = 6, h = 5): Float32Array[] {
  const put = (name: string, zarray: object, attrs: object, chunk?: Buffer) => {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(
      join(dir, name, '.zarray'),
      JSON.stringify({ zarr_format: 2, order: 'C', filters: null, fill_value: null, compressor: null, ...zarray }),
    );
    writeFileSync(join(dir, name, '.zattrs'), JSON.stringify(attrs));
    if (chunk) writeFileSync(join(dir, name, (zarray as { shape: number[] }).shape.map(() => '0').join('.')), chunk);
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '.zgroup'), JSON.stringify({ zarr_format: 2 }));
  writeFileSync(join(dir, '.zattrs'), '{}');
  const n = pairs.length;
  const bands = pairs.map((_, k) =>
    Float32Array.from({ length: w * h }, (_, i) => (i === 7 ? NaN : (k + 1) / 10 + i / 1000)),
  );
  const cube = Buffer.alloc(n * w * h * 4);
  bands.forEach((b, k) => b.forEach((v, i) => cube.writeFloatLE(v, (k * w * h + i) * 4)));
  put(
    'coherence',
    { shape: [n, h, w], chunks: [n, h, w], dtype: '<f4', fill_value: 'NaN', compressor: { id: 'zlib', level: 1 } },
    { _ARRAY_DIMENSIONS: ['timepair', 'y', 'x'], grid_mapping: 'spatial_ref' },
    deflateSync(cube),
  );
  const f64 = (v: number[]) => {
    const b = Buffer.alloc(v.length * 8);
    v.forEach((x, i) => b.writeDoubleLE(x, i * 8));
    return b;
  };
  put(
    'x',
    { shape: [w], chunks: [w], dtype: '<f8' },
    { _ARRAY_DIMENSIONS: ['x'] },
    f64(Array.from({ length: w }, (_, i) => 500010 + 20 * i)),
  );
  put(
    'y',
    { shape: [h], chunks: [h], dtype: '<f8' },
    { _ARRAY_DIMENSIONS: ['y'] },
    f64(Array.from({ length: h }, (_, i) => 3999990 - 20 * i)),
  );
  put(
    'spatial_ref',
    { shape: [], chunks: [], dtype: '<i8', fill_value: 0 },
    {
      _ARRAY_DIMENSIONS: [],
      crs_wkt: 'PROJCS["WGS 84 / UTM zone 54N",GEOGCS["WGS 84",AUTHORITY["EPSG","4326"]],AUTHORITY["EPSG","32654"]]',
    },
  );
  const day = (d: number) => new Date(Date.UTC(2018, 6, 4) + d * 86_400_000).toISOString().slice(0, 10);
  if (dates === 'cf') {
    const i64 = (v: number[]) => {
      const b = Buffer.alloc(v.length * 8);
      v.forEach((x, i) => b.writeBigInt64LE(BigInt(x), i * 8));
      return b;
    };
    put(
      'start_date',
      { shape: [n], chunks: [n], dtype: '<i8' },
      { _ARRAY_DIMENSIONS: ['timepair'], units: 'days since 2018-07-04', calendar: 'proleptic_gregorian' },
      i64(pairs.map((p) => p[0])),
    );
    put(
      'end_date',
      { shape: [n], chunks: [n], dtype: '<i8' },
      { _ARRAY_DIMENSIONS: ['timepair'], units: 'days since 2018-07-04 00:00:00' },
      i64(pairs.map((p) => p[1])),
    );
  } else {
    const text = pairs.map((p) => `${day(p[0])}_${day(p[1])}`);
    const b = Buffer.alloc(n * 21 * 4);
    text.forEach((t, k) => [...t].forEach((ch, j) => b.writeUInt32LE(ch.codePointAt(0)!, (k * 21 + j) * 4)));
    put('timepair', { shape: [n], chunks: [n], dtype: '<U21' }, { _ARRAY_DIMENSIONS: ['timepair'] }, b);
  }
  return bands;
}

test('Zarr datacube (papers/003 layout): pairs from CF dates or pair strings, grid, CRS, values; broken chain', async () => {
  // network of 4 acquisitions 12 days apart, stored out of order with one long pair
  const net: [number, number][] = [
    [12, 24],
    [0, 12],
    [0, 24],
    [24, 36],
  ];
  for (const kind of ['cf', 'strings'] as const) {
    const d = join(root, `cube-${kind}.zarr`);
    const bands = writeCube(d, kind, net);
    const fb = recordingFeedback();
    const s = await readCoherenceStack(d, { feedback: fb });
    assert.deepEqual(s.descriptions, ['20180704_20180716', '20180716_20180728', '20180728_20180809']);
    assert.deepEqual(s.bands, [bands[1], bands[0], bands[3]]); // float32 copied, NaN kept
    assert.deepEqual(s.georef, { geoTransform: [500000, 20, 0, 4000000, 0, -20], epsg: 32654 });
    assert.ok(
      fb.logs.some((l) => l.message.includes(`${d} band 2`)),
      'the source of each band is logged',
    );
    assert.equal((await readPairStack(d)).pairs.length, 4);
    await assertWindowsEqualCrop(d, {}); // zarrita slices: only a window's chunks
  }
  const broken = join(root, 'broken.zarr');
  writeCube(broken, 'cf', [
    [0, 12],
    [24, 36],
    [0, 24],
  ]);
  await rejects(readCoherenceStack(broken), /missing pair 20180716_20180728/);
  const empty = join(root, 'empty.zarr');
  mkdirSync(empty);
  writeFileSync(join(empty, '.zgroup'), JSON.stringify({ zarr_format: 2 }));
  await rejects(readCoherenceStack(empty), /empty\.zarr: Zarr store without a 3-D 'coherence' variable/);
});
