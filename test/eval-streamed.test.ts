// Evaluation by row blocks (issue 16: a frame's score grid is ~10^8 pixels): ScoreCounts past its exact limit
// against a brute-force recount at each of its thresholds, ChipLabeller block by block against the whole-grid
// labelling, and `dpm evaluate` with blocks of a few rows against one block.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import proj4 from 'proj4';
import { prAuc, prCurve, ScoreCounts } from '../host/eval/metrics.js';
import { ChipLabeller, chipPolygon, footprintGrid, gridPlacement, labelChips } from '../host/vector/labels.js';
import type { TruthFootprints } from '../host/vector/read.js';
import { evaluateFiles } from '../host/toolbox/evaluate.js';
import { labelsFromMask, maskLabeller, maskSource } from '../host/eval/truth-raster.js';
import { silentFeedback } from '../host/core/feedback.js';
import { withOutputs } from '../host/io/outputs.js';
import { readRaster, writeRaster } from '../host/raster/geotiff.js';
import type { Georef } from '../host/raster/types.js';
import { parseChipLayout } from '../host/core/chip.js';
import { flaggedAt, mulberry32, tempDir } from './eval-helpers.js';
import { at } from './at.js';

const UTM33 = '+proj=utm +zone=33 +datum=WGS84 +units=m +no_defs';

/** The cuts the binned test asks for: off the bin edges (4.93, −1.3, 0.7), on one (2), beyond every score (1e40). */
const CUTS = [4.93, -1.3, 0.7, 2, 1e40];

/** Scores of every awkward kind: NaN, ±0, ties, values beyond float32's range, float64 values just below a float32,
 *  at, just above and just below the cuts, both signs over eight decades. */
function awkwardScores(rng: () => number, n: number): number[] {
  return Array.from({ length: n }, () => {
    const u = rng();
    if (u < 0.1) {
      const c = at(CUTS, Math.floor(rng() * 4));
      return [c, c + Math.abs(c) * 2e-5, c - 1e-9][Math.floor(rng() * 3)] ?? c;
    }
    if (u < 0.04) return NaN;
    if (u < 0.08) return rng() < 0.5 ? 0 : -0;
    if (u < 0.1) return rng() < 0.5 ? -1e39 : 1e39;
    if (u < 0.3) return Math.round(rng() * 20) / 4 - 2;
    if (u < 0.4) return Math.fround(rng() * 10 - 5) - 1e-12;
    return (rng() - 0.5) * 10 ** (rng() * 8 - 4);
  });
}

function randomLabels(rng: () => number, n: number): number[] {
  const labels = Array.from({ length: n }, () => (rng() < 0.05 ? NaN : rng() < 0.3 ? 1 : 0));
  labels[0] = 1;
  labels[1] = 0;
  return labels;
}

/** ScoreCounts fed in random pieces. */
function countsOf(
  scores: number[],
  labels: number[],
  limit: number,
  rng: () => number,
  cuts: number[] = [],
): ScoreCounts {
  const c = new ScoreCounts('score', limit, cuts);
  for (let i = 0; i < scores.length; ) {
    const j = Math.min(scores.length, i + 1 + Math.floor(rng() * 60));
    c.add(scores.slice(i, j), labels.slice(i, j));
    i = j;
  }
  return c;
}

test('binned curve: each point is the exact count at its threshold; every scored pixel is in', () => {
  const rng = mulberry32(11);
  for (let rep = 0; rep < 12; rep++) {
    const n = 200 + Math.floor(rng() * 300);
    const scores = awkwardScores(rng, n);
    const labels = randomLabels(rng, n);
    scores[0] = scores[1] = 0.5;
    const cuts = CUTS;
    const c = countsOf(scores, labels, 40, rng, cuts).curve();
    assert.ok(c.binned);
    const valid = scores.map((s, i) => Number.isFinite(s) && (labels[i] === 0 || labels[i] === 1));
    const flagged = (t: number) => flaggedAt(scores, labels, t);
    c.thresholds.forEach((t, k) => {
      if (k > 0) assert.ok(t < at(c.thresholds, k - 1), `thresholds descend at ${k}`);
      assert.deepEqual([c.tp[k], c.fp[k]], flagged(t), `tp, fp at threshold ${t}`);
    });
    // the threshold tables' rule (the last point at or above a cut) is exact at every cut
    for (const cut of cuts) {
      let k = -1;
      while (k + 1 < c.thresholds.length && at(c.thresholds, k + 1) >= cut) k++;
      assert.deepEqual(k < 0 ? [0, 0] : [c.tp[k], c.fp[k]], flagged(cut), `cut ${cut}`);
    }
    const last = c.thresholds.length - 1;
    assert.equal(at(c.tp, last) + at(c.fp, last), valid.filter(Boolean).length);
    assert.equal(c.recall[last], 1);
    // the exact curve of the same pixels counts the same totals
    const exact = prCurve(scores, labels);
    assert.equal(exact.binned, false);
    assert.deepEqual(
      [c.positives, c.negatives, c.nanScores, c.unlabelled],
      [exact.positives, exact.negatives, exact.nanScores, exact.unlabelled],
    );
  }
});

