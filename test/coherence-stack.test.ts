// Stack processing: streamed row blocks = whole-image reference for every pair mode, window, chip and stride;
// chip-centre lat/lon and geotransforms; `dpm coherence` end to end (file, band names, companions), progress,
// cancel and bad stacks with nothing left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DpmError, CanceledError } from '../host/core/errors.js';
import { recordingFeedback, silentFeedback } from '../host/core/feedback.js';
import { execute } from '../host/toolbox/execute.js';
import { readRaster } from '../host/raster/geotiff.js';
import {
  computeCoherence,
  chipGeoTransform,
  parseWindow,
  selectPairs,
  type Window,
} from '../host/sar/coherence-stack.js';
import { parseChipLayout, parseChipSize } from '../host/core/chip.js';
import { coherenceStackFromSlc } from '../host/sar/coherence-job.js';
import { discoverStack, openRaster } from '../host/sar/readers.js';
import { coherenceReference } from '../host/sar/reference.js';
import type { ChipSpec } from '../host/sar/kernel.js';
import { isceXml, maxDiff, rawVrt, specklePair, writeIsceSlc } from './sar-helpers.js';
import { at } from './at.js';

const tmp = mkdtempSync(join(tmpdir(), 'dpm-coh-stack-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

// A 5-date stack (12/24/12/36-day gaps) of correlated speckle with zeros in one corner, plus linear lat/lon lookups.
const W = 61,
  H = 37;
const DATES = ['20200101', '20200113', '20200206', '20200218', '20200325'];
const stackDir = join(tmp, 'stack');
const images: Float32Array[] = [];
{
  let prev: Float32Array | undefined;
  DATES.forEach((d, k) => {
    const { s1, s2 } = specklePair(
      W,
      H,
      (_r, c) => 0.2 + 0.7 * (c / W),
      50 + k,
      (r) => 1 + r / H,
    );
    // a chain: each date is correlated with the previous one
    const before = prev;
    const img = before ? s2.map((v, i) => 0.5 * v + 0.5 * at(before, i)) : s1;
    for (let r = 0; r < 6; r++)
      for (let c = 0; c < 20; c++) {
        img[2 * (r * W + c)] = 0;
        img[2 * (r * W + c) + 1] = 0;
      }
    images.push(img);
    prev = img;
    writeIsceSlc(stackDir, d, W, H, img);
  });
  const lat = Buffer.alloc(W * H * 8),
    lon = Buffer.alloc(W * H * 8);
  for (let r = 0; r < H; r++)
    for (let c = 0; c < W; c++) {
      lat.writeDoubleLE(34 + 1e-4 * r - 2e-5 * c, 8 * (r * W + c));
      lon.writeDoubleLE(45.5 + 3e-5 * r + 4e-5 * c, 8 * (r * W + c));
    }
  const g = join(stackDir, 'geom_reference');
  mkdirSync(g, { recursive: true });
  writeFileSync(join(g, 'lat.rdr'), lat);
  writeFileSync(join(g, 'lat.rdr.vrt'), rawVrt('lat.rdr', W, H, 'Float64', 8, W * 8));
  writeFileSync(join(g, 'lat.rdr.xml'), isceXml('lat.rdr', W, H, 'DOUBLE', 'l'));
  writeFileSync(join(g, 'lon.rdr'), lon);
  writeFileSync(join(g, 'lon.rdr.xml'), isceXml('lon.rdr', W, H, 'DOUBLE', 'l'));
}
function crop(img: Float32Array, w: Window): Float32Array {
  const cw = w.c1 - w.c0;
  const out = new Float32Array((w.r1 - w.r0) * cw * 2);
  for (let r = w.r0; r < w.r1; r++) out.set(img.subarray(2 * (r * W + w.c0), 2 * (r * W + w.c1)), 2 * (r - w.r0) * cw);
  return out;
}

async function openStack() {
  const found = discoverStack([stackDir]);
  return Promise.all(found.entries.map((e) => openRaster(e.path)));
}

test('streamed blocks = whole-image reference, for pair modes, windows, chips, strides and tiny blocks', async () => {
  const srcs = await openStack();
  try {
    const cases: [ChipSpec, string | undefined, number][] = [
      [{ cr: 15, ca: 5, sr: 15, sa: 5 }, undefined, 128 * 2 ** 20],
      [{ cr: 15, ca: 5, sr: 1, sa: 1 }, '3:33,4:60', 4096], // a few rows per block: many blocks, overlap re-read
      [{ cr: 4, ca: 3, sr: 2, sa: 2 }, '10:,:50', 3000],
      [{ cr: 5, ca: 2, sr: 7, sa: 3 }, ':,:', 1], // budget below one chip: falls back to ca rows per block
    ];
    for (const mode of ['consecutive', 'all', 'max-span'] as const) {
      const pairs = selectPairs(DATES, mode, 36);
      for (const [chip, win, budget] of cases) {
        const w = parseWindow(win, W, H);
        const got = new Map<number, Float32Array>();
        const grid = await computeCoherence(
          srcs,
          { chip, window: w, pairs, blockBytes: budget },
          (p, i0, n, v) => {
            const band = got.get(p) ?? new Float32Array(0);
            const next = new Float32Array(band.length + n * outWidth(chip, w));
            next.set(band);
            next.set(v.subarray(0, n * outWidth(chip, w)), band.length);
            assert.equal(band.length, i0 * outWidth(chip, w), 'blocks arrive in row order');
            got.set(p, next);
          },
          silentFeedback,
        );
        pairs.forEach(([a, b], p) => {
          const ref = coherenceReference(
            crop(at(images, a), w),
            crop(at(images, b), w),
            w.c1 - w.c0,
            w.r1 - w.r0,
            chip,
          );
          assert.equal(grid.outW, ref.outW);
          const d = maxDiff(got.get(p)!, ref.data);
          // same float64 sums in another order, rounded to float32 (see coherence-kernel.test.ts)
          assert.ok(
            d.max < 1e-6 && d.nanMismatch === 0 && got.get(p)!.length === ref.data.length,
            `${mode} pair ${DATES[a]}_${DATES[b]} chip ${chip.cr}x${chip.ca}/${chip.sr}x${chip.sa} window ${win}: ${JSON.stringify(d)}`,
          );
        });
        if (mode === 'consecutive') assert.equal(grid.slots, 2, 'consecutive pairs keep two SLC blocks');
      }
    }
  } finally {
    await Promise.all(srcs.map((s) => s.close()));
  }
});

test('each SLC is read once per pass: one read per row block, rows overlap only by ca − sa', async () => {
  const srcs = await openStack();
  try {
    const reads = srcs.map(() => ({ calls: 0, rows: 0 }));
    const counted = srcs.map(
      (s, k) =>
        new Proxy(s, {
          get(t, prop, recv) {
            if (prop === 'read') {
              return (row0: number, n: number, c0: number, nc: number, out: Float32Array) => {
                at(reads, k).calls++;
                at(reads, k).rows += n;
                return t.read(row0, n, c0, nc, out);
              };
            }
            const v = Reflect.get(t, prop, recv);
            return typeof v === 'function' ? v.bind(t) : v;
          },
        }),
    );
    const chip = { cr: 15, ca: 5, sr: 1, sa: 1 };
    const g = await computeCoherence(
      counted,
      {
        chip,
        window: parseWindow(undefined, W, H),
        pairs: selectPairs(DATES, 'consecutive'),
        blockBytes: 2 * 10 * W * 8,
      },
      () => {},
      silentFeedback,
    );
    const blocks = Math.ceil(g.outH / (g.blockRows - chip.ca + 1));
    assert.ok(blocks > 2, `${blocks} blocks`);
    for (const r of reads) {
      assert.equal(r.calls, blocks, 'one read per acquisition per block (k+1 is reused for pair (k+1, k+2))');
      assert.equal(r.rows, H + (blocks - 1) * (chip.ca - chip.sa), 'only the chip overlap is read twice');
    }
  } finally {
    await Promise.all(srcs.map((s) => s.close()));
  }
});

/** Output columns of a window (whole chips only). */
function outWidth(c: ChipSpec, w: Window): number {
  return Math.floor((w.c1 - w.c0 - c.cr) / c.sr) + 1;
}

test('pair selection, chip and window parsing', () => {
  assert.deepEqual(selectPairs(DATES, 'consecutive'), [
    [0, 1],
    [1, 2],
    [2, 3],
    [3, 4],
  ]);
  assert.equal(selectPairs(DATES, 'all').length, 10);
  // spans: 12, 24, 12, 36 between neighbours; ≤ 36 days: the 4 neighbours + 0→2 (36) + 2→3… 1→3 (36)
  assert.deepEqual(selectPairs(DATES, 'max-span', 36), [
    [0, 1],
    [0, 2],
    [1, 2],
    [1, 3],
    [2, 3],
    [3, 4],
  ]);
  assert.throws(() => selectPairs(DATES, 'max-span'), DpmError);
  assert.deepEqual(parseChipSize('15x5', 'chip'), { range: 15, azimuth: 5 });
  assert.deepEqual(parseChipSize('1', 'stride'), { range: 1, azimuth: 1 });
  assert.throws(() => parseChipSize('15x0', 'chip'), /between 1 and 10000/);
  assert.throws(() => parseChipSize('big', 'chip'), /--chip must look like 15x5/);
  assert.deepEqual(parseWindow('1:5,:7', 10, 8), { r0: 1, r1: 5, c0: 0, c1: 7 });
  assert.throws(() => parseWindow('0:9,0:5', 10, 8), /outside the 10 × 8/);
  assert.throws(() => parseWindow('5:5,0:5', 10, 8), /empty/);
  // geotransform: output pixel centres on chip centres
  const gt = chipGeoTransform(
    [1000, 10, 0, 5000, 0, -20],
    { r0: 2, r1: 30, c0: 4, c1: 50 },
    { cr: 15, ca: 5, sr: 1, sa: 1 },
  );
  // output (0,0) centre = SLC chip centre: column 4 + 7.5, row 2 + 2.5 (pixel-edge coordinates)
  assert.equal(gt[0] + 0.5 * gt[1], 1000 + (4 + 7.5) * 10);
  assert.equal(gt[3] + 0.5 * gt[5], 5000 - (2 + 2.5) * 20);
  assert.deepEqual([gt[1], gt[5]], [10, -20]);
});

test('chip-centre lat/lon from the lookups (bilinear at the chip centre)', async () => {
  const { stack } = await coherenceStackFromSlc(
    { slc: [stackDir], layout: parseChipLayout('4x3', '3x2'), window: '1:30,2:50' },
    silentFeedback,
  );
  const { lat, lon } = stack.georef;
  assert.ok(lat && lon, 'lookups found in geom_reference/');
  for (let i = 0; i < stack.height; i++)
    for (let j = 0; j < stack.width; j++) {
      const r = 1 + i * 2 + 1,
        c = 2 + j * 3 + 1.5; // chip centre in pixel-centre coordinates
      // linear lookups → bilinear is exact; float32 storage of ~34° rounds at 2e-6
      assert.ok(Math.abs(at(lat, i * stack.width + j) - (34 + 1e-4 * r - 2e-5 * c)) < 4e-6);
      assert.ok(Math.abs(at(lon, i * stack.width + j) - (45.5 + 3e-5 * r + 4e-5 * c)) < 4e-6);
    }
});

test('dpm coherence: writes the stack with dated bands and lat/lon companions; progress reaches 100', async () => {
  const out = join(tmp, 'out', 'coh.tif');
  const fb = recordingFeedback();
  const res = await execute(
    'coherence',
    { slc: [stackDir], out, pairs: 'max-span', 'max-span': 36, stride: '5x5' },
    fb,
  );
  assert.equal(res.bands, 6);
  const r = await readRaster(out);
  assert.deepEqual(r.descriptions, [
    '20200101_20200113',
    '20200101_20200206',
    '20200113_20200206',
    '20200113_20200218',
    '20200206_20200218',
    '20200218_20200325',
  ]);
  assert.ok(r.georef.lat && r.georef.lon, 'companions read back');
  const ref = coherenceReference(at(images, 1), at(images, 3), W, H, { cr: 15, ca: 5, sr: 5, sa: 5 });
  assert.ok(maxDiff(at(r.bands, 3), ref.data).max < 1e-6);
  assert.equal(fb.percents[fb.percents.length - 1], 100);
  for (let k = 1; k < fb.percents.length; k++)
    assert.ok(at(fb.percents, k) >= at(fb.percents, k - 1), 'progress never goes back');
  // the stack, its lat/lon companions and the QGIS style (grey) QGIS applies when it opens coh.tif
  assert.deepEqual(readdirSync(join(tmp, 'out')).sort(), ['coh.lat.tif', 'coh.lon.tif', 'coh.qml', 'coh.tif']);
});

test('cancel and bad stacks: one DpmError / CanceledError, nothing written', async () => {
  const outDir = join(tmp, 'out-bad');
  const out = join(outDir, 'coh.tif');
  const fb = recordingFeedback();
  const cancelling = {
    ...fb,
    progress: (p: number) => {
      fb.progress(p);
      if (p > 30) fb.cancel();
    },
  };
  await assert.rejects(
    execute('coherence', { slc: [stackDir], out, stride: '1x1', 'block-mb': 8 }, cancelling),
    CanceledError,
  );
  assert.ok(!existsSync(outDir) || readdirSync(outDir).length === 0, 'no partial output after cancel');
  // a date with another size
  const odd = join(tmp, 'odd');
  for (const [k, d] of DATES.slice(0, 3).entries()) writeIsceSlc(odd, d, k === 2 ? W - 1 : W, H, at(images, k));
  await assert.rejects(
    execute('coherence', { slc: [odd], out }, silentFeedback),
    (e: unknown) => e instanceof DpmError && /20200206\.slc\.full: 60 × 37 pixels/.test(e.message),
  );
  // a truncated SLC in the middle of the stack
  const trunc = join(tmp, 'trunc');
  for (const [k, d] of DATES.slice(0, 3).entries())
    writeIsceSlc(trunc, d, W, H, k === 1 ? at(images, k).subarray(0, W * 10 * 2) : at(images, k));
  await assert.rejects(
    execute('coherence', { slc: [trunc], out }, silentFeedback),
    (e: unknown) => e instanceof DpmError && /20200113\.slc\.full: file is truncated/.test(e.message),
  );
  await assert.rejects(
    execute('coherence', { slc: [stackDir], out, window: '0:3,0:100' }, silentFeedback),
    (e: unknown) => e instanceof DpmError && /--window/.test(e.message),
  );
  await assert.rejects(
    execute('coherence', { slc: [stackDir], out, window: '0:4,0:30' }, silentFeedback),
    (e: unknown) => e instanceof DpmError && /smaller than one 15x5 chip/.test(e.message),
  );
  await assert.rejects(
    execute('coherence', { slc: [stackDir], out, lat: join(stackDir, 'geom_reference', 'lat.rdr') }, silentFeedback),
    (e: unknown) => e instanceof DpmError && /both --lat and --lon/.test(e.message),
  );
  await assert.rejects(
    execute('coherence', { slc: [stackDir], out, pairs: 'max-span', 'max-span': 5 }, silentFeedback),
    (e: unknown) => e instanceof DpmError && /no pair/.test(e.message),
  );
  assert.ok(!existsSync(outDir) || readdirSync(outDir).length === 0, 'nothing written by failed runs');
});

test('the dpm CLI: a bad stack is one line on stderr and exit code 2, and no output file', () => {
  const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'host', 'cli.js');
  const out = join(tmp, 'cli-out', 'coh.tif');
  const r = spawnSync(process.execPath, [cli, 'coherence', '--slc', join(tmp, 'odd'), '--out', out], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr.trim(), /^dpm: .*20200206\.slc\.full: 60 × 37 pixels/);
  assert.equal(r.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
  assert.ok(!existsSync(out));
});

test('geocoded input: the output geotransform puts pixel centres on chip centres, CRS kept', async () => {
  const dir = join(tmp, 'geocoded');
  mkdirSync(dir, { recursive: true });
  const gt = [500000, 10, 0, 4000000, 0, -10];
  for (const [k, d] of DATES.slice(0, 2).entries()) {
    writeFileSync(
      join(dir, `s1_${d}.raw`),
      Buffer.from(at(images, k).buffer, at(images, k).byteOffset, at(images, k).byteLength),
    );
    writeFileSync(
      join(dir, `s1_${d}.raw.vrt`),
      rawVrt(`s1_${d}.raw`, W, H, 'CFloat32', 8, W * 8, { geoTransform: gt, srs: 'EPSG:32638' }),
    );
  }
  const out = join(tmp, 'geocoded-out', 'coh.tif');
  await execute('coherence', { slc: [dir], out, chip: '5x3', stride: '2x2', window: '4:30,6:50' }, silentFeedback);
  const r = await readRaster(out);
  assert.equal(r.georef.epsg, 32638);
  const g = r.georef.geoTransform!;
  // output (0, 0) centre = centre of SLC chip rows 4..6, columns 6..10 = (row 5.5, column 8.5) in pixel-edge units
  assert.ok(
    Math.abs(g[0] + 0.5 * g[1] - (500000 + 8.5 * 10)) < 1e-6 &&
      Math.abs(g[3] + 0.5 * g[5] - (4000000 - 5.5 * 10)) < 1e-6,
    JSON.stringify(g),
  );
  assert.deepEqual([g[1], g[5]], [20, -20], 'pixel size = stride');
  assert.ok(!r.georef.lat, 'no lookups for geocoded input');
});
