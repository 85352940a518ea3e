// Training and forecasting on any engine: it learns a known distribution, same seed → same weights, resume = an
// uninterrupted run, cancel between batches, chunked forecasts (1,000,000 pixels), the series transform.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CanceledError, DpmError } from '../host/core/errors.js';
import { recordingFeedback, silentFeedback } from '../host/core/feedback.js';
import { PAPER_ADAM, type ForecasterEngine } from '../host/model/engine.js';
import type { ModelConfig } from '../host/model/params.js';
import { ReferenceEngine } from '../host/model/reference.js';
import { trainModel, type TrainOptions } from '../host/model/train.js';
import { forecastSequences } from '../host/model/forecast.js';
import { buildSeries, coherenceToLogit, logitToCoherence, splitBands } from '../host/model/series.js';
import { initParams } from '../host/model/init.js';
import { Rng } from '../host/model/rng.js';
import type { CoherenceStack } from '../host/raster/types.js';
import { createEngine } from '../host/engines/select.js';

const dir = mkdtempSync(join(tmpdir(), 'dpm-model-train-'));
/** the float64 reference with float32 state (exact checkpoints) */
const makeEngine = (config: ModelConfig): ForecasterEngine => new ReferenceEngine(config, { storeFloat32: true });
/** the WGSL engine on the software adapter, one per config, reused across runs: trainModel resets params and Adam */
const gpuEngines = new Map<string, Promise<ForecasterEngine>>();
const gpuEngine = (config: ModelConfig): Promise<ForecasterEngine> => {
  const key = JSON.stringify(config);
  if (!gpuEngines.has(key)) gpuEngines.set(key, createEngine(config, { device: 'software' }));
  return gpuEngines.get(key)!;
};
after(async () => {
  for (const e of gpuEngines.values()) (await e).destroy();
});
const opts = (o: Partial<TrainOptions> = {}): TrainOptions => ({
  epochs: 3,
  batchSize: 32,
  adam: PAPER_ADAM,
  valFraction: 0.2,
  seed: 128,
  ...o,
});

/** per pixel a mean and one of three noise levels: x_k = m + s·ε */
function synthetic(N: number, T: number, seed: number) {
  const rng = new Rng(seed);
  const levels = [0.7, 1.4, 2.8];
  const x = new Float32Array(N * T),
    m = new Float64Array(N),
    s = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    m[i] = rng.uniform(0, 0.5);
    s[i] = levels[rng.int(levels.length)]!;
    for (let t = 0; t < T; t++) x[i * T + t] = m[i]! + s[i]! * rng.normal();
  }
  return { x, m, s, N, T };
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let sa = 0,
    sb = 0;
  for (let i = 0; i < n; i++) {
    sa += a[i]!;
    sb += b[i]!;
  }
  const ma = sa / n,
    mb = sb / n;
  let cab = 0,
    caa = 0,
    cbb = 0;
  for (let i = 0; i < n; i++) {
    cab += (a[i]! - ma) * (b[i]! - mb);
    caa += (a[i]! - ma) ** 2;
    cbb += (b[i]! - mb) ** 2;
  }
  return cab / Math.sqrt(caa * cbb);
}

test("it learns: validation NLL per step within 5 % of the generating distribution's, σ tracks the noise level", async (t) => {
  const T = 30;
  const train = synthetic(2500, T, 1);
  const fresh = synthetic(800, T, 2); // independent pixels from the same distribution
  const config = { hidden: 16, mlp: 16, features: 1 };
  const eng = await gpuEngine(config);
  const r = await trainModel(
    eng,
    { x: train.x, N: train.N, T },
    opts({ epochs: 12, batchSize: 64, adam: { ...PAPER_ADAM, lr: 3e-3 } }),
  );
  await eng.setParams(r.best);
  const modelNll = (await eng.loss(fresh.x, fresh.N, T)) / (fresh.N * T);
  let trueNll = 0;
  for (let i = 0; i < fresh.N; i++) {
    for (let t = 0; t < T; t++) {
      const d = (fresh.x[i * T + t]! - fresh.m[i]!) / fresh.s[i]!;
      trueNll += 0.5 * Math.log(2 * Math.PI) + Math.log(fresh.s[i]!) + 0.5 * d * d;
    }
  }
  trueNll /= fresh.N * T;
  // The Bayes-optimal forecaster (which knows the generating model but must infer each pixel's m and s from the
  // values seen so far) is 2.4 % above the true-parameter NLL here; 5 % leaves room for an imperfect fit, while an
  // untrained model or one that ignores the history (one global Gaussian: ~12 % above) fails.
  assert.ok(
    modelNll <= 1.05 * trueNll,
    `model ${modelNll.toFixed(4)} vs generating ${trueNll.toFixed(4)} nats per step`,
  );
  assert.ok(modelNll >= 0.97 * trueNll, 'no model beats the generating distribution by much on fresh data');
  const f = await forecastSequences(eng, fresh.x, fresh.N, T);
  const rho = correlation(f.sigma, fresh.s);
  t.diagnostic(
    `${eng.description}: NLL per step ${modelNll.toFixed(4)} vs generating ${trueNll.toFixed(4)} (+${((modelNll / trueNll - 1) * 100).toFixed(2)} %); corr(σ, s) = ${rho.toFixed(3)}`,
  );
  assert.ok(rho >= 0.9, `forecast σ vs true noise level: correlation ${rho.toFixed(3)}`);
  // training history: per-epoch lines, best = strictly lowest validation loss
  assert.equal(r.history.length, 12);
  const minVal = Math.min(...r.history.map((h) => h.valLoss));
  assert.equal(r.bestValLoss, minVal);
  assert.equal(r.history.find((h) => h.valLoss === minVal)!.epoch, r.bestEpoch);
});

