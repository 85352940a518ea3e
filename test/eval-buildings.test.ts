// `dpm buildings` (issue 14): per-building statistics equal a hand computation on constructed footprints — one
// covering no pixel centre (centroid pixel), a hole, a multipolygon, one across tile edges, one on a NaN pixel, one
// off the grid, a point feature — on a UTM grid, an EPSG:4326 grid, UTM with footprints in EPSG:4326, and radar
// geometry (lat/lon companions); plus the building-level evaluation and the threshold tables.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Feature, FeatureCollection, Geometry } from 'geojson';
import proj4 from 'proj4';
import { deserialize } from 'flatgeobuf/lib/mjs/geojson.js';
import { withOutputs } from '../host/io/outputs.js';
import { writeRaster } from '../host/raster/geotiff.js';
import type { Georef } from '../host/raster/types.js';
import { buildingDamage, matchesDamaged, scoreStats } from '../host/eval/buildings.js';
import { prCurve, fbetaCurve } from '../host/eval/metrics.js';
import { thresholdTable } from '../host/eval/thresholds.js';
import { epsgDef } from '../host/vector/crs.js';

const dir = mkdtempSync(join(tmpdir(), 'dpm-buildings-'));
const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'host', 'cli.js');
const N = 40; // 40×40 pixels in tiles of 16: tile edges at 16 and 32
const NAN_PIXEL = 10 * N + 10;
const values = Float32Array.from({ length: N * N }, (_, k) =>
  k === NAN_PIXEL ? NaN : Math.floor(k / N) * 100 + (k % N),
);

type Map2 = (u: number, v: number) => [number, number];
/** pixel space (u = column, v = row; pixel (i, j) spans [j, j+1] × [i, i+1], centre (j+0.5, i+0.5)) → world */
const frames: { name: string; world: Map2; georef: Georef; footprintCrs?: string; fromWorld?: Map2 }[] = [
  {
    name: 'UTM 33N',
    world: (u, v) => [500000 + 10 * u, 4000000 - 10 * v],
    georef: { geoTransform: [500000, 10, 0, 4000000, 0, -10], epsg: 32633 },
  },
  {
    name: 'EPSG:4326',
    world: (u, v) => [10 + 0.001 * u, 50 - 0.001 * v],
    georef: { geoTransform: [10, 0.001, 0, 50, 0, -0.001], epsg: 4326 },
  },
  {
    name: 'UTM grid, footprints in EPSG:4326',
    world: (u, v) => proj4(epsgDef(32633), 'EPSG:4326', [500000 + 10 * u, 4000000 - 10 * v]) as [number, number],
    georef: { geoTransform: [500000, 10, 0, 4000000, 0, -10], epsg: 32633 },
    footprintCrs: 'EPSG:4326',
  },
  {
    // a sheared, rotated radar grid: lat/lon of every pixel centre
    name: 'radar geometry',
    world: (u, v) => [10 + 0.001 * u + 0.0002 * v, 50 - 0.001 * v + 0.0001 * u],
    georef: {},
  },
];

const rect = (u0: number, v0: number, u1: number, v1: number): [number, number][] => [
  [u0, v0],
  [u1, v0],
  [u1, v1],
  [u0, v1],
  [u0, v0],
];

/** The footprints in pixel space and the pixel values each must collect (by hand, from the drawing). */
const CASES: {
  id: string;
  grade: unknown;
  polys: [number, number][][][] | null;
  pixels: number[];
  centroid?: boolean;
}[] = [
  // across the tile edges at column 16 and row 16: centres u 14.5…17.5, v 15.5 and 16.5
  {
    id: 'A',
    grade: 'Destroyed',
    polys: [[rect(14.2, 15.3, 17.8, 16.7)]],
    pixels: [1514, 1515, 1516, 1517, 1614, 1615, 1616, 1617],
  },
  // inside pixel (5, 20), between centres: its area centroid (20.75, 5.25) lies in that pixel
  { id: 'B', grade: 3, polys: [[rect(20.6, 5.1, 20.9, 5.4)]], pixels: [520], centroid: true },
  // a hole removing the centres of columns 3, 4
  {
    id: 'C',
    grade: 'No visible damage',
    polys: [[rect(2, 2, 6, 4), rect(3.2, 2.2, 4.8, 3.8).reverse()]],
    pixels: [202, 205, 302, 305],
  },
  // a multipolygon: pixel (0, 30) and pixel (33, 30)
  { id: 'D', grade: '3', polys: [[rect(30.1, 0.1, 30.9, 0.9)], [rect(30.1, 33.1, 30.9, 33.9)]], pixels: [30, 3330] },
  // only the NaN pixel: kept, null statistics
  { id: 'E', grade: 'destroyed', polys: [[rect(10.1, 10.1, 10.9, 10.9)]], pixels: [NaN] },
  // off the grid: no pixel at all
  { id: 'F', grade: null, polys: [[rect(50, 50, 51, 51)]], pixels: [] },
  // not a polygon: kept with nulls
  { id: 'G', grade: 'destroyed', polys: null, pixels: [] },
];

