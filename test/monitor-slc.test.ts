// dpm monitor-init --slc / monitor-update --slc on a small simulated scene: the new acquisition's pair is computed
// from the state's last SLC and gives the z of monitor-update --coherence (with dpm coherence's pair) and of a full
// forecast; a new SLC that does not follow or lies on another grid is refused without touching the state.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentFeedback } from '../host/core/feedback.js';
import { createEngine } from '../host/engines/select.js';
import { forecastSequences } from '../host/model/forecast.js';
import { initParams } from '../host/model/init.js';
import { Rng } from '../host/model/rng.js';
import { saveModel } from '../host/model/safetensors.js';
import { buildSeries, splitBands } from '../host/model/series.js';
import { readMonitorState } from '../host/monitor/state.js';
import { readRaster } from '../host/raster/geotiff.js';
import { readCoherenceStack } from '../host/raster/stack.js';
import { discoverStack } from '../host/sar/readers.js';
import { execute } from '../host/toolbox/execute.js';
import { writeCslc } from './hdf5-products.js';
import { specklePair } from './sar-helpers.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'host', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'dpm-monitor-slc-'));
const dpm = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, DPM_DEVICE: 'cpu' } });
const slcArgs = (files: string[]) => files.flatMap((f) => ['--slc', f]);
// an AOI window that is not the whole scene, and overlapping chips: the state must carry all three settings
const GRID = ['--chip', '5x3', '--stride', '3x2', '--window', '4:34,2:62'];