test('same seed and engine → identical weights (GPU, WebAssembly and reference); another seed → different; --max-sequences', async () => {
  const data = synthetic(300, 6, 3);
  const config = { hidden: 6, mlp: 5, features: 1 };
  const a = await trainModel(makeEngine(config), { ...data }, opts());
  const b = await trainModel(makeEngine(config), { ...data }, opts());
  assert.deepEqual(a.final, b.final);
  assert.deepEqual(a.best, b.best);
  const gpu = await gpuEngine(config);
  const ga = await trainModel(gpu, { ...data }, opts());
  const second = await createEngine(config, { device: 'software' });
  try {
    const gb = await trainModel(second, { ...data }, opts());
    assert.deepEqual(ga.final, gb.final, 'a second GPU engine on the same adapter gives bit-identical weights');
    assert.deepEqual(ga.best, gb.best);
  } finally {
    second.destroy();
  }
  // the GPU (float32) and the reference (float64, rounded per step) train the same model: close, not identical
  let dw = 0;
  for (let i = 0; i < a.final.length; i++) dw = Math.max(dw, Math.abs(a.final[i]! - ga.final[i]!));
  assert.ok(dw < 1e-3, `GPU vs reference after 3 epochs: max |Δw| ${dw}`);
  // the WebAssembly engine: same seed and thread count → the same bits; close to the reference
  const wasm = await Promise.all([1, 2].map(() => createEngine(config, { device: 'cpu', threads: 2 })));
  try {
    const [wa, wb] = [await trainModel(wasm[0]!, { ...data }, opts()), await trainModel(wasm[1]!, { ...data }, opts())];
    assert.deepEqual(wa.final, wb.final, 'two WebAssembly engines with 2 threads give bit-identical weights');
    let dc = 0;
    for (let i = 0; i < a.final.length; i++) dc = Math.max(dc, Math.abs(a.final[i]! - wa.final[i]!));
    assert.ok(dc < 1e-3, `WebAssembly vs reference after 3 epochs: max |Δw| ${dc}`);
  } finally {
    for (const e of wasm) e.destroy();
  }
  const c = await trainModel(makeEngine(config), { ...data }, opts({ seed: 129 }));
  assert.notDeepEqual(a.final, c.final);
  const d = await trainModel(makeEngine(config), { ...data }, opts({ maxSequences: 100, epochs: 1 }));
  assert.equal(d.nTrain + d.nVal, 100);
  assert.equal(d.nVal, 20);
});

test('cancel between batches, then resume: the same weights as an uninterrupted run', async () => {
  const data = synthetic(400, 6, 4);
  const config = { hidden: 6, mlp: 5, features: 1 };
  const o = opts({ epochs: 4 });
  const eng = await gpuEngine(config);
  const whole = await trainModel(eng, { ...data }, { ...o, checkpoint: join(dir, 'whole.ckpt.safetensors') });

  const ckpt = join(dir, 'cut.ckpt.safetensors');
  const fb = recordingFeedback();
  let batches = 0;
  const cutting = {
    ...fb,
    progress: (p: number) => {
      fb.progress(p);
      if (++batches === 25) fb.cancel();
    },
  }; // in epoch 3 (10 batches/epoch)
  await assert.rejects(trainModel(eng, { ...data }, { ...o, checkpoint: ckpt }, cutting), CanceledError);
  assert.ok(existsSync(ckpt), 'the checkpoint of the last complete epoch remains');
  const log = recordingFeedback();
  // the same engine, left mid-epoch by the cancel: resuming must restore weights, Adam moments and step count
  const resumed = await trainModel(eng, { ...data }, { ...o, checkpoint: ckpt, resume: true }, log);
  assert.equal(resumed.resumedFrom, 2);
  assert.ok(log.logs.some((l) => /resuming .* after epoch 2/.test(l.message)));
  assert.deepEqual(resumed.final, whole.final);
  assert.deepEqual(resumed.best, whole.best);
  assert.deepEqual(
    resumed.history.map((h) => h.valLoss),
    whole.history.map((h) => h.valLoss),
  );
  // a checkpoint of other data is refused
  const other = synthetic(400, 6, 5);
  await assert.rejects(
    trainModel(eng, { ...other }, { ...o, checkpoint: ckpt, resume: true }),
    (e: unknown) => e instanceof DpmError && /other data or settings/.test(e.message),
  );
});