/** mean, median, max, p90, share ≥ 1600 computed by hand for the cases above */
const EXPECTED: Record<string, { mean: number; median: number; max: number; p90: number; share: number } | null> = {
  A: { mean: 1565.5, median: 1565.5, max: 1617, p90: 1616.3, share: 0.5 },
  B: { mean: 520, median: 520, max: 520, p90: 520, share: 0 },
  C: { mean: 253.5, median: 253.5, max: 305, p90: 304.1, share: 0 },
  D: { mean: 1680, median: 1680, max: 3330, p90: 3000, share: 0.5 },
  E: null,
  F: null,
  G: null,
};

function footprints(world: Map2): FeatureCollection {
  const features: Feature[] = CASES.map((c) => {
    const geometry: Geometry = c.polys
      ? ({
          type: c.polys.length > 1 ? 'MultiPolygon' : 'Polygon',
          coordinates:
            c.polys.length > 1
              ? c.polys.map((rings) => rings.map((r) => r.map(([u, v]) => world(u, v))))
              : (c.polys[0] ?? []).map((r) => r.map(([u, v]) => world(u, v))),
        } as Geometry)
      : { type: 'Point', coordinates: world(1, 1) };
    return { type: 'Feature', geometry, properties: { id: c.id, grade: c.grade, height: 7.5 } };
  });
  return { type: 'FeatureCollection', features };
}

async function writeScore(path: string, georef: Georef, world: Map2) {
  const g: Georef = georef.geoTransform
    ? georef
    : {
        lat: Float32Array.from({ length: N * N }, (_, k) => world((k % N) + 0.5, Math.floor(k / N) + 0.5)[1]),
        lon: Float32Array.from({ length: N * N }, (_, k) => world((k % N) + 0.5, Math.floor(k / N) + 0.5)[0]),
      };
  const raster = { width: N, height: N, bands: [values], descriptions: ['z'], georef: g };
  await withOutputs((outs) => writeRaster(outs, path, raster, { tileSize: 16 }));
}

