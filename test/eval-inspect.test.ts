// `dpm inspect` with a tiny random model on the CPU reference engine: the JSON series are the model's one-step
// forecasts (μ, σ, z = (μ − x)/σ for every step, co-event last), one SVG + PNG per pixel with dates on the x axis;
// a pixel outside the stack or a malformed --pixel → one DpmError and no files.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execute } from '../host/toolbox/execute.js';
import { silentFeedback } from '../host/core/feedback.js';
import { writeCoherenceStack } from '../host/raster/stack.js';
import type { CoherenceStack } from '../host/raster/types.js';
import { initParams } from '../host/model/init.js';
import { Rng } from '../host/model/rng.js';
import { saveModel } from '../host/model/safetensors.js';
import { coherenceToLogit } from '../host/model/series.js';
import { formatPlace, lonLatOfPixel, parseLonLats, parsePixels, pixelOfLonLat } from '../host/toolbox/inspect.js';
import { DpmError } from '../host/core/errors.js';
import { UTM_GT, mulberry32, tempDir } from './eval-helpers.js';
import { at } from './at.js';

const DATES = [
  '20200101',
  '20200113',
  '20200125',
  '20200206',
  '20200218',
  '20200301',
  '20200313',
  '20200325',
  '20200406',
];

async function fixture() {
  const dir = tempDir('inspect');
  const rng = mulberry32(9);
  const K = 8,
    W = 4,
    H = 3;
  const stack: CoherenceStack = {
    width: W,
    height: H,
    bands: Array.from({ length: K }, () => Float32Array.from({ length: W * H }, () => 0.2 + 0.7 * rng())),
    descriptions: [],
    pairs: DATES.slice(0, K).map((d, k) => ({ first: d, second: at(DATES, k + 1) })),
    georef: { geoTransform: UTM_GT, epsg: 32633 },
  };
  at(stack.bands, 2)[5] = NaN; // a missing step in pixel (1,1)
  const stackPath = join(dir, 'stack.tif');
  await writeCoherenceStack(stackPath, stack);
  const cfg = { hidden: 4, mlp: 4, features: 1 };
  const modelPath = join(dir, 'model.safetensors');
  saveModel(modelPath, cfg, initParams(cfg, new Rng(3)));
  return { dir, stack, stackPath, modelPath, out: join(dir, 'out') };
}

