// dpm train / dpm forecast through the CLI: real data end to end, and bad input → one message, exit ≠ 0,
// no partial output files.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedRoot } from '../host/paths.js';
import { needsShared } from './shared.js';
import { readRaster } from '../host/raster/geotiff.js';
import { readCoherenceStack, writeCoherenceStack } from '../host/raster/stack.js';
import { loadModel, saveModel } from '../host/model/safetensors.js';
import { initParams } from '../host/model/init.js';
import { Rng } from '../host/model/rng.js';
import type { CoherenceStack } from '../host/raster/types.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'host', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'dpm-model-cli-'));
const mexico = join(sharedRoot, 'data', 'real', 'pyrate-mexico-coherence');

/** runs the CLI; DPM_DEVICE=cpu (the WebAssembly engine) unless the arguments name a --device */
function dpm(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DPM_DEVICE: 'cpu' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const files = (d: string) => (existsSync(d) ? readdirSync(d) : []);

test(
  'real data (PyRate Mexico City, GAMMA, nodata 0): train on the first 6 pairs, forecast the 7th',
  needsShared('data', 'real', 'pyrate-mexico-coherence'),
  (ctx) => {
    const out = join(dir, 'mexico');
    const model = join(out, 'model.safetensors');
    const t = dpm(
      'train',
      '--coherence',
      mexico,
      '--nodata',
      '0',
      '--pre-event-bands',
      '6',
      '--out',
      model,
      '--hidden',
      '16',
      '--mlp',
      '16',
      '--epochs',
      '4',
      '--batch-size',
      '128',
      '--lr',
      '0.003',
      '--device',
      'auto',
      '--json',
    );
    assert.equal(t.code, 0, t.stderr + t.stdout);
    const lines = t.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const epochs = lines.filter(
      (l) =>
        l.type === 'log' && /^epoch \d+\/4: train [\d.]+, validation [\d.]+ per sequence, [\d.]+ s/.test(l.message),
    );
    assert.equal(epochs.length, 4, 'one log line per epoch');
    assert.ok(
      lines.some((l) => /102 of 6000 pixels have fewer than 2 valid pre-event values/.test(l.message ?? '')),
      'unusable pixels counted',
    );
    // auto: a hardware GPU, else the WebAssembly engine, and the log says which and why
    assert.ok(
      lines.some((l) =>
        /forecaster engine: (webgpu: .*hardware GPU adapter|WebAssembly SIMD .*no hardware GPU adapter) \(auto\)/.test(
          l.message ?? '',
        ),
      ),
      'engine log line',
    );
    assert.deepEqual(
      files(out).sort(),
      ['model.final.safetensors', 'model.history.csv', 'model.history.png', 'model.history.svg', 'model.safetensors'],
      'best + final + the training history, no checkpoint left',
    );
    const m = loadModel(model);
    assert.deepEqual(m.config, { hidden: 16, mlp: 16, features: 1 });
    assert.equal(m.training?.T, 6);
    // the history CSV: one row per epoch, the numbers the model file's summary holds
    const history = m.training?.history as { epoch: number; trainLoss: number; valLoss: number; best: boolean }[];
    const csv = readFileSync(join(out, 'model.history.csv'), 'utf8').trim().split('\n');
    assert.equal(csv[0], 'epoch,train_loss,validation_loss,seconds,best');
    assert.deepEqual(
      csv
        .slice(1)
        .map((l) => l.split(',').map(Number))
        .map(([e, t, v, , b]) => [e, t, v, b === 1]),
      history.map((h) => [h.epoch, h.trainLoss, h.valLoss, h.best]),
    );

    const fc = join(out, 'forecast');
    const f = dpm(
      'forecast',
      '--coherence',
      mexico,
      '--nodata',
      '0',
      '--model',
      model,
      '--out-dir',
      fc,
      '--device',
      'auto',
      '--json',
    );
    assert.equal(f.code, 0, f.stderr + f.stdout);
    const result = f.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((l) => l.type === 'result').outputs;
    assert.deepEqual(files(fc).sort(), [
      'expected_coherence.qml',
      'expected_coherence.tif',
      'mu.tif',
      'sigma.tif',
      'zscore.qml', // QGIS styles: the z-score as dpm.png, the expected coherence grey
      'zscore.tif',
    ]);
    // no disaster happened in this window: very few pixels may look anomalous
    const fraction = result['anomalous-fraction'] as number;
    ctx.diagnostic(`real data: fraction of pixels with z >= 4.93: ${fraction} (${result.pixels} pixels)`);
    assert.ok(fraction >= 0 && fraction < 0.01, `fraction with z ≥ 4.93: ${fraction}`);
    return (async () => {
      const stack = await readCoherenceStack(mexico, { nodata: 0 });
      const z = await readRaster(join(fc, 'zscore.tif'));
      const sigma = await readRaster(join(fc, 'sigma.tif'));
      const ec = await readRaster(join(fc, 'expected_coherence.tif'));
      assert.deepEqual([z.width, z.height], [stack.width, stack.height]);
      assert.deepEqual(z.georef.geoTransform, stack.georef.geoTransform, "the input's georeferencing");
      assert.equal(z.georef.epsg, 4326);
      let nan = 0;
      for (let i = 0; i < z.bands[0]!.length; i++) {
        if (Number.isNaN(z.bands[0]![i]!)) nan++;
        else {
          assert.ok(sigma.bands[0]![i]! > 0);
          assert.ok(ec.bands[0]![i]! > 0 && ec.bands[0]![i]! < 1);
        }
      }
      assert.equal(nan, 6000 - result.pixels, 'NaN exactly where no z-score could be made');
    })();
  },
);

test('forecast --series writes the one-step forecasts of every band, labelled with the pairs', async () => {
  const stack: CoherenceStack = synthStack(4, 3, 5);
  const path = join(dir, 'series-stack.tif');
  await writeCoherenceStack(path, stack);
  const model = join(dir, 'series-model.safetensors');
  saveModel(model, { hidden: 4, mlp: 3, features: 1 }, initParams({ hidden: 4, mlp: 3, features: 1 }, new Rng(1)));
  const out = join(dir, 'series-out');
  const f = dpm(
    'forecast',
    '--coherence',
    path,
    '--model',
    model,
    '--out-dir',
    out,
    '--series',
    '--event-date',
    '20200210',
  );
  assert.equal(f.code, 0, f.stderr);
  const mu = await readRaster(join(out, 'mu_series.tif'));
  assert.equal(mu.bands.length, 4, '3 pre-event bands + the co-event one');
  assert.deepEqual(
    mu.descriptions,
    stack.pairs.slice(0, 4).map((p) => `${p.first}_${p.second}`),
  );
  const last = await readRaster(join(out, 'mu.tif'));
  assert.deepEqual(mu.bands[3], last.bands[0]);
});

function synthStack(W: number, H: number, K: number): CoherenceStack {
  const dates = Array.from({ length: K + 1 }, (_, k) =>
    `202001${String(1 + 12 * k).padStart(2, '0')}`
      .replace('20200137', '20200206')
      .replace('20200149', '20200218')
      .replace('20200161', '20200301'),
  );
  const rng = new Rng(2);
  return {
    width: W,
    height: H,
    georef: { geoTransform: [10, 0.001, 0, 50, 0, -0.001], epsg: 4326 },
    bands: Array.from({ length: K }, () => new Float32Array(W * H).map(() => rng.uniform(0.2, 0.9))),
    descriptions: dates.slice(0, -1).map((d, k) => `${d}_${dates[k + 1]}`),
    pairs: dates.slice(0, -1).map((first, k) => ({ first, second: dates[k + 1]! })),
  };
}

/** one clear message (no stack trace), exit code ≠ 0, nothing written */
function failsCleanly(r: ReturnType<typeof dpm>, what: RegExp, outDir: string) {
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, what);
  assert.equal(
    r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('dpm:')).length,
    1,
    r.stderr,
  );
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.deepEqual(files(outDir), [], `no partial output in ${outDir}`);
}

