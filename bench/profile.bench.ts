// Per-phase timing of one training step of the WGSL engine (warm engines; each phase submitted alone and awaited with
// queue.onSubmittedWorkDone). With --compare ENVVAR a second engine is built with ENVVAR=1 (e.g. DPM_GPU_NO_V4) and
// every phase runs alternately on both engines, REPS times each, keeping the minimum (the machine is shared: the
// alternation exposes both variants to the same load). Uses the engine's private encoders: a development tool only.
// node dist-perf/bench/profile.bench.js [--batch 256 --steps 48 --reps 3 --compare DPM_GPU_NO_V4]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createGpuEngine } from '../host/gpu/forecaster.js';
import { PAPER_ADAM } from '../host/model/engine.js';
import { initParams } from '../host/model/init.js';
import { PAPER_CONFIG } from '../host/model/params.js';
import { Rng } from '../host/model/rng.js';

const { values: a } = parseArgs({
  options: { batch: { type: 'string', default: '256' }, steps: { type: 'string', default: '48' }, reps: { type: 'string', default: '3' }, compare: { type: 'string' } },
});
const B = Number(a.batch), T = Number(a.steps), REPS = Number(a.reps);
const rngX = new Rng(129);
const x = new Float32Array(B * T).map(() => rngX.normal() * 1.5 + 1);

async function makeEngine(env?: string): Promise<any> {
  if (env) process.env[env] = '1';
  try {
    const engine: any = await createGpuEngine(PAPER_CONFIG, {});
    await engine.setParams(initParams(PAPER_CONFIG, new Rng(128)));
    await engine.forecast(x, B, T);
    await engine.trainStep(x, B, T, PAPER_ADAM);
    return engine;
  } finally {
    if (env) delete process.env[env];
  }
}

type Phase = [string, (pass: GPUComputePassEncoder) => void];
/** the phases of a training step, in order (each idempotent given the earlier ones, Adam aside) */
async function phases(engine: any): Promise<Phase[]> {
  const dev: GPUDevice = engine.gpu.device;
  const { xc, mask } = engine.prepare(x, 0, B, T, 'profile');
  const w = await engine.ensureWork(B, T);
  dev.queue.writeBuffer(w.buf.x, 0, xc);
  dev.queue.writeBuffer(w.buf.mask, 0, mask);
  engine.writeSteps(B, T, false);
  const enc = dev.createCommandEncoder();
  enc.clearBuffer(w.buf.h, 0, B * engine.config.hidden * 4);
  engine.encodeWindowCopy(enc);
  dev.queue.submit([enc.finish()]);
  await dev.queue.onSubmittedWorkDone();
  const noop = { dispatch() {}, dispatchGrid() {} };
  // runs an encoder with every program but `keep` (and wgrad[j] when j is given) replaced by a no-op
  const only = (keep: string[], fn: (pass: GPUComputePassEncoder) => void, j?: number) => (pass: GPUComputePassEncoder) => {
    const saved = engine.p;
    const p: any = {};
    for (const [k, v] of Object.entries(saved)) {
      if (Array.isArray(v)) p[k] = v.map((q, i) => (keep.includes(k) || (k === 'wgrad' && i === j) ? q : noop));
      else p[k] = keep.includes(k) || !v ? v : noop;
    }
    const savedUw = engine.denseUw, savedWg = engine.wgUw, savedBack = engine.backUw;
    if (!keep.includes('denseBack')) engine.backUw = [];
    engine.p = p;
    if (!keep.includes('dense')) engine.denseUw = savedUw.map(() => undefined);
    engine.wgUw = savedWg.map((d: unknown, i: number) => (i === j ? d : undefined));
    try { fn(pass); } finally { engine.p = saved; engine.denseUw = savedUw; engine.wgUw = savedWg; engine.backUw = savedBack; }
  };
  const fwd = (ps: GPUComputePassEncoder) => engine.encodeForward(ps, w, B, T, false, false);
  const bwd = (ps: GPUComputePassEncoder) => engine.encodeBackward(ps, w, B, T);
  const list: Phase[] = [
    ['fwd: inputProj', only(['inputProj'], fwd)],
    ['fwd: GRU steps', only(['gruForward', 'gruForwardUw', 'gruForwardUwh'], fwd)],
    ['fwd: decoder', only(['dense'], fwd)],
    ['nll', (ps) => engine.p.nll.dispatch(ps, w.groups.nll, B * T, T + 1)],
    ['bwd: decoder dense', only(['denseBack'], bwd)],
  ];
  ['heads', 'mlp.4', 'mlp.2', 'mlp.0', 'gru.hh', 'gru.ih'].forEach((n, j) => list.push([`bwd: wgrad ${n}`, only(j === 4 ? ['wgradHhUwd'] : [], bwd, j)]));
  list.push(['bwd: BPTT gates', only(['gates', 'gatesW'], bwd)]);
  list.push(['bwd: BPTT hidden', only(['hidden', 'hiddenUw', 'hiddenUwd'], bwd)]);
  list.push(['norm + clip + adam', (ps) => { engine.encodeNorm(ps); engine.p.adam.dispatch(ps, engine.fixedGroups.adam, engine.N); }]);
  return list;
}

