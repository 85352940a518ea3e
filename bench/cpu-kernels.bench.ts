// The CPU engine's speed on this machine: the packed sgemm alone (GFLOP/s, one thread, the shapes of a training
// step) and the engine's train step and forecast on the paper model (sequence-steps/s = B·T per call), for each SIMD
// build and thread count; then bench/torch_gru.py (tuned: OMP_WAIT_POLICY=PASSIVE, tcmalloc) for each --python given,
// and the ratios of the best WebAssembly figure to the best PyTorch figure of this same run (the cores are shared
// with whatever else runs: compare within one run only):
//   node dist/bench/cpu-kernels.bench.js [--batch 256] [--steps 48] [--forecast-batch 4096] [--threads 1,2]
//     [--python /usr/bin/python3,/path/to/venv/bin/python]
import { parseArgs } from 'node:util';
import { runTorch } from './torch-rows.js';
import { createCpuEngine } from '../host/cpu/engine.js';
import { forecasterModule, instantiate, sharedMemory, type SimdKind } from '../host/cpu/wasm.js';
import { PAPER_ADAM } from '../host/model/engine.js';
import { initParams } from '../host/model/init.js';
import { PAPER_CONFIG } from '../host/model/params.js';
import { Rng } from '../host/model/rng.js';

const { values: a } = parseArgs({
  options: {
    batch: { type: 'string', default: '256' },
    steps: { type: 'string', default: '48' },
    'forecast-batch': { type: 'string', default: '4096' },
    threads: { type: 'string', default: '1,2' },
    simd: { type: 'string', default: 'relaxed,plain' },
    iters: { type: 'string', default: '2' },
    python: { type: 'string', default: '/usr/bin/python3' },
    'torch-threads': { type: 'string', default: '2' },
  },
});
const B = Number(a.batch),
  T = Number(a.steps),
  FB = Number(a['forecast-batch']),
  iters = Number(a.iters);
const simds = a.simd!.split(',') as SimdKind[];

/** GFLOP/s of C[m, n] = A[m, K] · Bp over ~0.3 s */
function sgemmRate(simd: SimdKind, m: number, n: number, K: number): number {
  const mem = sharedMemory(64 * 2 ** 20);
  const ex = instantiate(forecasterModule(simd), mem);
  const pa = Math.ceil(ex.heapBase() / 64) * 64,
    pb = pa + m * K * 4,
    pc = pb + ex.packedFloats(K, n) * 4;
  const tile = pc + m * n * 4;
  const rng = new Rng(1);
  new Float32Array(mem.buffer, pa, m * K).forEach((_, i, arr) => (arr[i] = rng.uniform(-1, 1)));
  new Float32Array(mem.buffer, pb, ex.packedFloats(K, n)).forEach((_, i, arr) => (arr[i] = rng.uniform(-1, 1)));
  ex.gemm(pa, K, pb, K, pc, n, m, n, 0, 0, tile);
  let reps = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < 300) {
    ex.gemm(pa, K, pb, K, pc, n, m, n, 0, 0, tile);
    reps++;
    t = performance.now();
  }
  return (2 * m * n * K * reps) / ((t - t0) / 1000) / 1e9;
}

const shapes: [string, number, number, number][] = [
  ['GRU step h·W_hhᵀ (128×768×256)', 128, 768, 256],
  ['BPTT dgh·W_hh (128×256×768)', 128, 256, 768],
  ['decoder (128×128×256)', 128, 128, 256],
  ['weight gradient block (384×257×256)', 384, 257, 256],
];
process.stdout.write('sgemm, one thread (GFLOP/s)\n');
for (const [name, m, n, K] of shapes) {
  const rates = simds.map((s) => `${s} ${sgemmRate(s, m, n, K).toFixed(1)}`);
  process.stdout.write(`  ${name.padEnd(40)} ${rates.join('   ')}\n`);
}