test('bad input: malformed models, a 1-band stack, size mismatches → one message, exit ≠ 0, no output', async () => {
  const stackPath = join(dir, 'bad-stack.tif');
  await writeCoherenceStack(stackPath, synthStack(4, 3, 5));
  const config = { hidden: 4, mlp: 3, features: 1 };
  const good = join(dir, 'good.safetensors');
  saveModel(good, config, initParams(config, new Rng(3)));
  const bytes = readFileSync(good);

  const truncated = join(dir, 'truncated.safetensors');
  writeFileSync(truncated, bytes.subarray(0, bytes.length - 10));
  let out = join(dir, 'o1');
  failsCleanly(
    dpm('forecast', '--coherence', stackPath, '--model', truncated, '--out-dir', out),
    /truncated\.safetensors: .*truncated/,
    out,
  );

  const garbage = join(dir, 'garbage.safetensors');
  writeFileSync(garbage, Buffer.from('PK\x03\x04 this is a zip, not safetensors'.repeat(4)));
  out = join(dir, 'o2');
  failsCleanly(
    dpm('forecast', '--coherence', stackPath, '--model', garbage, '--out-dir', out),
    /garbage\.safetensors: not a valid safetensors file/,
    out,
  );

  const oneBand = join(dir, 'one-band.tif');
  const s1 = synthStack(4, 3, 1);
  await writeCoherenceStack(oneBand, s1);
  out = join(dir, 'o3');
  failsCleanly(
    dpm('forecast', '--coherence', oneBand, '--model', good, '--out-dir', out),
    /one-band\.tif: has 1 band; at least 2 are needed/,
    out,
  );
  out = join(dir, 'o4');
  failsCleanly(
    dpm(
      'train',
      '--coherence',
      oneBand,
      '--out',
      join(out, 'm.safetensors'),
      '--hidden',
      '4',
      '--mlp',
      '3',
      '--epochs',
      '1',
    ),
    /sequences of at least 2 pre-event steps|at least 2 are needed|at most/,
    out,
  );

  // model/data size mismatch: --init of another size; a model for 2 features on a 1-feature stack
  out = join(dir, 'o5');
  failsCleanly(
    dpm(
      'train',
      '--coherence',
      stackPath,
      '--out',
      join(out, 'm.safetensors'),
      '--init',
      good,
      '--hidden',
      '8',
      '--epochs',
      '1',
    ),
    /--init .*good\.safetensors: the model has H=4, M=3, F=1 but training asks for H=8/,
    out,
  );
  const f2 = join(dir, 'two-features.safetensors');
  saveModel(f2, { hidden: 4, mlp: 3, features: 2 }, initParams({ hidden: 4, mlp: 3, features: 2 }, new Rng(3)));
  out = join(dir, 'o6');
  failsCleanly(
    dpm('forecast', '--coherence', stackPath, '--model', f2, '--out-dir', out),
    /two-features\.safetensors: the model takes 2 features per step/,
    out,
  );
  out = join(dir, 'o7');
  failsCleanly(
    dpm('forecast', '--coherence', stackPath, '--model', good, '--out-dir', out, '--pre-event-bands', '5'),
    /--pre-event-bands 5: .* has 5 bands; at most 4/,
    out,
  );
  out = join(dir, 'o8');
  failsCleanly(
    dpm('forecast', '--coherence', stackPath, '--model', good, '--out-dir', out, '--device', 'quantum'),
    /quantum/,
    out,
  );
  out = join(dir, 'o9');
  failsCleanly(
    dpm('train', '--coherence', stackPath, '--out', join(out, 'model.bin'), '--epochs', '1'),
    /must end in \.safetensors/,
    out,
  );
});

