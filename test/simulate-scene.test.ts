// dpm simulate: determinism, well-formed ISCE2 files, SLC statistics against the true coherence, truth consistency,
// and clear errors. Small scenes only (the whole file runs in a few seconds).
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { simulate, slcPaths } from '../host/sar/simulate/simulate.js';
import { Scene, LANDCOVER, DAMAGED_GRADES, type SimOptions } from '../host/sar/simulate/scene.js';
import { SimRng } from '../host/sar/simulate/rng.js';
import { SmoothField } from '../host/sar/simulate/field.js';
import { readRaster } from '../host/raster/geotiff.js';
import { execute } from '../host/toolbox/execute.js';
import { loadManifest } from '../host/toolbox/manifest.js';
import { silentFeedback, type Feedback } from '../host/core/feedback.js';
import { CanceledError, DpmError } from '../host/core/errors.js';
import { at } from './at.js';

const tmp = mkdtempSync(join(tmpdir(), 'dpm-sim-test-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const SMALL: SimOptions = { seed: 7, width: 120, height: 60, dates: 6 };

function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
function readF64(path: string): Float64Array {
  const b = readFileSync(path);
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
function gdalinfo(path: string): any {
  return JSON.parse(execFileSync('gdalinfo', ['-json', path], { encoding: 'utf8' }));
}
/** Every file below `dir`, relative, sorted. */
function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((e) => {
      const p = join(dir, e);
      return statSync(p).isDirectory() ? listFiles(p, `${prefix}${e}/`) : [`${prefix}${e}`];
    });
}

test('the PRNG is deterministic, separates streams and gives standard normals', () => {
  const a = new SimRng(5, 'x');
  const b = new SimRng(5, 'x');
  const c = new SimRng(5, 'y');
  const d = new SimRng(6, 'x');
  const sa = Array.from({ length: 8 }, () => a.nextU32());
  assert.deepEqual(
    sa,
    Array.from({ length: 8 }, () => b.nextU32()),
  );
  assert.notDeepEqual(
    sa,
    Array.from({ length: 8 }, () => c.nextU32()),
  );
  assert.notDeepEqual(
    sa,
    Array.from({ length: 8 }, () => d.nextU32()),
  );
  const r = new SimRng(1, 'normal');
  const n = 200_000;
  let s1 = 0,
    s2 = 0;
  for (let i = 0; i < n; i++) {
    const v = r.normal();
    s1 += v;
    s2 += v * v;
  }
  // mean ~ N(0, 1/n): 5 standard errors; variance: sd of the sample variance is sqrt(2/n)
  assert.ok(Math.abs(s1 / n) < 5 / Math.sqrt(n), `mean ${s1 / n}`);
  assert.ok(Math.abs(s2 / n - 1) < 5 * Math.sqrt(2 / n), `variance ${s2 / n}`);
});

test('SimRng.skip(n) lands where n draws would (xoshiro128** jump by GF(2) matrix powers)', () => {
  for (const n of [0, 1, 2, 31, 32, 33, 1000, 65_537, 200_003]) {
    const walked = new SimRng(5, 'speckle');
    for (let i = 0; i < n; i++) walked.nextU32();
    const jumped = new SimRng(5, 'speckle').skip(n);
    assert.deepEqual(
      Array.from({ length: 6 }, () => jumped.nextU32()),
      Array.from({ length: 6 }, () => walked.nextU32()),
      `skip(${n})`,
    );
  }
  // a pair of normals is 4 draws: skipping whole pairs keeps the Box–Muller pairing
  const a = new SimRng(9, 'x');
  for (let i = 0; i < 10; i++) a.normal();
  assert.equal(new SimRng(9, 'x').skip(20).normal(), a.normal());
});

test('a smooth field read in blocks of rows equals the field read whole', () => {
  const sc = new Scene({ seed: 4, width: 300, height: 90, dates: 4 });
  const field = new SmoothField(4, 'texture', sc.map, 120, 1234);
  const whole = field.rows(0, 90);
  const parts = [
    [0, 7],
    [7, 8],
    [8, 50],
    [50, 90],
  ].map(([r0 = 0, r1 = 0]) => field.rows(r0, r1));
  const joined = new Float32Array(whole.length);
  let o = 0;
  for (const p of parts) {
    joined.set(p, o);
    o += p.length;
  }
  assert.deepEqual(joined, whole);
  assert.ok(Math.min(...whole) >= -1 && Math.max(...whole) <= 1);
});

test('written block by block: the same bytes for any block size, and as the whole-scene writer wrote them', async () => {
  const opts: SimOptions = { seed: 7, width: 301, height: 97, dates: 6, eventIndex: 2 };
  const one = join(tmp, 'blocks-one');
  const many = join(tmp, 'blocks-many');
  await simulate(opts, one, silentFeedback);
  await simulate(opts, many, silentFeedback, { blockRows: 7 }); // 7 does not divide 97 nor the building strips
  const files = listFiles(one);
  assert.deepEqual(files, listFiles(many));
  for (const f of files.filter((f) => !f.endsWith('.tif'))) {
    assert.ok(readFileSync(join(one, f)).equals(readFileSync(join(many, f))), `${f} depends on the block size`);
  }
  const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
  const coherence = await readRaster(join(many, 'truth/coherence.tif'));
  const trueCoherence = new Uint8Array(
    Buffer.concat(coherence.bands.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength))),
  );
  // sha256 of the files the whole-scene writer (before issue 16) made for these options: the block writer changed no
  // byte. A deliberate change of the scene model updates these.
  assert.deepEqual(
    {
      slc: sha(readFileSync(join(many, '20190129/20190129.slc.full'))),
      lat: sha(readFileSync(join(many, 'geom_reference/lat.rdr'))),
      lon: sha(readFileSync(join(many, 'geom_reference/lon.rdr'))),
      scene: sha(readFileSync(join(many, 'scene.json'))),
      damage: sha(readFileSync(join(many, 'truth/damage.geojson'))),
      coherence: sha(trueCoherence),
    },
    {
      slc: '6308bdee65c79ff32d06f6d3f89d89b89a219f78e584218edc38bec8e2ee8929',
      lat: '5fbccf8e2c764c73a2a22396f348098bdb83a5c90f5b2709bf5c4acf25015a27',
      lon: 'e70ba607eda1a117be63004db244f1988ee3f6d8f4965b77fb38b53f18d69f75',
      scene: '3ec2c22020155018b26345040ee0b9a7a91984edea28e6afea8dd942c2792637',
      damage: '6e989af7d2fb6c70d30ab65801cdc48d6c20a700d9e293d607ded43a13e2638c',
      coherence: 'e192e79dd7d2d407e76a86c9283eb377f47912718c66a9dfe851559ca8d4512c',
    },
  );
});

