// SLC readers: VRT and ISCE2 XML headers (real files from isce3 and our own variants), complex GeoTIFFs (CInt16,
// CFloat32; strips, tiles, deflate, both byte orders), real-data coherence sanity checks, and fuzzed/truncated inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needsShared, sharedPath } from './shared.js';
import { DpmError } from '../host/core/errors.js';
import { parseIsceXml, parseVrt } from '../host/sar/headers.js';
import { openRaster, dateFromName, discoverStack, type RasterSource } from '../host/sar/readers.js';
import { coherenceWasm } from '../host/sar/kernel.js';
import { complexTiff, isceXml, maxDiff, rawVrt, rng, writeIsceSlc } from './sar-helpers.js';
import { coherenceStackFromSlc } from '../host/sar/coherence-job.js';
import { coherenceReference } from '../host/sar/reference.js';
import { silentFeedback } from '../host/core/feedback.js';
import { at } from './at.js';
import { parseChipLayout } from '../host/core/chip.js';

const real = sharedPath('data', 'real', 'isce3-slc-chips');
const withRealChips = needsShared('data', 'real', 'isce3-slc-chips');
const tmp = mkdtempSync(join(tmpdir(), 'dpm-sar-readers-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

/** Reads the whole raster and closes it. */
async function readAll(src: RasterSource): Promise<Float32Array> {
  try {
    const out = new Float32Array(src.width * src.height * (src.complex ? 2 : 1));
    await src.read(0, src.height, 0, src.width, out);
    return out;
  } finally {
    await src.close();
  }
}

async function expectDpmError(p: Promise<unknown>, mention: RegExp, label: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(
      e instanceof DpmError,
      `${label}: expected a DpmError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
    );
    assert.match(e.message, mention, `${label}: message '${e.message}'`);
    return true;
  });
}

test('real isce3 headers: VRT and ISCE2 XML of warped_winnipeg describe the same raw file', withRealChips, async () => {
  const vrt = parseVrt(
    readFileSync(join(real, 'warped_winnipeg.slc.vrt'), 'utf8'),
    join(real, 'warped_winnipeg.slc.vrt'),
  );
  const xml = parseIsceXml(
    readFileSync(join(real, 'warped_winnipeg.slc.xml'), 'utf8'),
    join(real, 'warped_winnipeg.slc.xml'),
  );
  for (const s of [vrt, xml]) {
    assert.equal(
      s.file,
      join(real, 'warped_winnipeg.slc'),
      "the XML file_name (a path on the author's machine) is ignored",
    );
    assert.deepEqual(
      [s.width, s.height, s.dataType, s.littleEndian, s.imageOffset, s.pixelOffset, s.lineOffset],
      [250, 250, 'CFloat32', true, 0, 8, 2000],
    );
  }
  const env = parseVrt(
    readFileSync(join(real, 'warped_envisat.slc.vrt'), 'utf8'),
    join(real, 'warped_envisat.slc.vrt'),
  );
  assert.deepEqual([env.width, env.height, env.lineOffset, env.epsg], [500, 500, 4000, 4326]);
  assert.deepEqual(env.geoTransform, [0, 1, 0, 0, 0, 1]);
  // the raw path opens through the VRT beside it; the XML path gives identical samples
  const a = await openRaster(join(real, 'warped_winnipeg.slc'));
  const b = await openRaster(join(real, 'warped_winnipeg.slc.xml'));
  const da = await readAll(a),
    db = await readAll(b);
  assert.deepEqual(da, db);
  const a2 = await openRaster(join(real, 'warped_winnipeg.slc'));
  let zeros = 0;
  for (let i = 0; i < da.length; i += 2) if (da[i] === 0 && da[i + 1] === 0) zeros++;
  assert.equal(zeros, 3936, 'README: 3,936 zero pixels');
  // a window read equals the same part of a full read
  const win = new Float32Array(7 * 11 * 2);
  await a2.read(100, 7, 30, 11, win);
  await a2.close();
  for (let r = 0; r < 7; r++) for (let c = 0; c < 22; c++) assert.equal(win[r * 22 + c], da[(100 + r) * 500 + 60 + c]);
});

test(
  'real ENVISAT SLC: with itself γ = 1 where valid; with a random phase screen the small-sample floor',
  withRealChips,
  async () => {
    const src = await openRaster(join(real, 'warped_envisat.slc.vrt'));
    const s = await readAll(src);
    let zeros = 0;
    for (let i = 0; i < s.length; i += 2) if (s[i] === 0 && s[i + 1] === 0) zeros++;
    assert.equal(zeros, 9410, 'README: 9,410 exact zeros');
    const chip = { cr: 15, ca: 5, sr: 15, sa: 5 };
    const self = await coherenceWasm(s, s, 500, 500, chip);
    let valid = 0,
      nan = 0;
    for (let i = 0; i < self.data.length; i++) {
      const r = Math.floor(i / self.outW),
        c = i % self.outW;
      let any = false;
      for (let y = r * 5; y < r * 5 + 5 && !any; y++)
        for (let x = c * 15; x < c * 15 + 15; x++)
          if (s[2 * (y * 500 + x)] !== 0 || s[2 * (y * 500 + x) + 1] !== 0) {
            any = true;
            break;
          }
      if (any) {
        valid++;
        // |Σ|s|²| / Σ|s|² = 1 up to float32 output rounding (clipped, never above 1)
        assert.ok(at(self.data, i) <= 1 && at(self.data, i) > 1 - 1e-6, `chip ${i}: γ(s, s) = ${self.data[i]}`);
      } else {
        nan++;
        assert.ok(Number.isNaN(self.data[i]), `chip ${i} holds only zero samples → NaN`);
      }
    }
    assert.ok(valid > 3000 && nan > 0, `${valid} valid chips, ${nan} all-zero chips`);

    // s2 = s1 · e^{iφ}, φ uniform and independent per sample: true coherence 0. Given the amplitudes, E[γ̂²] =
    // Σ|s|⁴ / (Σ|s|²)² exactly (the cross terms average out), the amplitude-weighted version of 1/N looks.
    const rand = rng(7);
    const s2 = new Float32Array(s.length);
    for (let i = 0; i < s.length; i += 2) {
      const phi = 2 * Math.PI * rand();
      const c = Math.cos(phi),
        sn = Math.sin(phi);
      s2[i] = at(s, i) * c - at(s, i + 1) * sn;
      s2[i + 1] = at(s, i) * sn + at(s, i + 1) * c;
    }
    const screen = await coherenceWasm(s, s2, 500, 500, chip);
    let sumG2 = 0,
      sumExp = 0,
      sumVar = 0,
      sumG = 0,
      n = 0;
    for (let i = 0; i < screen.data.length; i++) {
      const g = at(screen.data, i);
      if (Number.isNaN(g)) continue;
      const r = Math.floor(i / screen.outW),
        c = i % screen.outW;
      let p = 0,
        p2 = 0;
      for (let y = r * 5; y < r * 5 + 5; y++)
        for (let x = c * 15; x < c * 15 + 15; x++) {
          const w = at(s, 2 * (y * 500 + x)) ** 2 + at(s, 2 * (y * 500 + x) + 1) ** 2;
          p += w;
          p2 += w * w;
        }
      const e = p2 / (p * p);
      sumG2 += g * g;
      sumG += g;
      sumExp += e;
      sumVar += e * e; // Var(γ̂²) ≤ ~E² for a sum of random unit phasors (exponential-like): conservative
      n++;
    }
    const tol = (4.5 * Math.sqrt(sumVar)) / n;
    assert.ok(
      Math.abs(sumG2 / n - sumExp / n) < tol,
      `mean γ̂² ${(sumG2 / n).toFixed(4)} vs E ${(sumExp / n).toFixed(4)} ± ${tol.toFixed(4)}`,
    );
    // and the floor sits where N = 75 looks put it: between the 75-look value sqrt(π/300) = 0.102 and twice that
    // (real amplitudes vary, so the effective number of looks is below 75)
    assert.ok(sumG / n > 0.1 && sumG / n < 0.2, `mean γ̂ ${(sumG / n).toFixed(3)}`);
  },
);

test('header variants: MSB, CInt16, padded lines, image offset, XML BIP/BSQ, absolute paths', async () => {
  const w = 9,
    h = 4;
  const rand = rng(11);
  const vals = Array.from({ length: w * h * 2 }, () => Math.round((rand() - 0.5) * 2000));
  const expect = Float32Array.from(vals);
  // big-endian CFloat32 with 16 bytes of header and 3 pad samples per line
  const pad = 3,
    off = 16;
  const be = Buffer.alloc(off + h * (w + pad) * 8);
  for (let r = 0; r < h; r++)
    for (let c = 0; c < w; c++) {
      be.writeFloatBE(at(vals, 2 * (r * w + c)), off + (r * (w + pad) + c) * 8);
      be.writeFloatBE(at(vals, 2 * (r * w + c) + 1), off + (r * (w + pad) + c) * 8 + 4);
    }
  writeFileSync(join(tmp, 'be.raw'), be);
  writeFileSync(
    join(tmp, 'be.raw.vrt'),
    rawVrt('be.raw', w, h, 'CFloat32', 8, (w + pad) * 8, { byteOrder: 'MSB', imageOffset: off }),
  );
  assert.deepEqual(await readAll(await openRaster(join(tmp, 'be.raw'))), expect);
  // CInt16, absolute SourceFilename with relativeToVRT="0", attribute order and quotes shuffled
  const i16 = Buffer.alloc(w * h * 4);
  vals.forEach((v, k) => i16.writeInt16LE(v, k * 2));
  writeFileSync(join(tmp, 'i16.raw'), i16);
  const v2 = rawVrt(join(tmp, 'i16.raw'), w, h, 'CInt16', 4, w * 4, { relative: false }).replace(
    'dataType="CInt16" band="1" subClass="VRTRawRasterBand"',
    "subClass='VRTRawRasterBand' band='1' dataType='cint16'",
  );
  writeFileSync(join(tmp, 'i16.vrt'), v2);
  assert.deepEqual(await readAll(await openRaster(join(tmp, 'i16.vrt'))), expect);
  // ISCE2 XML, 2-band BIP file (band 1 wanted) and big-endian BIL with 2 bands
  const bip = Buffer.alloc(w * h * 16);
  const bil = Buffer.alloc(w * h * 16);
  for (let r = 0; r < h; r++)
    for (let c = 0; c < w; c++) {
      const k = r * w + c;
      bip.writeFloatLE(at(vals, 2 * k), k * 16);
      bip.writeFloatLE(at(vals, 2 * k + 1), k * 16 + 4);
      bip.writeFloatLE(-1, k * 16 + 8);
      bip.writeFloatLE(-1, k * 16 + 12);
      bil.writeFloatBE(at(vals, 2 * k), (r * 2 * w + c) * 8);
      bil.writeFloatBE(at(vals, 2 * k + 1), (r * 2 * w + c) * 8 + 4);
    }
  writeFileSync(join(tmp, 'bip.slc'), bip);
  writeFileSync(join(tmp, 'bip.slc.xml'), isceXml('bip.slc', w, h, 'CFLOAT', 'l', { bands: 2, scheme: 'BIP' }));
  assert.deepEqual(await readAll(await openRaster(join(tmp, 'bip.slc'))), expect);
  writeFileSync(join(tmp, 'bil.slc'), bil);
  writeFileSync(join(tmp, 'bil.slc.xml'), isceXml('bil.slc', w, h, 'CFLOAT', 'b', { bands: 2, scheme: 'BIL' }));
  assert.deepEqual(await readAll(await openRaster(join(tmp, 'bil.slc.xml'))), expect);
  // float64 lookup (lat.rdr) read as float64
  const lat = Buffer.alloc(w * h * 8);
  for (let k = 0; k < w * h; k++) lat.writeDoubleLE(34.123456789 + k * 1e-7, k * 8);
  writeFileSync(join(tmp, 'lat.rdr'), lat);
  writeFileSync(join(tmp, 'lat.rdr.xml'), isceXml('lat.rdr', w, h, 'DOUBLE', 'l'));
  const ls = await openRaster(join(tmp, 'lat.rdr'));
  const lv = new Float64Array(w * h);
  await ls.read(0, h, 0, w, lv);
  await ls.close();
  assert.equal(lv[5], 34.123456789 + 5e-7, 'float64 lookups keep full precision');
});

test('complex GeoTIFF: CInt16 and CFloat32, strips and tiles, none, deflate and LZW, both byte orders', async () => {
  const w = 37,
    h = 23;
  const rand = rng(12);
  const data = Float32Array.from({ length: w * h * 2 }, () => Math.round((rand() - 0.5) * 30000));
  const cases: [string, Parameters<typeof complexTiff>[3]][] = [
    ['s1-safe-like CInt16 strips', { type: 'CInt16', rowsPerStrip: 1 }],
    ['CInt16 big-endian deflate strips', { type: 'CInt16', littleEndian: false, rowsPerStrip: 5, compression: 8 }],
    [
      'CFloat32 tiles deflate',
      { type: 'CFloat32', tile: [16, 16], compression: 8, geoTransform: [500000, 10, 0, 4000000, 0, -10], epsg: 32638 },
    ],
    ['CFloat32 big-endian tiles', { type: 'CFloat32', littleEndian: false, tile: [32, 16] }],
    ['CInt16 LZW strips', { type: 'CInt16', rowsPerStrip: 4, compression: 5 }],
    ['CFloat32 LZW tiles', { type: 'CFloat32', tile: [16, 16], compression: 5 }],
  ];
  for (const [label, o] of cases) {
    const f = join(tmp, `${label.replace(/\W+/g, '_')}.tif`);
    writeFileSync(f, complexTiff(w, h, data, o));
    assert.deepEqual(await readAll(await openRaster(f)), data, `${label}: all samples`);
    const src = await openRaster(f);
    assert.equal(src.dataType, o.type, label);
    const win = new Float32Array(9 * 20 * 2);
    await src.read(13, 9, 15, 20, win); // crosses strip/tile borders
    for (let r = 0; r < 9; r++)
      for (let c = 0; c < 40; c++) assert.equal(win[r * 40 + c], data[(13 + r) * w * 2 + 30 + c], `${label}: window`);
    if (o.geoTransform) {
      assert.deepEqual(src.geoTransform, o.geoTransform, `${label}: geotransform`);
      assert.equal(src.epsg, 32638);
    }
    await src.close();
  }
});

test('big-endian TIFF with hundreds of strips (geotiff.js 3.0.5 byte-swaps such offset tables; we read them ourselves)', async () => {
  const w = 8,
    h = 600;
  const data = Float32Array.from({ length: w * h * 2 }, (_, i) => (i % 301) - 150);
  const f = join(tmp, 'be-many-strips.tif');
  writeFileSync(f, complexTiff(w, h, data, { type: 'CInt16', littleEndian: false, rowsPerStrip: 1 }));
  assert.deepEqual(await readAll(await openRaster(f)), data);
});

test('mosaic VRT (ISCE2 topsStack virtual merge of bursts): pieces placed, later wins, gaps read as 0', async () => {
  const w = 30,
    h = 20;
  const rand = rng(21);
  const full = Float32Array.from({ length: w * h * 2 }, () => Math.round((rand() - 0.5) * 1000));
  const dir = join(tmp, 'mosaic');
  // burst 1: mosaic rows 0–8 = rows 2–10 of a 12-row file; burst 2: mosaic rows 7–19, columns 0–24 = its rows 0–12;
  // burst 2 overwrites rows 7–8 (later source wins); columns 25–29 of rows 9–19 are covered by no burst
  const b1 = new Float32Array(w * 12 * 2).fill(-7);
  b1.set(full.subarray(0, w * 9 * 2), w * 2 * 2);
  const b2 = new Float32Array(25 * 13 * 2);
  for (let r = 0; r < 13; r++) b2.set(full.subarray(2 * ((7 + r) * w), 2 * ((7 + r) * w + 25)), r * 25 * 2);
  b2[0] = 12345; // row 7, column 0 differs from burst 1: the later source must win
  writeIsceSlc(dir, 'burst_01', w, 12, b1);
  writeIsceSlc(dir, 'burst_02', 25, 13, b2);
  const src = (f: string, s: number[], d: number[]) => `    <SimpleSource>
      <SourceFilename relativeToVRT="1">${f}</SourceFilename>
      <SourceBand>1</SourceBand>
      <SrcRect xOff="${s[0]}" yOff="${s[1]}" xSize="${s[2]}" ySize="${s[3]}"/>
      <DstRect xOff="${d[0]}" yOff="${d[1]}" xSize="${d[2]}" ySize="${d[3]}"/>
    </SimpleSource>
`;
  const vrt = `<VRTDataset rasterXSize="${w}" rasterYSize="${h}">
  <VRTRasterBand dataType="CFloat32" band="1">
${src('@/burst_01/burst_01.slc.full.vrt', [0, 2, w, 9], [0, 0, w, 9])}${src('@/burst_02/burst_02.slc.full.vrt', [0, 0, 25, 13], [0, 7, 25, 13])}  </VRTRasterBand>
</VRTDataset>
`;
  mkdirSync(join(dir, '20200101'), { recursive: true });
  const mp = join(dir, '20200101', '20200101.slc.full.vrt');
  writeFileSync(mp, vrt.replace(/@/g, '..'));
  const expect = full.slice();
  expect[2 * (7 * w)] = 12345;
  for (let r = 9; r < h; r++)
    for (let c = 25; c < w; c++) {
      expect[2 * (r * w + c)] = 0;
      expect[2 * (r * w + c) + 1] = 0;
    }
  assert.deepEqual(await readAll(await openRaster(mp)), expect);
  // a window read, rows in two steps (pieces are closed once reads pass below them)
  const m = await openRaster(mp);
  const a = new Float32Array(5 * 10 * 2),
    b = new Float32Array(5 * 10 * 2);
  await m.read(5, 5, 20, 10, a);
  await m.read(10, 5, 20, 10, b);
  await m.close();
  for (let r = 0; r < 5; r++)
    for (let c = 0; c < 20; c++) {
      assert.equal(a[r * 20 + c], expect[2 * ((5 + r) * w + 20) + c]);
      assert.equal(b[r * 20 + c], expect[2 * ((10 + r) * w + 20) + c]);
    }
  // the date folder holding only the virtual .slc.full.vrt is found by the stack discovery
  mkdirSync(join(dir, 'stack', '20200113'), { recursive: true });
  writeFileSync(join(dir, 'stack', '20200113', '20200113.slc.full.vrt'), vrt.replace(/@/g, '../..'));
  writeIsceSlc(join(dir, 'stack'), '20200101', w, h, full);
  const found = discoverStack([join(dir, 'stack')]);
  assert.ok(at(found.entries, 1).path.endsWith('20200113.slc.full.vrt'));
  const { stack } = await coherenceStackFromSlc(
    { slc: [join(dir, 'stack')], layout: parseChipLayout('5x3', '1x1') },
    silentFeedback,
  );
  const ref = coherenceReference(full, expect, w, h, { cr: 5, ca: 3, sr: 1, sa: 1 });
  // same sums in another order, float32 output (coherence-kernel.test.ts); gap chips are NaN in both
  const d = maxDiff(at(stack.bands, 0), ref.data);
  assert.ok(d.max < 1e-6 && d.nanMismatch === 0, JSON.stringify(d));
  assert.ok(
    ref.data.some((v) => Number.isNaN(v)),
    'the uncovered corner gives NaN chips',
  );
  // errors: resampling, a missing burst, a rectangle outside its source
  const bad = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text.replace(/@/g, '.'));
    return p;
  };
  await expectDpmError(
    openRaster(
      bad(
        'r.vrt',
        vrt.replace(
          'xSize="25" ySize="13"/>\n      <DstRect xOff="0" yOff="7" xSize="25"',
          'xSize="25" ySize="13"/>\n      <DstRect xOff="0" yOff="7" xSize="20"',
        ),
      ),
    ),
    /r\.vrt: source 2: .*resampling is not supported/,
    'resampling',
  );
  await expectDpmError(
    openRaster(bad('m.vrt', vrt.replace('burst_02/burst_02', 'burst_09/burst_09'))),
    /m\.vrt: source 2 .*burst_09.*no such file/,
    'missing burst',
  );
  await expectDpmError(
    openRaster(bad('o.vrt', vrt.replace('yOff="2" xSize="30" ySize="9"', 'yOff="4" xSize="30" ySize="9"'))),
    /o\.vrt: source 1 .*SrcRect reaches outside/,
    'outside',
  );
});

test('dates and stack discovery', async () => {
  assert.equal(dateFromName('s1a-iw1-slc-vv-20230206t034413-20230206t034438-047081-05a5fe-004.tiff'), '20230206');
  assert.equal(dateFromName('20190132.slc'), undefined, 'not a calendar date');
  assert.equal(dateFromName('x_12345678_20200229'), '20200229');
  const dir = join(tmp, 'stack');
  const z = new Float32Array(8 * 6 * 2).fill(1);
  for (const d of ['20200113', '20200101', '20200125']) writeIsceSlc(dir, d, 8, 6, z);
  const found = discoverStack([dir]);
  assert.deepEqual(
    found.entries.map((e) => e.date),
    ['20200101', '20200113', '20200125'],
  );
  assert.ok(at(found.entries, 0).path.endsWith('20200101/20200101.slc.full'));
  // topsStack layout: <dir>/merged/SLC/<date>/…
  const tops = join(tmp, 'tops');
  for (const d of ['20210101', '20210113']) writeIsceSlc(join(tops, 'merged', 'SLC'), d, 8, 6, z);
  assert.equal(discoverStack([tops]).entries.length, 2);
  assert.equal(discoverStack([tops]).lat, undefined);
  mkdirSync(join(tops, 'merged', 'geom_reference'), { recursive: true });
  for (const n of ['lat', 'lon'])
    writeFileSync(
      join(tops, 'merged', 'geom_reference', `${n}.rdr.full.vrt`),
      rawVrt(`${n}.rdr.full`, 8, 6, 'Float64', 8, 64),
    );
  const t = discoverStack([tops]);
  assert.ok(
    t.lat?.endsWith('merged/geom_reference/lat.rdr.full.vrt') && t.lon?.endsWith('lon.rdr.full.vrt'),
    'topsStack lookups found',
  );
  assert.equal(discoverStack([join(tops, 'merged', 'SLC')]).lat, t.lat, 'also from merged/SLC');
  // explicit list, out of order
  const list = discoverStack([
    join(dir, '20200125', '20200125.slc.full'),
    join(dir, '20200101', '20200101.slc.full.vrt'),
  ]);
  assert.deepEqual(
    list.entries.map((e) => e.date),
    ['20200101', '20200125'],
  );
  await expectDpmError(
    Promise.resolve().then(() =>
      discoverStack([join(dir, '20200101', '20200101.slc.full'), join(dir, '20200101', '20200101.slc.full.xml')]),
    ),
    /two SLCs for 20200101/,
    'duplicate date',
  );
  await expectDpmError(
    Promise.resolve().then(() => discoverStack([join(dir, '20200101', '20200101.slc.full')])),
    /at least two/,
    'one date',
  );
  await expectDpmError(
    Promise.resolve().then(() => discoverStack([`${tmp}/nothing-here`])),
    /no such file/,
    'missing',
  );
});

test('truncated or corrupted headers and files → one DpmError naming the file', async () => {
  const w = 12,
    h = 5;
  const data = Float32Array.from({ length: w * h * 2 }, (_, i) => i + 1);
  const f = writeIsceSlc(join(tmp, 'bad'), '20200101', w, h, data);
  const vrtText = readFileSync(`${f}.vrt`, 'utf8');
  const xmlText = readFileSync(`${f}.xml`, 'utf8');
  // every truncation of both headers is either rejected with a DpmError or (rarely) still complete and valid
  for (const [ext, text] of [
    ['vrt', vrtText],
    ['xml', xmlText],
  ] as const) {
    for (let cut = 0; cut < text.length; cut += 7) {
      const p = join(tmp, 'bad', `cut.slc.full.${ext}`);
      writeFileSync(p, text.slice(0, cut));
      writeFileSync(join(tmp, 'bad', 'cut.slc.full'), readFileSync(f));
      try {
        const s = await openRaster(p);
        await s.close();
      } catch (e) {
        assert.ok(e instanceof DpmError, `${ext} cut at ${cut}: ${e instanceof Error ? e.message : e}`);
        assert.ok(e.message.includes('cut.slc.full'), `names the file: ${e.message}`);
      }
    }
  }
  const bad = (name: string, text: string) => {
    const p = join(tmp, 'bad', name);
    writeFileSync(p, text);
    return p;
  };
  await expectDpmError(
    openRaster(bad('a.vrt', vrtText.replace('rasterXSize="12"', 'rasterXSize="-3"'))),
    /a\.vrt: rasterXSize/,
    'negative size',
  );
  await expectDpmError(
    openRaster(bad('b.vrt', vrtText.replace('CFloat32', 'CFloat16'))),
    /b\.vrt: data type 'CFloat16'/,
    'bad type',
  );
  await expectDpmError(
    openRaster(bad('c.vrt', vrtText.replace('VRTRawRasterBand', 'VRTSourcedRasterBand'))),
    /supported: VRTRawRasterBand/,
    'sourced band without sources',
  );
  await expectDpmError(
    openRaster(bad('d.vrt', vrtText.replace('20200101.slc.full<', 'gone.slc<'))),
    /gone\.slc: data file named by .*d\.vrt/,
    'missing data',
  );
  await expectDpmError(
    openRaster(bad('e.vrt', vrtText.replace('<LineOffset>96<', '<LineOffset>40<'))),
    /LineOffset 40/,
    'line offset',
  );
  await expectDpmError(
    openRaster(bad('f.xml', xmlText.replace('<value>CFLOAT<', '<value>CMPLX<'))),
    /f\.xml: data_type 'CMPLX'/,
    'xml type',
  );
  await expectDpmError(
    openRaster(
      bad(
        'g.xml',
        xmlText
          .replace(/<property name="width">[\s\S]*?<\/property>/, '')
          .replace(/<component name="coordinate1">[\s\S]*?<\/component>/, ''),
      ),
    ),
    /g\.xml: width/,
    'xml width',
  );
  await expectDpmError(openRaster(bad('h.vrt', '\u0000\u0001garbage')), /not a GDAL VRT/, 'binary garbage');
  // the raw file shorter than the header says
  writeFileSync(join(tmp, 'bad', 'short.slc'), readFileSync(f).subarray(0, w * h * 8 - 9));
  writeFileSync(join(tmp, 'bad', 'short.slc.vrt'), vrtText.replace('20200101.slc.full<', 'short.slc<'));
  await expectDpmError(openRaster(join(tmp, 'bad', 'short.slc')), /short\.slc: file is truncated/, 'truncated raw');
  await expectDpmError(openRaster(join(tmp, 'bad', 'nohdr.slc')), /no such file/, 'no file');
  writeFileSync(join(tmp, 'bad', 'nohdr.slc'), 'x');
  await expectDpmError(openRaster(join(tmp, 'bad', 'nohdr.slc')), /without a header/, 'no header');
});

test('fuzzed complex GeoTIFFs: truncations and flipped bytes give a DpmError or a correct read, never a crash or hang', async () => {
  const w = 20,
    h = 10;
  const data = Float32Array.from({ length: w * h * 2 }, (_, i) => (i % 200) - 100);
  const good = complexTiff(w, h, data, { type: 'CInt16', rowsPerStrip: 3, compression: 8 });
  const rand = rng(13);
  const p = join(tmp, 'fuzz.tif');
  let errors = 0;
  for (let trial = 0; trial < 60; trial++) {
    let b = Buffer.from(good);
    if (trial < 30) b = b.subarray(0, Math.floor(rand() * good.length));
    else {
      for (let k = 0; k < 4; k++) {
        const i = Math.floor(rand() * b.length);
        b[i] = at(b, i) ^ (1 << Math.floor(rand() * 8));
      }
    }
    writeFileSync(p, b);
    try {
      const s = await openRaster(p);
      try {
        // a flipped size field can claim a huge image: read a bounded window of it
        const rows = Math.min(s.height, 64),
          cols = Math.min(s.width, 64);
        const out = new Float32Array(rows * cols * (s.complex ? 2 : 1));
        await s.read(0, rows, 0, cols, out);
      } finally {
        await s.close();
      }
    } catch (e) {
      errors++;
      assert.ok(e instanceof DpmError, `trial ${trial}: ${e instanceof Error ? `${e.name}: ${e.message}` : e}`);
      assert.ok(e.message.includes('fuzz.tif'), `names the file: ${e.message}`);
    }
  }
  assert.ok(errors >= 25, `${errors} of 60 damaged files rejected`);
  assert.ok(existsSync(p));
});
