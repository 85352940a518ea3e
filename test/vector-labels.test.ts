// Chip-fraction labelling against fractions worked out by hand (test/eval-helpers.ts handTruth: a half, a third,
// 0.3, overlapping footprints, an undamaged building, a polygon with a hole, a triangle, one spanning four chips)
// on a UTM grid, a geographic grid and a radar grid with lat/lon lookups.
import test from 'node:test';
import assert from 'node:assert/strict';
import proj4 from 'proj4';
import { footprintGrid, labelChips } from '../host/vector/labels.js';
import type { TruthFootprints } from '../host/vector/read.js';
import { DpmError } from '../host/core/errors.js';
import { HAND_FRACTION, UTM_GT, handTruth } from './eval-helpers.js';
import { at } from './at.js';
import { parseChipLayout } from '../host/core/chip.js';

const DAMAGED = new Set(['destroyed', 'damaged']);
const UTM33 = '+proj=utm +zone=33 +datum=WGS84 +units=m +no_defs';

function truthIn(crs: string, map: (p: [number, number]) => [number, number] = (p) => p): TruthFootprints {
  return {
    crs,
    polygons: handTruth().map((f) => ({
      rings: f.rings.map((r) => r.map(map)),
      damaged: DAMAGED.has(String(f.props.grade).toLowerCase()),
    })),
    fields: ['grade', 'g'],
    skipped: 0,
    features: 8,
  };
}

function assertFractions(got: Float64Array, want: number[], tol: number, why: string) {
  assert.equal(got.length, want.length);
  want.forEach((w, k) => assert.ok(Math.abs(at(got, k) - w) <= tol, `pixel ${k}: ${got[k]} vs ${w} (${why})`));
}

const EXPECTED_LABELS = HAND_FRACTION.map((f) => (f >= 1 / 3 - 1e-12 ? 1 : 0));

test('UTM grid, truth in the same CRS: exact fractions, a third counts as damaged', async () => {
  const g = footprintGrid({ geoTransform: UTM_GT, epsg: 32633 }, 4, 3);
  const r = await labelChips(truthIn('EPSG:32633'), g);
  // areas of ≤ 900 m² from coordinates taken relative to a vertex: float64 rounding ≪ 1e-9
  assertFractions(r.fraction, HAND_FRACTION, 1e-9, 'same CRS');
  assert.deepEqual([...r.labels], EXPECTED_LABELS);
  assert.equal(r.damaged, EXPECTED_LABELS.filter((l) => l === 1).length);
  assert.equal(r.undamaged, 12 - r.damaged);
  // a stricter threshold flips the "exactly a third" chip and the 4/9 ones, keeps the halves
  const strict = await labelChips(truthIn('EPSG:32633'), g, 0.5);
  assert.deepEqual(
    [...strict.labels],
    HAND_FRACTION.map((f) => (f >= 0.5 - 1e-12 ? 1 : 0)),
  );
});

test('truth in WGS84 lon/lat on a UTM grid is reprojected with proj4', async () => {
  const toLonLat = proj4(UTM33, 'EPSG:4326');
  const g = footprintGrid({ geoTransform: UTM_GT, epsg: 32633 }, 4, 3);
  const r = await labelChips(
    truthIn('EPSG:4326', (p) => toLonLat.forward(p) as [number, number]),
    g,
  );
  // vertices survive the UTM → lon/lat → UTM round trip to ~1e-8 m; straight edges stay straight between them
  assertFractions(r.fraction, HAND_FRACTION, 1e-6, 'reprojected');
  assert.deepEqual([...r.labels], EXPECTED_LABELS);
});