const close = (a: unknown, b: number, what: string) =>
  assert.ok(typeof a === 'number' && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} ≠ ${b}`);

for (const [f, frame] of frames.entries()) {
  test(`per-building statistics = hand computation: ${frame.name}`, async () => {
    const score = join(dir, `score${f}.tif`);
    await writeScore(score, frame.georef, frame.world);
    const fc = footprints(frame.world);
    // radar geometry: float32 lat/lon companions hold centres to ~1e-6°; the drawing keeps ≥ 0.1 pixel margins
    const crsName = frame.georef.epsg && !frame.footprintCrs ? frame.georef.epsg : 4326;
    const fpPath = join(dir, `footprints${f}.geojson`);
    writeFileSync(
      fpPath,
      JSON.stringify({ ...fc, crs: { type: 'name', properties: { name: `urn:ogc:def:crs:EPSG::${crsName}` } } }),
    );
    const out = join(dir, `buildings${f}.${f === 0 ? 'fgb' : 'geojson'}`);
    const r = await buildingDamage({
      scores: [score],
      names: ['z'],
      footprints: fpPath,
      out,
      threshold: 1600,
      statistic: 'mean',
      damageField: 'grade',
      damagedValues: ['destroyed', '3'],
    });
    assert.equal(r.buildings, 6, 'six features with polygons');
    assert.equal(r.centroidPixel, 1, 'B took its centroid pixel');
    assert.equal(r.notPolygon, 1);
    assert.equal(r.offGrid, 1);
    assert.equal(r.noFinitePixel, 2, 'E (NaN pixel) and F (off the grid)');
    assert.equal(r.damaged, 1, 'only D has mean ≥ 1600');
    const got: Feature[] = [];
    if (out.endsWith('.fgb'))
      for await (const feat of deserialize(new Uint8Array(readFileSync(out)))) got.push(feat as Feature);
    else got.push(...(JSON.parse(readFileSync(out, 'utf8')) as FeatureCollection).features);
    assert.equal(got.length, CASES.length, 'every input feature kept');
    for (const [k, c] of CASES.entries()) {
      const p = got[k]?.properties ?? {}; // FlatGeobuf leaves null attributes out
      assert.equal(p.id, c.id, 'order and attributes kept');
      assert.equal(p.height, 7.5);
      assert.equal(p.dpm_pixels ?? null, c.polys ? c.pixels.length : null, `${c.id}: pixels`);
      assert.equal(p.dpm_centroid_pixel ?? null, c.polys ? c.centroid === true : null, `${c.id}: centroid pixel`);
      const e = EXPECTED[c.id];
      if (!e) {
        for (const s of ['z_mean', 'z_median', 'z_max', 'z_p90', 'z_share', 'dpm_class'])
          assert.equal(p[s] ?? null, null, `${c.id}: ${s} null`);
        continue;
      }
      for (const [s, v] of Object.entries(e)) close(p[`z_${s}`], v, `${c.id} ${s}`);
      assert.equal(p.z_valid, c.pixels.length);
      assert.equal(p.dpm_class, e.mean >= 1600 ? 'damaged' : 'undamaged');
    }
    // the building-level evaluation: damaged A, B, D (E, F have no score); undamaged C
    const report = JSON.parse(readFileSync(out.replace(/\.(fgb|geojson)$/, '.evaluation.json'), 'utf8'));
    const [ev] = report.evaluation;
    assert.equal(ev.damagedBuildings, 3);
    assert.equal(ev.undamagedBuildings, 1);
    assert.equal(ev.buildingsWithoutScore, 2);
    close(ev.prAucTrapezoid, 1, 'PR AUC: every damaged building scores above C');
    close(ev.optimum.threshold, 520, 'optimum at B');
    assert.equal(ev.thresholdTable.length, 7, '2, 3, 4, 4.93, 6, 8 and the optimum');
  });
}

test('CLI: dpm buildings writes the output and report; bad input is one clear error', () => {
  const out = join(dir, 'cli', 'b.geojson');
  const run = (...a: string[]) =>
    spawnSync(process.execPath, [cli, 'buildings', ...a], { encoding: 'utf8', env: { ...process.env } });
  const ok = run('--score', join(dir, 'score0.tif'), '--footprints', join(dir, 'footprints0.geojson'), '--out', out);
  assert.equal(ok.status, 0, ok.stderr);
  const fc = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(fc.crs.properties.name, 'urn:ogc:def:crs:EPSG::32633');
  assert.ok('score0_mean' in fc.features[0].properties);
  const bad = run('--score', join(dir, 'score0.tif'), '--footprints', join(dir, 'none.geojson'), '--out', out);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /footprints .*none\.geojson: file not found/);
  // a features entry that is no object cannot be kept in the output: named, not a crash
  const nulls = join(dir, 'null-feature.geojson');
  const fc0 = JSON.parse(readFileSync(join(dir, 'footprints0.geojson'), 'utf8'));
  writeFileSync(nulls, JSON.stringify({ ...fc0, features: [...fc0.features, null] }));
  const bad2 = run('--score', join(dir, 'score0.tif'), '--footprints', nulls, '--out', join(dir, 'cli', 'n.geojson'));
  assert.equal(bad2.status, 2, bad2.stderr);
  assert.match(bad2.stderr, /null-feature\.geojson: entry \d+ of its features is not a GeoJSON Feature object/);
});

test('statistics skip NaN; damaged values match numbers as numbers and text case-insensitively', () => {
  const s = scoreStats([NaN, 4, 1, 3, 2, NaN], 3);
  assert.deepEqual(s, { valid: 4, mean: 2.5, median: 2.5, max: 4, p90: 3.7, share: 0.5 });
  assert.deepEqual(scoreStats([NaN], 3).mean, null);
  assert.ok(matchesDamaged(3, ['3.0']) && matchesDamaged('3', ['3']) && matchesDamaged(' Destroyed ', ['destroyed']));
  assert.ok(!matchesDamaged(null, ['null']) && !matchesDamaged('', ['0']) && !matchesDamaged('30', ['3']));
});

test('threshold table: precision, recall, F1, F0.5 at fixed thresholds and the optimum (hand computation)', () => {
  const c = prCurve([9, 5, 4.93, 3.5, 1], [1, 0, 1, 1, 0]);
  const rows = thresholdTable(c, fbetaCurve(c, 0.5));
  const want = [
    // label, flagged, precision, recall
    ['≥ 2', 4, 0.75, 1],
    ['≥ 3', 4, 0.75, 1],
    ['≥ 4', 3, 2 / 3, 2 / 3],
    ['≥ 4.93', 3, 2 / 3, 2 / 3], // a score equal to the threshold is flagged
    ['≥ 6', 1, 1, 1 / 3],
    ['≥ 8', 1, 1, 1 / 3],
    ['optimum (max F0.5)', 4, 0.75, 1], // F0.5 = 0.789 at 3.5
  ] as const;
  for (const [k, [label, flagged, p, rc]] of want.entries()) {
    const row = rows[k];
    assert.equal(row?.label, label);
    assert.equal(row?.flagged, flagged, label);
    close(row?.precision, p, `${label} precision`);
    close(row?.recall, rc, `${label} recall`);
    close(row?.f1, (2 * p * rc) / (p + rc), `${label} F1`);
    close(row?.f05, (1.25 * p * rc) / (0.25 * p + rc), `${label} F0.5`);
  }
  assert.equal(rows[6]?.threshold, 3.5);
  const none = thresholdTable(prCurve([1, 0.5], [1, 0]), fbetaCurve(prCurve([1, 0.5], [1, 0])), [8]);
  assert.deepEqual([none[0]?.flagged, none[0]?.precision, none[0]?.recall, none[0]?.f1], [0, null, 0, 0]);
});
