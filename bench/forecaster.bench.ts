// Throughput of the forecaster engines side by side in one run (the paper's model, H 256, M 128): the WebAssembly
// engine (cpu), the WGSL engine on every software backend present (software: llvmpipe via OpenGL ES, lavapipe via
// Vulkan) and on a hardware adapter (gpu), each with the kernel plan it picks (or --plan), and PyTorch on the same
// model (bench/torch_gru.py under Debian's python3-torch and bench/.venv-torch, tuned as bench/README.md says).
// Sequence-steps per second = B·T per training step (forward, loss, backward, clip, Adam) or per forecast call, from
// the fastest of the timed calls (after a warm-up) for every engine and PyTorch alike.
//
//   npm run bench -- [--device cpu,software,gpu,reference] [--backend opengles,vulkan] [--plan auto|hardware|software]
//                    [--steps 12,48,96] [--batch 256] [--threads N] [--train-iters 3] [--forecast-iters 3]
//                    [--no-torch] [--baseline DIR]
//
// --baseline DIR adds the engines of another built checkout (e.g. `git worktree add ../main-old main && cd
// ../main-old && npm ci && npm run build`) to the same run: its WebAssembly engine with --device cpu, its WGSL engine
// on a software adapter with --device software: on a shared machine absolute numbers move with load, so a speed-up
// is only shown by two engines measured in one run. Prints a table; writes bench/results/forecaster-*.json
// with one row per engine, backend, plan, batch and T.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { ForecasterEngine } from '../host/model/engine.js';
import { PAPER_ADAM } from '../host/model/engine.js';
import { initParams } from '../host/model/init.js';
import { PAPER_CONFIG, type ModelConfig } from '../host/model/params.js';
import { ReferenceEngine } from '../host/model/reference.js';
import { Rng } from '../host/model/rng.js';
import { packageRoot } from '../host/paths.js';
import { runTorch, torchInterpreters } from './torch-rows.js';

/** What the bench reads beyond the engine interface (the GPU engine reports its backend, plan and dispatches). */
interface BenchEngine extends ForecasterEngine {
  readonly backend?: string;
  readonly plan?: string;
  dispatchesPerTrainStep?(): number;
}

export interface Row {
  engine: string;
  backend: string;
  plan: string;
  T: number;
  batch: number;
  train_seq_steps_per_s: number | null;
  forecast_seq_steps_per_s: number | null;
  train_gflop_per_s: number | null;
  forecast_gflop_per_s: number | null;
  dispatches_per_train_step: number | null;
  note?: string;
}

const { values: a } = parseArgs({
  options: {
    device: { type: 'string', default: 'cpu,software,gpu' },
    backend: { type: 'string', default: 'opengles,vulkan' },
    plan: { type: 'string', default: 'auto' },
    steps: { type: 'string', default: '12,48,96' },
    batch: { type: 'string', default: '256' },
    threads: { type: 'string' },
    'train-iters': { type: 'string', default: '3' },
    'forecast-iters': { type: 'string', default: '3' },
    'no-torch': { type: 'boolean', default: false },
    baseline: { type: 'string' },
  },
});

