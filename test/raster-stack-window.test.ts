// Windowed reads of coherence stacks (issue 16, bounded memory): readCoherenceStack(…, { window }) decodes only the
// window and must give exactly the whole stack cropped to it — bands, nodata, lat/lon companions, geotransform,
// metadata — for a multi-band stack file, a folder of per-pair files, radar geometry and map grids, aligned grids.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { companionPaths, writeGeoTiff } from '../host/raster/geotiff.js';
import {
  openCoherenceStack,
  readCoherenceStack,
  writeCoherenceStack,
  writeCoherenceStackOutputs,
  writeCoherenceWindowOutputs,
} from '../host/raster/stack.js';
import { withOutputs } from '../host/io/outputs.js';
import { silentFeedback } from '../host/core/feedback.js';
import { DpmError } from '../host/core/errors.js';
import type { CoherenceStack, GeoTransform } from '../host/raster/types.js';
import { makeHostileCases } from './hostile-cases.js';
import { mulberry32 } from './random.js';
import { assertWindowsEqualCrop, cropped } from './stack-windows.js';

const root = mkdtempSync(join(tmpdir(), 'dpm-stack-window-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

// 300 × 270: more than one 256-pixel COG tile each way, so windows cross tile edges
const W = 300,
  H = 270;
const GT: GeoTransform = [500000.5, 20, 0, 4000000.25, 0, -20];
const PAIRS = [
  { first: '20200101', second: '20200113' },
  { first: '20200113', second: '20200125' },
  { first: '20200125', second: '20200206' },
];
const key = (p: { first: string; second: string }) => `${p.first}_${p.second}`;

/** Coherence with NaN holes, the `nodata` value 0 in places, and float rounding just past 1 (clipped on read). */
function band(seed: number, w = W, h = H): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: w * h }, () => {
    const u = rand();
    return u < 0.03 ? NaN : u < 0.06 ? 0 : u < 0.07 ? 1 + 4e-6 : rand();
  });
}

/** Writes lat/lon companions beside `path` (radar geometry), pixel-centre degrees. */
async function companions(path: string) {
  const c = companionPaths(path);
  const rand = mulberry32(11);
  const lat = Float32Array.from({ length: W * H }, (_, i) => 19 + Math.floor(i / W) * 1e-4 + rand() * 1e-6);
  const lon = Float32Array.from({ length: W * H }, (_, i) => -99 + (i % W) * 1e-4 + rand() * 1e-6);
  for (const [file, data] of [
    [c.lat, lat],
    [c.lon, lon],
  ] as const)
    await writeGeoTiff(file, { width: W, height: H, bands: [data], descriptions: [''], georef: {} });
}

test('multi-band stack file on a map grid, with nodata: every window equals the whole stack cropped', async () => {
  const p = join(root, 'map', 'stack.tif');
  mkdirSync(join(root, 'map'));
  const stack: CoherenceStack = {
    width: W,
    height: H,
    bands: PAIRS.map((_, k) => band(k + 1)),
    descriptions: [],
    pairs: PAIRS,
    georef: { geoTransform: GT, epsg: 32614 },
    metadata: { DPM_CHIP: '4x1', DPM_STRIDE: '4x1' },
  };
  await writeCoherenceStack(p, stack);
  for (const nodata of [undefined, 0]) {
    const whole = await assertWindowsEqualCrop(p, { nodata });
    assert.deepEqual(whole.georef, { geoTransform: GT, epsg: 32614 }, 'a map grid');
    assert.deepEqual(whole.metadata, stack.metadata, 'the chip layout is kept');
    // the test data holds zeros: kept as coherence, or missing with --nodata 0
    assert.equal(
      whole.bands.some((b) => b.includes(0)),
      nodata === undefined,
    );
  }
});

test('radar geometry: per-pair files and a multi-band file with lat/lon companions, windows of both', async () => {
  const dir = join(root, 'radar-pairs');
  mkdirSync(dir);
  for (const [k, p] of PAIRS.entries()) {
    const file = join(dir, `coh_${key(p)}.tif`);
    await writeGeoTiff(file, { width: W, height: H, bands: [band(20 + k)], descriptions: [''], georef: {} });
    await companions(file);
  }
  const whole = await assertWindowsEqualCrop(dir, { nodata: 0 });
  assert.equal(whole.georef.lat?.length, W * H, 'radar geometry: the companions are read');
  // only the companions, no band: as the lat/lon of the same window
  const opened = await openCoherenceStack(dir);
  const w = { r0: 3, r1: 200, c0: 260, c1: W };
  const ll = await opened.latLon(w);
  const ref = cropped(whole, w).georef;
  assert.deepStrictEqual(ll, { lat: ref.lat, lon: ref.lon });
  assert.deepStrictEqual(opened.header, {
    width: W,
    height: H,
    georef: {},
    descriptions: PAIRS.map(key),
    pairs: PAIRS,
    source: dir,
    metadata: {},
  });

  const multi = join(root, 'radar-stack', 'stack.tif');
  mkdirSync(join(root, 'radar-stack'));
  await writeCoherenceStack(multi, { ...whole, georef: {} });
  await companions(multi);
  await assertWindowsEqualCrop(multi, {});
});

