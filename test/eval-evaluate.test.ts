// `dpm evaluate` end to end on the hand-made 4×3 UTM scene (test/eval-helpers.ts): report numbers equal the metric
// functions on the hand labels; raster truth on the same, a finer map grid and a finer radar grid; bad inputs give
// one DpmError and leave no file behind.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import proj4 from 'proj4';
import { execute } from '../host/toolbox/execute.js';
import { silentFeedback } from '../host/core/feedback.js';
import { writeGeoTiff, readRaster } from '../host/raster/geotiff.js';
import type { Raster } from '../host/raster/types.js';
import { evaluateScore } from '../host/eval/metrics.js';
import { labelsFromMask } from '../host/eval/truth-raster.js';
import { CanceledError, DpmError } from '../host/core/errors.js';
import { HAND_FRACTION, UTM_GT, handTruth, tempDir, toGeoJson } from './eval-helpers.js';
import { at } from './at.js';
import { parseChipLayout } from '../host/core/chip.js';

const LABELS = HAND_FRACTION.map((f) => (f >= 1 / 3 - 1e-12 ? 1 : 0));
// a decent score (the fraction itself plus a tie), and a poor one
const GOOD = [0.9, 0.5, 0.5, 0.1, 0.1, 0.6, 0.6, 0.7, NaN, 0.55, 0.4, 0.8];
const POOR = [0.1, 0.9, 0.8, 0.7, 0.6, 0.2, 0.3, 0.1, 0.5, 0.4, 0.35, 0.3];

function raster(
  values: number[],
  georef: Raster['georef'] = { geoTransform: UTM_GT, epsg: 32633 },
  width = 4,
  height = 3,
): Raster {
  return { width, height, bands: [Float32Array.from(values)], descriptions: ['score'], georef };
}

async function scene() {
  const dir = tempDir('evaluate');
  const good = join(dir, 'good.tif'),
    poor = join(dir, 'poor.tif');
  await writeGeoTiff(good, raster(GOOD));
  await writeGeoTiff(poor, raster(POOR));
  const truth = join(dir, 'truth.geojson');
  writeFileSync(truth, JSON.stringify(toGeoJson(handTruth(), 32633)));
  return { dir, good, poor, truth, out: join(dir, 'out') };
}

test('evaluate: report, JSON, plots and truth raster; numbers equal the metric functions', async () => {
  const s = await scene();
  const r = await execute(
    'evaluate',
    {
      score: [s.good, s.poor],
      names: 'RNN,CCD',
      truth: s.truth,
      'damage-field': 'grade',
      'damaged-values': 'destroyed,damaged',
      'out-dir': s.out,
    },
    silentFeedback,
  );
  assert.deepEqual(readdirSync(s.out).sort(), [
    'evaluation.json',
    'evaluation.md',
    'fbeta.png',
    'fbeta.svg',
    'pr_curves.png',
    'pr_curves.svg',
    'truth_fraction.tif',
  ]);
  const json = JSON.parse(readFileSync(join(s.out, 'evaluation.json'), 'utf8'));
  const want = [
    evaluateScore('RNN', Float32Array.from(GOOD), LABELS),
    evaluateScore('CCD', Float32Array.from(POOR), LABELS),
  ];
  json.methods.forEach((m: any, k: number) => {
    assert.equal(m.name, at(want, k).name);
    assert.equal(m.prAucTrapezoid, at(want, k).prAucTrapezoid);
    assert.equal(m.averagePrecision, at(want, k).averagePrecision);
    assert.equal(m.optimum.threshold, at(want, k).fbeta.best.threshold);
    assert.deepEqual(
      m.curve.map((q: any) => q.recall),
      [...at(want, k).curve.recall],
    ); // short curves are kept whole
  });
  assert.equal(json.methods[0].nanScores, 1);
  assert.equal(json.damaged, LABELS.filter((l) => l === 1).length);
  assert.ok(json.methods[0].prAucTrapezoid > json.methods[1].prAucTrapezoid);
  const md = readFileSync(join(s.out, 'evaluation.md'), 'utf8');
  // GOOD's F0.5 optimum by hand: at 0.55, 6 of 8 damaged and no false alarm: F0.5 = 1.25·0.75/(0.25 + 0.75)
  assert.equal(at(want, 0).fbeta.best.threshold, Math.fround(0.55));
  assert.ok(Math.abs(at(want, 0).fbeta.best.fbeta - 0.9375) < 1e-12);
  assert.match(md, /\| RNN \| 0\.55 \| 1\.000 \| 0\.750 \| 0\.938 \| /);
  assert.match(r.table as string, /\| CCD \|/);
  for (const f of ['pr_curves.svg', 'fbeta.svg']) {
    const svg = readFileSync(join(s.out, f), 'utf8');
    assert.match(svg, /^<\?xml[^>]*>\s*<svg/);
    assert.match(svg, /RNN/);
  }
  const tf = await readRaster(join(s.out, 'truth_fraction.tif'));
  assert.deepEqual(tf.georef.geoTransform, UTM_GT);
  HAND_FRACTION.forEach((f, k) => assert.ok(Math.abs(at(at(tf.bands, 0), k) - f) < 1e-6, `fraction ${k}`)); // float32 storage
  assert.deepEqual([...at(tf.bands, 1)], LABELS);
});