function list<T extends string>(name: string, value: string, allowed: readonly T[]): T[] {
  return words(value).map((item) => {
    const found = allowed.find((x) => x === item);
    if (found === undefined) throw new Error(`--${name}: '${item}' is not one of ${allowed.join(', ')}`);
    return found;
  });
}
function words(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
function counts(name: string, value: string): number[] {
  return words(value).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: '${s}' is not a positive integer`);
    return n;
  });
}

const DEVICES = ['cpu', 'software', 'gpu', 'reference'] as const;
const BACKENDS = ['opengles', 'vulkan'] as const;
const PLANS = ['auto', 'hardware', 'software'] as const;
const devices = list('device', a.device, DEVICES);
const backends = list('backend', a.backend, BACKENDS);
const plan = list('plan', a.plan, PLANS)[0] ?? 'auto';
const stepsList = counts('steps', a.steps);
const batches = counts('batch', a.batch);
const threads = a.threads === undefined ? undefined : counts('threads', a.threads)[0];
const trainIters = Number(a['train-iters']);
const forecastIters = Number(a['forecast-iters']);
const config = PAPER_CONFIG;

/** multiply-adds × 2 of one sequence-step's forward pass: GRU input and recurrent products, the decoder MLP, heads */
function forwardFlopsPerSeqStep(c: ModelConfig): number {
  const { hidden: H, mlp: M, features: F } = c;
  return 2 * (3 * H * F + 3 * H * H + H * M + 2 * M * M + 2 * M);
}
// training = forward + backward (two products per forward product: data and weight gradients)
const TRAIN_FLOPS = 3 * forwardFlopsPerSeqStep(config);
const FORECAST_FLOPS = forwardFlopsPerSeqStep(config);

interface Spec {
  label: string;
  open: () => Promise<BenchEngine>;
}

async function gpuSpec(
  device: 'hardware' | 'software',
  backend: (typeof BACKENDS)[number] | undefined,
  label: string,
): Promise<Spec> {
  const { createGpuEngine } = await import('../host/gpu/forecaster.js');
  return {
    label,
    open: () => createGpuEngine(config, { device, backend, plan: plan === 'auto' ? undefined : plan }),
  };
}

/** the engines of another built checkout, for the devices asked for that it has (cpu: its WebAssembly engine) */
async function baselineSpecs(dir: string): Promise<Spec[]> {
  const root = resolve(dir);
  let rev = '';
  try {
    rev = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    rev = 'unknown revision';
  }
  const load = async <M>(path: string) => (await import(pathToFileURL(join(root, 'dist', 'host', path)).href)) as M;
  const out: Spec[] = [];
  if (devices.includes('cpu') && existsSync(join(root, 'dist', 'host', 'cpu', 'engine.js'))) {
    const mod = await load<{ createCpuEngine: (c: ModelConfig, o: { threads?: number }) => Promise<BenchEngine> }>(
      'cpu/engine.js',
    );
    out.push({ label: `WebAssembly baseline ${root}@${rev}`, open: () => mod.createCpuEngine(config, { threads }) });
  }
  if (devices.includes('software') || out.length === 0) {
    const mod = await load<{ createGpuEngine: (c: ModelConfig, o: { device: string }) => Promise<BenchEngine> }>(
      'gpu/forecaster.js',
    );
    out.push({
      label: `WGSL baseline ${root}@${rev}`,
      open: () => mod.createGpuEngine(config, { device: 'software' }),
    });
  }
  return out;
}

async function specs(): Promise<Spec[]> {
  const out: Spec[] = [];
  for (const d of devices) {
    if (d === 'cpu') {
      const { createCpuEngine } = await import('../host/cpu/engine.js');
      out.push({ label: 'WebAssembly', open: () => createCpuEngine(config, { threads }) });
    } else if (d === 'software') {
      for (const b of backends) out.push(await gpuSpec('software', b, 'WGSL'));
    } else if (d === 'gpu') {
      out.push(await gpuSpec('hardware', undefined, 'WGSL'));
    } else {
      out.push({ label: 'reference float64', open: async () => new ReferenceEngine(config) });
    }
  }
  if (a.baseline) out.push(...(await baselineSpecs(a.baseline)));
  return out;
}

async function measure(spec: Spec, B: number, T: number): Promise<Row> {
  const base = { engine: spec.label, backend: '-', plan: '-', T, batch: B };
  let engine: BenchEngine;
  try {
    engine = await spec.open();
  } catch (err) {
    return notRun(spec.label, '-', B, T, `not run: ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    const rng = new Rng(128);
    await engine.setParams(initParams(config, rng));
    const x = new Float32Array(B * T).map(() => rng.normal() * 1.5 + 1);
    // the first calls compile pipelines and grow buffers: not measured
    await engine.forecast(x, B, T);
    if (trainIters > 0) await engine.trainStep(x, B, T, PAPER_ADAM);
    // each figure is the fastest of its iterations (as bench/torch_gru.py's): on a shared machine load only ever
    // slows a call down, and the engines and PyTorch do not run at the same moment
    const fastest = async (iters: number, call: () => Promise<unknown>): Promise<number | null> => {
      let best: number | null = null;
      for (let i = 0; i < iters; i++) {
        const t = performance.now();
        await call();
        const s = (performance.now() - t) / 1000;
        best = best === null ? s : Math.min(best, s);
      }
      return best;
    };
    const train = await fastest(trainIters, () => engine.trainStep(x, B, T, PAPER_ADAM));
    const fc = await fastest(forecastIters, () => engine.forecast(x, B, T));
    const seq = B * T;
    return {
      ...base,
      engine: `${spec.label} (${engine.description})`,
      backend: engine.backend ?? 'cpu',
      plan: engine.plan ?? '-',
      train_seq_steps_per_s: train === null ? null : seq / train,
      forecast_seq_steps_per_s: fc === null ? null : seq / fc,
      train_gflop_per_s: train === null ? null : (seq * TRAIN_FLOPS) / train / 1e9,
      forecast_gflop_per_s: fc === null ? null : (seq * FORECAST_FLOPS) / fc / 1e9,
      dispatches_per_train_step:
        trainIters > 0 && engine.dispatchesPerTrainStep ? engine.dispatchesPerTrainStep() : null,
    };
  } finally {
    engine.destroy();
  }
}

