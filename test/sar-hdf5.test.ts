// HDF5 SLC products as `dpm coherence` inputs (issue 14): OPERA CSLC-S1 (v1 and beta layouts), NISAR RSLC (and the
// older /science/LSAR/SLC layout) and GSLC, written by our own writer (test/hdf5-products.ts) from the same SLCs as
// an ISCE2 stack: the coherence is bit-identical; dates come from the metadata (the file names lie); georeferencing
// from the grids or the geolocation grid; bad layouts name the file and the missing dataset.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseChipLayout } from '../host/core/chip.js';
import { DpmError } from '../host/core/errors.js';
import { recordingFeedback, silentFeedback } from '../host/core/feedback.js';
import { coherenceStackFromSlc } from '../host/sar/coherence-job.js';
import { openHdf5 } from '../host/sar/hdf5.js';
import h5wasm from 'h5wasm/node';
import { h5pyMissing, toComplex32, writeCslc, writeGslc, writeHdf5, writeRslc } from './hdf5-products.js';
import { specklePair, writeIsceSlc } from './sar-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'dpm-hdf5-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const W = 40,
  H = 24;
const layout = parseChipLayout('4x3', '4x3');
const { s1, s2 } = specklePair(W, H, 0.8, 11);
const { s2: s3 } = specklePair(W, H, 0.3, 12);
const slcs = [s1, s2, s3];
const dates = ['20230105', '20230117', '20230129'];
const starts = ['2023-01-05 14:50:57.397355', '2023-01-17T14:50:57.000000000', '2023-01-29 14:50:57'];

async function reference() {
  const dir = join(tmp, 'isce');
  slcs.forEach((s, k) => writeIsceSlc(dir, dates[k] ?? '', W, H, s));
  return (await coherenceStackFromSlc({ slc: [dir], layout }, silentFeedback)).stack;
}

async function rejects(p: Promise<unknown>, re: RegExp) {
  await assert.rejects(p, (e: unknown) => (e instanceof DpmError && re.test(e.message)) || assert.fail(String(e)));
}

for (const kind of ['CSLC-S1', 'CSLC-S1 beta', 'RSLC', 'SLC (older NISAR)', 'GSLC'] as const) {
  test(`${kind}: coherence equals the ISCE2 stack's; dates from the metadata; georeferencing`, async () => {
    const want = await reference();
    const dir = join(tmp, kind.replace(/\W+/g, '-'));
    mkdirSync(dir, { recursive: true });
    slcs.forEach((slc, k) => {
      // names that lie about the date (and sort in reverse): the metadata decides
      const path = join(dir, `product_${3 - k}_20991231.h5`);
      const o = { start: starts[k] ?? '', slc, width: W, height: H };
      if (kind.startsWith('CSLC')) writeCslc(path, { ...o, x0: 500002.5, y0: 3700005, beta: kind.endsWith('beta') });
      else if (kind === 'GSLC') writeGslc(path, o);
      else writeRslc(path, { ...o, older: kind !== 'RSLC' });
    });
    const fb = recordingFeedback();
    const { stack } = await coherenceStackFromSlc({ slc: [dir], layout }, fb);
    assert.deepEqual(
      stack.pairs.map((p) => `${p.first}_${p.second}`),
      ['20230105_20230117', '20230117_20230129'],
    );
    assert.deepEqual(stack.bands, want.bands, 'bit-identical coherence');
    assert.ok(fb.logs.some((l) => /20230105 (VV|HH): .*product_3_20991231\.h5/.test(l.message)));
    if (kind.startsWith('CSLC')) {
      // pixel centres 500002.5 + 5k, 3700005 − 10k: corner 500000, 3700010; chips of 4×3 pixels
      assert.deepEqual(stack.georef.geoTransform, [500000, 20, 0, 3700010, 0, -30]);
      assert.equal(stack.georef.epsg, 32611);
    } else if (kind === 'GSLC') {
      assert.deepEqual(stack.georef.geoTransform, [300000, 20, 0, 4000005, 0, -15]);
    } else {
      const { lat, lon } = stack.georef;
      assert.ok(lat && lon, 'lat/lon from the geolocation grid');
      // chip (i, j) centre: row 3i + 1, column 4j + 1.5 → t = 22000 + 0.5·row, r = 800000 + 7·column
      for (const [i, j] of [
        [0, 0],
        [7, 9],
        [3, 4],
      ] as const) {
        const t = 0.5 * (3 * i + 1),
          r = 7 * (4 * j + 1.5);
        // linear in time and range → bilinear is exact; float32 storage of 34°/45° rounds at ~4e-6
        assert.ok(Math.abs((lat[i * stack.width + j] ?? NaN) - (34 - 2e-3 * t + 1e-6 * r)) < 5e-6, `lat (${i}, ${j})`);
        assert.ok(Math.abs((lon[i * stack.width + j] ?? NaN) - (45 + 1e-3 * t + 2e-6 * r)) < 5e-6, `lon (${i}, ${j})`);
      }
    }
  });
}