test('aligned grids: windows are in the pixels of the intersection', async () => {
  const dir = join(root, 'shifted');
  mkdirSync(dir);
  // each file one pixel further east and south: the intersection is (W − 2) × (H − 2)
  for (const [k, p] of PAIRS.entries()) {
    const gt: GeoTransform = [GT[0] + 20 * k, 20, 0, GT[3] - 20 * k, 0, -20];
    await writeGeoTiff(join(dir, `coh_${key(p)}.tif`), {
      width: W,
      height: H,
      bands: [band(40 + k)],
      descriptions: [''],
      georef: { geoTransform: gt, epsg: 32614 },
    });
  }
  const whole = await assertWindowsEqualCrop(dir, { align: true });
  assert.deepEqual([whole.width, whole.height], [W - 2, H - 2]);
});

test('a window outside the stack, empty or of fractional pixels is a DpmError naming the input', async () => {
  const p = join(root, 'map', 'stack.tif');
  for (const w of [
    { r0: 0, r1: H + 1, c0: 0, c1: W },
    { r0: 0, r1: H, c0: 0, c1: W + 1 },
    { r0: -1, r1: 2, c0: 0, c1: 2 },
    { r0: 5, r1: 5, c0: 0, c1: 2 },
    { r0: 0, r1: 2.5, c0: 0, c1: 2 },
  ]) {
    await assert.rejects(
      readCoherenceStack(p, { window: w }),
      (e: unknown) => e instanceof DpmError && e.message.includes(p) && /outside its 300 × 270/.test(e.message),
    );
  }
  const opened = await openCoherenceStack(p);
  await assert.rejects(opened.latLon({ r0: 0, r1: 1, c0: 0, c1: W + 5 }), DpmError);
});

test('every hostile coherence input of the CLI tests is refused by a windowed read too, naming the file', async () => {
  const cases = (await makeHostileCases(join(root, 'hostile'))).filter((c) =>
    ['tiff', 'zarr', 'range'].includes(c.cls),
  );
  assert.ok(cases.length > 20, `${cases.length} cases`);
  for (const c of cases) {
    // the whole grid as one window: every block goes through the windowed decoder
    const read = async () => {
      const s = await openCoherenceStack(c.parameters.coherence as string[]);
      await s.read({ r0: 0, r1: s.header.height, c0: 0, c1: s.header.width });
    };
    await assert.rejects(read(), (e: unknown) => e instanceof DpmError && e.message.includes(c.names), c.id);
  }
});

test('a window written by blocks of rows is the same file as the window read whole and written', async () => {
  for (const [name, src] of [
    ['map', join(root, 'map', 'stack.tif')],
    ['radar', join(root, 'radar-stack', 'stack.tif')],
  ] as const) {
    const w = { r0: 7, r1: 263, c0: 5, c1: 291 };
    const opened = await openCoherenceStack(src, { nodata: 0 });
    // the same name in two folders of one length: a radar raster names its companions' paths inside
    const [whole, blocks] = ['a', 'b'].map((d) => {
      mkdirSync(join(root, `${d}-${name}`));
      return join(root, `${d}-${name}`, 'window.tif');
    }) as [string, string];
    await withOutputs(async (outs) => writeCoherenceStackOutputs(outs, whole, await opened.read(w)), silentFeedback);
    await withOutputs(
      (outs) => writeCoherenceWindowOutputs(outs, blocks, opened, w, silentFeedback, 7),
      silentFeedback,
    );
    const files = (p: string) => (name === 'radar' ? [p, companionPaths(p).lat, companionPaths(p).lon] : [p]);
    files(whole).forEach((f, k) => {
      const g = files(blocks)[k] ?? '';
      const renamed = readFileSync(f).toString('latin1').replaceAll(`/a-${name}/`, `/b-${name}/`);
      assert.ok(renamed === readFileSync(g).toString('latin1'), `${name}: ${g} equals ${f}`);
    });
  }
});