/** a row for something that could not run, saying why */
function notRun(engine: string, backend: string, batch: number, T: number, note: string): Row {
  return { engine, backend, plan: '-', T, batch, ...NO_FIGURES, note };
}

const NO_FIGURES = {
  train_seq_steps_per_s: null,
  forecast_seq_steps_per_s: null,
  train_gflop_per_s: null,
  forecast_gflop_per_s: null,
  dispatches_per_train_step: null,
} as const;

function torchRows(B: number, T: number): Row[] {
  if (a['no-torch']) return [];
  const pythons = torchInterpreters();
  const targets: ('cpu' | 'cuda')[] = devices.includes('gpu') ? ['cpu', 'cuda'] : ['cpu'];
  const rows: Row[] = [];
  for (const python of pythons) {
    for (const device of targets) {
      const r = runTorch({
        python,
        device,
        batch: B,
        T,
        trainIters: Math.max(trainIters, 3),
        forecastIters: Math.max(forecastIters, 3),
      });
      if (typeof r === 'string') {
        // a CPU-only torch on a GPU machine is expected: only report a missing CPU torch
        if (device === 'cpu') rows.push(notRun('pytorch', device, B, T, r));
        continue;
      }
      rows.push({
        engine: `${r.engine} (${r.device})`,
        backend: device,
        plan: '-',
        T,
        batch: B,
        train_seq_steps_per_s: r.train_seq_steps_per_s,
        forecast_seq_steps_per_s: r.forecast_seq_steps_per_s,
        train_gflop_per_s: r.train_seq_steps_per_s === null ? null : (r.train_seq_steps_per_s * TRAIN_FLOPS) / 1e9,
        forecast_gflop_per_s:
          r.forecast_seq_steps_per_s === null ? null : (r.forecast_seq_steps_per_s * FORECAST_FLOPS) / 1e9,
        dispatches_per_train_step: null,
      });
    }
  }
  if (pythons.length === 0) {
    const why = 'no PyTorch: apt-get install -y python3-torch, and/or bash bench/setup-torch.sh';
    rows.push(notRun('pytorch', 'cpu', B, T, why));
  }
  return rows;
}

const fmt = (v: number | null, digits = 0) =>
  v === null ? '-' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function table(rows: Row[]): string {
  const head = [
    'engine',
    'backend',
    'plan',
    'B',
    'T',
    'train seq-steps/s',
    'forecast seq-steps/s',
    'train GFLOP/s',
    'forecast GFLOP/s',
    'dispatches/step',
  ];
  const body = rows.map((r) => [
    r.engine,
    r.backend,
    r.plan,
    String(r.batch),
    String(r.T),
    fmt(r.train_seq_steps_per_s),
    fmt(r.forecast_seq_steps_per_s),
    fmt(r.train_gflop_per_s, 1),
    fmt(r.forecast_gflop_per_s, 1),
    r.dispatches_per_train_step === null ? '-' : String(r.dispatches_per_train_step),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 3 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ') + '\n';
  let out = line(head) + line(widths.map((w) => '-'.repeat(w)));
  for (const b of body) out += line(b);
  for (const r of rows) if (r.note) out += `note (${r.engine}, B ${r.batch}, T ${r.T}): ${r.note}\n`;
  return out;
}

const load0 = loadavg();
const rows: Row[] = [];
const all = await specs();
for (const B of batches) {
  for (const T of stepsList) {
    for (const spec of all) {
      process.stderr.write(`bench: ${spec.label}, B ${B}, T ${T} …\n`);
      rows.push(await measure(spec, B, T));
    }
    rows.push(...torchRows(B, T));
  }
}
const load1 = loadavg();

process.stdout.write(
  `forecaster throughput: H ${config.hidden}, M ${config.mlp}; sequence-steps/s = B·T per training ` +
    `step or forecast call; GFLOP/s from ${(TRAIN_FLOPS / 1e6).toFixed(2)} MFLOP per training sequence-step\n`,
);
process.stdout.write(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; load average ` +
    `${load0[0]?.toFixed(1)} at start, ${load1[0]?.toFixed(1)} at end\n\n`,
);
process.stdout.write(table(rows));

const dir = join(packageRoot, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `forecaster-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
const meta = {
  config,
  trainIters,
  forecastIters,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  loadavg: [load0, load1],
};
writeFileSync(file, JSON.stringify({ ...meta, rows }, null, 2) + '\n');
process.stdout.write(`\nwrote ${file}\n`);