test('sequences with fewer than 2 valid values are dropped and counted; NaN steps train', async () => {
  const data = synthetic(120, 6, 6);
  for (let i = 0; i < 10; i++) for (let t = 1; t < 6; t++) data.x[i * 6 + t] = NaN; // 1 valid value
  for (let i = 10; i < 60; i++) data.x[i * 6 + (i % 6)] = NaN; // one gap
  const fb = recordingFeedback();
  const r = await trainModel(makeEngine({ hidden: 5, mlp: 4, features: 1 }), { ...data }, opts({ epochs: 2 }), fb);
  assert.equal(r.nDropped, 10);
  assert.equal(r.nTrain + r.nVal, 110);
  assert.ok(r.history.every((h) => Number.isFinite(h.trainLoss) && Number.isFinite(h.valLoss)));
  assert.ok(fb.logs.some((l) => l.level === 'warning' && /10 of 120 sequences/.test(l.message)));
});

test('forecast: chunks give the same numbers as one call; unusable pixels NaN; series and z', async () => {
  const config = { hidden: 6, mlp: 5, features: 1 };
  const eng = makeEngine(config);
  await eng.setParams(initParams(config, new Rng(9)));
  const { x, N, T } = synthetic(50, 5, 7);
  x[0] = NaN;
  x[1] = NaN;
  x[2] = NaN;
  x[3] = NaN; // pixel 0: 1 valid value
  x[5 + 2] = NaN; // pixel 1: a gap
  const obs = new Float32Array(N).map((_, i) => i * 0.1 - 2);
  obs[3] = NaN;
  const one = await forecastSequences(eng, x, N, T, { obs, series: true });
  const chunked = await forecastSequences(eng, x, N, T, { obs, series: true, chunk: 7 });
  assert.deepEqual(chunked, one);
  assert.equal(one.nUnusable, 1);
  assert.ok(Number.isNaN(one.mu[0]!) && Number.isNaN(one.z[0]!) && Number.isNaN(one.series!.mu[0]!));
  assert.ok(Number.isNaN(one.z[3]!) && Number.isFinite(one.mu[3]!), 'no observation → no z, but a forecast');
  const ref = await eng.forecast(x.subarray(5, 10), 1, T);
  // pixel 1 agrees with a direct engine call; float32 outputs, so σ and z are compared to float32 rounding
  assert.equal(one.mu[1], ref.mu[T]);
  assert.ok(Math.abs(one.sigma[1]! - Math.sqrt(Math.exp(ref.logvar[T]!))) < 1e-6 * one.sigma[1]!);
  assert.ok(Math.abs(one.z[1]! - (one.mu[1]! - obs[1]!) / one.sigma[1]!) < 1e-5);
  const s = one.series!;
  assert.ok(Number.isNaN(s.z[1 * (T + 1) + 2]!), 'a missing step has no z');
  assert.ok(Math.abs(s.z[1 * (T + 1) + 0]! - (s.mu[T + 1]! - x[5]!) / s.sigma[T + 1]!) < 1e-5);
  assert.equal(s.z[1 * (T + 1) + T], one.z[1]);
});

test('a 1,000,000-pixel forecast runs in chunks on the GPU engine (small model), matching the reference', async () => {
  const config = { hidden: 8, mlp: 8, features: 1 };
  const eng = await gpuEngine(config);
  const params = initParams(config, new Rng(10));
  await eng.setParams(params);
  const N = 1_000_000,
    T = 6;
  // h alone is N·(T+1)·H·4 bytes = 224 MB here: more than one 128 MiB binding of the software path
  const x = new Float32Array(N * T);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 7919) % 1000) / 250 - 2;
  for (let i = 0; i < N; i += 97) x[i * T + 2] = NaN; // some gaps
  const fb = recordingFeedback();
  const r = await forecastSequences(eng, x, N, T, { obs: new Float32Array(N), feedback: fb });
  assert.equal(r.mu.length, N);
  assert.equal(fb.percents.length, Math.ceil(N / Math.min(eng.maxBatch(T), 65536)), 'one progress report per chunk');
  assert.ok(r.z.every(Number.isFinite));
  const ref = new ReferenceEngine(config);
  await ref.setParams(params);
  for (const i of [0, 1, 97, 123_456, 500_001, 999_999]) {
    const one = await forecastSequences(ref, x.subarray(i * T, (i + 1) * T), 1, T, { obs: new Float32Array(1) });
    // float32 GPU vs float64 reference through 6 GRU steps: ~1e-6 relative; 1e-4 absolute in logit units is far
    // below anything that matters and far above rounding
    assert.ok(Math.abs(r.mu[i]! - one.mu[0]!) < 1e-4 && Math.abs(r.sigma[i]! - one.sigma[0]!) < 1e-4, `pixel ${i}`);
  }
});