test('raster truth: same grid, a finer map grid, a finer radar grid (chip = stride = size ratio, or given)', async () => {
  const score = raster(GOOD);
  const same = await labelsFromMask(raster(LABELS), score);
  assert.deepEqual([...same.labels], LABELS);
  // 2× finer map grid: each score pixel holds 4 truth pixels; 1, 2 or 3 of 4 damaged → 0.25 / 0.5 / 0.75
  const fine = new Array(8 * 6).fill(0);
  fine[0] = 1; // score pixel (0,0): 1/4 → undamaged at 1/3
  fine[2] = fine[3] = 1; // (0,1): 2/4 → damaged
  fine[8 * 5 + 7] = NaN; // (2,3): 3 valid, none damaged
  const gFine: Raster['georef'] = { geoTransform: [500000, 15, 0, 4700000, 0, -15], epsg: 32633 };
  const m = await labelsFromMask(raster(fine, gFine, 8, 6), score);
  assert.deepEqual([...m.fraction].slice(0, 2), [0.25, 0.5]);
  assert.equal(m.labels[0], 0);
  assert.equal(m.labels[1], 1);
  assert.equal(m.fraction[11], 0);
  // radar grid without georeferencing: inferred chip 2x2, or overlapping chips 3x2 at stride 1x1 on a 6×3 mask
  const r = await labelsFromMask(raster(fine, {}, 8, 6), raster(GOOD, {}));
  assert.deepEqual([...r.fraction].slice(0, 2), [0.25, 0.5]);
  const slc = [1, 1, 0, 0, 0, 0, /**/ 1, 0, 0, 0, 0, 0, /**/ 0, 0, 0, 0, 0, 0];
  const o = await labelsFromMask(
    raster(slc, {}, 6, 3),
    raster([0, 0, 0, 0], {}, 4, 1),
    1 / 3,
    parseChipLayout('3x2', '1x1'),
  );
  // pixel j covers columns j..j+2 of rows 0..1: 3/6, 1/6, 0, 0
  assert.deepEqual([...o.fraction], [3 / 6, 1 / 6, 0, 0]);
  // the same in radar geometry with lat/lon lookups on both grids (SLC pixel centres; chip centres), including a
  // score grid that starts one column into the SLC grid (an AOI window): placed by geometry, not by index
  const toLonLat = proj4('+proj=utm +zone=33 +datum=WGS84 +units=m +no_defs', 'EPSG:4326');
  const lookups = (pts: [number, number][]) => {
    const ll = pts.map(([r, c]) => toLonLat.forward([500000 + 10 * c + 5, 4700000 - 10 * r - 5]));
    return { lon: Float32Array.from(ll.map((p) => p[0])), lat: Float32Array.from(ll.map((p) => p[1])) };
  };
  const slcGeo = lookups(Array.from({ length: 18 }, (_, k) => [Math.floor(k / 6), k % 6] as [number, number]));
  for (const off of [0, 1]) {
    const nc = 4 - off; // 2 rows of chips (rows 0–1 and 1–2), nc columns
    const chipGeo = lookups(
      Array.from({ length: 2 * nc }, (_, k) => [Math.floor(k / nc) + 0.5, off + (k % nc) + 1] as [number, number]),
    );
    const geo = await labelsFromMask(
      raster(slc, slcGeo, 6, 3),
      raster(new Array(2 * nc).fill(0), chipGeo, nc, 2),
      1 / 3,
      parseChipLayout('3x2', '1x1'),
    );
    // float32 lookups place centres to ~0.3 m, far from the chip edges (half a 10 m pixel away): exact counts
    assert.deepEqual(
      [...geo.fraction],
      off === 0 ? [3 / 6, 1 / 6, 0, 0, 1 / 6, 0, 0, 0] : [1 / 6, 0, 0, 0, 0, 0],
      `offset ${off}`,
    );
  }
  await assert.rejects(
    () => labelsFromMask(raster([0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0]), score),
    (e: unknown) => e instanceof DpmError && /value 2 found/.test(e.message),
  );
  await assert.rejects(
    () => labelsFromMask(raster(new Array(15).fill(0), {}, 5, 3), raster(GOOD, {})),
    (e: unknown) => e instanceof DpmError && /give --chip and --stride/.test(e.message),
  );
});