test('monitor-update --slc gives the z of monitor-update --coherence and of a full forecast', async () => {
  const scene = join(dir, 'scene');
  await execute('simulate', { out: scene, width: 120, height: 60, dates: 6, seed: 2 }, silentFeedback);
  const files = discoverStack([scene]).entries.map((e) => e.path);
  const config = { hidden: 6, mlp: 5, features: 1 };
  const params = initParams(config, new Rng(4));
  const model = join(dir, 'model.safetensors');
  saveModel(model, config, params, {});

  const fromSlc = join(dir, 'slc.safetensors');
  const init = dpm('monitor-init', ...slcArgs(files.slice(0, -1)), ...GRID, '--model', model, '--state', fromSlc);
  assert.equal(init.status, 0, init.stderr);
  const fromCoherence = join(dir, 'coherence.safetensors');
  copyFileSync(fromSlc, fromCoherence);
  const fromFolder = join(dir, 'folder.safetensors');
  copyFileSync(fromSlc, fromFolder);

  const bySlc = dpm('monitor-update', '--state', fromSlc, '--slc', files.at(-1)!, '--out-dir', join(dir, 'a'));
  assert.equal(bySlc.status, 0, bySlc.stderr);
  const pair = join(dir, 'pair.tif');
  const coh = dpm('coherence', ...slcArgs(files.slice(-2)), ...GRID, '--out', pair);
  assert.equal(coh.status, 0, coh.stderr);
  const byPair = dpm('monitor-update', '--state', fromCoherence, '--coherence', pair, '--out-dir', join(dir, 'b'));
  assert.equal(byPair.status, 0, byPair.stderr);

  // the stack folder: its newest acquisition is the new one
  const byFolder = dpm('monitor-update', '--state', fromFolder, '--slc', scene, '--out-dir', join(dir, 'd'));
  assert.equal(byFolder.status, 0, byFolder.stderr);
  const zSlc = (await readRaster(join(dir, 'a', 'zscore.tif'))).bands[0]!;
  assert.deepEqual((await readRaster(join(dir, 'd', 'zscore.tif'))).bands[0], zSlc);
  const zPair = (await readRaster(join(dir, 'b', 'zscore.tif'))).bands[0]!;
  // the full forecast over the whole stack's coherence, float64 reference engine
  const full = join(dir, 'full.tif');
  assert.equal(dpm('coherence', '--slc', scene, ...GRID, '--out', full).status, 0);
  const stack = await readCoherenceStack([full]);
  assert.equal(stack.bands.length, files.length - 1);
  const series = buildSeries(stack, splitBands(stack, {}, true));
  const reference = await createEngine(config, { device: 'reference' });
  await reference.setParams(params);
  const ref = await forecastSequences(reference, series.x, series.N, series.T, { obs: series.obs });
  reference.destroy();
  assert.equal(zSlc.length, series.N);
  let compared = 0;
  for (let i = 0; i < series.N; i++) {
    // the same kernel on the same SLC samples: the two updates agree exactly
    assert.ok(Object.is(zSlc[i], zPair[i]) || zSlc[i] === zPair[i], `pixel ${i}: ${zSlc[i]} vs ${zPair[i]}`);
    assert.equal(Number.isNaN(zSlc[i]!), Number.isNaN(ref.z[i]!), `pixel ${i}: NaN where the forecast has one`);
    if (Number.isNaN(ref.z[i]!)) continue;
    // float64 in both; the state holds float32 between init and update: 1e-5 on z
    assert.ok(Math.abs(zSlc[i]! - ref.z[i]!) <= 1e-5, `pixel ${i}: ${zSlc[i]} vs full forecast ${ref.z[i]}`);
    compared++;
  }
  assert.ok(compared > series.N / 2, `only ${compared} of ${series.N} pixels have a z`);

  const st = await readMonitorState(fromSlc);
  assert.equal(st.slc?.last.path, files.at(-1));
  assert.deepEqual(
    { chip: st.slc?.chip, stride: st.slc?.stride, window: st.slc?.window },
    { chip: '5x3', stride: '3x2', window: '4:34,2:62' },
  );
  assert.equal(st.pairs.length, files.length - 1);

  // the new acquisition is now the last one: giving it (or the whole folder) again does not follow
  const before = readFileSync(fromSlc);
  for (const again of [files.at(-1)!, scene]) {
    const r = dpm('monitor-update', '--state', fromSlc, '--slc', again, '--out-dir', join(dir, 'c'));
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /does not follow the state's last SLC|two SLCs for \d{8}/);
  }
  // an earlier acquisition
  const early = dpm('monitor-update', '--state', fromSlc, '--slc', files[1]!, '--out-dir', join(dir, 'c'));
  assert.equal(early.status, 2, early.stderr);
  assert.match(early.stderr, /the newest acquisition \d{8} does not follow the state's last SLC/);
  // a later acquisition on another grid (a wider scene simulated with one more date)
  const other = join(dir, 'other');
  await execute('simulate', { out: other, width: 128, height: 60, dates: 7, seed: 2 }, silentFeedback);
  const wide = dpm('monitor-update', '--state', fromSlc, '--slc', other, '--out-dir', join(dir, 'c'));
  assert.equal(wide.status, 2, wide.stderr);
  assert.match(wide.stderr, /128 × 60 pixels, but .* has 120 × 60; the stack must be coregistered on one grid/);
  // a state made from coherence knows no SLC
  const known = join(dir, 'known.safetensors');
  assert.equal(dpm('monitor-init', '--coherence', full, '--model', model, '--state', known).status, 0);
  const noSlc = dpm('monitor-update', '--state', known, '--slc', other, '--out-dir', join(dir, 'c'));
  assert.equal(noSlc.status, 2, noSlc.stderr);
  assert.match(noSlc.stderr, /was not made from SLCs \(monitor-init --slc\); give --coherence/);
  // a state made from SLCs but advanced with --coherence no longer knows the first SLC of the next pair
  const mixed = dpm('monitor-update', '--state', fromCoherence, '--slc', other, '--out-dir', join(dir, 'c'));
  assert.equal(mixed.status, 2, mixed.stderr);
  assert.match(mixed.stderr, /was given with --coherence, so its last SLC .* continue with --coherence/);
  const both = dpm('monitor-init', '--coherence', full, '--slc', scene, '--model', model, '--state', known);
  assert.equal(both.status, 2, both.stderr);
  assert.match(both.stderr, /give exactly one of --coherence .* or --slc/);
  assert.deepEqual(readFileSync(fromSlc), before, 'a refused update leaves the state untouched');
});

test('monitor-update --slc with OPERA CSLC-S1 products: dates from the metadata, the same z as --coherence', async () => {
  const W = 40,
    H = 24;
  const { s1, s2 } = specklePair(W, H, 0.8, 11);
  const slcs = [s1, s2, specklePair(W, H, 0.5, 12).s2, specklePair(W, H, 0.3, 13).s2];
  const h5 = join(dir, 'h5');
  mkdirSync(h5);
  // names that lie about the date: the products' metadata decides
  const files = slcs.map((slc, k) => {
    const path = join(h5, `product_${4 - k}_20991231.h5`);
    writeCslc(path, { start: `2023-0${k + 1}-05 14:50:57`, slc, width: W, height: H, x0: 500002.5, y0: 3700005 });
    return path;
  });
  const config = { hidden: 5, mlp: 4, features: 1 };
  const model = join(h5, 'model.safetensors');
  saveModel(model, config, initParams(config, new Rng(6)), {});
  const grid = ['--chip', '4x3', '--stride', '2x3'];
  const a = join(h5, 'a.safetensors'),
    b = join(h5, 'b.safetensors');
  const init = dpm('monitor-init', ...slcArgs(files.slice(0, 3)), ...grid, '--model', model, '--state', a);
  assert.equal(init.status, 0, init.stderr);
  copyFileSync(a, b);
  const bySlc = dpm('monitor-update', '--state', a, '--slc', files[3]!, '--out-dir', join(h5, 'a'));
  assert.equal(bySlc.status, 0, bySlc.stderr);
  assert.match(bySlc.stderr, /pass 1 = 20230305_20230405/);
  const pair = join(h5, 'pair.tif');
  assert.equal(dpm('coherence', ...slcArgs(files.slice(2)), ...grid, '--out', pair).status, 0);
  const byPair = dpm('monitor-update', '--state', b, '--coherence', pair, '--out-dir', join(h5, 'b'));
  assert.equal(byPair.status, 0, byPair.stderr);
  const zSlc = await readRaster(join(h5, 'a', 'zscore.tif'));
  const zPair = await readRaster(join(h5, 'b', 'zscore.tif'));
  assert.ok(
    zSlc.bands[0]!.some((v) => Number.isFinite(v)),
    'some pixels have a z',
  );
  assert.deepEqual(zSlc.bands, zPair.bands);
  assert.ok(zSlc.georef.geoTransform, 'the CSLC map grid reaches zscore.tif');
  assert.deepEqual(zSlc.georef, zPair.georef, 'georeferenced like dpm coherence');
  assert.equal((await readMonitorState(a)).slc?.last.path, files[3]);
});
