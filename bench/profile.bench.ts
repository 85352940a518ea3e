// A/B timing of WGSL engine variants in ONE run: each engine (a backend/plan of this build, or the engine of another
// build, e.g. a worktree of main) is warmed up, then training steps and forecasts run alternately on all of them,
// REPS times each, keeping the minimum — the machine is shared, and the alternation exposes every variant to the
// same load. Ratios are what to read; absolute numbers move with the load.
// node dist/bench/profile.bench.js [--batch 256 --steps 48 --reps 3] [--engine opengles/software ...]
//   [--base /path/to/other/dist/host/gpu/forecaster.js]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { createGpuEngine } from '../host/gpu/forecaster.js';
import { BACKEND_CHOICES } from '../host/gpu/backends.js';
import { PLAN_NAMES } from '../host/gpu/ops/plan.js';
import { PAPER_ADAM, type ForecasterEngine } from '../host/model/engine.js';
import { initParams } from '../host/model/init.js';
import { PAPER_CONFIG } from '../host/model/params.js';
import { Rng } from '../host/model/rng.js';

const { values: a } = parseArgs({
  options: {
    batch: { type: 'string', default: '256' },
    steps: { type: 'string', default: '48' },
    reps: { type: 'string', default: '3' },
    engine: { type: 'string', multiple: true, default: ['opengles/software'] },
    base: { type: 'string' },
  },
});
const B = Number(a.batch),
  T = Number(a.steps),
  REPS = Number(a.reps);
const rngX = new Rng(129);
const x = new Float32Array(B * T).map(() => rngX.normal() * 1.5 + 1);

interface Entry {
  label: string;
  engine: ForecasterEngine;
  dispatches?: () => number;
}

async function warm(label: string, engine: ForecasterEngine, dispatches?: () => number): Promise<Entry> {
  await engine.setParams(initParams(PAPER_CONFIG, new Rng(128)));
  await engine.forecast(x, B, T); // first calls compile the pipelines
  await engine.trainStep(x, B, T, PAPER_ADAM);
  return { label, engine, dispatches };
}

const entries: Entry[] = [];
for (const spec of a.engine) {
  const [backendName, planName] = spec.split('/');
  const backend = BACKEND_CHOICES.find((b) => b === backendName);
  const plan = PLAN_NAMES.find((p) => p === planName);
  if (!backend || !plan) throw new Error(`--engine ${spec}: expected BACKEND/PLAN, e.g. opengles/software`);
  const e = await createGpuEngine(PAPER_CONFIG, { backend, plan });
  entries.push(await warm(spec, e, () => e.dispatchesPerTrainStep()));
}
if (a.base) {
  // another build's engine (its own options: it is run with its defaults)
  const other = (await import(pathToFileURL(a.base).href)) as {
    createGpuEngine: (c: typeof PAPER_CONFIG) => Promise<ForecasterEngine>;
  };
  entries.push(await warm(`base (${a.base.replace(/\/dist\/.*$/, '')})`, await other.createGpuEngine(PAPER_CONFIG)));
}

const load0 = loadavg();
const best = entries.map(() => ({ train: Infinity, fc: Infinity }));
for (let rep = 0; rep < REPS; rep++) {
  for (const [k, { engine }] of entries.entries()) {
    let t = performance.now();
    await engine.trainStep(x, B, T, PAPER_ADAM);
    best[k]!.train = Math.min(best[k]!.train, (performance.now() - t) / 1000);
    t = performance.now();
    await engine.forecast(x, B, T);
    best[k]!.fc = Math.min(best[k]!.fc, (performance.now() - t) / 1000);
  }
}
console.log(
  `B ${B} T ${T}, min of ${REPS}; load before ${load0.map((v) => v.toFixed(2)).join(' ')}, after ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`,
);
const w = Math.max(...entries.map((e) => e.label.length), 10);
console.log(
  `${'engine'.padEnd(w)}  train seq-steps/s  forecast seq-steps/s  dispatches/train step  train vs first  forecast vs first`,
);
for (const [k, e] of entries.entries()) {
  const train = (B * T) / best[k]!.train,
    fc = (B * T) / best[k]!.fc;
  const t0 = (B * T) / best[0]!.train,
    f0 = (B * T) / best[0]!.fc;
  console.log(
    `${e.label.padEnd(w)}  ${train.toFixed(0).padStart(17)}  ${fc.toFixed(0).padStart(20)}  ` +
      `${String(e.dispatches?.() ?? '-').padStart(21)}  ${(train / t0).toFixed(3).padStart(14)}  ${(fc / f0).toFixed(3).padStart(17)}`,
  );
}
for (const e of entries) e.engine.destroy();