async function time(engine: any, rec: (pass: GPUComputePassEncoder) => void): Promise<number> {
  const dev: GPUDevice = engine.gpu.device;
  const enc = dev.createCommandEncoder();
  const t = performance.now();
  const pass = enc.beginComputePass();
  rec(pass);
  pass.end();
  dev.queue.submit([enc.finish()]);
  await dev.queue.onSubmittedWorkDone();
  return (performance.now() - t) / 1000;
}

const engines: [string, any][] = [['current', await makeEngine()]];
if (a.compare) engines.push([`${a.compare}=1`, await makeEngine(a.compare)]);
const load0 = loadavg();
const lists = await Promise.all(engines.map(([, e]) => phases(e)));
const best = engines.map(() => new Map<string, number>());
for (let i = 0; i < lists[0]!.length; i++) {
  for (let rep = 0; rep < REPS; rep++) {
    for (let k = 0; k < engines.length; k++) {
      const [name, rec] = lists[k]![i]!;
      const t = await time(engines[k]![1], rec);
      best[k]!.set(name, Math.min(best[k]!.get(name) ?? Infinity, t));
    }
  }
}
// whole calls, alternating
const whole = engines.map(() => ({ train: Infinity, fc: Infinity }));
for (let rep = 0; rep < REPS; rep++) {
  for (let k = 0; k < engines.length; k++) {
    const e = engines[k]![1];
    let t = performance.now();
    await e.trainStep(x, B, T, PAPER_ADAM);
    whole[k]!.train = Math.min(whole[k]!.train, (performance.now() - t) / 1000);
    t = performance.now();
    await e.forecast(x, B, T);
    whole[k]!.fc = Math.min(whole[k]!.fc, (performance.now() - t) / 1000);
  }
}
const fmt = (v: number) => v.toFixed(3).padStart(18);
console.log(`B ${B} T ${T}, min of ${REPS}, load before ${load0.map((v) => v.toFixed(2)).join(' ')}, after ${loadavg().map((v) => v.toFixed(2)).join(' ')} (seconds)`);
console.log(''.padEnd(24) + engines.map(([l]) => l.padStart(18)).join(''));
for (const [name] of lists[0]!) console.log(name.padEnd(24) + best.map((m) => fmt(m.get(name)!)).join(''));
console.log('sum of phases'.padEnd(24) + best.map((m) => fmt([...m.values()].reduce((s, v) => s + v, 0))).join(''));
console.log('trainStep (whole)'.padEnd(24) + whole.map((w) => fmt(w.train)).join(''));
console.log('forecast (whole)'.padEnd(24) + whole.map((w) => fmt(w.fc)).join(''));
console.log('train seq-steps/s'.padEnd(24) + whole.map((w) => ((B * T) / w.train).toFixed(0).padStart(18)).join(''));
console.log('forecast seq-steps/s'.padEnd(24) + whole.map((w) => ((B * T) / w.fc).toFixed(0).padStart(18)).join(''));
for (const [, e] of engines) e.destroy();