test('NISAR RSLC complex32 (two float16; chunked, shuffled, deflated by h5py): coherence equals the float16-rounded complex64', {
  skip: h5pyMissing ?? false,
}, async () => {
  const dirs = { complex32: join(tmp, 'complex32'), complex64: join(tmp, 'complex64') };
  const slc = '/science/LSAR/RSLC/swaths/frequencyA/HH';
  const files = slcs.map((s, k) => {
    const o = { start: starts[k] ?? '', slc: s, width: W, height: H };
    const pair = { complex32: join(dirs.complex32, `rslc_${k}.h5`), complex64: join(dirs.complex64, `rslc_${k}.h5`) };
    for (const [kind, path] of Object.entries(pair)) {
      mkdirSync(dirs[kind as keyof typeof dirs], { recursive: true });
      writeRslc(path, o);
    }
    return pair;
  });
  toComplex32(files, slc);
  const f = new h5wasm.File(files[0]?.complex32 ?? '', 'r');
  try {
    const d = f.get(slc);
    assert.ok(d instanceof h5wasm.Dataset);
    assert.deepEqual(d.dtype, [
      ['r', '<e'],
      ['i', '<e'],
    ]);
    assert.deepEqual(d.metadata.chunks, [8, 16]);
    assert.deepEqual(
      d.filters.map((x) => x.name),
      ['shuffle', 'deflate'],
    );
  } finally {
    f.close();
  }
  // the samples themselves (coherence would not see a wrong scale): a block across chunk edges, bit-identical
  for (const pair of files) {
    const [half, full] = [openHdf5(pair.complex32), openHdf5(pair.complex64)];
    const a = new Float32Array(2 * 9 * 21),
      b = new Float32Array(2 * 9 * 21);
    await half.read(5, 9, 10, 21, a);
    await full.read(5, 9, 10, 21, b);
    await half.close();
    await full.close();
    assert.deepEqual(a, b, `${pair.complex32}: samples`);
  }
  const got = (await coherenceStackFromSlc({ slc: [dirs.complex32], layout }, silentFeedback)).stack;
  const want = (await coherenceStackFromSlc({ slc: [dirs.complex64], layout }, silentFeedback)).stack;
  assert.deepEqual(got.bands, want.bands, 'bit-identical to the rounded SLC stored as complex64');
  assert.deepEqual(got.georef.lat, want.georef.lat);
  // the rounding is real: the unrounded SLCs give another coherence, so the equality above is not trivial
  assert.notDeepEqual(got.bands, (await reference()).bands);
});

test('HDF5: a missing start time, an unknown layout, a missing polarisation are one clear error each', async () => {
  const dir = join(tmp, 'bad');
  mkdirSync(dir, { recursive: true });
  const a = join(dir, 'a.h5'),
    b = join(dir, 'b.h5');
  writeCslc(a, { start: starts[0] ?? '', slc: s1, width: W, height: H, x0: 0, y0: 0 });
  writeHdf5(b, { '/data/VV': { complex: s2, shape: [H, W] } });
  await rejects(
    coherenceStackFromSlc({ slc: [a, b], layout }, silentFeedback),
    /b\.h5: OPERA CSLC-S1 without the dataset \/identification\/zero_doppler_start_time/,
  );
  writeHdf5(b, { '/science/other/thing': Float64Array.of(1) });
  await rejects(coherenceStackFromSlc({ slc: [a, b], layout }, silentFeedback), /b\.h5: not an OPERA CSLC-S1 or NISAR/);
  writeHdf5(b, {
    '/data/HH': { complex: s2, shape: [H, W] },
    '/identification/zero_doppler_start_time': starts[1] ?? '',
  });
  await rejects(
    coherenceStackFromSlc({ slc: [a, b], layout }, silentFeedback),
    /b\.h5: .*without the dataset \/data\/VV/,
  );
});
