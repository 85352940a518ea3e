// dpm calibrate: the numbers of calibration.json are those of the held-out one-step forecasts; --fit-scale writes a
// model whose σ scale forecast and a second calibration apply.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { calibrationStats } from '../host/eval/calibration.js';
import { createEngine } from '../host/engines/select.js';
import { forecastSequences } from '../host/model/forecast.js';
import { initParams } from '../host/model/init.js';
import { Rng } from '../host/model/rng.js';
import { loadModel, saveModel } from '../host/model/safetensors.js';
import { buildSeries, splitBands } from '../host/model/series.js';
import { readRaster } from '../host/raster/geotiff.js';
import { writeCoherenceStack } from '../host/raster/stack.js';
import { datedStack } from './time-helpers.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'host', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'dpm-calibrate-'));
const dpm = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, DPM_DEVICE: 'reference' } });

test('dpm calibrate scores the last --holdout pairs; --fit-scale stores s and forecast applies it', async () => {
  const stack = datedStack(8, 6, 6, 21);
  const stackPath = join(dir, 'stack.tif');
  await writeCoherenceStack(stackPath, stack);
  const config = { hidden: 5, mlp: 4, features: 2 };
  const params = initParams(config, new Rng(6));
  const model = join(dir, 'model.safetensors');
  saveModel(model, config, params, { timeFeatures: ['span'], T: 4 });
  const out = join(dir, 'cal');
  const r = dpm('calibrate', '--coherence', stackPath, '--model', model, '--out-dir', out, '--fit-scale');
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(readFileSync(join(out, 'calibration.json'), 'utf8'));
  assert.deepEqual(report.heldOut, stack.descriptions.slice(4));
  // the same numbers from the one-step forecasts of bands 4 and 5
  const series = buildSeries(stack, splitBands(stack, { preEventBands: 6 }, false), undefined, ['span']);
  const engine = await createEngine(config, { device: 'reference' });
  await engine.setParams(params);
  const f = await forecastSequences(engine, series.x, series.N, series.T, { series: true });
  engine.destroy();
  const z = [4, 5].flatMap((k) => Array.from({ length: series.N }, (_, i) => f.series!.z[i * 7 + k]!));
  const want = calibrationStats(z);
  assert.ok(Math.abs(report.overall.meanZ - want.meanZ) < 1e-9);
  assert.ok(Math.abs(report.overall.sdZ - want.sdZ) < 1e-9);
  assert.deepEqual(report.overall.coverage, want.coverage);
  assert.equal(report.perPair.length, 2);
  const s = report.fit.sigmaScale as number;
  assert.ok(Math.abs(s - Math.sqrt(z.reduce((a, v) => a + v * v, 0) / z.length)) < 1e-9);
  assert.ok(report.fit.outOfSample.scale > 0);
  // the calibrated copy: same weights, training.sigmaScale = s; calibrating it again gives mean z² = 1
  const calibrated = join(dir, 'model.calibrated.safetensors');
  const m = loadModel(calibrated);
  assert.deepEqual(m.params, params);
  assert.equal(m.training?.sigmaScale, s);
  const again = dpm(
    'calibrate',
    '--coherence',
    stackPath,
    '--model',
    calibrated,
    '--out-dir',
    join(dir, 'cal2'),
    '--fit-scale',
  );
  assert.equal(again.status, 0, again.stderr);
  const r2 = JSON.parse(readFileSync(join(dir, 'cal2', 'calibration.json'), 'utf8'));
  assert.ok(Math.abs(r2.fit.relative - 1) < 1e-6, 'the stored scale is applied before fitting again');
  assert.ok(Math.abs(r2.fit.sigmaScale - s) < 1e-6);
  // dpm forecast applies it: σ of the calibrated model = s × σ of the original
  assert.equal(dpm('forecast', '--coherence', stackPath, '--model', model, '--out-dir', join(dir, 'f1')).status, 0);
  assert.equal(
    dpm('forecast', '--coherence', stackPath, '--model', calibrated, '--out-dir', join(dir, 'f2')).status,
    0,
  );
  const s1 = (await readRaster(join(dir, 'f1', 'sigma.tif'))).bands[0]!;
  const s2 = (await readRaster(join(dir, 'f2', 'sigma.tif'))).bands[0]!;
  for (let i = 0; i < s1.length; i++) assert.ok(Math.abs(s2[i]! - s * s1[i]!) <= 1e-6 * s2[i]!, `pixel ${i}`);
  // too many held-out pairs
  const bad = dpm('calibrate', '--coherence', stackPath, '--model', model, '--out-dir', out, '--holdout', '5');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--holdout 5: .* has 6 bands; at least 2 must come before the held-out ones/);
});