test('ScoreCounts below its limit equals prCurve however the pixels come; a bin is 1/2048 of its value', () => {
  const rng = mulberry32(5);
  const n = 20000;
  const scores = Array.from({ length: n }, () => rng());
  const labels = scores.map((s) => (rng() < s * s ? 1 : 0));
  const whole = prCurve(scores, labels);
  assert.deepEqual(countsOf(scores, labels, n, rng).curve(), whole);
  const binned = countsOf(scores, labels, 100, rng).curve();
  assert.ok(binned.binned && binned.thresholds.length < whole.thresholds.length);
  // 20,000 distinct scores in [0, 1) over ~2^11 bins per octave: a few per bin; the curve between bin edges is
  // nearly straight, so the area moves by far less than 1e-3
  assert.ok(Math.abs(prAuc(binned) - prAuc(whole)) < 1e-3, `${prAuc(binned)} vs ${prAuc(whole)}`);
});

/** A radar-like grid: rotated 30 m pixels in UTM 33N as float32 lat/lon, with two missing positions. */
function radarGrid(width: number, height: number): Georef {
  const toLonLat = proj4(UTM33, 'EPSG:4326');
  const lat = new Float32Array(width * height),
    lon = new Float32Array(width * height);
  const a = 0.2; // heading: rows and columns are not north and east
  for (let i = 0; i < height; i++)
    for (let j = 0; j < width; j++) {
      const x = 30 * j * Math.cos(a) + 30 * i * Math.sin(a),
        y = 30 * j * Math.sin(a) - 30 * i * Math.cos(a);
      const [lo, la] = toLonLat.forward([500000 + x, 4700000 + y]);
      lon[i * width + j] = lo;
      lat[i * width + j] = la;
    }
  lat[width + 3] = NaN;
  lon[(height - 1) * width] = NaN;
  return { lat, lon };
}

/** Random footprints over the grid's area, lon/lat, some overlapping, a third damaged. */
function randomTruth(rng: () => number, count: number, width: number, height: number): TruthFootprints {
  const toLonLat = proj4(UTM33, 'EPSG:4326');
  const polygons = Array.from({ length: count }, () => {
    const x = 500000 + rng() * 30 * width,
      y = 4700000 - rng() * 30 * height;
    const w = 10 + rng() * 50,
      h = 10 + rng() * 50;
    const ring: [number, number][] =
      rng() < 0.7
        ? [
            [x, y],
            [x + w, y],
            [x + w, y + h],
            [x, y + h],
            [x, y],
          ]
        : [
            [x, y],
            [x + w, y],
            [x, y + h],
            [x, y],
          ];
    return { rings: [ring.map((p) => toLonLat.forward(p) as [number, number])], damaged: rng() < 0.35 };
  });
  return { crs: 'EPSG:4326', polygons, fields: ['grade'], skipped: 0, features: count };
}

const sameValues = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let k = 0; k < a.length; k++) assert.ok(Object.is(a[k], b[k]), `${what} ${k}: ${a[k]} vs ${b[k]}`);
};