test('inspect writes Fig. 6 per pixel and the series; z = (μ − x)/σ at every step', async () => {
  const f = await fixture();
  await execute(
    'inspect',
    { coherence: f.stackPath, model: f.modelPath, pixel: ['1,1', '2,3'], 'out-dir': f.out, device: 'cpu' },
    silentFeedback,
  );
  assert.deepEqual(readdirSync(f.out).sort(), [
    'inspect.json',
    'inspect_r1_c1.png',
    'inspect_r1_c1.svg',
    'inspect_r2_c3.png',
    'inspect_r2_c3.svg',
  ]);
  const j = JSON.parse(readFileSync(join(f.out, 'inspect.json'), 'utf8'));
  assert.equal(j.pixels.length, 2);
  for (const p of j.pixels) {
    assert.equal(p.pairs.length, 8); // 7 pre-event steps + the co-event pair (default split: last band)
    assert.equal(p.pairs[7], '20200325_20200406');
    p.pairs.forEach((_: string, k: number) => {
      const g = at(at(f.stack.bands, k), p.row * 4 + p.col);
      const x = coherenceToLogit(g);
      if (Number.isNaN(g)) {
        assert.equal(p.x[k], null);
        assert.equal(p.z[k], null);
        return;
      }
      assert.ok(Math.abs(p.x[k] - x) < 1e-12);
      assert.ok(p.sigma[k] > 0);
      // z is computed in float32 by the engine path: relative 1e-5 covers the rounding of μ, σ and x
      assert.ok(Math.abs(p.z[k] - (p.mu[k] - x) / p.sigma[k]) < 1e-5 * Math.max(1, Math.abs(p.z[k])), `z step ${k}`);
    });
  }
  assert.equal(j.pixels[0].x[2], null); // the NaN step stays missing
  const svg = readFileSync(join(f.out, 'inspect_r2_c3.svg'), 'utf8');
  assert.match(svg, /pixel \(row 2, col 3\) at [0-9.]+° N, [0-9.]+° E: co-event z = -?\d+\.\d\d/);
  assert.match(svg, /2020-0[1-4]-\d\d/); // dates on the x axis
  assert.deepEqual([...readFileSync(join(f.out, 'inspect_r2_c3.png')).subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
});

test('inspect: bad pixels → one DpmError, nothing written', async () => {
  const f = await fixture();
  const base = { coherence: f.stackPath, model: f.modelPath, 'out-dir': f.out, device: 'cpu' };
  await assert.rejects(
    execute('inspect', { ...base, pixel: ['1,1', '3,0'] }, silentFeedback),
    (e: unknown) => e instanceof DpmError && /--pixel 3,0 is outside .*3 rows × 4 columns/.test(e.message),
  );
  assert.ok(!existsSync(f.out));
  await assert.rejects(
    execute('inspect', { ...base, pixel: '1' }, silentFeedback),
    (e: unknown) => e instanceof DpmError && /ROW,COL pairs/.test(e.message),
  );
  await assert.rejects(
    execute('inspect', { ...base, pixel: '1,1', 'event-date': '20300101' }, silentFeedback),
    (e: unknown) => e instanceof DpmError && /no band's pair spans the event date/.test(e.message),
  );
  assert.ok(!existsSync(f.out));
  assert.deepEqual(parsePixels(['3,4', '5,6']), [
    { row: 3, col: 4 },
    { row: 5, col: 6 },
  ]);
  assert.deepEqual(parsePixels(['3', '4', '5', '6']), [
    { row: 3, col: 4 },
    { row: 5, col: 6 },
  ]);
  assert.throws(() => parsePixels(['1.5,2']), DpmError);
});

test('inspect --lonlat: the pixel holding the place, the same series as --pixel, the place in the JSON and title', async () => {
  const f = await fixture();
  // the centre of pixel (2, 1) in WGS84, and a point 0.2/0.3 pixel off it (still inside that pixel's footprint)
  const centre = lonLatOfPixel(f.stack.georef, f.stack.width, 2, 1);
  assert.ok(centre);
  const off = lonLatOfPixel(f.stack.georef, f.stack.width, 2.2, 1.3);
  assert.ok(off);
  assert.deepEqual(pixelOfLonLat(f.stack.georef, f.stack.width, f.stack.height, off.lon, off.lat), { row: 2, col: 1 });
  assert.equal(pixelOfLonLat(f.stack.georef, f.stack.width, f.stack.height, off.lon + 1, off.lat), undefined);
  const base = { coherence: f.stackPath, model: f.modelPath, device: 'cpu' as const };
  await execute(
    'inspect',
    { ...base, lonlat: `${centre.lon},${centre.lat}`, 'out-dir': join(f.dir, 'll') },
    silentFeedback,
  );
  await execute('inspect', { ...base, pixel: '2,1', 'out-dir': join(f.dir, 'px') }, silentFeedback);
  const ll = JSON.parse(readFileSync(join(f.dir, 'll', 'inspect.json'), 'utf8'));
  const px = JSON.parse(readFileSync(join(f.dir, 'px', 'inspect.json'), 'utf8'));
  assert.deepEqual(ll.pixels, px.pixels); // bit for bit: the same pixel through either way of naming it
  assert.equal(ll.pixels[0].row, 2);
  // the place of the pixel centre, as the QGIS tool and titles show it (float32 → float64 round trip: 1e-9 degrees)
  assert.ok(Math.abs(ll.pixels[0].lon - centre.lon) < 1e-9 && Math.abs(ll.pixels[0].lat - centre.lat) < 1e-9);
  const svg = readFileSync(join(f.dir, 'll', 'inspect_r2_c1.svg'), 'utf8');
  assert.ok(svg.includes(formatPlace(centre)), `title without the place ${formatPlace(centre)}`);
  await assert.rejects(
    execute('inspect', { ...base, 'out-dir': join(f.dir, 'none') }, silentFeedback),
    (e: unknown) => e instanceof DpmError && /--pixel ROW,COL or --lonlat LON,LAT/.test(e.message),
  );
  assert.throws(() => parseLonLats(['200,10']), DpmError);
});
