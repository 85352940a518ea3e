// Throughput of the forecaster (the paper's model, H 256, M 128) at batch 256, T 48: the WGSL engine on the WebGPU
// adapter present, then the same model in PyTorch (bench/torch_gru.py, Debian's /usr/bin/python3) in the same run.
// Sequence-steps per second = B·T per training step (forward, backward, clip, Adam) or per forecast call.
// `npm run bench` (options: --batch N --steps T --train-iters N --forecast-iters N --device auto|hardware|software
// --no-torch). Prints a table and writes bench/results/forecaster-<time>.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createGpuEngine } from '../host/gpu/forecaster.js';
import type { DeviceChoice } from '../host/gpu/device.js';
import { PAPER_ADAM } from '../host/model/engine.js';
import { initParams } from '../host/model/init.js';
import { PAPER_CONFIG } from '../host/model/params.js';
import { Rng } from '../host/model/rng.js';
import { packageRoot } from '../host/paths.js';

interface Row {
  engine: string;
  train_seq_steps_per_s: number | null;
  forecast_seq_steps_per_s: number | null;
  train_s_per_step: number | null;
  forecast_s_per_call: number | null;
  warmup_s?: number;
  note?: string;
}

const { values: a } = parseArgs({
  options: {
    batch: { type: 'string', default: '256' },
    steps: { type: 'string', default: '48' },
    'train-iters': { type: 'string', default: '2' },
    'forecast-iters': { type: 'string', default: '2' },
    device: { type: 'string', default: process.env.DPM_DEVICE ?? 'auto' },
    'no-torch': { type: 'boolean', default: false },
  },
});
const B = Number(a.batch), T = Number(a.steps);
const trainIters = Number(a['train-iters']), forecastIters = Number(a['forecast-iters']);

async function benchGpu(): Promise<Row> {
  const t0 = performance.now();
  const engine = await createGpuEngine(PAPER_CONFIG, { device: a.device as DeviceChoice });
  try {
    const rng = new Rng(128);
    await engine.setParams(initParams(PAPER_CONFIG, rng));
    const x = new Float32Array(B * T).map(() => rng.normal() * 1.5 + 1);
    // first calls compile the pipelines (slow on llvmpipe): not measured
    await engine.forecast(x, B, T);
    await engine.trainStep(x, B, T, PAPER_ADAM);
    const warmup = (performance.now() - t0) / 1000;
    let t = performance.now();
    for (let i = 0; i < trainIters; i++) await engine.trainStep(x, B, T, PAPER_ADAM);
    const train = (performance.now() - t) / 1000 / trainIters;
    t = performance.now();
    for (let i = 0; i < forecastIters; i++) await engine.forecast(x, B, T);
    const fc = (performance.now() - t) / 1000 / forecastIters;
    return {
      engine: `insar-dpm WGSL, ${engine.description}`,
      train_seq_steps_per_s: (B * T) / train,
      forecast_seq_steps_per_s: (B * T) / fc,
      train_s_per_step: train,
      forecast_s_per_call: fc,
      warmup_s: warmup,
    };
  } finally {
    engine.destroy();
  }
}

function benchTorch(): Row {
  const script = join(packageRoot, 'bench', 'torch_gru.py');
  const args = [script, '--batch', String(B), '--steps', String(T), '--train-iters', String(Math.max(trainIters, 3)), '--forecast-iters', String(Math.max(forecastIters, 3))];
  const r = spawnSync('/usr/bin/python3', args, { encoding: 'utf8' });
  const missing = (why: string): Row => ({
    engine: 'pytorch (not run)',
    train_seq_steps_per_s: null,
    forecast_seq_steps_per_s: null,
    train_s_per_step: null,
    forecast_s_per_call: null,
    note: `${why} — install Debian's PyTorch with: apt-get install -y python3-torch`,
  });
  if (r.error) return missing(`/usr/bin/python3 could not run (${r.error.message})`);
  if (r.status !== 0) {
    const err = r.stderr.trim().split('\n').pop() ?? '';
    return missing(/No module named 'torch'/.test(r.stderr) ? 'PyTorch is not installed for /usr/bin/python3' : `bench/torch_gru.py failed: ${err}`);
  }
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
  return {
    engine: j.engine,
    train_seq_steps_per_s: j.train_seq_steps_per_s,
    forecast_seq_steps_per_s: j.forecast_seq_steps_per_s,
    train_s_per_step: j.train_s_per_step,
    forecast_s_per_call: j.forecast_s_per_call,
  };
}

const fmt = (v: number | null, digits = 0) => (v === null ? '-' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

const load0 = loadavg();
const rows: Row[] = [await benchGpu()];
if (!a['no-torch']) rows.push(benchTorch());
const load1 = loadavg();

process.stdout.write(`forecaster throughput: H ${PAPER_CONFIG.hidden}, M ${PAPER_CONFIG.mlp}, batch ${B}, T ${T} (sequence-steps/s = B·T per step or call)\n`);
process.stdout.write(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; load average ${load0[0]!.toFixed(1)} at start, ${load1[0]!.toFixed(1)} at end\n\n`);
const head = ['engine', 'train seq-steps/s', 'forecast seq-steps/s', 's/train step', 's/forecast'];
const body = rows.map((r) => [r.engine, fmt(r.train_seq_steps_per_s), fmt(r.forecast_seq_steps_per_s), fmt(r.train_s_per_step, 3), fmt(r.forecast_s_per_call, 3)]);
const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ') + '\n';
process.stdout.write(line(head));
process.stdout.write(line(widths.map((w) => '-'.repeat(w))));
for (const b of body) process.stdout.write(line(b));
for (const r of rows) if (r.note) process.stdout.write(`\nnote: ${r.note}\n`);

const dir = join(packageRoot, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `forecaster-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  JSON.stringify(
    { config: PAPER_CONFIG, batch: B, T, trainIters, forecastIters, cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavg: [load0, load1], results: rows },
    null,
    2,
  ) + '\n',
);
process.stdout.write(`\nwrote ${file}\n`);