test('ChipLabeller by blocks of rows equals the whole-grid labelling (radar and map grids, overlapping chips)', async () => {
  const rng = mulberry32(3);
  const width = 23,
    height = 17;
  const truth = randomTruth(rng, 60, width, height);
  const grids: [string, Georef][] = [
    ['radar', radarGrid(width, height)],
    ['UTM', { geoTransform: [500000, 30, 0, 4700000, 0, -30], epsg: 32633 }],
  ];
  for (const [name, georef] of grids) {
    for (const layout of [undefined, parseChipLayout('3x2', '1x1')]) {
      const whole = await labelChips(truth, footprintGrid(georef, width, height, layout));
      assert.ok(whole.damaged > 10 && whole.undamaged > 10, `${name}: a mixed truth (${whole.damaged} damaged)`);
      for (const step of [1, 2, 5]) {
        // radar lookups from a row reader, as `dpm evaluate` reads the companions
        const latLon =
          georef.lat && georef.lon
            ? async (r0: number, r1: number) => ({
                lat: georef.lat!.slice(r0 * width, r1 * width),
                lon: georef.lon!.slice(r0 * width, r1 * width),
              })
            : undefined;
        const placement = await gridPlacement(
          { ...georef, lat: undefined, lon: undefined },
          width,
          height,
          layout,
          'g',
          latLon,
        );
        const labeller = new ChipLabeller(truth, placement.crs);
        const fraction: number[] = [],
          labels: number[] = [];
        for (let r0 = 0; r0 < height; r0 += step) {
          const r1 = Math.min(height, r0 + step);
          const block = await labeller.rows(await placement.rows(r0, r1), r0, r1);
          fraction.push(...block.fraction);
          labels.push(...block.labels);
        }
        const why = `${name}, layout ${layout ? '3x2' : 'none'}, ${step} rows a block`;
        sameValues(fraction, whole.fraction, `${why}: fraction`);
        sameValues(labels, whole.labels, `${why}: labels`);
        assert.deepEqual(labeller.finish(), {
          damaged: whole.damaged,
          undamaged: whole.undamaged,
          polygonsInScene: whole.polygonsInScene,
        });
      }
    }
  }
});

test('dpm evaluate by blocks of rows: same metrics and truth raster as one block; binned past the limit', async () => {
  const rng = mulberry32(9);
  const width = 23,
    height = 17,
    n = width * height;
  const dir = tempDir('evalrows');
  const georef = radarGrid(width, height);
  const scores = ['a', 'b'].map((name) => join(dir, `${name}.tif`));
  await withOutputs(async (outs) => {
    for (const path of scores) {
      const band = Float32Array.from({ length: n }, () => (rng() < 0.03 ? NaN : rng()));
      await writeRaster(outs, path, { width, height, bands: [band], descriptions: ['score'], georef });
    }
  }, silentFeedback);
  const truth = randomTruth(rng, 60, width, height);
  const truthPath = join(dir, 'truth.geojson');
  writeFileSync(
    truthPath,
    JSON.stringify({
      type: 'FeatureCollection',
      features: truth.polygons.map((p) => ({
        type: 'Feature',
        properties: { grade: p.damaged ? 'destroyed' : 'none' },
        geometry: { type: 'Polygon', coordinates: p.rings },
      })),
    }),
  );
  const options = { scores, truth: truthPath, damageField: 'grade', damagedValues: ['destroyed'], fraction: 1 / 3 };
  const run = async (rows: number | undefined, exactScores: number | undefined, tag: string) => {
    const path = join(dir, `fraction-${tag}.tif`);
    const r = await withOutputs(
      (outs) => evaluateFiles({ ...options, beta: 0.5, rows, exactScores }, silentFeedback, { outs, path }),
      silentFeedback,
    );
    return { r, path };
  };
  const one = await run(undefined, undefined, 'one');
  for (const rows of [1, 3]) {
    const blocks = await run(rows, undefined, `rows${rows}`);
    assert.deepEqual(blocks.r, one.r, `${rows} rows a block`);
    const [x, y] = [await readRaster(blocks.path), await readRaster(one.path)];
    x.bands.forEach((b, k) => sameValues(b, at(y.bands, k), `truth fraction band ${k + 1}`));
    sameValues(x.georef.lat!, y.georef.lat!, 'latitude companion');
  }
  assert.ok(one.r.labels.damaged > 0 && one.r.evals.every((e) => !e.curve.binned));
  const binned = await run(2, 50, 'binned');
  for (const [k, e] of binned.r.evals.entries()) {
    const exact = at(one.r.evals, k);
    assert.ok(e.curve.binned);
    assert.deepEqual(
      [e.curve.positives, e.curve.negatives, e.curve.nanScores],
      [exact.curve.positives, exact.curve.negatives, exact.curve.nanScores],
    );
    // uniform random scores over a few hundred pixels: most bins hold one score, the area barely moves
    assert.ok(
      Math.abs(e.prAucTrapezoid - exact.prAucTrapezoid) < 0.02,
      `${e.prAucTrapezoid} vs ${exact.prAucTrapezoid}`,
    );
  }
  assert.match(readFileSync(one.path).subarray(0, 4).toString('latin1'), /^II/);
});