test('train --init continues from given weights; --resume after a finished run starts fresh', () => {
  const stackPath = join(dir, 'bad-stack.tif'); // written by the test above
  const config = { hidden: 4, mlp: 3, features: 1 };
  const init = join(dir, 'init.safetensors');
  saveModel(init, config, initParams(config, new Rng(5)));
  const out = join(dir, 'init-out', 'm.safetensors');
  const r = dpm(
    'train',
    '--coherence',
    stackPath,
    '--out',
    out,
    '--init',
    init,
    '--epochs',
    '2',
    '--batch-size',
    '4',
    '--resume',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(loadModel(out).config, config, 'sizes taken from --init');
  assert.ok(!existsSync(out.replace('.safetensors', '.checkpoint.safetensors')));
});

test('the typed API: load a stack, train, save, load, forecast', async () => {
  const api = await import('../host/index.js');
  const path = join(dir, 'api-stack.tif');
  await writeCoherenceStack(path, synthStack(6, 5, 5));
  const stack = await api.readCoherenceStack(path);
  const split = api.splitBands(stack, {}, true);
  const series = api.buildSeries(stack, split);
  const config = { hidden: 5, mlp: 4, features: 1 };
  const engine = await api.createEngine(config, { device: 'reference' });
  const r = await api.trainModel(
    engine,
    { x: series.x, N: series.N, T: series.T },
    { ...api.DEFAULT_TRAIN, epochs: 2, batchSize: 8 },
  );
  const file = join(dir, 'api-model.safetensors');
  api.saveModel(file, config, r.best, { bestEpoch: r.bestEpoch });
  const m = api.loadModel(file);
  assert.deepEqual(m.params, r.best);
  await engine.setParams(m.params);
  const f = await api.forecastSequences(engine, series.x, series.N, series.T, { obs: series.obs });
  assert.equal(f.z.length, 30);
  assert.ok(f.z.every(Number.isFinite));
  const px = await api.forecastPixels(engine, stack, [{ row: 1, col: 2 }], split);
  assert.equal(px[0]!.z[series.T], f.z[1 * 6 + 2]);
  assert.equal(px[0]!.pairs.length, 5);
  engine.destroy();
});

test('Ctrl-C during training keeps the last checkpoint; --resume finishes with the weights of an uninterrupted run', async () => {
  const stackPath = join(dir, 'resume-stack.tif');
  await writeCoherenceStack(stackPath, synthStack(40, 25, 5));
  const common = [
    '--coherence',
    stackPath,
    '--hidden',
    '8',
    '--mlp',
    '6',
    '--epochs',
    '8',
    '--batch-size',
    '32',
    '--json',
  ];
  const whole = join(dir, 'resume-whole', 'm.safetensors');
  assert.equal(dpm('train', ...common, '--out', whole).code, 0);

  const out = join(dir, 'resume-cut', 'm.safetensors');
  const child = spawn(process.execPath, [cli, 'train', ...common, '--out', out], {
    env: { ...process.env, DPM_DEVICE: 'cpu' },
  });
  let buffered = '';
  let signalled = false;
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    if (!signalled && /"epoch 2\/8: train/.test(buffered)) {
      signalled = true;
      child.kill('SIGINT'); // what Ctrl-C sends
    }
  });
  const code = await new Promise<number | null>((res) => child.on('close', res));
  assert.ok(signalled, 'the run got to epoch 2');
  assert.equal(code, 130, 'canceled');
  assert.deepEqual(files(dirname(out)), ['m.checkpoint.safetensors'], 'only the checkpoint remains, no model files');
  const r = dpm('train', ...common, '--out', out, '--resume');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /resuming from .*m\.checkpoint\.safetensors after epoch [2-7]/);
  assert.deepEqual(loadModel(out).params, loadModel(whole).params);
  assert.deepEqual(
    loadModel(out.replace('.safetensors', '.final.safetensors')).params,
    loadModel(whole.replace('.safetensors', '.final.safetensors')).params,
  );
  assert.deepEqual(files(dirname(out)).sort(), [
    'm.final.safetensors',
    'm.history.csv',
    'm.history.png',
    'm.history.svg',
    'm.safetensors',
  ]);
});
