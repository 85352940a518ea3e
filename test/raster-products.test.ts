// Product inputs (issue 14): HyP3 folders, ZIPs and loose *_corr.tif; symbolic links; the same forecast from
// HyP3-named copies of the real PyRate data as from the original folder.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recordingFeedback } from '../host/core/feedback.js';
import { DpmError } from '../host/core/errors.js';
import { initParams } from '../host/model/init.js';
import { Rng } from '../host/model/rng.js';
import { saveModel } from '../host/model/safetensors.js';
import { readRaster, writeGeoTiff } from '../host/raster/geotiff.js';
import { readCoherenceStack, readPairStack } from '../host/raster/stack.js';
import type { GeoTransform } from '../host/raster/types.js';
import { execute } from '../host/toolbox/execute.js';
import { burstName, gammaName, hyp3Folder, hyp3Parameters, oneBand, UTM_GT, zipProduct } from './products.js';
import { needsShared, sharedPath } from './shared.js';
import { assertWindowsEqualCrop } from './stack-windows.js';

const root = mkdtempSync(join(tmpdir(), 'dpm-products-'));
const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'host', 'cli.js');

async function rejects(p: Promise<unknown>, re: RegExp) {
  await assert.rejects(p, (e: unknown) => (e instanceof DpmError && re.test(e.message)) || assert.fail(String(e)));
}

const keys = (s: { pairs: { first: string; second: string }[] }) => s.pairs.map((p) => `${p.first}_${p.second}`);

test('HyP3: product folders, ZIPs, loose burst *_corr.tif and links side by side; pairs, values, products logged', async () => {
  const dir = join(root, 'hyp3');
  const staging = join(root, 'staging');
  mkdirSync(dir, { recursive: true });
  mkdirSync(staging, { recursive: true });
  // 0101→0113 (folder), 0113→0125 (ZIP), 0125→0206 (loose burst corr), 0206→0218 (link to a folder elsewhere)
  await hyp3Folder(dir, gammaName('20190101', '20190113'), oneBand(6, 5, 0.1), hyp3Parameters('20190101', '20190113'));
  const zipped = await hyp3Folder(staging, gammaName('20190113', '20190125', '3C4D'), oneBand(6, 5, 0.2));
  writeFileSync(
    join(zipped, `${gammaName('20190113', '20190125', '3C4D')}.txt`),
    hyp3Parameters('20190113', '20190125'),
  );
  zipProduct(zipped, dir, readdirSync(zipped));
  await writeGeoTiff(join(dir, `${burstName('20190125', '20190206')}_corr.tif`), oneBand(6, 5, 0.3));
  const linked = await hyp3Folder(staging, gammaName('20190206', '20190218', '5E6F'), oneBand(6, 5, 0.4));
  symlinkSync(linked, join(dir, 'linked-product'));
  writeFileSync(join(dir, 'README.md.txt'), 'not a product');
  const fb = recordingFeedback();
  const s = await readCoherenceStack(dir, { feedback: fb });
  assert.deepEqual(keys(s), ['20190101_20190113', '20190113_20190125', '20190125_20190206', '20190206_20190218']);
  assert.deepEqual(
    s.bands.map((b) => b[0]),
    [0.1, 0.2, 0.3, 0.4].map(Math.fround),
    'the coherence layer of each product (never unw_phase)',
  );
  const used = fb.logs.filter((l) => /^HyP3 product /.test(l.message)).map((l) => l.message);
  assert.equal(used.length, 4, used.join('\n'));
  assert.ok(
    used.some((m) => m.includes(`${gammaName('20190113', '20190125', '3C4D')}.zip!/`)),
    'ZIP entry named',
  );
  // one ZIP alone is an input too
  const one = await readPairStack(join(dir, `${gammaName('20190113', '20190125', '3C4D')}.zip`));
  assert.deepEqual(keys(one), ['20190113_20190125']);
});

test('HyP3: a renamed product takes its pair from the .txt granules; without them the error says so', async () => {
  const dir = join(root, 'renamed');
  const folder = await hyp3Folder(dir, 'my_product', oneBand(4, 3, 0.5), hyp3Parameters('20200604', '20200616'));
  const s = await readPairStack(dir);
  assert.deepEqual(keys(s), ['20200604_20200616']);
  writeFileSync(join(folder, 'my_product.txt'), 'Baseline: 3\n');
  await rejects(readPairStack(dir), /my_product_corr\.tif: HyP3 product 'my_product' names no date pair/);
});

