// dpm validate-points: buffer means in a UTM and a geographic grid against hand computations, point readers,
// the whole command on a small synthetic case, and bad inputs (one DpmError, no output left behind).
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, existsSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import proj4 from 'proj4';
import { CanceledError, DpmError } from '../host/core/errors.js';
import type { Raster } from '../host/raster/types.js';
import { writeGeoTiff } from '../host/raster/geotiff.js';
import { recordingFeedback, silentFeedback } from '../host/core/feedback.js';
import { bufferMeans } from '../host/eval/points/buffers.js';
import { readPoints } from '../host/eval/points/read-points.js';
import { execute } from '../host/toolbox/execute.js';
import { at } from './at.js';

const UTM11 = '+proj=utm +zone=11 +datum=WGS84 +units=m +no_defs';
const WGS84 = '+proj=longlat +datum=WGS84 +no_defs';

/** 10×10 UTM zone 11N grid, 30 m pixels, value = 10·row + col. */
function utmRaster(): Raster {
  const band = new Float32Array(100);
  for (let r = 0; r < 10; r++) for (let c = 0; c < 10; c++) band[r * 10 + c] = 10 * r + c;
  return {
    width: 10,
    height: 10,
    bands: [band],
    descriptions: ['dpm'],
    georef: { geoTransform: [440000, 30, 0, 3950000, 0, -30], epsg: 32611 },
    source: 'utm.tif',
  };
}

test('buffer mean in a UTM grid equals the hand computation', () => {
  const ras = utmRaster();
  // point 5 m east and 3 m south of the centre of pixel (col 4, row 4)
  const px = 440000 + 4.5 * 30 + 5,
    py = 3950000 - 4.5 * 30 - 3;
  const [lon, lat] = proj4(UTM11, WGS84, [px, py]);
  // By hand (grid metres; the UTM scale factor here, 0.99964, moves distances by < 0.02 m):
  // centre offsets (east, north) from the point: (4,4) (−5, 3) 5.8 m in; (5,4) (25, 3) 25.2 m in;
  // (4,5) (−5, −27) 27.5 m in; (4,3) (−5, 33) 33.4 m out; (3,4) (−35, 3) out; (5,5) (25, −27) 36.8 m out.
  // Inside a 60 m diameter (30 m radius): values 44, 45, 54.
  const b = bufferMeans(ras, 0, [lon], [lat], 60);
  assert.equal(b.inside[0], 3);
  assert.ok(Math.abs(at(b.mean, 0) - (44 + 45 + 54) / 3) < 1e-12);
  // the same rule computed independently over every pixel (planar UTM distances), for a 100 m diameter too
  for (const diameter of [60, 100, 150]) {
    let sum = 0,
      count = 0;
    for (let r = 0; r < 10; r++) {
      for (let c = 0; c < 10; c++) {
        const d = Math.hypot(440000 + (c + 0.5) * 30 - px, 3950000 - (r + 0.5) * 30 - py);
        assert.ok(Math.abs(d - diameter / 2) > 0.1, 'test geometry: no centre within 0.1 m of the circle');
        if (d <= diameter / 2) {
          sum += 10 * r + c;
          count++;
        }
      }
    }
    const got = bufferMeans(ras, 0, [lon], [lat], diameter);
    assert.equal(got.inside[0], count, `diameter ${diameter}`);
    assert.ok(Math.abs(at(got.mean, 0) - sum / count) < 1e-12);
  }
  // NaN pixels are skipped; a buffer smaller than a pixel falls back to the containing pixel; far points are outside
  at(ras.bands, 0)[4 * 10 + 5] = NaN;
  const nan = bufferMeans(ras, 0, [lon], [lat], 60);
  assert.equal(nan.valid[0], 2);
  assert.equal(nan.mean[0], (44 + 54) / 2);
  const tiny = bufferMeans(ras, 0, [lon], [lat], 8); // 4 m radius, nearest centre 5.8 m away
  assert.equal(tiny.inside[0], 0);
  assert.equal(tiny.fallback[0], 1);
  assert.equal(tiny.mean[0], 44);
  // an unknown CRS and an ungeoreferenced raster: one clear error each
  assert.throws(
    () => bufferMeans({ ...ras, georef: { geoTransform: ras.georef.geoTransform, epsg: 2193 } }, 0, [lon], [lat], 60),
    (e: Error) => e instanceof DpmError && /utm\.tif: CRS EPSG:2193 is not supported/.test(e.message),
  );
  assert.throws(
    () => bufferMeans({ ...ras, georef: {} }, 0, [lon], [lat], 60),
    /utm\.tif: the raster is not georeferenced/,
  );
  const [flon, flat] = proj4(UTM11, WGS84, [445000, 3940000]);
  const far = bufferMeans(ras, 0, [flon], [flat], 60);
  assert.equal(far.outside[0], 1);
  assert.ok(Number.isNaN(far.mean[0]));
});

