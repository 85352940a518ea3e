// Baselines against float64 computations written out by hand (and the notes/dpm-methods.md §4.1 test vector),
// NaN rules, and the toolbox algorithms end to end (GeoTIFF with the stack's georeferencing; bad split → DpmError).
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { computeBaseline, MIN_HISTORY } from '../host/baselines/baselines.js';
import type { CoherenceStack } from '../host/raster/types.js';
import { writeCoherenceStack } from '../host/raster/stack.js';
import { readRaster } from '../host/raster/geotiff.js';
import { execute } from '../host/toolbox/execute.js';
import { silentFeedback } from '../host/core/feedback.js';
import { CanceledError, DpmError } from '../host/core/errors.js';
import { UTM_GT, mulberry32, tempDir } from './eval-helpers.js';
import { at } from './at.js';
import { cancelOnEventLoop } from './cancel-helpers.js';

const DATES = ['20200101', '20200113', '20200125', '20200206', '20200218', '20200301', '20200313'];

/** A stack of `series.length` pixels (one row) and 6 bands; series[p] = the 6 coherences of pixel p. */
function stackOf(series: number[][]): CoherenceStack {
  const K = at(series, 0).length;
  return {
    width: series.length,
    height: 1,
    bands: Array.from({ length: K }, (_, k) => Float32Array.from(series.map((s) => s[k]))),
    descriptions: DATES.slice(0, K).map((d, k) => `${d}_${DATES[k + 1]}`),
    pairs: DATES.slice(0, K).map((d, k) => ({ first: d, second: at(DATES, k + 1) })),
    georef: { geoTransform: [500000, 30, 0, 4700000, 0, -30], epsg: 32633 },
  };
}
const f32 = (x: number) => Math.fround(x);
const split5 = { pre: [0, 1, 2, 3, 4], coEvent: 5 };

test('notes §4.1 vector: pre [0.62 0.58 0.66 0.60 0.64], co 0.35 → z = 8.5381; ccd, nd, percentile by hand', async () => {
  const s = stackOf([[0.62, 0.58, 0.66, 0.6, 0.64, 0.35]]);
  // float32 storage of the inputs moves z by ~1e-6 relative; the notes give 5 significant digits
  assert.ok(Math.abs(at(await computeBaseline('zscore', s, split5), 0) - 8.5381) < 1e-4);
  assert.ok(Math.abs(at(await computeBaseline('ccd', s, split5), 0) - (f32(0.64) - f32(0.35))) < 1e-7);
  assert.ok(
    Math.abs(at(await computeBaseline('nd', s, split5), 0) - (f32(0.64) - f32(0.35)) / (f32(0.64) + f32(0.35) + 1e-8)) <
      1e-7,
  );
  assert.equal((await computeBaseline('percentile', s, split5))[0], 1); // below all five
});

test('random stacks equal an obvious float64 reference (mean/std with K−1, mid-rank ties, σ floor)', async () => {
  const rng = mulberry32(11);
  const series: number[][] = [];
  for (let p = 0; p < 300; p++) {
    const row = Array.from({ length: 6 }, () => Math.round(rng() * 20) / 20); // 0.05 steps: many ties
    if (p % 7 === 0) row[Math.floor(rng() * 5)] = NaN;
    if (p % 11 === 0) row.fill(0.5); // zero spread: σ_min decides
    series.push(row);
  }
  const s = stackOf(series);
  const got = {
    z: await computeBaseline('zscore', s, split5, { sigmaMin: 0.02 }),
    pr: await computeBaseline('percentile', s, split5),
    ccd: await computeBaseline('ccd', s, split5),
    nd: await computeBaseline('nd', s, split5),
  };
  series.forEach((raw, p) => {
    const v = raw.map(f32); // what the Float32Array stack holds
    const pre = v.slice(0, 5).filter((x) => !Number.isNaN(x)),
      co = at(v, 5);
    const mean = pre.reduce((a, b) => a + b, 0) / pre.length;
    const sd = Math.sqrt(pre.reduce((a, b) => a + (b - mean) ** 2, 0) / (pre.length - 1));
    const z = (mean - co) / Math.max(sd, 0.02);
    const pr = 1 - (pre.filter((x) => x < co).length + 0.5 * pre.filter((x) => x === co).length) / pre.length;
    // outputs are float32: relative rounding 6e-8 of values up to |z| ≤ 50
    assert.ok(Math.abs(at(got.z, p) - z) <= 1e-6 * Math.max(1, Math.abs(z)), `z pixel ${p}: ${got.z[p]} vs ${z}`);
    assert.equal(got.pr[p], f32(pr), `percentile pixel ${p}`);
    const ccd = at(v, 4) - co,
      nd = (at(v, 4) - co) / (at(v, 4) + co + 1e-8);
    if (Number.isNaN(ccd)) {
      assert.ok(Number.isNaN(got.ccd[p]) && Number.isNaN(got.nd[p]), `NaN pixel ${p}`);
      return;
    }
    assert.ok(Math.abs(at(got.ccd, p) - ccd) < 1e-7, `ccd ${p}`);
    assert.ok(Math.abs(at(got.nd, p) - nd) < 1e-6, `nd ${p}`);
  });
});

