// dpm monitor-init / monitor-update: one GRU step per pixel from the kept state gives the z of a full forecast over
// the extended stack; bad input is refused without touching the state.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine } from '../host/engines/select.js';
import { forecastSequences } from '../host/model/forecast.js';
import { initParams } from '../host/model/init.js';
import { Rng } from '../host/model/rng.js';
import { saveModel } from '../host/model/safetensors.js';
import { buildSeries, splitBands, type TimeFeature } from '../host/model/series.js';
import { advanceMonitor, initMonitor, readMonitorState, writeMonitorState } from '../host/monitor/state.js';
import { CanceledError } from '../host/core/errors.js';
import { GruStepper } from '../host/model/step.js';
import { ALERT } from '../host/monitor/alerts.js';
import { readRaster } from '../host/raster/geotiff.js';
import { readCoherenceStack, writeCoherenceStack } from '../host/raster/stack.js';
import { MONITOR_RULES } from '../host/core/defaults.js';
import { needsShared, sharedPath } from './shared.js';
import type { CoherenceStack } from '../host/raster/types.js';
import { datedStack } from './time-helpers.js';
import { cancelOnEventLoop } from './cancel-helpers.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'host', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'dpm-monitor-'));
const dpm = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, DPM_DEVICE: 'cpu' } });

/** bands [from, to) of a stack as a stack of their own */
function bandsOf(s: CoherenceStack, from: number, to: number): CoherenceStack {
  return {
    ...s,
    bands: s.bands.slice(from, to),
    descriptions: s.descriptions.slice(from, to),
    pairs: s.pairs.slice(from, to),
  };
}

/** a scene with missing values: pixel 0 has one valid value before the last pairs, pixel 1 misses the last band */
function scene(): CoherenceStack {
  const s = datedStack(9, 6, 7, 11);
  for (let k = 0; k < 4; k++) if (k !== 2) s.bands[k]![0] = NaN;
  s.bands[3]![1] = NaN;
  s.bands[4]![2] = NaN;
  for (const b of s.bands) b[5] = NaN; // never observed
  s.bands[4]![7] = 0.02; // an anomaly: far lower coherence than the rest
  return s;
}

for (const timeFeatures of [[], ['span']] as TimeFeature[][]) {
  const name = timeFeatures.length ? 'with --time-baseline' : 'without time features';
  test(`monitor-update gives the z of a full forecast over the extended stack, two passes (${name})`, async () => {
    const s = scene();
    const sub = join(dir, name.replace(/\W+/g, '-'));
    const config = { hidden: 7, mlp: 6, features: 1 + timeFeatures.length };
    const params = initParams(config, new Rng(3));
    const model = join(sub, 'model.safetensors');
    saveModel(model, config, params, { timeFeatures });
    await writeCoherenceStack(join(sub, 'init.tif'), bandsOf(s, 0, 4));
    await writeCoherenceStack(join(sub, 'p4.tif'), bandsOf(s, 4, 5));
    await writeCoherenceStack(join(sub, 'p5.tif'), bandsOf(s, 5, 6));
    const state = join(sub, 'state.safetensors');
    const r0 = dpm('monitor-init', '--coherence', join(sub, 'init.tif'), '--model', model, '--state', state);
    assert.equal(r0.status, 0, r0.stderr);
    const reference = await createEngine(config, { device: 'reference' });
    const cpu = await createEngine(config, { device: 'cpu' });
    await reference.setParams(params);
    await cpu.setParams(params);
    for (const [pass, file] of [
      [1, 'p4.tif'],
      [2, 'p5.tif'],
    ] as const) {
      const out = join(sub, `pass${pass}`);
      const r = dpm('monitor-update', '--state', state, '--coherence', join(sub, file), '--out-dir', out);
      assert.equal(r.status, 0, r.stderr);
      const z = (await readRaster(join(out, 'zscore.tif'))).bands[0]!;
      const ext = bandsOf(s, 0, 4 + pass);
      const series = buildSeries(ext, splitBands(ext, {}, true), undefined, timeFeatures);
      const ref = await forecastSequences(reference, series.x, series.N, series.T, { obs: series.obs });
      const fast = await forecastSequences(cpu, series.x, series.N, series.T, { obs: series.obs });
      let worstCpu = 0;
      for (let i = 0; i < series.N; i++) {
        assert.equal(
          Number.isNaN(z[i]!),
          Number.isNaN(ref.z[i]!),
          `pixel ${i}, pass ${pass}: NaN where the forecast has one`,
        );
        if (Number.isNaN(ref.z[i]!)) continue;
        // float64 arithmetic in both; the state is stored in float32 between passes: 1e-5 on z
        assert.ok(Math.abs(z[i]! - ref.z[i]!) <= 1e-5, `pixel ${i}, pass ${pass}: ${z[i]} vs ${ref.z[i]}`);
        worstCpu = Math.max(worstCpu, Math.abs(z[i]! - fast.z[i]!));
      }
      // the CPU engine computes in float32: 1e-4 on z
      assert.ok(worstCpu <= 1e-4, `CPU engine differs by ${worstCpu}`);
      if (pass === 1) assert.ok(ref.z[7]! > 4.93, 'the anomaly pixel is anomalous');
    }
    reference.destroy();
    cpu.destroy();
    const st = await readMonitorState(state);
    assert.equal(st.pairs.length, 6);
    assert.equal(st.alerts.state[7], ALERT.first);
    assert.equal(st.alerts.first[7], 1);
    assert.ok(Number.isNaN(st.last[5]!));
  });
}

