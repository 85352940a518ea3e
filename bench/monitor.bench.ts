// Issue 17, "Must show" 2: dpm monitor-update on 1,000,000 pixels with the fast model (H 32, M 32, the time-span
// feature: F 2), the coherence of the new pair included. Stages timed one by one, wall clock and CPU time of this
// process (CPU time is what a loaded shared machine cannot inflate; wall time is what a user waits):
//   coherence  the wasm coherence kernel (host/sar/kernel.ts) on two synthetic SLC strips, chip 15×5 at stride 15×5,
//              1000 × 1000 output pixels (the SLCs themselves are not read from disk here)
//   update     execute('monitor-update'): read the state (≈150 MB) and the pair, one GRU step + decode per pixel
//              on --threads worker threads (each count in turn from the same state), alerts, write zscore.tif,
//              alerts.tif and the new state
// and, for reference, monitor-init over 3 pairs. Random weights: the arithmetic does not depend on their values.
//
//   npm run build && node dist/bench/monitor.bench.js [--size 1000] [--threads 1,2]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { silentFeedback } from '../host/core/feedback.js';
import { PRESETS } from '../host/core/defaults.js';
import { initParams } from '../host/model/init.js';
import { Rng } from '../host/model/rng.js';
import { saveModel } from '../host/model/safetensors.js';
import { writeCoherenceStack } from '../host/raster/stack.js';
import { CoherenceKernel } from '../host/sar/kernel.js';
import { execute } from '../host/toolbox/execute.js';

const { values } = parseArgs({
  options: { size: { type: 'string', default: '1000' }, threads: { type: 'string', default: '1,2' } },
});
const S = Number(values.size);
const N = S * S;
const dir = mkdtempSync(join(tmpdir(), 'dpm-monitor-bench-'));

async function timed<T>(what: string, f: () => Promise<T> | T): Promise<T> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await f();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  console.log(`${what.padEnd(34)} ${wall.toFixed(2).padStart(7)} s wall ${cpu.toFixed(2).padStart(7)} s CPU`);
  rows.push({ what, wall, cpu });
  return r;
}
const rows: { what: string; wall: number; cpu: number }[] = [];

// the new pair's coherence: 1000 output rows of 1000 chips, computed in strips of 10 output rows
const chip = { cr: 15, ca: 5, sr: 15, sa: 5 };
const stripRows = 10;
const width = S * chip.cr,
  height = stripRows * chip.ca;
const kernel = await CoherenceKernel.create();
const n = width * height * 2;
const p1 = kernel.alloc(n * 4),
  p2 = kernel.alloc(n * 4),
  po = kernel.alloc(S * stripRows * 4),
  pc = kernel.alloc(width * 48);
const rng = new Rng(7);
kernel.f32(p1, n).set(Float32Array.from({ length: n }, () => rng.normal()));
kernel.f32(p2, n).set(Float32Array.from({ length: n }, () => rng.normal()));
const coherence = new Float32Array(N);
await timed(`coherence of the new pair (${N} px)`, () => {
  for (let r0 = 0; r0 < S; r0 += stripRows) {
    kernel.block(p1, p2, width, chip, stripRows, po, pc);
    coherence.set(kernel.f32(po, S * stripRows), r0 * S);
  }
});

// a model of the fast preset's size with the time-span feature, 3 pairs to start from, and the new pair
const config = { hidden: PRESETS.fast.hidden, mlp: PRESETS.fast.mlp, features: 2 };
const model = join(dir, 'model.safetensors');
saveModel(model, config, initParams(config, new Rng(1)), { timeFeatures: ['span'] });
const dates = ['20250101', '20250113', '20250125', '20250206', '20250218'];
const stack = (from: number, to: number) => ({
  width: S,
  height: S,
  georef: { geoTransform: [10, 0.001, 0, 50, 0, -0.001] as [number, number, number, number, number, number] },
  bands: Array.from({ length: to - from }, () => Float32Array.from({ length: N }, () => rng.uniform(0.2, 0.9))),
  descriptions: dates.slice(from, to).map((d, k) => `${d}_${dates[from + k + 1]}`),
  pairs: dates.slice(from, to).map((first, k) => ({ first, second: dates[from + k + 1]! })),
});
await writeCoherenceStack(join(dir, 'init.tif'), stack(0, 3));
const pair = { ...stack(3, 4), bands: [coherence] };
await writeCoherenceStack(join(dir, 'pair.tif'), pair);
const state = join(dir, 'state.safetensors');
await timed('monitor-init (3 pairs, once)', () =>
  execute('monitor-init', { coherence: [join(dir, 'init.tif')], model, state }, silentFeedback),
);
// the same update from the same state on each thread count, one after the other (a shared machine's load moves)
for (const threads of values.threads.split(',').map(Number)) {
  const out = join(dir, 'out');
  const next = join(dir, 'next.safetensors');
  const args = { state, coherence: [join(dir, 'pair.tif')], 'out-dir': out, 'out-state': next, threads };
  // each thread count writes the same outputs from the same state: replacing them is this bench's own business
  await timed(`monitor-update, ${threads} thread(s)`, () =>
    execute('monitor-update', args, silentFeedback, { overwrite: true }),
  );
  const total = rows[0]!.wall + rows[rows.length - 1]!.wall;
  console.log(`${`coherence + update, ${threads} thread(s)`.padEnd(34)} ${total.toFixed(2).padStart(7)} s wall`);
}
console.log(
  `load average ${loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')} on this machine during the run`,
);
rmSync(dir, { recursive: true, force: true });
