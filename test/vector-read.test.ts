// The three truth formats read to the same footprints and classes: GeoJSON written by hand, FlatGeobuf written with
// flatgeobuf's serializer, Shapefile written by the minimal writer in test/eval-helpers.ts (the `shapefile` package
// only reads). Bad files and a damage field that does not exist → one DpmError naming the file.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serialize } from 'flatgeobuf/lib/mjs/geojson.js';
import type { FeatureCollection } from 'geojson';
import { readTruthVector } from '../host/vector/read.js';
import { footprintGrid, labelChips } from '../host/vector/labels.js';
import { DpmError } from '../host/core/errors.js';
import { HAND_FRACTION, UTM_GT, handTruth, tempDir, toGeoJson, writeShapefile } from './eval-helpers.js';
import { at } from './at.js';

const UTM33_WKT =
  'PROJCS["WGS_1984_UTM_Zone_33N",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],' +
  'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],' +
  'PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",15.0],PARAMETER["Scale_Factor",0.9996],' +
  'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]';

function fixtures() {
  const dir = tempDir('vector');
  const feats = handTruth();
  const gj = join(dir, 'truth.geojson');
  writeFileSync(gj, JSON.stringify(toGeoJson(feats, 32633)));
  const fgb = join(dir, 'truth.fgb');
  writeFileSync(fgb, serialize(toGeoJson(feats) as unknown as FeatureCollection, 32633));
  writeShapefile(join(dir, 'truth'), feats, UTM33_WKT);
  return { dir, gj, fgb, shp: join(dir, 'truth.shp') };
}

test('GeoJSON, FlatGeobuf and Shapefile give the same footprints, classes and chip fractions', async () => {
  const f = fixtures();
  const grid = footprintGrid({ geoTransform: UTM_GT, epsg: 32633 }, 4, 3);
  for (const path of [f.gj, f.fgb, f.shp]) {
    const t = await readTruthVector(path, 'grade', ['Destroyed', 'damaged ']);
    assert.equal(t.features, 8, path);
    assert.equal(t.polygons.length, 8, path);
    assert.deepEqual(
      t.polygons.map((p) => p.damaged),
      [true, true, true, true, false, true, true, true],
      path,
    );
    assert.equal(at(t.polygons, 6).rings.length, 2, `${path}: the hole survives`);
    const r = await labelChips(t, grid);
    // same geometry in every format: fractions exact up to float64 rounding of ≤ 900 m² areas
    HAND_FRACTION.forEach((w, k) =>
      assert.ok(Math.abs(at(r.fraction, k) - w) < 1e-9, `${path} pixel ${k}: ${r.fraction[k]} vs ${w}`),
    );
    // a numeric damage field matches its values written as text
    const n = await readTruthVector(path, 'g', ['4', '5']);
    assert.deepEqual(
      n.polygons.map((p) => p.damaged),
      t.polygons.map((p) => p.damaged),
      `${path} numeric field`,
    );
  }
});

test('a GeoJSON without a crs member is WGS84 (RFC 7946)', async () => {
  const dir = tempDir('vector');
  const p = join(dir, 'wgs.geojson');
  writeFileSync(p, JSON.stringify(toGeoJson(handTruth(), undefined, ([x, y]) => [15 + x / 1e7, 42 + y / 1e7])));
  assert.equal((await readTruthVector(p, 'grade', ['destroyed'])).crs, 'EPSG:4326');
});

test('a damage field that does not exist, unreadable files, unknown formats: one DpmError naming the file', async () => {
  const f = fixtures();
  for (const path of [f.gj, f.fgb, f.shp]) {
    await assert.rejects(
      readTruthVector(path, 'damage_grade', ['destroyed']),
      (e: unknown) =>
        e instanceof DpmError &&
        e.message.includes(path) &&
        /no feature has the damage field 'damage_grade' \(fields: grade, g\)/.test(e.message),
    );
  }
  const bad = join(f.dir, 'bad.geojson');
  writeFileSync(bad, '{"type": "FeatureCollection", "features": [');
  await assert.rejects(
    readTruthVector(bad, 'grade', ['x']),
    (e: unknown) => e instanceof DpmError && /bad\.geojson: not valid JSON/.test(e.message),
  );
  const badFgb = join(f.dir, 'bad.fgb');
  writeFileSync(badFgb, Buffer.from('this is not a flatgeobuf file at all'));
  await assert.rejects(
    readTruthVector(badFgb, 'grade', ['x']),
    (e: unknown) => e instanceof DpmError && /bad\.fgb/.test(e.message),
  );
  await assert.rejects(readTruthVector(join(f.dir, 'truth.kml'), 'grade', ['x']), DpmError);
  await assert.rejects(
    readTruthVector(join(f.dir, 'missing.geojson'), 'grade', ['x']),
    (e: unknown) => e instanceof DpmError && /file not found/.test(e.message),
  );
  await assert.rejects(
    readTruthVector(f.gj, 'grade', []),
    (e: unknown) => e instanceof DpmError && /--damaged-values/.test(e.message),
  );
});

test('shapefiles: no .prj with projected coordinates, an unreadable .prj, a truncated .shp → one DpmError', async () => {
  const dir = tempDir('vector');
  const grid = footprintGrid({ geoTransform: UTM_GT, epsg: 32633 }, 4, 3);
  writeShapefile(join(dir, 'noprj'), handTruth());
  await assert.rejects(
    readTruthVector(join(dir, 'noprj.shp'), 'grade', ['destroyed']),
    (e: unknown) =>
      e instanceof DpmError &&
      /noprj\.shp: the file states no CRS and its coordinates are not longitude\/latitude/.test(e.message),
  );
  writeShapefile(join(dir, 'badprj'), handTruth(), 'PROJCS["nonsense",GEOGCS["x"]]');
  const t = await readTruthVector(join(dir, 'badprj.shp'), 'grade', ['destroyed']);
  await assert.rejects(
    () => labelChips(t, grid, 1 / 3, undefined, 'truth badprj.shp'),
    (e: unknown) =>
      e instanceof DpmError && /truth badprj\.shp: cannot transform between the coordinate systems/.test(e.message),
  );
  const shp = readFileSync(join(dir, 'noprj.shp'));
  writeFileSync(join(dir, 'cut.shp'), shp.subarray(0, 150));
  writeFileSync(join(dir, 'cut.dbf'), readFileSync(join(dir, 'noprj.dbf')));
  await assert.rejects(
    readTruthVector(join(dir, 'cut.shp'), 'grade', ['destroyed']),
    (e: unknown) => e instanceof DpmError && /cut\.shp/.test(e.message),
  );
  writeFileSync(join(dir, 'lonely.shp'), shp);
  await assert.rejects(
    readTruthVector(join(dir, 'lonely.shp'), 'grade', ['destroyed']),
    (e: unknown) => e instanceof DpmError && /lonely\.dbf is missing/.test(e.message),
  );
});