test('monitor-update refuses a pair that does not follow, another grid or a non-state file, and leaves the state', async () => {
  const s = scene();
  const config = { hidden: 4, mlp: 3, features: 1 };
  const model = join(dir, 'bad', 'model.safetensors');
  saveModel(model, config, initParams(config, new Rng(1)), {});
  await writeCoherenceStack(join(dir, 'bad', 'init.tif'), bandsOf(s, 0, 3));
  await writeCoherenceStack(join(dir, 'bad', 'skip.tif'), bandsOf(s, 4, 5));
  await writeCoherenceStack(join(dir, 'bad', 'small.tif'), { ...bandsOf(datedStack(3, 2, 4), 3, 4) });
  const state = join(dir, 'bad', 'state.safetensors');
  assert.equal(
    dpm('monitor-init', '--coherence', join(dir, 'bad', 'init.tif'), '--model', model, '--state', state).status,
    0,
  );
  const before = readFileSync(state);
  const out = join(dir, 'bad', 'out');
  const skip = dpm('monitor-update', '--state', state, '--coherence', join(dir, 'bad', 'skip.tif'), '--out-dir', out);
  assert.equal(skip.status, 2);
  assert.match(skip.stderr, /does not follow the last monitored pair .*: the next pair must start on \d{8}/);
  const small = dpm('monitor-update', '--state', state, '--coherence', join(dir, 'bad', 'small.tif'), '--out-dir', out);
  assert.equal(small.status, 2);
  assert.match(small.stderr, /3 × 2 pixels, but the monitor state .* has 9 × 6/);
  const notState = dpm(
    'monitor-update',
    '--state',
    model,
    '--coherence',
    join(dir, 'bad', 'skip.tif'),
    '--out-dir',
    out,
  );
  assert.equal(notState.status, 2);
  assert.match(notState.stderr, /not an insar-dpm monitor state/);
  assert.deepEqual(readFileSync(state), before);
});

test('GruStepper: blocks of 4 pixels give bit-identical states and forecasts to one pixel at a time', () => {
  const config = { hidden: 9, mlp: 5, features: 2 };
  const stepper = new GruStepper(config, initParams(config, new Rng(4)));
  const rng = new Rng(8);
  const N = 11; // two blocks and a remainder of 3
  const h0 = Float32Array.from({ length: N * 9 }, () => rng.uniform(-1, 1));
  const u = Float32Array.from({ length: N * 2 }, () => rng.uniform(-3, 3));
  u[2 * 2] = NaN; // a missing value inside a block: fed the state's own μ
  u[9 * 2] = NaN; // and in the remainder
  const one = h0.slice(),
    block = h0.slice();
  for (let i = 0; i < N; i++) stepper.advance(one, u, i);
  stepper.advanceAll(block, u, 0, N);
  assert.deepEqual(block, one);
  const mu = new Float64Array(N - 1),
    lv = new Float64Array(N - 1);
  stepper.decodeAll(block, 1, N, mu, lv);
  for (let i = 1; i < N; i++) assert.deepEqual([mu[i - 1], lv[i - 1]], stepper.decode(one, i));
});