test('geographic grid (EPSG:4326): fractions of lon/lat cells in a local equal-area projection', async () => {
  // 4×3 cells of 0.0004° × 0.0003° at 42.5°N; the same hand layout expressed in cell units
  const gt: [number, number, number, number, number, number] = [15, 0.0004, 0, 42.5, 0, -0.0003];
  const toLonLat = (p: [number, number]): [number, number] => [
    15 + ((p[0] - 500000) / 30) * 0.0004,
    42.5 + ((p[1] - 4700000) / 30) * 0.0003,
  ];
  const g = footprintGrid({ geoTransform: gt, epsg: 4326 }, 4, 3);
  const r = await labelChips(truthIn('EPSG:4326', toLonLat), g);
  // a 30 m lon/lat cell is a rectangle in the equal-area projection up to second-order terms (~(30 m / 6371 km)),
  // and the area ratio ignores the cos(latitude) scale: 1e-4 is ample
  assertFractions(r.fraction, HAND_FRACTION, 1e-4, 'geographic');
  // labels agree wherever the fraction is not within the tolerance of the threshold (pixel (0,1) sits on it)
  HAND_FRACTION.forEach((f, k) => {
    if (Math.abs(f - 1 / 3) > 1e-3) assert.equal(r.labels[k], EXPECTED_LABELS[k], `pixel ${k}`);
  });
});

test('radar geometry: footprints from the lat/lon lookups of pixel centres', async () => {
  const toLonLat = proj4(UTM33, 'EPSG:4326');
  const lat = new Float32Array(12),
    lon = new Float32Array(12);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 4; j++) {
      const [x, y] = toLonLat.forward([500000 + 30 * j + 15, 4700000 - 30 * i - 15]);
      lon[i * 4 + j] = x;
      lat[i * 4 + j] = y;
    }
  const g = footprintGrid({ lat, lon }, 4, 3);
  const r = await labelChips(
    truthIn('EPSG:4326', (p) => toLonLat.forward(p) as [number, number]),
    g,
  );
  // float32 lookups hold lon/lat to ~4e-6° × (1/2)·ulp ≈ 0.1–0.4 m; over a 30 m chip that moves fractions by ~1 %
  assertFractions(r.fraction, HAND_FRACTION, 0.02, 'lat/lon lookups');
  // a missing position leaves that pixel (and only it) without a label
  lat[5] = NaN;
  const r2 = await labelChips(
    truthIn('EPSG:4326', (p) => toLonLat.forward(p) as [number, number]),
    footprintGrid({ lat, lon }, 4, 3),
  );
  assert.ok(Number.isNaN(r2.labels[5]));
  assert.equal(r2.damaged + r2.undamaged, 11);
});

test('overlapping chips (chip 3x1 at stride 1x1) widen each footprint to its chip', async () => {
  const g = footprintGrid({ geoTransform: UTM_GT, epsg: 32633 }, 4, 3, parseChipLayout('3x1', '1x1'));
  const r = await labelChips(truthIn('EPSG:32633'), g);
  // pixel (0,0): chip x ∈ [−30, 60] m: 450 + 300 m² of 2700; pixel (0,1): x ∈ [0, 90]: 450 + 300 + 270 of 2700
  assert.ok(Math.abs(at(r.fraction, 0) - 750 / 2700) < 1e-9);
  assert.ok(Math.abs(at(r.fraction, 1) - 1020 / 2700) < 1e-9);
  assert.equal(r.labels[0], 0);
  assert.equal(r.labels[1], 1);
});

test('truth outside the scene, grids without georeferencing, bad fractions: one DpmError each', async () => {
  const g = footprintGrid({ geoTransform: UTM_GT, epsg: 32633 }, 4, 3);
  const far = truthIn('EPSG:32633', ([x, y]) => [x + 10000, y]);
  await assert.rejects(
    () => labelChips(far, g, 1 / 3, undefined, 'truth x.geojson'),
    (e: unknown) => e instanceof DpmError && /truth x\.geojson: none of its 8 footprints lies inside/.test(e.message),
  );
  assert.throws(
    () => footprintGrid({}, 4, 3),
    (e: unknown) => e instanceof DpmError && /neither a geotransform nor lat\/lon/.test(e.message),
  );
  assert.throws(
    () => footprintGrid({ geoTransform: UTM_GT }, 4, 3),
    (e: unknown) => e instanceof DpmError && /no CRS/.test(e.message),
  );
  await assert.rejects(() => labelChips(truthIn('EPSG:32633'), g, 0), DpmError);
});
