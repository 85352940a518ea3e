// Issue 17, "Must show" 1: does feeding each pair's time span (dpm train --time-baseline) calibrate the forecast on
// real coherence without an event? PyRate Mexico City (../shared/data/real/pyrate-mexico-coherence, 7 consecutive
// pairs of 12–36 days): train the `fast` preset (H 32, M 32) on the first K − 2 pairs, then score the one-step
// forecasts of the last two (held out) pairs: mean and sd of z, coverage of the 68/95/99 % intervals, PIT histogram.
// A σ scale fitted on the first held-out pair is checked on the second. Several seeds, CPU engine.
//
//   npm run build && node dist/bench/time-baseline.bench.js [--seeds 128,129,130] [--device cpu]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PRESETS } from '../host/core/defaults.js';
import { calibrationStats, fitSigmaScale } from '../host/eval/calibration.js';
import { createEngine } from '../host/engines/select.js';
import { PAPER_ADAM } from '../host/model/engine.js';
import { forecastSequences } from '../host/model/forecast.js';
import { buildSeries, splitBands, type TimeFeature } from '../host/model/series.js';
import { trainModel } from '../host/model/train.js';
import { packageRoot, sharedRoot } from '../host/paths.js';
import { readCoherenceStack } from '../host/raster/stack.js';

const { values } = parseArgs({
  options: { seeds: { type: 'string', default: '128,129,130' }, device: { type: 'string', default: 'cpu' } },
});
const seeds = values.seeds.split(',').map(Number);
const dir = join(sharedRoot, 'data', 'real', 'pyrate-mexico-coherence');
const stack = await readCoherenceStack(dir);
const K = stack.bands.length;
const fast = PRESETS.fast;
const fmt = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : '—');
const rows: Record<string, unknown>[] = [];
console.log(`stack: ${K} pairs ${stack.descriptions.join(' ')}; train on ${K - 2}, hold out the last 2`);
console.log(
  'features  seed  pair               n     mean z  sd z   cov68  cov95  cov99  | s(fit on 1st)  cov95 scaled',
);
for (const feats of [[], ['span']] as TimeFeature[][]) {
  for (const seed of seeds) {
    const F = 1 + feats.length;
    const engine = await createEngine({ hidden: fast.hidden, mlp: fast.mlp, features: F }, { device: values.device });
    const train = buildSeries(stack, splitBands(stack, { preEventBands: K - 2 }, false), undefined, feats);
    const t0 = performance.now();
    const r = await trainModel(
      engine,
      { x: train.x, N: train.N, T: train.T },
      {
        epochs: fast.epochs,
        batchSize: fast.batchSize,
        adam: { ...PAPER_ADAM, lr: fast.lr },
        valFraction: 0.2,
        seed,
      },
    );
    const trainS = (performance.now() - t0) / 1000;
    await engine.setParams(r.best);
    // every band as a step: column k of the series is the one-step forecast of band k from bands 0..k−1
    const all = buildSeries(stack, splitBands(stack, { preEventBands: K }, false), undefined, feats);
    const f = await forecastSequences(engine, all.x, all.N, all.T, { series: true });
    engine.destroy();
    const column = (k: number) => Float64Array.from({ length: all.N }, (_, i) => f.series!.z[i * (K + 1) + k]!);
    const held = [column(K - 2), column(K - 1)];
    const s = fitSigmaScale(held[0]!);
    const cases: [string, Float64Array][] = [
      [stack.descriptions[K - 2]!, held[0]!],
      [stack.descriptions[K - 1]!, held[1]!],
      ['both held out', Float64Array.from([...held[0]!, ...held[1]!])],
    ];
    for (const [label, z] of cases) {
      const c = calibrationStats(z);
      const scaled = calibrationStats(z.map((v) => v / s));
      const name = feats.length ? 'span' : 'none';
      console.log(
        `${name.padEnd(9)} ${seed}  ${label.padEnd(18)} ${String(c.n).padEnd(5)} ${fmt(c.meanZ).padStart(6)} ` +
          `${fmt(c.sdZ)}  ${c.coverage.map((v) => fmt(v)).join('  ')}  | ${fmt(s)}          ${fmt(scaled.coverage[1]!)}`,
      );
      rows.push({ features: name, seed, pair: label, ...c, sigmaScale: s, scaled, trainSeconds: trainS });
    }
  }
}
mkdirSync(join(packageRoot, 'bench', 'results'), { recursive: true });
const out = join(packageRoot, 'bench', 'results', 'time-baseline-mexico.json');
writeFileSync(out, `${JSON.stringify(rows, null, 1)}\n`);
console.log(`wrote ${out}`);