test('series: logit transform in float64 with clipping, its inverse, band selection, unusable pixels', () => {
  assert.equal(coherenceToLogit(0.5), Math.log(0.25 / 0.75));
  assert.equal(coherenceToLogit(0), Math.log(1e-12 / (1 - 1e-12)), 'γ = 0 clips to 1e-6');
  assert.equal(coherenceToLogit(-0.2), coherenceToLogit(0));
  assert.equal(coherenceToLogit(1), Math.log((1 - 1e-6) ** 2 / (1 - (1 - 1e-6) ** 2)), 'γ = 1 clips to 1 − 1e-6');
  assert.ok(Number.isFinite(coherenceToLogit(1)) && coherenceToLogit(1) > 13);
  assert.ok(Number.isNaN(coherenceToLogit(NaN)));
  for (const g of [1e-3, 0.1, 0.5, 0.9, 0.999]) assert.ok(Math.abs(logitToCoherence(coherenceToLogit(g)) - g) < 1e-12);
  assert.ok(logitToCoherence(800) === 1 && logitToCoherence(-800) === 0, 'no overflow');

  const W = 3,
    H = 2,
    K = 5;
  const pairs = ['20200101', '20200113', '20200125', '20200206', '20200218', '20200301'];
  const stack: CoherenceStack = {
    width: W,
    height: H,
    georef: {},
    source: 'test.tif',
    bands: Array.from({ length: K }, (_, k) => new Float32Array(W * H).fill(0.1 + 0.1 * k)),
    descriptions: [],
    pairs: pairs.slice(0, -1).map((first, k) => ({ first, second: pairs[k + 1]! })),
  };
  const def = splitBands(stack, {}, true);
  assert.deepEqual(def.pre, [0, 1, 2, 3]);
  assert.equal(def.coEvent, 4);
  const byN = splitBands(stack, { preEventBands: 2 }, true);
  assert.deepEqual([byN.pre, byN.coEvent], [[0, 1], 2]);
  const byDate = splitBands(stack, { eventDate: '20200130' }, true);
  assert.deepEqual([byDate.pre, byDate.coEvent], [[0, 1], 2]);
  const onDate = splitBands(stack, { eventDate: '20200125' }, true); // pairs ending on the date are pre-event
  assert.deepEqual([onDate.pre, onDate.coEvent], [[0, 1], 2]);
  assert.throws(() => splitBands(stack, { preEventBands: 5 }, true), /at most 4 can be pre-event/);
  assert.deepEqual(splitBands(stack, { preEventBands: 5 }, false).pre, [0, 1, 2, 3, 4]);
  assert.throws(
    () => splitBands(stack, { eventDate: '20210101' }, true),
    /no band's pair spans the event date 20210101/,
  );
  assert.throws(() => splitBands(stack, { eventDate: '2020-01-30' }, true), /YYYYMMDD/);
  assert.throws(() => splitBands(stack, { eventDate: '20200105' }, true), /no pre-event band/);
  assert.throws(
    () => splitBands({ ...stack, bands: stack.bands.slice(0, 1), pairs: stack.pairs.slice(0, 1) }, {}, true),
    (e: unknown) => e instanceof DpmError && /test\.tif: has 1 band; at least 2/.test(e.message),
  );

  stack.bands[0]![0] = NaN;
  stack.bands[1]![0] = NaN;
  stack.bands[2]![0] = NaN; // pixel 0: 1 valid of 4
  stack.bands[1]![1] = NaN; // pixel 1: 3 valid
  const fb = recordingFeedback();
  const s = buildSeries(stack, def, fb);
  assert.equal(s.T, 4);
  assert.equal(s.nUnusable, 1);
  assert.deepEqual(Array.from(s.usable), [0, 1, 1, 1, 1, 1]);
  assert.equal(s.x[1 * 4 + 0], Math.fround(coherenceToLogit(Math.fround(0.1))));
  assert.equal(s.obs[2], Math.fround(coherenceToLogit(Math.fround(0.5))));
  assert.ok(fb.logs.some((l) => l.level === 'warning' && /1 of 6 pixels have fewer than 2 valid/.test(l.message)));
  void silentFeedback;
});