test('NaN rules: co-event NaN → NaN everywhere; too little history → NaN for zscore and percentile only', async () => {
  const s = stackOf([
    [0.6, 0.6, 0.7, 0.8, 0.7, NaN],
    [NaN, NaN, NaN, NaN, 0.7, 0.2], // one valid pre-event value < MIN_HISTORY
    [0, 0, 0, 1, 1, 0], // coherence 0 and 1 are values, not nodata
  ]);
  for (const m of ['ccd', 'nd', 'zscore', 'percentile'] as const)
    assert.ok(Number.isNaN((await computeBaseline(m, s, split5))[0]), m);
  assert.equal(MIN_HISTORY, 2);
  assert.ok(Number.isNaN((await computeBaseline('zscore', s, split5))[1]));
  assert.ok(Number.isNaN((await computeBaseline('percentile', s, split5))[1]));
  assert.ok(Math.abs(at(await computeBaseline('ccd', s, split5), 1) - f32(0.5)) < 1e-7);
  assert.equal((await computeBaseline('ccd', s, split5))[2], 1);
  assert.ok(Math.abs(at(await computeBaseline('nd', s, split5), 2) - 1 / (1 + 1e-8)) < 1e-7); // float32 output
  assert.equal((await computeBaseline('percentile', s, split5))[2], f32(1 - (0.5 * 3) / 5)); // three ties at 0, none below
  await assert.rejects(() => computeBaseline('ccd', s, { pre: [0, 1] }), DpmError);
  await assert.rejects(() => computeBaseline('zscore', s, { pre: [4], coEvent: 5 }), DpmError);
});

test('cancellation is heard during the pixel loop: a cancel queued on the event loop stops it before the end', async () => {
  // The CLI sets its cancel flag from a signal handler, which runs only between event-loop turns; a loop that never
  // yields would finish first. Here the flag is set by a setImmediate queued after the first block's progress.
  const n = 1000 * 1000;
  const s: CoherenceStack = { ...stackOf([[0.6, 0.6, 0.7, 0.8, 0.7, 0.3]]), width: 1000, height: 1000 };
  s.bands = s.bands.map((b) => new Float32Array(n).fill(at(b, 0)));
  for (const method of ['ccd', 'zscore', 'percentile'] as const) {
    const fb = cancelOnEventLoop(2);
    await assert.rejects(computeBaseline(method, s, split5, { feedback: fb }), CanceledError, method);
    assert.ok(fb.percents.length >= 2 && Math.max(...fb.percents) < 100, `${method}: ${fb.percents.join(' ')}`);
  }
});

test('toolbox baselines write a float32 GeoTIFF with the stack georef; a bad split writes nothing', async () => {
  const dir = tempDir('baselines');
  const rng = mulberry32(5);
  const series = Array.from({ length: 4 * 3 }, () => Array.from({ length: 6 }, () => rng()));
  const s = stackOf(series);
  const grid: CoherenceStack = { ...s, width: 4, height: 3, georef: { geoTransform: UTM_GT, epsg: 32633 } };
  const stackPath = join(dir, 'stack.tif');
  await writeCoherenceStack(stackPath, grid);
  const expected = await computeBaseline('zscore', grid, split5);
  const out = join(dir, 'z.tif');
  const r = await execute(
    'baseline-zscore',
    { coherence: stackPath, 'event-date': '20200301', output: out },
    silentFeedback,
  );
  assert.equal(r.output, out);
  const tif = await readRaster(out);
  assert.deepEqual(tif.georef.geoTransform, UTM_GT);
  assert.equal(tif.georef.epsg, 32633);
  assert.deepEqual([...at(tif.bands, 0)], [...expected]);
  assert.match(at(tif.descriptions, 0), /z-score .*20200301_20200313/);
  // GDAL (installed by .ci/run) reads it with the CRS, geotransform, NaN nodata and the band description
  const g = JSON.parse(execFileSync('gdalinfo', ['-json', out], { encoding: 'utf8' }));
  assert.match(g.coordinateSystem.wkt, /ID\["EPSG",32633\]|AUTHORITY\["EPSG","32633"\]/);
  assert.deepEqual(g.geoTransform, UTM_GT);
  assert.equal(g.bands[0].type, 'Float32');
  assert.equal(String(g.bands[0].noDataValue), 'NaN');
  assert.equal(g.bands[0].description, tif.descriptions[0]);
  const bad = join(dir, 'ccd.tif');
  await assert.rejects(
    execute('baseline-ccd', { coherence: stackPath, 'event-date': '20210101', output: bad }, silentFeedback),
    (e: unknown) => e instanceof DpmError && /no band's pair spans the event date 20210101/.test(e.message),
  );
  assert.ok(!existsSync(bad));
  assert.deepEqual(readdirSync(dir).sort(), ['stack.tif', 'z.tif']);
});