test('buffer mean in a geographic (EPSG:4326) grid equals the hand computation on the ellipsoid', () => {
  // 1 arc-second grid near Ridgecrest (≈ 25 m east–west, 31 m north–south), value = 100·row + col
  const W = 12,
    H = 12,
    s = 1 / 3600,
    lon0 = -117.6,
    lat0 = 35.77;
  const band = new Float32Array(W * H);
  for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) band[r * W + c] = 100 * r + c;
  const ras: Raster = {
    width: W,
    height: H,
    bands: [band],
    descriptions: [''],
    georef: { geoTransform: [lon0, s, 0, lat0, 0, -s], epsg: 4326 },
    source: 'geo.tif',
  };
  // WGS84 meridional (M) and prime-vertical (N) radii: local metres = M·Δφ north, N·cos φ·Δλ east
  const a = 6378137,
    f = 1 / 298.257223563,
    e2 = f * (2 - f);
  // a point chosen so that no pixel centre lies within 2.9 m of either circle (the guard below checks it)
  const plon = lon0 + 4.0 * s,
    plat = lat0 - 7.0 * s;
  const phi = (plat * Math.PI) / 180,
    sin2 = Math.sin(phi) ** 2;
  const M = (a * (1 - e2)) / (1 - e2 * sin2) ** 1.5,
    N = a / Math.sqrt(1 - e2 * sin2);
  for (const diameter of [60, 90]) {
    let sum = 0,
      count = 0;
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        const dn = (M * ((lat0 - (r + 0.5) * s - plat) * Math.PI)) / 180;
        const de = (N * Math.cos(phi) * ((lon0 + (c + 0.5) * s - plon) * Math.PI)) / 180;
        const d = Math.hypot(dn, de);
        assert.ok(
          Math.abs(d - diameter / 2) > 1,
          `test geometry: centre (${c},${r}) ${d} m is too close to the circle`,
        );
        if (d <= diameter / 2) {
          sum += 100 * r + c;
          count++;
        }
      }
    }
    const got = bufferMeans(ras, 0, [plon], [plat], diameter);
    assert.ok(count >= 3);
    assert.equal(got.inside[0], count, `diameter ${diameter}`);
    assert.ok(Math.abs(at(got.mean, 0) - sum / count) < 1e-9);
    // the same grid in radar geometry (per-pixel lat/lon of the centres) gives the same buffers
    const lat = new Float32Array(W * H),
      lon = new Float32Array(W * H);
    for (let r = 0; r < H; r++)
      for (let c = 0; c < W; c++) {
        lat[r * W + c] = lat0 - (r + 0.5) * s;
        lon[r * W + c] = lon0 + (c + 0.5) * s;
      }
    const radar = bufferMeans({ ...ras, georef: { lat, lon } }, 0, [plon], [plat], diameter);
    assert.equal(radar.inside[0], count);
    assert.ok(Math.abs(at(radar.mean, 0) - sum / count) < 1e-9);
  }
});