test('HyP3: products on different grids are refused naming both grids, or cropped to their intersection on request', async () => {
  const dir = join(root, 'grids');
  // 6×5, value = (row·6 + column)/100: coherence in [0, 1], and each pixel tells where it came from
  const shifted = Float32Array.from({ length: 30 }, (_, k) => k / 100);
  await hyp3Folder(dir, gammaName('20190101', '20190113'), oneBand(6, 5, 0.1));
  await hyp3Folder(dir, gammaName('20190113', '20190125'), oneBand(6, 5, shifted, [500160, 80, 0, 3999920, 0, -80]));
  await rejects(
    readCoherenceStack(dir),
    /grid 6×5 EPSG:32633 origin 500160,3999920 .*differs from .*origin 500000,4000000.*--align-grids/,
  );
  // the second grid starts 2 columns right and 1 row down: the intersection is 4×4 from there
  const s = await readCoherenceStack(dir, { align: true });
  assert.deepEqual([s.width, s.height], [4, 4]);
  assert.deepEqual(s.georef.geoTransform, [500160, 80, 0, 3999920, 0, -80]);
  assert.deepEqual(
    Array.from(s.bands[1] ?? []).slice(0, 5),
    [0, 1, 2, 3, 6].map((k) => Math.fround(k / 100)),
    'the shifted file from its corner',
  );
  assert.ok(s.bands[0]?.every((v) => v === Math.fround(0.1)));
  await hyp3Folder(dir, gammaName('20190125', '20190206'), oneBand(6, 5, 0.3, [500040.5, 80, 0, 4000000, 0, -80]));
  await rejects(readCoherenceStack(dir, { align: true }), /cannot be aligned without resampling/);
});

test('dpm run and dpm2 --coherence: HyP3 products on shifted grids refused, cropped with --align-grids', async () => {
  const dir = join(root, 'run-grids');
  // 9 acquisitions 12 days apart → 8 consecutive pairs; every other product starts one column right, one row down
  const dates = Array.from({ length: 9 }, (_, k) => {
    const d = new Date(Date.UTC(2019, 0, 1 + 12 * k));
    return d.toISOString().slice(0, 10).replace(/-/g, '');
  });
  const rng = new Rng(7);
  for (let k = 0; k + 1 < dates.length; k++) {
    const values = Float32Array.from({ length: 10 * 8 }, () => rng.uniform(0.3, 0.8));
    const gt: GeoTransform = k % 2 ? [500080, 80, 0, 3999920, 0, -80] : UTM_GT;
    await hyp3Folder(dir, gammaName(dates[k]!, dates[k + 1]!), oneBand(10, 8, values, gt));
  }
  const eventDate = dates[7]!; // the last pair spans the event: 7 pre-event pairs
  const run = (out: string, align: boolean, extra: Record<string, unknown> = {}) =>
    execute(
      'run',
      {
        ...extra,
        coherence: dir,
        'event-date': eventDate,
        preset: 'fast',
        epochs: 1,
        device: 'software',
        'align-grids': align,
        geocode: 'none',
        'out-dir': out,
      },
      recordingFeedback(),
    );
  const refused = join(root, 'run-refused');
  await rejects(run(refused, false), /differs from .*--align-grids/);
  assert.ok(!existsSync(refused) || readdirSync(refused).length === 0, 'nothing written when refused');
  const r = await run(join(root, 'run-aligned'), true);
  const z = await readRaster(String(r.zscore));
  assert.deepEqual([z.width, z.height], [9, 7], 'the 10×8 grids one pixel apart intersect in 9×7');
  assert.deepEqual(z.georef.geoTransform, [500080, 80, 0, 3999920, 0, -80]);
  // tiled: each tile reads its window of the aligned grid (the same model: the same z-scores)
  const tiled = await run(join(root, 'run-aligned-tiled'), true, { tiles: '2x2', workers: 1 });
  const zt = await readRaster(String(tiled.zscore));
  assert.deepEqual([zt.width, zt.height, zt.georef.geoTransform], [9, 7, z.georef.geoTransform]);
  for (const [i, v] of z.bands[0]!.entries()) assert.ok(Math.abs(zt.bands[0]![i]! - v) <= 1e-6, `pixel ${i}`);

  const dpm2 = (output: string, align: boolean) =>
    execute(
      'dpm2',
      { stack: dir, 'event-date': eventDate, output, 'min-pairs': 5, 'align-grids': align },
      recordingFeedback(),
    );
  await rejects(dpm2(join(root, 'dpm2-refused.tif'), false), /differs from .*--align-grids/);
  const d = await readRaster(String((await dpm2(join(root, 'dpm2.tif'), true)).output));
  assert.deepEqual([d.width, d.height, ...(d.georef.geoTransform ?? [])], [9, 7, 500080, 80, 0, 3999920, 0, -80]);
});

test('links: a folder of symbolic links to dated files reads; a link pointing nowhere is named', async () => {
  const files = join(root, 'real-files');
  const links = join(root, 'links');
  mkdirSync(files, { recursive: true });
  mkdirSync(links, { recursive: true });
  for (const [k, pair] of ['20200101_20200113', '20200113_20200125'].entries()) {
    await writeGeoTiff(join(files, `coh_${pair}.tif`), oneBand(3, 2, 0.25 * (k + 1)));
    symlinkSync(join(files, `coh_${pair}.tif`), join(links, `coh_${pair}.tif`));
  }
  const s = await readCoherenceStack(links);
  assert.deepEqual(keys(s), ['20200101_20200113', '20200113_20200125']);
  assert.deepEqual([s.bands[0]![0], s.bands[1]![0]], [0.25, 0.5]);
  symlinkSync(join(files, 'gone.tif'), join(links, 'coh_20200125_20200206.tif'));
  await rejects(
    readCoherenceStack(links),
    /coh_20200125_20200206\.tif: symbolic link to '.*gone\.tif', which does not exist/,
  );
  await rejects(readCoherenceStack(join(links, 'coh_20200125_20200206.tif')), /symbolic link to .*does not exist/);
});

