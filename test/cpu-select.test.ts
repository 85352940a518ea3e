// Choosing the forecaster engine (host/engines/select.ts): device names and aliases, what auto picks and the log
// line that says why, the CLI's --device/--threads/DPM_DEVICE plumbing, and that the CPU engine's worker threads
// never keep Node alive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DpmError } from '../host/core/errors.js';
import { autoChoice, createEngine, parseDevice, presetAdvice, selectEngine } from '../host/engines/select.js';
import { ReferenceEngine } from '../host/model/reference.js';
import { recordingFeedback } from '../host/core/feedback.js';
import { algorithmSpec, paramsFromEnv, resolveParams } from '../host/toolbox/manifest.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'host', 'cli.js');
const SMALL = { hidden: 8, mlp: 6, features: 1 };

test('device names: the five choices, hardware as the old name of gpu, a clear error otherwise', () => {
  assert.equal(parseDevice(undefined), 'auto');
  for (const d of ['auto', 'gpu', 'cpu', 'software', 'reference']) assert.equal(parseDevice(d), d);
  assert.equal(parseDevice('hardware'), 'gpu');
  const listed = /'quantum' is not one of auto, gpu, cpu, software, reference/;
  assert.throws(
    () => parseDevice('quantum'),
    (e: Error) => e instanceof DpmError && listed.test(e.message),
  );
});

test('cpu and reference engines, and the log line that names them and says why', async () => {
  const fb = recordingFeedback();
  const cpu = await selectEngine(SMALL, { device: 'cpu', threads: 2, feedback: fb });
  try {
    assert.equal(cpu.kind, 'cpu');
    assert.match(cpu.engine.description, /^WebAssembly SIMD \((relaxed|plain)\), 2 threads$/);
  } finally {
    cpu.engine.destroy();
  }
  const ref = await createEngine(SMALL, { device: 'reference', feedback: fb });
  assert.ok(ref instanceof ReferenceEngine);
  const lines = fb.logs.map((l) => l.message);
  const cpuLine = 'forecaster engine: WebAssembly SIMD (relaxed), 2 threads — --device cpu';
  assert.ok(lines.includes(cpuLine), lines.join('\n'));
  assert.ok(lines.includes('forecaster engine: reference float64 (TypeScript) — --device reference (float64, slow)'));
});

test('auto: a hardware GPU when there is one, else the WebAssembly engine, and it says so', async () => {
  const expected = await autoChoice();
  const fb = recordingFeedback();
  const sel = await selectEngine(SMALL, { feedback: fb });
  try {
    assert.equal(sel.kind, expected.kind);
    if (sel.kind === 'cpu') {
      const why = /^forecaster engine: WebAssembly SIMD \(relaxed\), \d+ threads? — no hardware GPU adapter \(auto\)$/;
      assert.match(fb.logs[0]!.message, why);
    } else assert.match(fb.logs[0]!.message, /— a hardware GPU adapter \(auto\)$/);
  } finally {
    sel.engine.destroy();
  }
  // the preset advice follows the engine: the paper model where it runs fast, fast where it does not
  assert.equal(presetAdvice('cpu').preset, 'paper');
  assert.equal(presetAdvice('gpu').preset, 'paper');
  assert.equal(presetAdvice('software').preset, 'fast');
  assert.equal(presetAdvice('reference').preset, 'fast');
});

test('manifest: --device takes hardware for gpu and QGIS indices, DPM_DEVICE fills it at the edge, --threads', () => {
  const spec = algorithmSpec('train');
  const base = { coherence: 'x.tif', out: 'm.safetensors' };
  assert.equal(resolveParams(spec, { ...base, device: 'hardware' }).device, 'gpu');
  // QGIS sends enum indices: the old order auto, hardware, software, cpu keeps its meaning (cpu = the CPU engine now)
  const byIndex = [0, 1, 2, 3, 4].map((i) => resolveParams(spec, { ...base, device: i }).device);
  assert.deepEqual(byIndex, ['auto', 'gpu', 'software', 'cpu', 'reference']);
  assert.equal(resolveParams(spec, { ...base, threads: '3' }).threads, 3);
  assert.throws(() => resolveParams(spec, { ...base, threads: 0 }), DpmError);
  const saved = process.env.DPM_DEVICE;
  process.env.DPM_DEVICE = 'reference';
  try {
    assert.equal(paramsFromEnv(spec, base).device, 'reference');
    assert.equal(paramsFromEnv(spec, { ...base, device: 'cpu' }).device, 'cpu', 'a given --device wins over the env');
    // the toolbox itself never reads the env
    assert.equal(resolveParams(spec, base).device, undefined);
  } finally {
    if (saved === undefined) delete process.env.DPM_DEVICE;
    else process.env.DPM_DEVICE = saved;
  }
  for (const id of ['train', 'forecast', 'run', 'inspect']) {
    assert.ok(
      algorithmSpec(id).parameters.some((p) => p.name === 'threads' && p.advanced),
      `${id} --threads`,
    );
  }
});

test('the CPU engine never keeps Node alive: after destroy(), and when the script forgets it', () => {
  const engineUrl = new URL('../host/cpu/engine.js', import.meta.url).href;
  for (const destroy of [true, false]) {
    const script = `
      const { createCpuEngine } = await import(${JSON.stringify(engineUrl)});
      const e = await createCpuEngine({ hidden: 8, mlp: 6, features: 1 }, { threads: 2 });
      const r = await e.forecast(new Float32Array([0.5, 1, 1.5, 0.2, 0.1, 0.3]), 2, 3);
      console.log(r.mu.length);
      ${destroy ? 'e.destroy();' : ''}`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.signal, null, `destroy ${destroy}: still running after 60 s`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '8');
  }
});

test('dpm gpu-info says which engine auto picks and why', () => {
  const r = spawnSync(process.execPath, [cli, 'gpu-info', '--json'], { encoding: 'utf8', timeout: 120_000 });
  const first = JSON.parse(r.stdout.trim().split('\n')[0]!);
  assert.equal(first.type, 'log');
  const cpu = /WebAssembly SIMD \((relaxed|plain)\), \d+ threads? — no hardware GPU adapter/;
  const gpu = /webgpu: .* — a hardware GPU adapter/;
  assert.ok(new RegExp(`^auto engine: (${cpu.source}|${gpu.source})$`).test(first.message), first.message);
});

test('dpm gpu-info under DPM_DEVICE naming an engine (cpu, reference) opens the adapter auto would; a bad name is one error', () => {
  const run = (device: string) =>
    spawnSync(process.execPath, [cli, 'gpu-info', '--json'], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, DPM_DEVICE: device },
    });
  for (const device of ['cpu', 'reference']) {
    const r = run(device);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const result = lines.find((l) => l.type === 'result');
    assert.ok(result, `DPM_DEVICE=${device}: no result (${r.stdout}${r.stderr})`);
    assert.equal(typeof result.outputs.backend, 'string');
  }
  const bad = run('bogus');
  const error = bad.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .find((l) => l.type === 'error');
  assert.match(error?.message ?? '', /DPM_DEVICE: 'bogus' is not one of auto, gpu, hardware, cpu, software, reference/);
  assert.notEqual(bad.status, 0);
});