test('point readers: CSV and GeoJSON, magnitudes, empty cells, one clear error per bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpm-vp-'));
  try {
    const csv = join(dir, 'p.csv');
    writeFileSync(csv, 'id,lon,lat,horiz,"vert"\r\na,-117.5,35.7,1.5,\r\nb,-117.6,35.8,-2,0.5\r\n');
    const p = readPoints(csv, ['horiz', 'vert']);
    assert.deepEqual(Array.from(p.columns.get('horiz')!), [1.5, 2]);
    assert.ok(Number.isNaN(p.columns.get('vert')![0]));
    assert.equal(p.empty.get('vert'), 1);
    assert.equal(p.negative.get('horiz'), 1);
    assert.deepEqual(p.ids, ['a', 'b']);
    assert.equal(readPoints(csv, ['vert'], 'zero').columns.get('vert')![0], 0);
    assert.throws(
      () => readPoints(csv, ['srss']),
      (e: Error) => e instanceof DpmError && /p\.csv: no column 'srss'.*horiz, vert/.test(e.message),
    );
    const gj = join(dir, 'p.geojson');
    writeFileSync(
      gj,
      JSON.stringify({
        type: 'FeatureCollection',
        features: [
          { type: 'Feature', geometry: { type: 'Point', coordinates: [-117.5, 35.7] }, properties: { srss: 0 } },
        ],
      }),
    );
    assert.equal(readPoints(gj, ['srss']).columns.get('srss')![0], 0);
    writeFileSync(
      gj,
      JSON.stringify({
        type: 'FeatureCollection',
        features: [
          {
            type: 'Feature',
            geometry: {
              type: 'LineString',
              coordinates: [
                [0, 0],
                [1, 1],
              ],
            },
            properties: {},
          },
        ],
      }),
    );
    assert.throws(() => readPoints(gj, ['srss']), /feature 1 is not a Point/);
    writeFileSync(csv, 'lon,lat,d\n-117.5,35.7,abc\n');
    assert.throws(() => readPoints(csv, ['d']), /line 2, column 'd': 'abc' is not a number/);
    writeFileSync(csv, 'x,y,d\n1,2,3\n');
    assert.throws(() => readPoints(csv, ['d']), /needs 'lon' and 'lat' columns/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * A synthetic validation case: points at the centres of 5×5-pixel blocks of constant index in a UTM grid (so each
 * 60 m buffer holds exactly that block's value), 40 zero-displacement points and 80 with displacement; the index
 * rises with displacement plus noise.
 */
interface Case {
  points: string;
  dpm: string;
  index: number[];
  disp: number[];
  band: Float32Array;
  W: number;
  H: number;
}
function syntheticCase(dir: string): Case {
  let seed = 12345;
  const r = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const nx = 12,
    ny = 10,
    W = nx * 5,
    H = ny * 5;
  const band = new Float32Array(W * H);
  const lines = ['id,lon,lat,srss,vert'];
  const index: number[] = [],
    disp: number[] = [];
  for (let k = 0; k < nx * ny; k++) {
    const bx = k % nx,
      by = Math.floor(k / nx);
    const d = k < 40 ? 0 : Math.round(Math.exp(Math.log(20) + r() * 2.5) * 10) / 10;
    const v = (k < 40 ? -0.05 : 0.05 + 0.1 * Math.log(d)) + 0.15 * (r() - 0.5);
    for (let rr = 0; rr < 5; rr++) for (let cc = 0; cc < 5; cc++) band[(by * 5 + rr) * W + bx * 5 + cc] = v;
    // 3 m east, 4 m north of the block's centre pixel centre
    const [lon, lat] = proj4(UTM11, WGS84, [440000 + (bx * 5 + 2.5) * 30 + 3, 3950000 - (by * 5 + 2.5) * 30 + 4]);
    lines.push(`p${k},${lon},${lat},${d},${k % 3 === 0 ? '' : d / 3}`);
    index.push(Math.fround(v));
    disp.push(d);
  }
  const points = join(dir, 'points.csv');
  writeFileSync(points, `${lines.join('\n')}\n`);
  const dpm = join(dir, 'dpm1.tif');
  return { points, dpm, index, disp, band, W, H };
}

test('validate-points end to end: report, JSON, buffers, plots; statistics match the known buffer values', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpm-vp-'));
  try {
    const c = syntheticCase(dir);
    await writeGeoTiff(c.dpm, {
      width: c.W,
      height: c.H,
      bands: [c.band],
      descriptions: ['DPM1'],
      georef: { geoTransform: [440000, 30, 0, 3950000, 0, -30], epsg: 32611 },
    });
    const out = join(dir, 'out');
    const res = await execute(
      'validate-points',
      { points: c.points, displacement: 'srss,vert', dpm: c.dpm, 'out-dir': out, thresholds: '30' },
      silentFeedback,
    );
    assert.equal(res.report, join(out, 'report.md'));
    const files = readdirSync(join(out, 'plots')).sort();
    assert.deepEqual(files, [
      'srss__dpm1_box.svg',
      'srss__dpm1_fragility.svg',
      'srss__dpm1_histograms.svg',
      'srss_precision_recall.svg',
      'vert__dpm1_box.svg',
      'vert__dpm1_fragility.svg',
      'vert__dpm1_histograms.svg',
      'vert_precision_recall.svg',
    ]);
    for (const f of files) assert.match(readFileSync(join(out, 'plots', f), 'utf8'), /<svg/);
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    const a = json.analyses.find((x: { column: string }) => x.column === 'srss');
    assert.equal(a.buffers, 120);
    // criterion 1 from the known block values: bins are zero (first 40) and non-zero
    const zero = c.index.slice(0, 40),
      nonzero = c.index.slice(40);
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    assert.equal(a.criteria[0].bins[0].stats.n, 40);
    assert.ok(Math.abs(a.criteria[0].bins[0].stats.mean - mean(zero)) < 1e-9);
    assert.ok(Math.abs(a.criteria[0].bins[1].stats.mean - mean(nonzero)) < 1e-9);
    // F for two groups by hand: F = SSB / (SSW/(N−2))
    const g = mean(c.index),
      ssb = 40 * (mean(zero) - g) ** 2 + 80 * (mean(nonzero) - g) ** 2;
    const ssw =
      zero.reduce((s, x) => s + (x - mean(zero)) ** 2, 0) + nonzero.reduce((s, x) => s + (x - mean(nonzero)) ** 2, 0);
    assert.ok(Math.abs(a.criteria[0].anova.f / (ssb / (ssw / 118)) - 1) < 1e-9);
    assert.equal(a.criteria[2].bins.length, 4);
    assert.equal(
      a.criteria[2].bins.reduce((s: number, b: { stats: { n: number } }) => s + b.stats.n, 0),
      80,
    );
    // DPM1-like values include negatives: shifted by 1 for the lognormal fits, counted
    assert.equal(a.nonPositive.shift, 1);
    assert.equal(a.nonPositive.count, c.index.filter((v) => v <= 0).length);
    assert.equal(a.fragility.length, 5); // any, 25th, 50th, 75th, and --thresholds 30
    const any = a.fragility[0];
    assert.ok(any.medianIndex > -0.2 && any.medianIndex < 0.3, `θ ${any.medianIndex}`);
    assert.ok(any.optimal.recall > 0.8 && any.optimal.precision > 0.8);
    // vert: one third of the cells are empty → those points are left out (drop policy)
    const v = json.analyses.find((x: { column: string }) => x.column === 'vert');
    assert.equal(v.buffers, 80);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    assert.match(md, /## srss vs dpm1/);
    assert.match(md, /\| 1: zero vs non-zero displacement \|/);
    const csv = readFileSync(join(out, 'buffers.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 121);
    assert.match(at(csv, 0), /^id,lon,lat,srss,vert,dpm1_mean,dpm1_pixels,dpm1_valid,dpm1_status$/);
    assert.match(at(csv, 1), /,ok$/);
    assert.ok(!readdirSync(out).some((f) => f.startsWith('.dpm-tmp')));

    // bad inputs: one DpmError each, nothing written
    const bad = async (params: Record<string, unknown>, re: RegExp) => {
      const o = join(dir, `bad-${Math.random().toString(36).slice(2)}`);
      await assert.rejects(
        execute(
          'validate-points',
          { points: c.points, dpm: c.dpm, 'out-dir': o, displacement: 'srss', ...params },
          silentFeedback,
        ),
        (e: Error) => e instanceof DpmError && re.test(e.message),
      );
      assert.ok(
        !existsSync(o) || readdirSync(o, { recursive: true }).filter((f) => !String(f).endsWith('plots')).length === 0,
        'no output left behind',
      );
    };
    await bad({ displacement: 'horizontal' }, /no column 'horizontal'/);
    await bad({ thresholds: '1000' }, /fragility for displacement > 1000: all 120 buffers have the same outcome/);
    // only non-zero points: criterion 1 has an empty bin
    const nz = join(dir, 'nonzero.csv');
    writeFileSync(
      nz,
      readFileSync(c.points, 'utf8')
        .split('\n')
        .filter((_, i) => i === 0 || i > 40)
        .join('\n'),
    );
    await bad({ points: nz }, /criterion 1 bin 'zero' \(displacement = 0\) is empty/);
    // every point outside the raster
    const far = join(dir, 'far.csv');
    writeFileSync(far, 'lon,lat,srss\n-100,40,0\n-100.1,40,5\n');
    await bad({ points: far }, /all 2 points lie outside the raster/);
    await bad({ dpm: join(dir, 'missing.tif') }, /missing\.tif: cannot read raster/);
    // a cancelled job stops between blocks and leaves nothing behind
    const fb = recordingFeedback();
    fb.cancel();
    const oc = join(dir, 'cancelled');
    await assert.rejects(
      execute('validate-points', { points: c.points, dpm: c.dpm, 'out-dir': oc, displacement: 'srss' }, fb),
      (e: Error) => e instanceof CanceledError,
    );
    assert.ok(!existsSync(oc));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('validate-points on an EPSG:4326 DPM with GeoJSON points, nodata pixels and --nonpositive drop', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpm-vp-'));
  try {
    // 1″ grid; each point sits at the centre of a 5×5 block of constant index (≈ 125 m × 155 m, wider than the
    // 60 m buffer); the last block is nodata
    const s = 1 / 3600,
      lon0 = -117.6,
      lat0 = 35.77,
      nb = 10,
      W = nb * 5,
      H = nb * 5;
    const band = new Float32Array(W * H);
    const features: unknown[] = [];
    const idx: number[] = [];
    for (let k = 0; k < nb * nb; k++) {
      const bx = k % nb,
        by = Math.floor(k / nb);
      const d = k < 30 ? 0 : k;
      const v =
        k === nb * nb - 1 ? NaN : Math.fround((k < 30 ? -0.2 : 0) + (((k * 37) % 23) / 23) * 0.4 + (d > 0 ? 0.2 : 0));
      for (let r = 0; r < 5; r++) for (let c = 0; c < 5; c++) band[(by * 5 + r) * W + bx * 5 + c] = v;
      features.push({
        type: 'Feature',
        geometry: { type: 'Point', coordinates: [lon0 + (bx * 5 + 2.5) * s, lat0 - (by * 5 + 2.5) * s] },
        properties: { id: `q${k}`, offset_cm: d },
      });
      if (!Number.isNaN(v)) idx.push(v);
    }
    const dpm = join(dir, 'aria_dpm.tif');
    await writeGeoTiff(dpm, {
      width: W,
      height: H,
      bands: [band],
      descriptions: ['DPM'],
      georef: { geoTransform: [lon0, s, 0, lat0, 0, -s], epsg: 4326 },
    });
    const pts = join(dir, 'points.geojson');
    writeFileSync(pts, JSON.stringify({ type: 'FeatureCollection', features }));
    const out = join(dir, 'out');
    await execute(
      'validate-points',
      { points: pts, displacement: 'offset_cm', dpm, 'out-dir': out, nonpositive: 'drop' },
      silentFeedback,
    );
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    const a = json.analyses[0];
    assert.equal(a.buffers, 99); // the nodata block is left out
    assert.equal(json.rasters[0].noData, 1);
    const nonPos = idx.filter((v) => v <= 0).length;
    assert.ok(nonPos > 0);
    assert.deepEqual(a.nonPositive, { policy: 'drop', shift: 0, count: nonPos, dropped: nonPos });
    assert.equal(a.fragility[0].fit.n, 99 - nonPos);
    // the zero bin's mean is the mean of the known block values
    const zeroVals = idx.slice(0, 30);
    assert.ok(Math.abs(a.criteria[0].bins[0].stats.mean - zeroVals.reduce((p, v) => p + v, 0) / 30) < 1e-9);
    const csv = readFileSync(join(out, 'buffers.csv'), 'utf8').trim().split('\n');
    assert.match(at(csv, 1), /^"q0",/);
    assert.match(at(csv, 100), /,nodata$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
