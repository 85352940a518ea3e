// The process-wide V8 flag --no-liftoff (set by the CPU forecaster engine before it compiles its kernels,
// host/cpu/wasm.ts) and the coherence kernel: run once with and once without it, in fresh processes, alternating.
// Each child times the kernel's first call (with Liftoff it starts in baseline code) and the best of the next calls.
//   node dist/bench/liftoff.bench.js [--rounds 3]
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CoherenceKernel, outputSize, type ChipSpec } from '../host/sar/kernel.js';
import { forecasterModule } from '../host/cpu/wasm.js';

const { values: a } = parseArgs({
  options: { child: { type: 'string' }, rounds: { type: 'string', default: '3' } },
});

async function child(mode: string): Promise<void> {
  // 'engine-first': the forecaster module is compiled first, as when the CPU engine starts before coherence runs
  if (mode === 'engine-first') forecasterModule('relaxed');
  const W = 2000,
    H = 1000;
  const k = await CoherenceKernel.create();
  const p1 = k.alloc(W * H * 8),
    p2 = k.alloc(W * H * 8),
    po = k.alloc(W * H * 4),
    pc = k.alloc(W * 48);
  const s = k.f32(p1, W * H * 4);
  for (let i = 0; i < s.length; i++) s[i] = Math.sin(i * 0.37);
  const c: ChipSpec = { cr: 15, ca: 5, sr: 1, sa: 1 };
  const { outH } = outputSize(W, H, c);
  const time = () => {
    const t = performance.now();
    k.block(p1, p2, W, c, outH, po, pc);
    return performance.now() - t;
  };
  const first = time();
  let best = Infinity;
  for (let i = 0; i < 6; i++) best = Math.min(best, time());
  process.stdout.write(JSON.stringify({ first, best }) + '\n');
}

if (a.child) {
  await child(a.child);
} else {
  const self = fileURLToPath(import.meta.url);
  const modes: [string, string[], string][] = [
    ['default (Liftoff, tier-up)', [], 'plain'],
    ['--no-liftoff', ['--no-liftoff'], 'plain'],
    ['forecaster compiled first', [], 'engine-first'],
  ];
  const rows = modes.map(() => ({ first: Infinity, best: Infinity }));
  for (let r = 0; r < Number(a.rounds); r++) {
    for (const [i, [, flags, mode]] of modes.entries()) {
      const out = execFileSync(process.execPath, [...flags, self, '--child', mode], { encoding: 'utf8' });
      const j = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { first: number; best: number };
      rows[i]!.first = Math.min(rows[i]!.first, j.first);
      rows[i]!.best = Math.min(rows[i]!.best, j.best);
    }
  }
  console.log(`coherence kernel, 2000 × 1000, chip 15x5 stride 1x1 (ms, best of ${a.rounds} processes each)`);
  console.log(`load average ${loadavg()[0]!.toFixed(2)}`);
  for (const [i, [name]] of modes.entries()) {
    console.log(
      `  ${name.padEnd(30)} first call ${rows[i]!.first.toFixed(1).padStart(7)}   later calls ${rows[i]!.best.toFixed(1).padStart(7)}`,
    );
  }
}
