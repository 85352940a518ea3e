// The temporal baseline as a second input feature (dpm train --time-baseline) and the calibration numbers
// (host/eval/calibration.ts).
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { calibrationStats, calibrationByLevel, fitSigmaScale } from '../host/eval/calibration.js';
import { createEngine } from '../host/engines/select.js';
import { forecastPixels, forecastSequences } from '../host/model/forecast.js';
import { initParams } from '../host/model/init.js';
import { Rng } from '../host/model/rng.js';
import { loadModel, saveModel } from '../host/model/safetensors.js';
import { SPAN_SCALE_DAYS, buildSeries, coherenceToLogit, modelTimeFeatures, splitBands } from '../host/model/series.js';
import { readRaster } from '../host/raster/geotiff.js';
import { writeCoherenceStack } from '../host/raster/stack.js';
import { datedStack } from './time-helpers.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'host', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'dpm-time-'));

test('the span feature of step t is the time span of the pair forecast next; the co-event span at the last step', () => {
  const stack = datedStack(3, 2, 5);
  const split = splitBands(stack, {}, true); // 4 pre-event bands, band 4 co-event
  const s = buildSeries(stack, split, undefined, ['span']);
  assert.equal(s.F, 2);
  assert.equal(s.x.length, 6 * 4 * 2);
  const spans = [24, 36, 12, 12]; // pairs 1..4 (the pair after each step)
  for (let i = 0; i < 6; i++) {
    for (let t = 0; t < 4; t++) {
      assert.equal(s.x[(i * 4 + t) * 2], Math.fround(coherenceToLogit(stack.bands[t]![i]!)));
      assert.equal(s.x[(i * 4 + t) * 2 + 1], Math.fround(spans[t]! / SPAN_SCALE_DAYS));
    }
  }
  // training on every band: nothing follows the last step → 0 (engines refuse NaN outside feature 0)
  const all = buildSeries(stack, splitBands(stack, { preEventBands: 5 }, false), undefined, ['span']);
  assert.equal(all.x[(0 * 5 + 4) * 2 + 1], 0);
  // without the option the layout is the paper's [N, T]
  assert.equal(buildSeries(stack, split).x.length, 6 * 4);
});

test('modelTimeFeatures: a 2-feature model must name its time feature; a 1-feature model names none', () => {
  assert.deepEqual(modelTimeFeatures(1, undefined, 'm'), []);
  assert.deepEqual(modelTimeFeatures(2, { timeFeatures: ['span'] }, 'm'), ['span']);
  assert.throws(() => modelTimeFeatures(2, {}, 'm.safetensors'), /m\.safetensors: the model takes 2 features/);
  assert.throws(() => modelTimeFeatures(2, { timeFeatures: ['moon'] }, 'm'), /known: logit coherence first, then span/);
});