test(
  'real data (PyRate Mexico City, nodata 0): init on 6 pairs, update with the 7th = the full forecast (span model)',
  needsShared('data', 'real', 'pyrate-mexico-coherence'),
  async () => {
    const stack = await readCoherenceStack(sharedPath('data', 'real', 'pyrate-mexico-coherence'), { nodata: 0 });
    assert.equal(stack.bands.length, 7);
    const config = { hidden: 6, mlp: 5, features: 2 };
    const params = initParams(config, new Rng(12));
    const stepper = new GruStepper(config, params);
    const rules = { ...MONITOR_RULES };
    const state = await initMonitor(stepper, params, bandsOf(stack, 0, 6), ['span'], rules, 1);
    const r = await advanceMonitor(state, stack.bands[6]!, stack.pairs[6]!);
    const series = buildSeries(stack, splitBands(stack, {}, true), undefined, ['span']);
    const engine = await createEngine(config, { device: 'reference' });
    await engine.setParams(params);
    const f = await forecastSequences(engine, series.x, series.N, series.T, { obs: series.obs });
    engine.destroy();
    let compared = 0;
    for (let i = 0; i < series.N; i++) {
      assert.equal(Number.isNaN(r.z[i]!), Number.isNaN(f.z[i]!), `pixel ${i}`);
      if (Number.isNaN(f.z[i]!)) continue;
      compared++;
      assert.ok(Math.abs(r.z[i]! - f.z[i]!) <= 1e-5, `pixel ${i}: ${r.z[i]} vs ${f.z[i]}`); // float32 state: 1e-5
    }
    assert.ok(compared > 5000, `${compared} pixels with a z`);
  },
);

test('monitor-update on 1 or 3 worker threads: identical z and states (pixel ranges of 32,768 split unevenly)', async () => {
  const s = datedStack(300, 230, 3, 4); // 69,000 pixels: three ranges, the last one short
  const config = { hidden: 3, mlp: 2, features: 2 };
  const params = initParams(config, new Rng(2));
  const stepper = new GruStepper(config, params);
  const run = async (threads: number) => {
    const state = await initMonitor(stepper, params, bandsOf(s, 0, 2), ['span'], { ...MONITOR_RULES }, 1);
    const r = await advanceMonitor(state, s.bands[2]!, s.pairs[2]!, undefined, threads);
    return { z: r.z, hidden: state.hidden };
  };
  const one = await run(1);
  const three = await run(3);
  assert.deepEqual(three.z, one.z);
  assert.deepEqual(three.hidden, one.hidden);
  assert.ok(one.z.every(Number.isFinite));
});

test('the state file round-trips; a cancel queued on the event loop stops its read and write', async () => {
  const s = datedStack(40, 30, 3, 5);
  const config = { hidden: 3, mlp: 2, features: 2 };
  const params = initParams(config, new Rng(4));
  const state = await initMonitor(new GruStepper(config, params), params, s, ['span'], { ...MONITOR_RULES }, 1);
  const path = join(dir, 'cancel-state.safetensors');
  await writeMonitorState(path, state);
  const back = await readMonitorState(path);
  assert.deepEqual(back.hidden, state.hidden);
  assert.deepEqual(back.alerts, state.alerts);
  // as the CLI's SIGINT handler does: the flag changes only when read/write yield to the event loop
  await assert.rejects(readMonitorState(path, cancelOnEventLoop()), CanceledError);
  const other = join(dir, 'cancel-state-2.safetensors');
  await assert.rejects(writeMonitorState(other, state, true, cancelOnEventLoop()), CanceledError);
  assert.ok(!existsSync(other), 'a cancelled write leaves no file');
});