test('truth mask by blocks of score rows (mask read 64 rows at a time) equals the whole-grid labelling', async () => {
  const rng = mulberry32(21);
  const toLonLat = proj4(UTM33, 'EPSG:4326');
  // an SLC-like grid, 10 m pixels, rotated; the score grid: chips 3x5 at stride 1x1 from row 4, column 2
  const place = (r: number, c: number) => {
    const a = 0.15,
      x = 10 * c * Math.cos(a) + 10 * r * Math.sin(a),
      y = 10 * c * Math.sin(a) - 10 * r * Math.cos(a);
    return toLonLat.forward([500000 + x, 4700000 + y]) as [number, number];
  };
  const lookups = (w: number, h: number, at0: (i: number, j: number) => [number, number]) => {
    const lat = new Float32Array(w * h),
      lon = new Float32Array(w * h);
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        const [lo, la] = place(...at0(i, j));
        lat[i * w + j] = la;
        lon[i * w + j] = lo;
      }
    return { lat, lon };
  };
  const MW = 40,
    MH = 150;
  const values = Float32Array.from({ length: MW * MH }, (_, k) =>
    rng() < 0.03 ? NaN : Math.floor(k / MW / 20 + (k % MW) / 10) % 3 === 0 ? 1 : 0,
  );
  const mask = {
    width: MW,
    height: MH,
    bands: [values],
    descriptions: ['m'],
    georef: lookups(MW, MH, (i, j) => [i, j]),
  };
  const SW = 30,
    SH = 120;
  const score = { width: SW, height: SH, georef: lookups(SW, SH, (i, j) => [4 + i + 2, 2 + j + 1]) };
  const layout = parseChipLayout('3x5', '1x1');
  const whole = await labelsFromMask(mask, score, 1 / 3, layout);
  // brute force: every mask pixel centre tested against every chip footprint (convex quadrilaterals; centres lie
  // half a pixel off the chip edges, so no point is on an edge)
  const g = footprintGrid(score.georef, SW, SH, layout);
  const toWork = proj4('EPSG:4326', g.crs);
  const centres = Array.from({ length: MW * MH }, (_, k) =>
    toWork.forward([at(mask.georef.lon, k), at(mask.georef.lat, k)]),
  );
  for (let k = 0; k < SW * SH; k += 7) {
    const ring = chipPolygon(g, Math.floor(k / SW), k % SW);
    if (!ring) continue;
    let sum = 0,
      count = 0;
    centres.forEach(([x = NaN, y = NaN], q) => {
      const v = at(values, q);
      if (Number.isNaN(v)) return;
      // the point is on the same side of all four edges (either orientation)
      const sides = [0, 1, 2, 3].map((e) => {
        const [[x0, y0], [x1, y1]] = [at(ring, e), at(ring, e + 1)];
        return Math.sign((x1 - x0) * (y - y0) - (y1 - y0) * (x - x0));
      });
      const inside = sides.every((d) => d === sides[0]);
      if (inside) {
        sum += v;
        count++;
      }
    });
    assert.equal(whole.fraction[k], count > 0 ? sum / count : NaN, `chip ${k}`);
  }
  assert.ok(whole.damaged > 100 && whole.undamaged > 100, `a mixed truth (${whole.damaged} damaged)`);
  for (const step of [1, 7, 50]) {
    const labeller = await maskLabeller(maskSource(mask), score, 1 / 3, layout);
    const fraction: number[] = [];
    for (let r0 = 0; r0 < SH; r0 += step) fraction.push(...(await labeller.rows(r0, Math.min(SH, r0 + step))).fraction);
    sameValues(fraction, whole.fraction, `${step} rows a block`);
    assert.deepEqual(labeller.finish(), { damaged: whole.damaged, undamaged: whole.undamaged, polygonsInScene: 0 });
  }
  // by index (no georeferencing): the same windows
  const plain = { ...mask, georef: {} };
  const byIndex = await labelsFromMask(plain, { ...score, georef: {} }, 1 / 3, layout);
  const labeller = await maskLabeller(maskSource(plain), { ...score, georef: {} }, 1 / 3, layout);
  const fraction: number[] = [];
  for (let r0 = 0; r0 < SH; r0 += 7) fraction.push(...(await labeller.rows(r0, Math.min(SH, r0 + 7))).fraction);
  sameValues(fraction, byIndex.fraction, 'by index, 7 rows a block');
});
