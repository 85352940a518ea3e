// The landslide U-Net's training step (forward, weighted cross-entropy, backward, Adam with weight decay) at the cpu
// preset (width 16, depth 3, 4 input channels, 128 × 128 chips, batch 8): the WebAssembly engine per SIMD build and
// thread count, the WGSL engine on every software backend present (llvmpipe via OpenGL ES, lavapipe via Vulkan: slow,
// they check the kernels run, not speed) and on a hardware adapter — the devices and backends of the forecaster's
// bench (bench/forecaster.bench.ts) — and PyTorch on the same network (bench/torch_unet.py imports the UNet class of
// scripts/unet-fixtures.py) under Debian's python3-torch and bench/.venv-torch, tuned as bench/README.md says
// (OMP_WAIT_POLICY=PASSIVE, tcmalloc when installed), at 1 thread and every core, and on CUDA with --device gpu where
// torch has it. Every figure is the fastest of --iters steps after one warm-up step. Images/s = batch / step time;
// GFLOP/s counts the convolutions' multiply-adds (× 2), forward × 3 for a training step (data and weight gradients;
// the input's data gradient is not computed).
//
//   npm run bench:unet -- [--device cpu,software,gpu] [--backend opengles,vulkan] [--batch 8] [--size 128]
//                         [--width 16] [--depth 3] [--in-channels 4] [--threads 1,2] [--simd relaxed,plain]
//                         [--iters 3] [--no-torch]
//
// Prints a table; writes bench/results/unet-*.json with one row per engine and thread count.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createCpuUNetEngine } from '../host/cpu/unet-engine.js';
import { createGpuUNetEngine } from '../host/gpu/unet-engine.js';
import { Rng } from '../host/model/rng.js';
import { levelWidths, unetParamCount, type UNetConfig } from '../host/model/unet/config.js';
import { PAPER_UNET_ADAM, type UNetEngine } from '../host/model/unet/engine.js';
import { packageRoot } from '../host/paths.js';
import { torchEnv, torchInterpreters } from './torch-rows.js';

interface Row {
  engine: string;
  /** WebAssembly threads; null for the GPU engine */
  threads: number | null;
  batch: number;
  size: number;
  ms_per_step: number | null;
  images_per_s: number | null;
  gflop_per_s: number | null;
  note?: string;
}

const { values: a } = parseArgs({
  options: {
    device: { type: 'string', default: 'cpu,software,gpu' },
    backend: { type: 'string', default: 'opengles,vulkan' },
    batch: { type: 'string', default: '8' },
    size: { type: 'string', default: '128' },
    width: { type: 'string', default: '16' },
    depth: { type: 'string', default: '3' },
    'in-channels': { type: 'string', default: '4' },
    threads: { type: 'string', default: `1,${cpus().length}` },
    simd: { type: 'string', default: 'relaxed,plain' },
    iters: { type: 'string', default: '3' },
    'no-torch': { type: 'boolean', default: false },
  },
});

function positive(name: string, s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: '${s}' is not a positive integer`);
  return n;
}
const list = (s: string) =>
  s
    .split(',')
    .map((w) => w.trim())
    .filter(Boolean);

const DEVICES = ['cpu', 'software', 'gpu'] as const;
const BACKENDS = ['opengles', 'vulkan'] as const;
function oneOf<T extends string>(name: string, allowed: readonly T[]): (s: string) => T {
  return (s) => {
    const found = allowed.find((x) => x === s);
    if (found === undefined) throw new Error(`--${name}: '${s}' is not one of ${allowed.join(', ')}`);
    return found;
  };
}
const devices = list(a.device).map(oneOf('device', DEVICES));
const backends = list(a.backend).map(oneOf('backend', BACKENDS));
const B = positive('batch', a.batch);
const size = positive('size', a.size);
const iters = positive('iters', a.iters);
const threadCounts = [...new Set(list(a.threads).map((s) => positive('threads', s)))];
const simds = list(a.simd).map(oneOf('simd', ['relaxed', 'plain'] as const));
const config: UNetConfig = {
  inChannels: positive('in-channels', a['in-channels']),
  classes: 2,
  width: positive('width', a.width),
  depth: positive('depth', a.depth),
};

/** 2 × multiply-adds of one chip's forward convolutions (3×3 blocks, transposed convolutions, head) */
function forwardFlopsPerImage(c: UNetConfig, s: number): number {
  const w = levelWidths(c);
  let f = 0;
  const block = (cin: number, cout: number, px: number) => {
    f += 2 * px * cout * (cin + cout) * 9;
  };
  for (let i = 0; i < c.depth; i++) block(i === 0 ? c.inChannels : w[i - 1]!, w[i]!, (s >> i) ** 2);
  block(w[c.depth - 1]!, w[c.depth]!, (s >> c.depth) ** 2);
  for (let i = c.depth - 1; i >= 0; i--) {
    f += 2 * (s >> (i + 1)) ** 2 * w[i + 1]! * w[i]! * 4;
    block(2 * w[i]!, w[i]!, (s >> i) ** 2);
  }
  return f + 2 * s * s * c.width * c.classes;
}
const TRAIN_FLOPS = 3 * forwardFlopsPerImage(config, size) * B;

function row(engine: string, threads: number | null, seconds: number | null, note?: string): Row {
  return {
    engine,
    threads,
    batch: B,
    size,
    ms_per_step: seconds === null ? null : seconds * 1e3,
    images_per_s: seconds === null ? null : B / seconds,
    gflop_per_s: seconds === null ? null : TRAIN_FLOPS / seconds / 1e9,
    ...(note ? { note } : {}),
  };
}

/** The fastest of --iters training steps after a warm-up (which lays out memory or compiles pipelines). */
async function timeSteps(engine: UNetEngine): Promise<number> {
  const rng = new Rng(1);
  const params = new Float32Array(unetParamCount(config)).map(() => rng.uniform(-0.1, 0.1));
  await engine.setParams(params);
  const x = new Float32Array(B * config.inChannels * size * size).map(() => rng.normal());
  const labels = new Uint8Array(B * size * size).map(() => (rng.uniform(0, 1) < 0.3 ? 1 : 0));
  const batch = { x, labels, B, H: size, W: size };
  const weights = new Float32Array([0.4, 1.6]);
  await engine.trainStep(batch, weights, PAPER_UNET_ADAM);
  let best = Infinity;
  for (let i = 0; i < iters; i++) {
    const t = performance.now();
    await engine.trainStep(batch, weights, PAPER_UNET_ADAM);
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  return best;
}

/** a row for an engine: opened, timed, destroyed; a row saying why when it cannot open or run */
async function engineRow(label: string, threads: number | null, open: () => Promise<UNetEngine>): Promise<Row> {
  process.stderr.write(`bench: ${label}${threads === null ? '' : `, ${threads} threads`} …\n`);
  let engine: UNetEngine;
  try {
    engine = await open();
  } catch (err) {
    return row(label, threads, null, `not run: ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    const seconds = await timeSteps(engine);
    // the engine's own words (SIMD build; adapter and backend), without the thread count (a column)
    const name = engine.description.replace(/, \d+ threads?$/, '');
    return row(label.startsWith('WGSL') ? `WGSL, ${name}` : name, threads, seconds);
  } catch (err) {
    return row(engine.description, threads, null, `failed: ${(err as Error).message.split('\n')[0]}`);
  } finally {
    engine.destroy();
  }
}