test('dpm train --time-baseline records F = 2 and the feature; dpm forecast feeds the co-event span by itself', async () => {
  const stackPath = join(dir, 'stack.tif');
  const stack = datedStack(8, 5, 6);
  await writeCoherenceStack(stackPath, stack);
  const model = join(dir, 'model.safetensors');
  const env = { ...process.env, DPM_DEVICE: 'cpu' };
  const train = spawnSync(
    process.execPath,
    [cli, 'train', '--coherence', stackPath, '--out', model, '--hidden', '6', '--mlp', '5', '--epochs', '2'].concat([
      '--batch-size',
      '8',
      '--time-baseline',
    ]),
    { encoding: 'utf8', env },
  );
  assert.equal(train.status, 0, train.stderr);
  const m = loadModel(model);
  assert.equal(m.config.features, 2);
  assert.deepEqual(m.training?.timeFeatures, ['span']);
  const out = join(dir, 'forecast');
  const fc = spawnSync(
    process.execPath,
    [cli, 'forecast', '--coherence', stackPath, '--model', model, '--out-dir', out],
    {
      encoding: 'utf8',
      env,
    },
  );
  assert.equal(fc.status, 0, fc.stderr);
  const z = (await readRaster(join(out, 'zscore.tif'))).bands[0]!;
  // the same forecast built here with the reference engine; float32 CPU engine vs float64: 1e-4 on z
  const series = buildSeries(stack, splitBands(stack, {}, true), undefined, ['span']);
  const engine = await createEngine(m.config, { device: 'reference' });
  await engine.setParams(m.params);
  const ref = await forecastSequences(engine, series.x, series.N, series.T, { obs: series.obs });
  for (let i = 0; i < series.N; i++)
    assert.ok(Math.abs(z[i]! - ref.z[i]!) < 1e-4, `pixel ${i}: ${z[i]} vs ${ref.z[i]}`);
  // a different co-event span changes the forecast: the feature is used
  const shifted = series.x.slice();
  for (let i = 0; i < series.N; i++) shifted[(i * series.T + series.T - 1) * 2 + 1] = 3;
  const moved = await forecastSequences(engine, shifted, series.N, series.T, { obs: series.obs });
  assert.ok(moved.mu.some((v, i) => Math.abs(v - ref.mu[i]!) > 1e-6));
  // dpm inspect's path (forecastPixels) builds the same features: the same co-event z for a pixel
  const px = await forecastPixels(engine, stack, [{ row: 2, col: 3 }], splitBands(stack, {}, true), ['span']);
  assert.equal(px[0]!.z[series.T], ref.z[2 * 8 + 3]);
  engine.destroy();
  // a 2-feature file without the metadata is refused with the file's name
  const bare = join(dir, 'bare.safetensors');
  saveModel(bare, m.config, initParams(m.config, new Rng(1)), {});
  const bad = spawnSync(
    process.execPath,
    [cli, 'forecast', '--coherence', stackPath, '--model', bare, '--out-dir', out],
    {
      encoding: 'utf8',
      env,
    },
  );
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /bare\.safetensors: the model takes 2 features per step/);
});

test('calibrationStats: exact on a small set, near the normal values on standard normal z', () => {
  const c = calibrationStats([0, 1.5, 2.2, 3, NaN, Infinity]);
  assert.equal(c.n, 4);
  assert.deepEqual(c.coverage, [1 / 4, 2 / 4, 3 / 4]); // |z| ≤ 0.994, 1.960, 2.576
  assert.equal(c.meanZ, (0 + 1.5 + 2.2 + 3) / 4);
  assert.equal(fitSigmaScale([3, -3, NaN]), 3);
  const rng = new Rng(9);
  const n = 40_000;
  const z = Float64Array.from({ length: n }, () => rng.normal());
  const s = calibrationStats(z);
  // binomial sd of a share p over n draws: √(p(1−p)/n) ≤ 0.0025; 4 sd
  assert.ok(Math.abs(s.meanZ) < 0.02 && Math.abs(s.sdZ - 1) < 0.02, `${s.meanZ} ${s.sdZ}`);
  [0.68, 0.95, 0.99].forEach((p, k) => assert.ok(Math.abs(s.coverage[k]! - p) < 0.01, `${p}: ${s.coverage[k]}`));
  for (const h of s.pitHistogram) assert.ok(Math.abs(h - 0.1) < 0.01, `PIT bin ${h}`);
  // z twice too wide: the scale fitted is 2 and the 95 % coverage drops to P(|N| ≤ 0.98) ≈ 0.67
  const wide = z.map((v) => 2 * v);
  assert.ok(Math.abs(fitSigmaScale(wide) - 2) < 0.04);
  assert.ok(Math.abs(calibrationStats(wide).coverage[1]! - 0.673) < 0.01);
  const byLevel = calibrationByLevel([1, 2, 3], [0.1, 0.5, 0.9], [0, 0.4, 1.0001]);
  assert.deepEqual(
    byLevel.map((b) => b.n),
    [1, 2],
  );
});