test('truth rasters past the COG budget are raw files with a VRT: same values, GDAL reads them', async () => {
  const cog = join(tmp, 'truth-cog');
  const raw = join(tmp, 'truth-raw');
  await simulate(SMALL, cog, silentFeedback);
  const r = await simulate(SMALL, raw, silentFeedback, { truthCogBytes: 0, blockRows: 9 });
  const N = SMALL.width * SMALL.height;
  for (const [name, type] of [
    ['coherence', 'Float32'],
    ['damage_mask', 'Byte'],
    ['landcover', 'Byte'],
  ] as const) {
    const vrt = join(raw, 'truth', `${name}.rdr.vrt`);
    assert.ok(!existsSync(join(raw, 'truth', `${name}.tif`)), `${name}: no GeoTIFF as well`);
    const bytes = readFileSync(join(raw, 'truth', `${name}.rdr`));
    const values = type === 'Byte' ? new Uint8Array(bytes) : readF32(join(raw, 'truth', `${name}.rdr`));
    const expected = await readRaster(join(cog, 'truth', `${name}.tif`));
    assert.equal(values.length, N * expected.bands.length);
    expected.bands.forEach((band, k) => assert.deepEqual(Float32Array.from(values.subarray(k * N, (k + 1) * N)), band));
    const info = gdalinfo(vrt);
    assert.deepEqual(info.size, [SMALL.width, SMALL.height]);
    assert.equal(info.bands.length, expected.bands.length);
    assert.equal(info.bands[0].type, type);
    assert.deepEqual(
      info.bands.map((b: { description?: string }) => b.description ?? ''),
      expected.descriptions,
    );
    assert.ok(info.metadata?.GEOLOCATION?.X_DATASET?.endsWith('geom_reference/lon.rdr.vrt'), `${name} GEOLOCATION`);
  }
  assert.equal(r.coherence, join(raw, 'truth', 'coherence.rdr.vrt'));
  assert.equal(r.mask, join(raw, 'truth', 'damage_mask.rdr.vrt'));
  const files = JSON.parse(readFileSync(r.scene, 'utf8')).files;
  assert.equal(files.coherence, 'truth/coherence.rdr.vrt');
  assert.equal(files.damage_mask, 'truth/damage_mask.rdr.vrt');
});