const best = { train: 0, fc: 0, fcBig: 0 };
const { hidden, mlp } = PAPER_CONFIG;
process.stdout.write(`\nengine, paper model (H ${hidden}, M ${mlp}), T ${T} (sequence-steps/s)\n`);
for (const simd of simds) {
  for (const threads of a.threads!.split(',').map(Number)) {
    const e = await createCpuEngine(PAPER_CONFIG, { simd, threads });
    try {
      const rng = new Rng(128);
      await e.setParams(initParams(PAPER_CONFIG, rng));
      const x = new Float32Array(FB * T).map(() => rng.normal() * 1.5 + 1);
      const xb = x.subarray(0, B * T);
      await e.trainStep(xb, B, T, PAPER_ADAM); // warm-up: memory growth, tier-up
      await e.forecast(xb, B, T);
      // the fastest of `iters` calls, as bench/torch_gru.py times PyTorch (load only ever slows a call down)
      const fastest = async (call: () => Promise<unknown>) => {
        let best = Infinity;
        for (let i = 0; i < iters; i++) {
          const t = performance.now();
          await call();
          best = Math.min(best, (performance.now() - t) / 1000);
        }
        return best;
      };
      const train = await fastest(() => e.trainStep(xb, B, T, PAPER_ADAM));
      const fc = await fastest(() => e.forecast(xb, B, T));
      const t = performance.now();
      await e.forecast(x, FB, T);
      const fcBig = (performance.now() - t) / 1000;
      best.train = Math.max(best.train, (B * T) / train);
      best.fc = Math.max(best.fc, (B * T) / fc);
      best.fcBig = Math.max(best.fcBig, (FB * T) / fcBig);
      const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en-US');
      process.stdout.write(
        `  ${e.description.padEnd(40)} ` +
          `train B ${B}: ${rate(B * T, train)} (${train.toFixed(3)} s)   ` +
          `forecast B ${B}: ${rate(B * T, fc)}   forecast B ${FB}: ${rate(FB * T, fcBig)}\n`,
      );
    } finally {
      e.destroy();
    }
  }
}

/** bench/torch_gru.py under `python` at batch b (bench/torch-rows.ts: tuned as bench/README.md says) */
function torch(python: string, b: number, trainIters: number, threads: number) {
  const r = runTorch({ python, device: 'cpu', batch: b, T, trainIters, forecastIters: 3, threads });
  if (typeof r === 'string') {
    process.stdout.write(`  ${r}\n`);
    return undefined;
  }
  return { engine: r.engine, train: r.train_seq_steps_per_s ?? 0, fc: r.forecast_seq_steps_per_s ?? 0 };
}

process.stdout.write(`\nPyTorch (bench/torch_gru.py, OMP_WAIT_POLICY=PASSIVE, tcmalloc), T ${T}\n`);
const torchBest = { train: 0, fc: 0, fcBig: 0 };
for (const threads of a['torch-threads']!.split(',').map(Number)) {
  for (const python of a.python!.split(',')) {
    const small = torch(python, B, 3, threads);
    const big = torch(python, FB, 1, threads);
    if (!small || !big) continue;
    torchBest.train = Math.max(torchBest.train, small.train);
    torchBest.fc = Math.max(torchBest.fc, small.fc);
    torchBest.fcBig = Math.max(torchBest.fcBig, big.fc);
    const r = (v: number) => Math.round(v).toLocaleString('en-US');
    process.stdout.write(
      `  ${small.engine.padEnd(40)} train B ${B}: ${r(small.train)}   ` +
        `forecast B ${B}: ${r(small.fc)}   ` +
        `forecast B ${FB}: ${r(big.fc)}\n`,
    );
  }
}
if (torchBest.train > 0) {
  const q = (x: number, y: number) => (x / y).toFixed(2);
  process.stdout.write(
    `\nbest WebAssembly / best PyTorch in this run: train ${q(best.train, torchBest.train)}×, ` +
      `forecast B ${B} ${q(best.fc, torchBest.fc)}×, forecast B ${FB} ${q(best.fcBig, torchBest.fcBig)}×\n`,
  );
}