function torchRow(python: string, threads: number, device: 'cpu' | 'cuda'): Row {
  const script = join(packageRoot, 'bench', 'torch_unet.py');
  const args = [script, '--batch', String(B), '--size', String(size), '--width', String(config.width)];
  args.push('--depth', String(config.depth), '--in-channels', String(config.inChannels));
  args.push('--iters', String(iters), '--threads', String(threads), '--device', device);
  const { env, tcmalloc } = torchEnv(device);
  const p = spawnSync(python, args, { encoding: 'utf8', env, maxBuffer: 1 << 20 });
  if (p.error || p.status !== 0) {
    const why = p.error?.message ?? (p.stderr.trim().split('\n').pop() || `exit ${p.status}`);
    return row(`PyTorch (${python})`, threads, null, `not run: ${why}`);
  }
  const j = JSON.parse(p.stdout.trim().split('\n').pop() ?? '{}') as { engine: string; ms_per_step: number };
  return row(`${j.engine}${tcmalloc ? ', tcmalloc' : ''}`, threads, j.ms_per_step / 1000);
}

const rows: Row[] = [];
for (const device of devices) {
  if (device === 'cpu') {
    for (const simd of simds)
      for (const threads of threadCounts)
        rows.push(
          await engineRow(`WebAssembly SIMD (${simd})`, threads, () => createCpuUNetEngine(config, { simd, threads })),
        );
  } else if (device === 'software') {
    for (const backend of backends)
      rows.push(
        await engineRow(`WGSL (${backend}, software)`, null, () =>
          createGpuUNetEngine(config, { device: 'software', backend }),
        ),
      );
  } else {
    rows.push(await engineRow('WGSL (hardware)', null, () => createGpuUNetEngine(config, { device: 'hardware' })));
  }
}
if (!a['no-torch']) {
  for (const py of torchInterpreters()) {
    for (const t of threadCounts) rows.push(torchRow(py, t, 'cpu'));
    if (!devices.includes('gpu')) continue;
    // a CPU-only torch on a GPU machine is expected: its CUDA row is left out, not reported
    const cuda = torchRow(py, cpus().length, 'cuda');
    if (cuda.ms_per_step !== null) rows.push({ ...cuda, threads: null });
  }
}

const header = ['engine', 'threads', 'batch', 'ms/step', 'images/s', 'GFLOP/s'];
const cells = rows.map((r) => [
  r.engine,
  r.threads === null ? '-' : String(r.threads),
  String(r.batch),
  r.ms_per_step === null ? '-' : r.ms_per_step.toFixed(0),
  r.images_per_s === null ? '-' : r.images_per_s.toFixed(1),
  r.gflop_per_s === null ? '-' : r.gflop_per_s.toFixed(1),
]);
const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
const line = (c: string[]) => c.map((s, i) => (i === 0 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!))).join('  ');
const title = `U-Net training step, width ${config.width}, depth ${config.depth}, ${config.inChannels} channels, `;
process.stdout.write(`${title}${B} × ${size} × ${size} chips (fastest of ${iters} after a warm-up)\n`);
process.stdout.write(`${[line(header), ...cells.map(line)].join('\n')}\n`);
for (const r of rows) if (r.note) process.stdout.write(`note (${r.engine}): ${r.note}\n`);

const dir = join(packageRoot, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `unet-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
const meta = { config, batch: B, size, iters, cpu: cpus()[0]?.model, cores: cpus().length, load: loadavg() };
writeFileSync(file, `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
process.stdout.write(`wrote ${file}\n`);