test('same seed → identical files; another seed → different ones', async () => {
  const a = join(tmp, 'det-a');
  const b = join(tmp, 'det-b');
  const c = join(tmp, 'det-c');
  await simulate(SMALL, a, silentFeedback);
  await simulate(SMALL, b, silentFeedback);
  await simulate({ ...SMALL, seed: 8 }, c, silentFeedback);
  const files = listFiles(a);
  assert.deepEqual(files, listFiles(b));
  for (const f of files) {
    if (f.endsWith('.tif')) continue; // the GeoTIFFs name their lat/lon companions by absolute path: compared by value below
    assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} differs between two runs with one seed`);
  }
  for (const f of ['truth/coherence.tif', 'truth/damage_mask.tif', 'truth/landcover.tif']) {
    const ra = await readRaster(join(a, f));
    const rb = await readRaster(join(b, f));
    assert.deepEqual(ra.descriptions, rb.descriptions);
    ra.bands.forEach((band, i) => assert.deepEqual(band, rb.bands[i], `${f} band ${i + 1}`));
  }
  const scene = JSON.parse(readFileSync(join(a, 'scene.json'), 'utf8'));
  const slc = slcPaths('', scene.dates[2]).data;
  assert.ok(!readFileSync(join(a, slc)).equals(readFileSync(join(c, slc))), 'seed 8 gives the same SLC as seed 7');
  assert.notEqual(
    readFileSync(join(a, 'truth/damage.geojson'), 'utf8'),
    readFileSync(join(c, 'truth/damage.geojson'), 'utf8'),
  );
});

test('SLC stack, headers and lookups are well formed (and GDAL reads them)', async () => {
  const dir = join(tmp, 'headers');
  const r = await simulate({ ...SMALL, dates: 5, eventIndex: 2 }, dir, silentFeedback);
  const { width: W, height: H } = SMALL;
  const scene = JSON.parse(readFileSync(r.scene, 'utf8'));
  // calendar: 12- or 24-day steps, the two pairs around the event 12 days, event strictly inside the co-event pair
  assert.equal(scene.dates.length, 5);
  assert.deepEqual(scene.dates, [...scene.dates].sort());
  for (const i of scene.intervals_days) assert.ok(i === 12 || i === 24, `interval ${i}`);
  assert.equal(scene.intervals_days[1], 12);
  assert.equal(scene.intervals_days[2], 12);
  assert.equal(scene.co_event_pair, `${scene.dates[2]}_${scene.dates[3]}`);
  assert.ok(scene.event_date > scene.dates[2] && scene.event_date < scene.dates[3]);
  assert.match(scene.aoi_window, /^\d+:\d+,\d+:\d+$/);
  assert.equal(scene.train_window, `0:${H},0:${W}`);

  for (const date of scene.dates) {
    const p = slcPaths(dir, date);
    assert.equal(statSync(p.data).size, W * H * 8, `${p.data}: complex64 size`);
    const vrt = readFileSync(p.vrt, 'utf8');
    assert.match(vrt, new RegExp(`<VRTDataset rasterXSize="${W}" rasterYSize="${H}">`));
    assert.match(vrt, /dataType="CFloat32" subClass="VRTRawRasterBand"/);
    assert.match(vrt, new RegExp(`<SourceFilename relativeToVRT="1">${date}\\.slc\\.full</SourceFilename>`));
    assert.match(vrt, /<ByteOrder>LSB<\/ByteOrder>/);
    assert.match(vrt, new RegExp(`<PixelOffset>8</PixelOffset>\\s*<LineOffset>${8 * W}</LineOffset>`));
    const xml = readFileSync(p.xml, 'utf8');
    const prop = (name: string): string | undefined =>
      xml.match(new RegExp(`<property name="${name}">\\s*<value>([^<]*)</value>`))?.[1];
    assert.equal(prop('width'), String(W));
    assert.equal(prop('length'), String(H));
    assert.equal(prop('data_type'), 'CFLOAT');
    assert.equal(prop('byte_order'), 'l');
    assert.equal(prop('scheme'), 'BIP');
    assert.equal(prop('file_name'), `${date}.slc.full`);
  }
  const info = gdalinfo(slcPaths(dir, scene.dates[0]).vrt);
  assert.deepEqual(info.size, [W, H]);
  assert.equal(info.bands[0].type, 'CFloat32');
  // the first complex sample through GDAL equals the raw file's
  const first = readF32(slcPaths(dir, scene.dates[0]).data);
  const loc = execFileSync('gdallocationinfo', ['-valonly', slcPaths(dir, scene.dates[0]).vrt, '0', '0'], {
    encoding: 'utf8',
  }).trim();
  const [gre = NaN, gim = NaN] = loc
    .replace(/[()i]/g, ' ')
    .trim()
    .split(/[\s+]+/)
    .filter((s) => s.length > 0)
    .map(Number);
  // gdallocationinfo prints about 7 significant digits of a float32
  assert.ok(Math.abs(gre - at(first, 0)) <= 1e-5 * Math.abs(at(first, 0)) + 1e-6, `${loc} vs ${first[0]}`);
  assert.ok(
    Math.abs(Math.abs(gim) - Math.abs(at(first, 1))) <= 1e-5 * Math.abs(at(first, 1)) + 1e-6,
    `${loc} vs ${first[1]}`,
  );

  const lat = readF64(join(dir, 'geom_reference/lat.rdr'));
  const lon = readF64(join(dir, 'geom_reference/lon.rdr'));
  assert.equal(lat.length, W * H);
  const li = gdalinfo(join(dir, 'geom_reference/lat.rdr.vrt'));
  assert.equal(li.bands[0].type, 'Float64');
  assert.match(readFileSync(join(dir, 'geom_reference/lat.rdr.xml'), 'utf8'), /<value>DOUBLE<\/value>/);
  const latVal = Number(
    execFileSync('gdallocationinfo', ['-valonly', join(dir, 'geom_reference/lat.rdr.vrt'), '7', '5'], {
      encoding: 'utf8',
    }),
  );
  assert.ok(Math.abs(latVal - at(lat, 5 * W + 7)) < 1e-9, 'GDAL reads lat.rdr as written');
  // plausible grid: ~13.9 m per azimuth row, ~4 m per range column, rows run north-north-west (ascending)
  const mLat = 110_950; // metres per degree of latitude near 34.5° N (±0.1%)
  const mLon = 111_320 * Math.cos((34.46 * Math.PI) / 180);
  const dist = (p: number, q: number): number =>
    Math.hypot((at(lat, q) - at(lat, p)) * mLat, (at(lon, q) - at(lon, p)) * mLon);
  assert.ok(Math.abs(dist(0, W) - 13.9) < 0.1, `azimuth spacing ${dist(0, W)}`);
  assert.ok(Math.abs(dist(0, 1) - 4.0) < 0.05, `range spacing ${dist(0, 1)}`);
  assert.ok(at(lat, W) > at(lat, 0) && at(lon, W) < at(lon, 0), 'azimuth runs north, slightly west');
  assert.ok(at(lon, 1) > at(lon, 0), 'range runs east');

  // truth rasters: GDAL sees the bands, names and geolocation
  const ci = gdalinfo(r.coherence);
  assert.deepEqual(ci.size, [W, H]);
  assert.deepEqual(
    ci.bands.map((b: any) => b.description),
    scene.pairs,
  );
  assert.equal(ci.bands[0].type, 'Float32');
  assert.ok(ci.metadata?.GEOLOCATION?.X_DATASET, 'coherence.tif names its lon companion');
  assert.equal(gdalinfo(r.mask).bands[0].type, 'Byte');
  assert.equal(gdalinfo(r.landcover).bands[0].type, 'Byte');
  const mask = await readRaster(r.mask);
  assert.ok(
    mask.georef.lat && Math.abs(at(mask.georef.lat, 5 * W + 7) - at(lat, 5 * W + 7)) < 1e-5,
    'mask carries the same lat/lon (float32)',
  );
});

test('empirical coherence of the simulated SLCs equals the true coherence (float64 estimator)', async () => {
  const opts: SimOptions = { seed: 3, width: 400, height: 200, dates: 6 };
  const dir = join(tmp, 'stats');
  await simulate(opts, dir, silentFeedback);
  const scene = new Scene(opts); // for the per-pixel amplitude, which is not part of the files
  const N = opts.width * opts.height;
  const truth = (await readRaster(join(dir, 'truth/coherence.tif'))).bands;
  // unit-variance speckle s_k = x_k / A, in float64
  const s = scene.dates.map((d) => {
    const x = readF32(slcPaths(dir, d).data);
    const re = new Float64Array(N),
      im = new Float64Array(N);
    for (let p = 0; p < N; p++) {
      const a = at(scene.amplitude, p);
      re[p] = at(x, 2 * p) / a;
      im[p] = at(x, 2 * p + 1) / a;
    }
    return { re, im };
  });
  for (const [k, v] of s.entries()) {
    // E|s|² = 1 and E[s²] = 0 (circular); |s|² is exponential (sd 1): 5 standard errors of the mean over N pixels
    let p2 = 0,
      sq = 0;
    for (let p = 0; p < N; p++) {
      p2 += at(v.re, p) ** 2 + at(v.im, p) ** 2;
      sq += at(v.re, p) ** 2 - at(v.im, p) ** 2;
    }
    assert.ok(Math.abs(p2 / N - 1) < 5 / Math.sqrt(N), `date ${k}: mean power ${p2 / N}`);
    assert.ok(Math.abs(sq / N) < 5 / Math.sqrt(N), `date ${k}: not circular (${sq / N})`);
  }
  // Per pixel z = s_k s_{k+1}*: E[Re z] = γ exactly, Var(Re z) = (1 + γ²)/2 (derived in host/sar/simulate/simulate.ts's
  // model: Re z = γ|s_k|² + sqrt(1−γ²) Re(s_k w*)). Over all pixels the standardised mean error is ~N(0, 1): |Z| < 5.
  // The same holds for a two-step pair (k, k+2) with γ_k γ_{k+1}.
  const pairs: { a: number; b: number; gamma: (p: number) => number }[] = [];
  for (let k = 0; k + 1 < s.length; k++) pairs.push({ a: k, b: k + 1, gamma: (p) => at(at(truth, k), p) });
  for (let k = 0; k + 2 < s.length; k++)
    pairs.push({ a: k, b: k + 2, gamma: (p) => at(at(truth, k), p) * at(at(truth, k + 1), p) });
  // bins of true γ pooled over the consecutive pairs: the classical estimator |Σ s1 s2*| / sqrt(Σ|s1|² Σ|s2|²)
  const bins = Array.from({ length: 10 }, () => ({ n: 0, g: 0, cr: 0, ci: 0, p1: 0, p2: 0 }));
  for (const { a, b, gamma } of pairs) {
    let err = 0,
      v = 0;
    const consecutive = b === a + 1;
    for (let p = 0; p < N; p++) {
      const g = gamma(p);
      const zr = at(at(s, a).re, p) * at(at(s, b).re, p) + at(at(s, a).im, p) * at(at(s, b).im, p);
      err += zr - g;
      v += (1 + g * g) / 2;
      if (consecutive) {
        const bin = at(bins, Math.min(9, Math.floor(g * 10)));
        bin.n++;
        bin.g += g;
        bin.cr += zr;
        bin.ci += at(at(s, a).im, p) * at(at(s, b).re, p) - at(at(s, a).re, p) * at(at(s, b).im, p);
        bin.p1 += at(at(s, a).re, p) ** 2 + at(at(s, a).im, p) ** 2;
        bin.p2 += at(at(s, b).re, p) ** 2 + at(at(s, b).im, p) ** 2;
      }
    }
    const Z = err / Math.sqrt(v);
    assert.ok(Math.abs(Z) < 5, `pair (${a}, ${b}): mean of s·s* − γ is ${Z.toFixed(2)} standard errors off`);
  }
  let tested = 0;
  for (const [i, bin] of bins.entries()) {
    if (bin.n < 2000) continue;
    tested++;
    const g = bin.g / bin.n;
    const est = Math.hypot(bin.cr, bin.ci) / Math.sqrt(bin.p1 * bin.p2);
    // bound: 5 × the estimator's sd (1 − γ²)/sqrt(2N) for N independent looks, + its upward bias near γ = 0
    // (≤ sqrt(π/(4N)), the Rayleigh mean), + 0.002 because γ varies inside a bin (the sd formula assumes one γ)
    const tol = (5 * (1 - g * g)) / Math.sqrt(2 * bin.n) + Math.sqrt(Math.PI / (4 * bin.n)) + 0.002;
    assert.ok(
      Math.abs(est - g) < tol,
      `bin ${i / 10}–${(i + 1) / 10}: estimate ${est.toFixed(4)} vs true ${g.toFixed(4)} (±${tol.toFixed(4)}, N=${bin.n})`,
    );
  }
  assert.ok(tested >= 5, `only ${tested} coherence bins had enough pixels`);
});

test('damage is only in the co-event pair, only on built-up pixels, and the mask matches the GeoJSON', async () => {
  const opts: SimOptions = { seed: 11, width: 160, height: 80, dates: 8, eventIndex: 4 };
  const damaged = new Scene(opts);
  const intact = new Scene(opts, { damage: false });
  const N = opts.width * opts.height;
  let changed = 0;
  for (let k = 0; k < damaged.pairs; k++) {
    const a = damaged.pairCoherence(k);
    const b = intact.pairCoherence(k);
    for (let p = 0; p < N; p++) {
      if (a[p] === b[p]) continue;
      assert.equal(k, 4, `pair ${k} differs at pixel ${p}: damage outside the co-event pair`);
      assert.equal(damaged.landcover[p], LANDCOVER.built_up, `damage outside the built-up class at pixel ${p}`);
      assert.ok(
        at(damaged.buildingOf, p) >= 0 &&
          at(damaged.buildings, at(damaged.buildingOf, p)).grade !== 'No visible damage',
      );
      assert.ok(at(a, p) < at(b, p), 'damage lowers coherence');
      changed++;
    }
  }
  const nMask = damaged.damageMask.reduce((s, v) => s + v, 0);
  assert.ok(nMask > 0 && changed >= nMask, `${changed} changed pixels, ${nMask} in the mask`);

  // files: mask ⊂ built-up; co-event coherence of masked pixels far below their own pre-event pair
  const dir = join(tmp, 'truth');
  const r = await simulate(opts, dir, silentFeedback);
  const mask = at((await readRaster(r.mask)).bands, 0);
  const lc = at((await readRaster(r.landcover)).bands, 0);
  const coh = (await readRaster(r.coherence)).bands;
  for (let p = 0; p < N; p++) if (mask[p] === 1) assert.equal(lc[p], LANDCOVER.built_up);

  // GeoJSON: counter-clockwise closed rings; rasterising the damaged polygons at the pixel centres of
  // lat.rdr/lon.rdr (independent point-in-polygon, float64) gives the mask exactly
  const lat = readF64(join(dir, 'geom_reference/lat.rdr'));
  const lon = readF64(join(dir, 'geom_reference/lon.rdr'));
  const gj = JSON.parse(readFileSync(r.damage, 'utf8'));
  assert.equal(gj.type, 'FeatureCollection');
  const grades = new Set(gj.features.map((f: any) => f.properties.damage_grade));
  for (const g of grades)
    assert.ok(['Destroyed', 'Damaged', 'Possibly damaged', 'No visible damage'].includes(g as string));
  assert.ok(grades.has('No visible damage') && grades.has('Destroyed'));
  const raster = new Uint8Array(N);
  const mLat = 110_950,
    mLon = 111_320 * Math.cos((34.46 * Math.PI) / 180);
  for (const f of gj.features) {
    const ring: number[][] = f.geometry.coordinates[0];
    assert.deepEqual(ring[0], ring.at(-1), 'closed ring');
    let area2 = 0;
    for (let i = 0; i + 1 < ring.length; i++)
      area2 += at(at(ring, i), 0) * at(at(ring, i + 1), 1) - at(at(ring, i + 1), 0) * at(at(ring, i), 1);
    assert.ok(area2 > 0, 'exterior ring counter-clockwise (RFC 7946)');
    const areaM2 = (Math.abs(area2) / 2) * mLat * mLon;
    assert.ok(Math.abs(areaM2 / f.properties.area_m2 - 1) < 0.01, `area ${areaM2} vs ${f.properties.area_m2}`);
    if (!DAMAGED_GRADES.includes(f.properties.damage_grade)) continue;
    const xs = ring.map((c) => at(c, 0)),
      ys = ring.map((c) => at(c, 1));
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    for (let p = 0; p < N; p++) {
      const x = at(lon, p),
        y = at(lat, p);
      if (x < x0 || x > x1 || y < y0 || y > y1) continue;
      let inside = false;
      for (let i = 0, j = ring.length - 2; i < ring.length - 1; j = i++) {
        const [xi = NaN, yi = NaN] = at(ring, i),
          [xj = NaN, yj = NaN] = at(ring, j);
        if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
      }
      if (inside) raster[p] = 1;
    }
  }
  let ones = 0;
  for (let p = 0; p < N; p++) {
    assert.equal(raster[p], mask[p], `pixel ${p}: polygons say ${raster[p]}, mask says ${mask[p]}`);
    ones += at(raster, p);
    if (mask[p] === 1)
      assert.ok(
        at(at(coh, 4), p) < 0.5 * at(at(coh, 3), p),
        `pixel ${p}: co-event ${at(coh, 4)[p]} vs pre ${at(coh, 3)[p]}`,
      );
  }
  assert.ok(ones > 0);
});

test('the scene behaves as the paper needs: steady built-up, jumpy fields, fields dropping at the event too', () => {
  const sc = new Scene({ seed: 1, width: 240, height: 120, dates: 20 });
  const N = sc.grid.width * sc.grid.height;
  const ei = sc.options.eventIndex;
  const coh = Array.from({ length: sc.pairs }, (_, k) => sc.pairCoherence(k));
  const diffs = (cls: number, building: boolean): number[] => {
    const out: number[] = [];
    for (let p = 0; p < N; p += 7) {
      if (sc.landcover[p] !== cls || at(sc.buildingOf, p) >= 0 !== building) continue;
      for (let k = 0; k + 1 < ei; k++) {
        if (sc.pairWeather(k) < 1 || sc.pairWeather(k + 1) < 1) continue; // weather moves every class
        out.push(Math.abs(at(at(coh, k + 1), p) - at(at(coh, k), p)));
      }
    }
    return out.sort((a, b) => a - b);
  };
  const median = (a: number[]): number => at(a, a.length >> 1);
  const built = diffs(LANDCOVER.built_up, true);
  const agri = diffs(LANDCOVER.agriculture, false);
  assert.ok(built.length > 100 && agri.length > 100);
  assert.ok(median(built) < 0.03, `built-up pair-to-pair change ${median(built)}`);
  assert.ok(median(agri) > 0.15, `agriculture pair-to-pair change ${median(agri)}`);
  // single-pair change detection has something to get wrong: fields that fall from high to low at the event
  let agriPixels = 0,
    agriDrops = 0;
  for (let p = 0; p < N; p++) {
    if (sc.landcover[p] !== LANDCOVER.agriculture) continue;
    agriPixels++;
    if (at(at(coh, ei - 1), p) - at(at(coh, ei), p) > 0.4) agriDrops++;
  }
  assert.ok(agriDrops > 0.05 * agriPixels, `${agriDrops} of ${agriPixels} field pixels drop by > 0.4 at the event`);
  // water near 0
  for (let p = 0; p < N; p++) if (sc.landcover[p] === LANDCOVER.water) assert.ok(at(at(coh, 0), p) < 0.05);
});

test('bad options and folders give one clear DpmError and leave nothing behind', async () => {
  const dir = join(tmp, 'bad');
  await assert.rejects(
    execute('simulate', { out: dir, dates: 5, 'event-index': 4 }, silentFeedback),
    (e: Error) => e instanceof DpmError && /--event-index must be in \[1, 3\]/.test(e.message),
  );
  await assert.rejects(
    simulate({ ...SMALL, eventIndex: 0 }, dir, silentFeedback),
    (e: Error) => e instanceof DpmError && /--event-index/.test(e.message),
  );
  await assert.rejects(
    execute('simulate', { out: dir, width: 20 }, silentFeedback),
    (e: Error) => e instanceof DpmError && /--width must be ≥ 120/.test(e.message),
  );
  await assert.rejects(
    simulate({ ...SMALL, height: 10 }, dir, silentFeedback),
    (e: Error) => e instanceof DpmError && /--height/.test(e.message),
  );
  await assert.rejects(
    simulate({ ...SMALL, dates: 2 }, dir, silentFeedback),
    (e: Error) => e instanceof DpmError && /--dates/.test(e.message),
  );
  assert.ok(!existsSync(dir), 'a refused run creates nothing');

  const busy = join(tmp, 'busy');
  mkdirSync(busy);
  writeFileSync(join(busy, 'notes.txt'), 'mine');
  await assert.rejects(
    simulate(SMALL, busy, silentFeedback),
    (e: Error) => e instanceof DpmError && /not empty/.test(e.message),
  );
  assert.deepEqual(readdirSync(busy), ['notes.txt']);
});

test('the toolbox algorithm returns every output the manifest declares', async () => {
  const dir = join(tmp, 'toolbox');
  const out = await execute(
    'simulate',
    { out: dir, width: '120', height: '60', dates: '4', seed: '2' },
    silentFeedback,
  );
  const spec = loadManifest().algorithms.find((a) => a.id === 'simulate')!;
  assert.deepEqual(Object.keys(out).sort(), spec.outputs.map((o) => o.name).sort());
  for (const k of ['folder', 'scene', 'damage', 'damage_mask', 'coherence', 'landcover'])
    assert.ok(existsSync(out[k] as string), k);
  const scene = JSON.parse(readFileSync(out.scene as string, 'utf8'));
  assert.equal(out.event_date, scene.event_date);
  assert.equal(out.aoi_window, scene.aoi_window);
  assert.equal(scene.event_index, 2, 'default event index: dates − 2');
});

test('cancel leaves no files; re-simulating into a scene folder replaces it', async () => {
  const dir = join(tmp, 'cancel');
  let calls = 0;
  const fb: Feedback = { progress: () => void calls++, log() {}, isCanceled: () => calls > 3 };
  await assert.rejects(simulate(SMALL, dir, fb, { blockRows: 8 }), CanceledError); // between blocks of SLC rows
  assert.ok(calls < 8, `cancelled while writing SLC blocks (${calls} progress calls)`);
  assert.ok(!existsSync(dir), 'a cancelled run leaves no folder');

  const re = join(tmp, 'replace');
  await simulate({ ...SMALL, dates: 8 }, re, silentFeedback);
  const r = await simulate({ ...SMALL, dates: 5, seed: 9 }, re, silentFeedback);
  const dated = readdirSync(re)
    .filter((e) => /^\d{8}$/.test(e))
    .sort();
  assert.deepEqual(dated, r.dates, "only the new scene's dates remain");
  assert.equal(JSON.parse(readFileSync(r.scene, 'utf8')).seed, 9);
  assert.equal(listFiles(re).filter((f) => f.includes('.dpm-tmp-')).length, 0);
});