test(
  'real data: HyP3-named copies of the PyRate Mexico folder (folders, ZIPs, loose, links) give the same forecast',
  needsShared('data', 'real', 'pyrate-mexico-coherence'),
  async () => {
    const original = sharedPath('data', 'real', 'pyrate-mexico-coherence');
    const dir = join(root, 'mexico-hyp3');
    const staging = join(root, 'mexico-staging');
    mkdirSync(dir, { recursive: true });
    const cc = readdirSync(original).filter((f) => /_cc\.tif$/.test(f));
    for (const [k, f] of cc.entries()) {
      const [, a = '', b = ''] = f.match(/_(\d{8})-(\d{8})_/) ?? [];
      const name = gammaName(a, b, String(1000 + k));
      const target = k % 4 === 0 || k % 4 === 1 ? join(dir, name) : join(staging, name);
      mkdirSync(target, { recursive: true });
      copyFileSync(join(original, f), join(target, `${name}_corr.tif`));
      writeFileSync(join(target, `${name}.txt`), hyp3Parameters(a, b));
      if (k % 4 === 2) zipProduct(target, dir, [`${name}_corr.tif`, `${name}.txt`]);
      if (k % 4 === 3) symlinkSync(join(target, `${name}_corr.tif`), join(dir, `${name}_corr.tif`));
    }
    const config = { hidden: 16, mlp: 16, features: 1 };
    const model = join(root, 'mexico-model.safetensors');
    saveModel(model, config, initParams(config, new Rng(5)));
    const z = async (input: string, out: string) => {
      const r = spawnSync(
        process.execPath,
        [cli, 'forecast', '--coherence', input, '--nodata', '0', '--model', model, '--out-dir', out],
        { encoding: 'utf8', env: { ...process.env, DPM_DEVICE: 'cpu' } },
      );
      assert.equal(r.status, 0, r.stderr);
      return readRaster(join(out, 'zscore.tif'));
    };
    const a = await z(original, join(root, 'fc-original'));
    const b = await z(dir, join(root, 'fc-hyp3'));
    assert.deepEqual(b.bands[0], a.bands[0], 'bit-identical z-scores');
    assert.deepEqual(b.georef, a.georef);
    const s = await readCoherenceStack(dir, { nodata: 0 });
    assert.equal(s.pairs.length, 7);
    rmSync(staging, { recursive: true, force: true });
  },
);

test('ARIA GUNW: pairs from the product names (reference first), lat/lon axes, _FillValue → NaN; bad layout named', async () => {
  const { writeGunw, writeHdf5 } = await import('./hdf5-products.js');
  const dir = join(root, 'gunw');
  mkdirSync(dir, { recursive: true });
  const name = (ref: string, sec: string) =>
    `S1-GUNW-A-R-064-tops-${ref}_${sec}-135934-00045E_00034N-PP-d4a7-v2_0_4.nc`;
  const [w, h] = [7, 5];
  for (const [k, [ref, sec]] of [
    ['20200616', '20200604'],
    ['20200628', '20200616'],
  ].entries()) {
    const coherence = Float32Array.from({ length: w * h }, (_, i) => (i === 3 ? 0 : 0.1 * (k + 1) + i / 1000));
    writeGunw(join(dir, name(ref ?? '', sec ?? '')), { coherence, width: w, height: h });
  }
  const s = await readCoherenceStack(dir);
  assert.deepEqual(keys(s), ['20200604_20200616', '20200616_20200628']);
  assert.ok(Number.isNaN(s.bands[0]?.[3] ?? 0), 'fill value 0 → NaN');
  assert.equal(s.bands[1]?.[4], Math.fround(0.2 + 4 / 1000));
  assert.equal(s.georef.epsg, 4326);
  const gt = s.georef.geoTransform ?? [];
  assert.ok(Math.abs((gt[0] ?? NaN) + 118) < 1e-9 && Math.abs((gt[3] ?? NaN) - 34.5) < 1e-9, `corner ${gt}`);
  assert.ok(Math.abs((gt[1] ?? NaN) - 0.000416666) < 1e-12 && Math.abs((gt[5] ?? NaN) + 0.000416666) < 1e-12);
  await assertWindowsEqualCrop(dir, {}); // h5wasm hyperslabs: only a window is read
  const bad = join(root, 'gunw-bad', name('20200710', '20200628'));
  mkdirSync(join(root, 'gunw-bad'), { recursive: true });
  writeHdf5(bad, { '/science/grids/data/latitude': Float64Array.of(1, 2) });
  await rejects(readPairStack(bad), /ARIA GUNW without the dataset \/science\/grids\/data\/coherence/);
});
