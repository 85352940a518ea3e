// Where a training step of the CPU engine spends its time, and old-vs-new on the same load: each phase
// (forwardBackward, weightGrads) is timed around ThreadPool.run, the rest of trainStep (gradient norm, Adam, weight
// packing, input copy) is the remainder, and a forward-only pass (loss) gives the forward/BPTT split. With --base DIR
// (another built checkout, e.g. a worktree of main) its engine runs too; the engines alternate, step by step, and
// each figure is the minimum over --reps (the cores are shared: alternation exposes both to the same load).
//   node dist/bench/cpu-profile.bench.js [--batch 256] [--steps 48] [--threads 1,2] [--reps 5] [--simd relaxed]
//     [--base ../wt-cpu-base]
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createCpuEngine, type CpuEngineOptions } from '../host/cpu/engine.js';
import { ThreadPool } from '../host/cpu/threads.js';
import type { SimdKind } from '../host/cpu/wasm.js';
import { PAPER_ADAM, type ForecasterEngine } from '../host/model/engine.js';
import { initParams } from '../host/model/init.js';
import { PAPER_CONFIG, type ModelConfig } from '../host/model/params.js';
import { Rng } from '../host/model/rng.js';

const { values: a } = parseArgs({
  options: {
    batch: { type: 'string', default: '256' },
    steps: { type: 'string', default: '48' },
    threads: { type: 'string', default: '1,2' },
    reps: { type: 'string', default: '5' },
    simd: { type: 'string', default: 'relaxed' },
    base: { type: 'string' },
  },
});
const B = Number(a.batch),
  T = Number(a.steps),
  reps = Number(a.reps);
const simd = a.simd === 'plain' ? 'plain' : 'relaxed';

type Create = (c: ModelConfig, o: CpuEngineOptions) => Promise<ForecasterEngine>;
interface Build {
  label: string;
  create: Create;
  pool: typeof ThreadPool;
}
const builds: Build[] = [{ label: 'this build', create: createCpuEngine, pool: ThreadPool }];
if (a.base) {
  const dir = join(resolve(a.base), 'dist', 'host', 'cpu');
  const engine = (await import(pathToFileURL(join(dir, 'engine.js')).href)) as { createCpuEngine: Create };
  const threads = (await import(pathToFileURL(join(dir, 'threads.js')).href)) as { ThreadPool: typeof ThreadPool };
  builds.push({ label: `base ${a.base}`, create: engine.createCpuEngine, pool: threads.ThreadPool });
}

// phase timings of the step being measured, wall and process CPU (all threads: a phase preempted by another process
// keeps its CPU time, so under load the CPU figure is the steadier one)
let phaseMs = new Map<string, number>();
let phaseCpuMs = new Map<string, number>();
for (const { pool } of builds) {
  const run = pool.prototype.run;
  pool.prototype.run = function (this: ThreadPool, phase, ctx) {
    const t = performance.now();
    const cpu0 = process.cpuUsage();
    run.call(this, phase, ctx);
    const used = process.cpuUsage(cpu0);
    phaseMs.set(phase, (phaseMs.get(phase) ?? 0) + performance.now() - t);
    phaseCpuMs.set(phase, (phaseCpuMs.get(phase) ?? 0) + (used.user + used.system) / 1000);
  };
}

interface Best {
  step: number;
  /** process CPU time (all threads) of the step: less sensitive to other processes than the wall time */
  cpu: number;
  fb: number;
  wg: number;
  /** CPU time of the weight-gradient phase (all threads) */
  wgCpu: number;
  fwd: number;
}
const load0 = loadavg();
const f = (v: number) => v.toFixed(1).padStart(6);
for (const threads of a.threads!.split(',').map(Number)) {
  const rng = new Rng(128);
  const params = initParams(PAPER_CONFIG, rng);
  const x = new Float32Array(B * T).map(() => rng.normal() * 1.5 + 1);
  const engines: ForecasterEngine[] = [];
  for (const b of builds) {
    const e = await b.create(PAPER_CONFIG, { simd: simd as SimdKind, threads });
    await e.setParams(params);
    await e.trainStep(x, B, T, PAPER_ADAM);
    await e.loss(x, B, T);
    engines.push(e);
  }
  const best: Best[] = engines.map(() => ({
    step: Infinity,
    cpu: Infinity,
    fb: Infinity,
    wg: Infinity,
    wgCpu: Infinity,
    fwd: Infinity,
  }));
  for (let r = 0; r < reps; r++) {
    for (const [k, e] of engines.entries()) {
      phaseMs = new Map();
      phaseCpuMs = new Map();
      let t = performance.now();
      const cpu0 = process.cpuUsage();
      await e.trainStep(x, B, T, PAPER_ADAM);
      const used = process.cpuUsage(cpu0);
      const bk = best[k]!;
      bk.step = Math.min(bk.step, performance.now() - t);
      bk.cpu = Math.min(bk.cpu, (used.user + used.system) / 1000);
      bk.fb = Math.min(bk.fb, phaseMs.get('forwardBackward') ?? 0);
      bk.wg = Math.min(bk.wg, phaseMs.get('weightGrads') ?? 0);
      bk.wgCpu = Math.min(bk.wgCpu, phaseCpuMs.get('weightGrads') ?? 0);
      t = performance.now();
      await e.loss(x, B, T);
      bk.fwd = Math.min(bk.fwd, performance.now() - t);
    }
  }
  for (const [k, e] of engines.entries()) {
    const bk = best[k]!;
    console.log(
      `${builds[k]!.label.padEnd(24)} ${e.description.padEnd(38)} step ${f(bk.step)} ms (CPU ${f(bk.cpu)}): ` +
        `forward+BPTT ${f(bk.fb)} ` +
        `(forward alone ${f(bk.fwd)}), weight grads ${f(bk.wg)} (CPU ${f(bk.wgCpu)}), ` +
        `rest ${f(bk.step - bk.fb - bk.wg)}  → ` +
        `${Math.round(((B * T) / bk.step) * 1000).toLocaleString('en-US')} seq-steps/s`,
    );
    e.destroy();
  }
}
const load1 = loadavg();
console.log(
  `B ${B} T ${T}, min of ${reps}; load average ${load0[0]!.toFixed(2)} before, ${load1[0]!.toFixed(2)} after`,
);