async function rejectsCleanly(params: Record<string, unknown>, pattern: RegExp, out: string) {
  await assert.rejects(
    execute('evaluate', params, silentFeedback),
    (e: unknown) => e instanceof DpmError && pattern.test(e.message),
  );
  assert.ok(!existsSync(out) || readdirSync(out).length === 0, `no partial outputs in ${out}`);
}

test('bad inputs: one DpmError each and no partial outputs', async () => {
  const s = await scene();
  const base = {
    score: s.good,
    truth: s.truth,
    'damage-field': 'grade',
    'damaged-values': 'destroyed',
    'out-dir': s.out,
  };
  await rejectsCleanly(
    { ...base, 'damage-field': 'damage_grade' },
    /no feature has the damage field 'damage_grade'/,
    s.out,
  );
  await rejectsCleanly(
    { ...base, 'damaged-values': 'nonexistent' },
    /truth\.geojson .*: no pixel is damaged \(none has ≥ 0\.333 of its chip/,
    s.out,
  );
  const far = join(s.dir, 'far.geojson');
  writeFileSync(far, JSON.stringify(toGeoJson(handTruth(), 32633, ([x, y]) => [x + 50000, y])));
  await rejectsCleanly({ ...base, truth: far }, /far\.geojson: none of its 8 footprints lies inside/, s.out);
  await rejectsCleanly({ ...base, 'truth-raster': s.good }, /exactly one of --truth/, s.out);
  const small = join(s.dir, 'small.tif');
  await writeGeoTiff(small, raster([1, 2], { geoTransform: UTM_GT, epsg: 32633 }, 2, 1));
  await rejectsCleanly({ ...base, score: [s.good, small] }, /small\.tif: 2×1 pixels/, s.out);
  await rejectsCleanly({ ...base, names: 'a,b' }, /--names gives 2 names for 1 score/, s.out);
  await rejectsCleanly({ ...base, 'truth-raster': undefined, truth: undefined }, /exactly one of --truth/, s.out);
  // a truth mask that calls every pixel damaged → degenerate
  const ones = join(s.dir, 'ones.tif');
  await writeGeoTiff(ones, raster(new Array(12).fill(1)));
  await rejectsCleanly(
    { score: s.good, 'truth-raster': ones, 'out-dir': s.out },
    /ones\.tif \(raster mask\): every one of the 12 labelled pixels is damaged/,
    s.out,
  );
});

test('cancelling evaluate mid-way leaves no output', async () => {
  const s = await scene();
  for (const at of [20, 85]) {
    // after reading the scores; once the plots are rendered, before any file is written
    let canceled = false;
    const fb = {
      progress: (p: number) => {
        if (p >= at) canceled = true;
      },
      log() {},
      isCanceled: () => canceled,
    };
    await assert.rejects(
      execute(
        'evaluate',
        { score: s.good, truth: s.truth, 'damage-field': 'grade', 'damaged-values': 'destroyed', 'out-dir': s.out },
        fb,
      ),
      CanceledError,
    );
    assert.ok(!existsSync(s.out) || readdirSync(s.out).length === 0, `nothing left after a cancel at ${at} %`);
  }
});
