// Monitoring a simulated scene end to end: a forecaster trained on quiet pairs, then monitor-init and one update per
// new pair, with an event in area A (pairs 12–14) and a second, later event in A and B (pairs 17–19). Coherence
// ~ U(0.5, 0.9) per pixel + N(0, 0.05) noise; during an event 0.08–0.11. The alert states follow the rules of
// host/monitor/alerts.ts pass by pass, and quiet pixels never alert.
import test from 'node:test';
import assert from 'node:assert/strict';
import { MONITOR_RULES } from '../host/core/defaults.js';
import { createEngine } from '../host/engines/select.js';
import { Rng } from '../host/model/rng.js';
import { buildSeries, splitBands } from '../host/model/series.js';
import { GruStepper } from '../host/model/step.js';
import { DEFAULT_TRAIN, trainModel } from '../host/model/train.js';
import { ALERT, applyPass } from '../host/monitor/alerts.js';
import { advanceMonitor, initMonitor } from '../host/monitor/state.js';
import type { CoherenceStack } from '../host/raster/types.js';

const W = 40,
  N = W * W,
  K = 20;
const inA = (i: number) => i % W < 10 && Math.floor(i / W) < 10;
const inB = (i: number) => i % W >= 30 && Math.floor(i / W) >= 30;

function scene(): CoherenceStack {
  const rng = new Rng(3);
  const base = Float32Array.from({ length: N }, () => rng.uniform(0.5, 0.9));
  const dates: string[] = [];
  for (let k = 0; k <= K; k++)
    dates.push(new Date(Date.UTC(2024, 0, 1 + 12 * k)).toISOString().slice(0, 10).replaceAll('-', ''));
  const bands = Array.from({ length: K }, (_, k) =>
    Float32Array.from({ length: N }, (_, i) => {
      const first = inA(i) && k >= 12 && k <= 14;
      const second = (inA(i) || inB(i)) && k >= 17 && k <= 19;
      const g = first || second ? rng.uniform(0.08, 0.11) : base[i]! + 0.05 * rng.normal();
      return Math.min(0.99, Math.max(0.01, g));
    }),
  );
  return {
    width: W,
    height: W,
    georef: {},
    bands,
    descriptions: dates.slice(0, -1).map((a, k) => `${a}_${dates[k + 1]}`),
    pairs: dates.slice(0, -1).map((first, k) => ({ first, second: dates[k + 1]! })),
  };
}

const first = (s: CoherenceStack, n: number): CoherenceStack => ({
  ...s,
  bands: s.bands.slice(0, n),
  pairs: s.pairs.slice(0, n),
  descriptions: s.descriptions.slice(0, n),
});

test('alert states on a simulated scene with a second, later event follow the rules, pass by pass', async () => {
  const stack = scene();
  const config = { hidden: 16, mlp: 16, features: 1 };
  const train = first(stack, 10);
  const s = buildSeries(train, splitBands(train, { preEventBands: 10 }, false));
  const engine = await createEngine(config, { device: 'cpu', threads: 1 }); // one thread: the same weights anywhere
  const r = await trainModel(
    engine,
    { x: s.x, N: s.N, T: s.T },
    { ...DEFAULT_TRAIN, epochs: 15, batchSize: 64, adam: { ...DEFAULT_TRAIN.adam, lr: 3e-3 } },
  );
  engine.destroy();
  const state = await initMonitor(
    new GruStepper(config, r.best),
    r.best,
    first(stack, 11),
    [],
    { ...MONITOR_RULES },
    1,
  );
  const S: Record<keyof typeof ALERT, number> = ALERT;
  // pairs 11..19 = passes 1..9; A: event at passes 2–4, quiet 5–6, again 7–9; B: only 7–9
  const wantA = [S.none, S.first, S.provisional, S.confirmed, S.confirmed, S.finished, S.first, S.provisional].concat(
    S.confirmed,
  );
  const wantB = [S.none, S.none, S.none, S.none, S.none, S.none, S.first, S.provisional].concat(S.confirmed);
  for (let k = 11; k < K; k++) {
    const p = await advanceMonitor(state, stack.bands[k]!, stack.pairs[k]!, undefined, 1);
    applyPass(state.alerts, p.z, p.pass, state.rules);
    for (let i = 0; i < N; i++) {
      const want = inA(i) ? wantA[p.pass - 1] : inB(i) ? wantB[p.pass - 1] : S.none;
      assert.equal(state.alerts.state[i], want, `pass ${p.pass}, pixel ${i} (z ${p.z[i]})`);
    }
  }
  // the second event is a new alert in A: first detection at pass 7, three anomalous passes
  const a = state.alerts;
  const cornerA = 0,
    cornerB = N - 1;
  assert.deepEqual([a.count[cornerA], a.first[cornerA], a.last[cornerA]], [3, 7, 9]);
  assert.deepEqual([a.count[cornerB], a.first[cornerB], a.last[cornerB]], [3, 7, 9]);
});
