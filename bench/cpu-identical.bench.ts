// Are this build's CPU-engine results bit-identical to another built checkout's? Gradients (lossAndGrad) and the
// parameters after two train steps, at 1 and 2 threads, on B sequences of length T with missing values; and this
// build's results at 1 thread against its results at 2.
//   node dist/bench/cpu-identical.bench.js --base ../wt-cpu-base [--batch 64] [--steps 12]
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createCpuEngine, type CpuEngineOptions } from '../host/cpu/engine.js';
import { PAPER_ADAM, type ForecasterEngine } from '../host/model/engine.js';
import { initParams } from '../host/model/init.js';
import { PAPER_CONFIG, type ModelConfig } from '../host/model/params.js';
import { Rng } from '../host/model/rng.js';

const { values: a } = parseArgs({
  options: {
    base: { type: 'string' },
    batch: { type: 'string', default: '64' },
    steps: { type: 'string', default: '12' },
  },
});
if (!a.base) throw new Error('--base DIR (a built checkout) is required');
type Create = (c: ModelConfig, o: CpuEngineOptions) => Promise<ForecasterEngine>;
const dir = join(resolve(a.base), 'dist', 'host', 'cpu', 'engine.js');
const base = ((await import(pathToFileURL(dir).href)) as { createCpuEngine: Create }).createCpuEngine;
const B = Number(a.batch),
  T = Number(a.steps);

// index of the first differing bit pattern, or -1
function firstDiff(p: Float32Array, q: Float32Array): number {
  const u = new Uint32Array(p.buffer, p.byteOffset, p.length),
    v = new Uint32Array(q.buffer, q.byteOffset, q.length);
  if (u.length !== v.length) return 0;
  for (let i = 0; i < u.length; i++) if (u[i] !== v[i]) return i;
  return -1;
}

let same = true;
const own: Float32Array[][] = [];
for (const threads of [1, 2]) {
  const rng = new Rng(7);
  const params = initParams(PAPER_CONFIG, rng);
  const x = new Float32Array(B * T).map(() => (rng.uniform(0, 1) < 0.1 ? Number.NaN : rng.normal() * 1.5 + 1));
  const results: Float32Array[][] = [];
  for (const create of [createCpuEngine, base]) {
    const e = await create(PAPER_CONFIG, { simd: 'relaxed', threads });
    await e.setParams(params);
    const { grad } = await e.lossAndGrad(x, B, T);
    await e.trainStep(x, B, T, PAPER_ADAM);
    await e.trainStep(x, B, T, PAPER_ADAM);
    results.push([grad, await e.getParams()]);
    e.destroy();
  }
  own.push(results[0]!);
  for (const [k, name] of ['gradient', 'parameters after 2 steps'].entries()) {
    const d = firstDiff(results[0]![k]!, results[1]![k]!);
    same &&= d < 0;
    console.log(`${threads} thread(s) ${name}: ${d < 0 ? 'bit-identical' : `differs first at ${d}`}`);
  }
}
for (const [k, name] of ['gradient', 'parameters after 2 steps'].entries()) {
  const d = firstDiff(own[0]![k]!, own[1]![k]!);
  same &&= d < 0;
  console.log(`this build, 1 vs 2 threads, ${name}: ${d < 0 ? 'bit-identical' : `differs first at ${d}`}`);
}
process.exitCode = same ? 0 : 1;
