// DPM2-style index (host/baselines/dpm2.ts) on simulated pair stacks whose decorrelation model is known.
import test from 'node:test';
import assert from 'node:assert/strict';
import { CanceledError, DpmError } from '../host/core/errors.js';
import { silentFeedback } from '../host/core/feedback.js';
import type { CoherenceStack } from '../host/raster/types.js';
import {
  anomalyProbability,
  decorrelationModel,
  dpm2Stack,
  fitDecorrelation,
  leverage,
} from '../host/baselines/dpm2.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCoherenceStack } from '../host/raster/stack.js';
import { readRaster } from '../host/raster/geotiff.js';
import { execute } from '../host/toolbox/execute.js';

import { mulberry32 as rng } from './random.js';
import { at } from './at.js';
import { cancelOnEventLoop } from './cancel-helpers.js';
import { needsShared, sharedPath } from './shared.js';
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

/** 20 pre-event acquisitions 12 days apart, then 2 post-event ones; every pair up to 120 days ("max-span 120"). */
function network(): { dates: string[]; pairs: { first: string; second: string; span: number; pre: boolean }[] } {
  const day0 = Date.UTC(2019, 0, 1);
  const days = Array.from({ length: 22 }, (_, i) => i * 12);
  const dates = days.map((d) => new Date(day0 + d * 86_400_000).toISOString().slice(0, 10).replace(/-/g, ''));
  const pairs = [];
  for (let i = 0; i < dates.length; i++) {
    for (let j = i + 1; j < dates.length && at(days, j) - at(days, i) <= 120; j++) {
      pairs.push({ first: at(dates, i), second: at(dates, j), span: at(days, j) - at(days, i), pre: j < 20 });
    }
  }
  return { dates, pairs };
}

/** SE of (γ0, τ, ρ) from the Gauss–Newton covariance σ²(JᵀJ)⁻¹ at the true parameters. */
function standardErrors(dt: number[], g0: number, tau: number, rho: number, sigma: number): number[] {
  const J = dt.map((t) => {
    const e = Math.exp(-t / tau);
    return [(1 - rho) * e + rho, (g0 * (1 - rho) * e * t) / (tau * tau), g0 * (1 - e)];
  });
  // JᵀJ, 3×3
  const M = [0, 1, 2].map((r) => [0, 1, 2].map((q) => J.reduce((acc, j) => acc + at(j, r) * at(j, q), 0)));
  // 3×3 inverse by cofactors
  const [a = NaN, b = NaN, c = NaN, d = NaN, e = NaN, f = NaN, g = NaN, h = NaN, i = NaN] = M.flat();
  const A = e * i - f * h,
    B = -(d * i - f * g),
    C = d * h - e * g;
  const det = a * A + b * B + c * C;
  const inv00 = A / det,
    inv11 = (a * i - c * g) / det,
    inv22 = (a * e - b * d) / det;
  return [inv00, inv11, inv22].map((v) => sigma * Math.sqrt(v));
}

test('the fit recovers the decorrelation parameters exactly from noiseless pairs', () => {
  const { pairs } = network();
  const pre = pairs.filter((p) => p.pre);
  const dt = pre.map((p) => p.span);
  for (const [g0, tau, rho] of [
    [0.9, 30, 0.3],
    [0.7, 15, 0.5],
    [0.95, 60, 0.2],
    [0.6, 45, 0.0],
  ] as const) {
    const fit = fitDecorrelation(
      dt,
      dt.map((t) => decorrelationModel({ gamma0: g0, tau, floor: rho }, t)),
    );
    // golden-section on ln τ converges to 1e-9; the SSE is flat to float64 rounding near the optimum, which
    // limits τ to ~1e-6 relative
    assert.ok(Math.abs(fit.tau / tau - 1) < 1e-5, `τ ${fit.tau} vs ${tau}`);
    assert.ok(Math.abs(fit.gamma0 - g0) < 1e-6, `γ0 ${fit.gamma0} vs ${g0}`);
    assert.ok(Math.abs(fit.floor - rho) < 1e-6, `ρ ${fit.floor} vs ${rho}`);
    assert.ok(fit.sigma < 1e-6);
  }
  // decay essentially complete at the shortest span: 12-day pairs 0.02 above a flat 0.35. Unbounded, the fit
  // would take τ → 1 day and γ0 = 0.35 + 0.02·e^12 ≈ 3000; the γ0 ≤ 1 bound keeps it physical (γ0 = 1, τ ≈ 3.4 d)
  const flat = fitDecorrelation(
    dt,
    dt.map((t) => (t === 12 ? 0.37 : 0.35)),
  );
  assert.ok(flat.gamma0 <= 1 + 1e-12, `γ0 ${flat.gamma0}`);
  assert.ok(Math.abs(decorrelationModel(flat, 12) - 0.37) < 2e-3, `model(12) ${decorrelationModel(flat, 12)}`);
});

test('with noise the estimates scatter as the asymptotic standard errors say', () => {
  // σ = 0.03 Gaussian noise on 145 pre-event pairs (spans 12–120 days). Bound: every estimate within 5 asymptotic
  // standard errors (Gauss–Newton σ²(JᵀJ)⁻¹ at the truth), and the RMS standardised error of each parameter over
  // 60 pixels in [0.6, 1.5] (≈ 1 when the fit is unbiased and efficient; χ²₆₀/60 has its 99.9% range in [0.55, 1.7]).
  const { pairs } = network();
  const dt = pairs.filter((p) => p.pre).map((p) => p.span);
  const r = rng(42);
  const sigma = 0.03;
  const sq = [0, 0, 0];
  const N = 60;
  for (let px = 0; px < N; px++) {
    const g0 = 0.75 + 0.2 * r(),
      tau = 20 + 30 * r(),
      rho = 0.25 + 0.3 * r();
    const g = dt.map((t) => decorrelationModel({ gamma0: g0, tau, floor: rho }, t) + sigma * gauss(r));
    const fit = fitDecorrelation(dt, g);
    const se = standardErrors(dt, g0, tau, rho, sigma);
    const z = [(fit.gamma0 - g0) / at(se, 0), (fit.tau - tau) / at(se, 1), (fit.floor - rho) / at(se, 2)];
    z.forEach((v, k) => {
      assert.ok(
        Math.abs(v) < 5,
        `pixel ${px} parameter ${k}: z = ${v} (γ0 ${fit.gamma0}/${g0}, τ ${fit.tau}/${tau}, ρ ${fit.floor}/${rho})`,
      );
      sq[k] = at(sq, k) + v * v;
    });
    // a least-squares minimum, whatever the solver: a 1% step in any parameter raises the SSE
    const sse = (f: { gamma0: number; tau: number; floor: number }) =>
      dt.reduce((acc, t, k) => acc + (at(g, k) - decorrelationModel(f, t)) ** 2, 0);
    for (const [k, m] of [
      ['gamma0', 1.01],
      ['gamma0', 0.99],
      ['tau', 1.01],
      ['tau', 0.99],
      ['floor', 1.01],
      ['floor', 0.99],
    ] as const) {
      assert.ok(sse({ ...fit, [k]: fit[k] * m }) > sse(fit), `pixel ${px}: ${k}×${m}`);
    }
    // the leverages of the fitted pairs sum to the number of parameters (trace of the hat matrix = 3)
    const trace = dt.reduce((acc, t) => acc + leverage(fit, dt, t), 0);
    assert.ok(Math.abs(trace - 3) < 1e-6, `trace ${trace}`);
    // σ̂ estimates the noise: SSE/(n − 3) ~ σ²χ²_{142}/142, 5-sd range ±0.3σ² on the variance
    assert.ok(Math.abs(fit.sigma - sigma) < 0.15 * sigma, `σ̂ ${fit.sigma}`);
  }
  for (const s of sq) {
    const rms = Math.sqrt(s / N);
    assert.ok(rms > 0.6 && rms < 1.5, `RMS standardised error ${rms}`);
  }
});

function simulateStack(
  n: number,
  seed: number,
  drop: (px: number) => number,
): { stack: CoherenceStack; truth: { g0: number; tau: number; rho: number }[] } {
  const { pairs } = network();
  const r = rng(seed);
  const sigma = 0.03;
  const truth = Array.from({ length: n }, () => ({ g0: 0.75 + 0.2 * r(), tau: 20 + 30 * r(), rho: 0.25 + 0.3 * r() }));
  const bands = pairs.map((p) =>
    Float32Array.from(truth, (t, px) => {
      const v = decorrelationModel({ gamma0: t.g0, tau: t.tau, floor: t.rho }, p.span) + sigma * gauss(r);
      return p.pre ? v : v - drop(px);
    }),
  );
  return {
    stack: {
      width: n,
      height: 1,
      bands,
      descriptions: pairs.map((p) => `${p.first}_${p.second}`),
      georef: {},
      pairs: pairs.map(({ first, second }) => ({ first, second })),
      source: 'sim.tif',
    },
    truth,
  };
}

test('an anomalously low co-event coherence gets a high probability; natural ones are uniform', async () => {
  const { dates } = network();
  const event = at(dates, 19); // the last pre-event acquisition is on the event day: it counts as pre-event
  const n = 400;
  // pixels 0–99: co-event coherence 0.25 below the model (≈ 8σ); the others undisturbed
  const { stack } = simulateStack(n, 5, (px) => (px < 100 ? 0.25 : 0));
  const res = await dpm2Stack(stack, { eventDate: event }, silentFeedback);
  assert.equal(res.prePairs, 145);
  assert.deepEqual(res.coPairs, [{ first: dates[19], second: dates[20] }]); // the one 12-day pair spanning the event
  for (let p = 0; p < 100; p++)
    assert.ok(at(res.probability, p) > 0.99, `damaged pixel ${p}: P = ${res.probability[p]}`);
  // undisturbed pixels: P should be ~ uniform on [0, 1]. 300 draws: mean 0.5 ± 0.017 (sd), fraction above 0.95
  // 0.05 ± 0.013; bounds at ~4.5 sd.
  let sum = 0,
    high = 0;
  for (let p = 100; p < n; p++) {
    const v = at(res.probability, p);
    assert.ok(v >= 0 && v <= 1);
    sum += v;
    if (v > 0.95) high++;
  }
  assert.ok(Math.abs(sum / 300 - 0.5) < 0.08, `mean P ${sum / 300}`);
  assert.ok(high / 300 < 0.11, `fraction above 0.95: ${high / 300}`);
  // --co-event all: the 19 pairs spanning the event (second date 20 or 21, spans ≤ 120 days), mean residual
  const all = await dpm2Stack(stack, { eventDate: event, coEvent: 'all' }, silentFeedback);
  assert.equal(all.coPairs.length, 19);
  for (let p = 0; p < 100; p++) assert.ok(at(all.probability, p) > 0.99);
  // the probability itself: residual −2σ with many degrees of freedom ≈ Φ(2)
  assert.ok(Math.abs(anomalyProbability(-0.06, 0.03, 1e6) - 0.9772498680518208) < 1e-6);
  assert.ok(Math.abs(anomalyProbability(0, 0.03, 10) - 0.5) < 1e-12);
});

test('missing pairs: fewer valid pre-event pairs than --min-pairs gives NaN; bad dates give one clear error', async () => {
  const { dates } = network();
  const { stack } = simulateStack(3, 9, () => 0);
  // pixel 1 loses all but 8 of its pre-event pairs; pixel 2 loses a few but keeps plenty
  let kept = 0;
  stack.pairs.forEach((p, k) => {
    if (p.second > at(dates, 19)) return;
    if (kept++ >= 8) at(stack.bands, k)[1] = NaN;
    if (k % 7 === 0) at(stack.bands, k)[2] = NaN;
  });
  const res = await dpm2Stack(stack, { eventDate: at(dates, 19) }, silentFeedback);
  assert.ok(Number.isNaN(res.probability[1]));
  assert.equal(res.preCount[1], 8);
  assert.ok(Number.isFinite(res.probability[0]) && Number.isFinite(res.probability[2]));
  assert.equal(res.masked, 1);
  // the shared precomputed τ grid (complete pixels) and the per-pixel one give the same fit
  const pre = stack.pairs.map((p, k) => ({ p, k })).filter(({ p }) => p.second <= at(dates, 19));
  const own = fitDecorrelation(
    pre.map(
      ({ p }) =>
        (Date.parse(`${p.second.slice(0, 4)}-${p.second.slice(4, 6)}-${p.second.slice(6)}`) -
          Date.parse(`${p.first.slice(0, 4)}-${p.first.slice(4, 6)}-${p.first.slice(6)}`)) /
        864e5,
    ),
    pre.map(({ k }) => at(at(stack.bands, k), 0)),
  );
  assert.ok(Math.abs(own.gamma0 - at(res.gamma0, 0)) < 1e-6 && Math.abs(own.tau / at(res.tau, 0) - 1) < 1e-6);
  await assert.rejects(
    () => dpm2Stack(stack, { eventDate: at(dates, 2) }, silentFeedback),
    (e: Error) => e instanceof DpmError && /sim\.tif: \d+ pre-event pair\(s\) end on or before/.test(e.message),
  );
  await assert.rejects(
    () => dpm2Stack(stack, { eventDate: '20300101' }, silentFeedback),
    /no pair spans the event date/,
  );
  await assert.rejects(
    () => dpm2Stack(stack, { eventDate: '2019-02-30' }, silentFeedback),
    /--event-date: '2019-02-30' is not a date/,
  );
});

test('cancellation is heard during the per-pixel fits: a cancel queued on the event loop stops them', async () => {
  // as the CLI's SIGINT handler does: the flag can only change when the loop yields to the event loop
  const { dates } = network();
  const { stack } = simulateStack(2000, 3, () => 0);
  const fb = cancelOnEventLoop(2);
  await assert.rejects(dpm2Stack(stack, { eventDate: at(dates, 19) }, fb), CanceledError);
  assert.ok(fb.percents.length >= 2 && Math.max(...fb.percents) < 100, fb.percents.join(' '));
});

test('dpm2 algorithm: reads a pair stack file, writes the index and the model parameters', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpm2-'));
  try {
    const { dates } = network();
    const { stack } = simulateStack(8, 11, (px) => (px % 2 === 0 ? 0.3 : 0));
    stack.height = 2;
    stack.width = 4;
    stack.georef = { geoTransform: [440000, 30, 0, 3950000, 0, -30], epsg: 32611 };
    const input = join(dir, 'pairs.tif');
    await writeCoherenceStack(input, stack);
    const out = join(dir, 'dpm2.tif'),
      params = join(dir, 'dpm2_params.tif');
    const res = await execute(
      'dpm2',
      {
        stack: input,
        'event-date': `${at(dates, 19).slice(0, 4)}-${at(dates, 19).slice(4, 6)}-${at(dates, 19).slice(6)}`,
        output: out,
        parameters: params,
      },
      silentFeedback,
    );
    assert.equal(res['pre-event-pairs'], 145);
    assert.equal(res['co-event-pairs'], `${dates[19]}_${dates[20]}`);
    const idx = await readRaster(out);
    assert.match(idx.metadata?.DPM_METHOD ?? '', /not ARIA's DPM2/);
    assert.deepEqual(idx.georef.geoTransform, stack.georef.geoTransform);
    for (let p = 0; p < 8; p++) {
      // damaged pixels: 0.3 below the model (10σ) → P ≈ 1; undisturbed ones anywhere in [0, 1]
      if (p % 2 === 0) assert.ok(at(at(idx.bands, 0), p) > 0.99, `pixel ${p}: ${at(idx.bands, 0)[p]}`);
      else assert.ok(at(at(idx.bands, 0), p) >= 0 && at(at(idx.bands, 0), p) <= 1);
    }
    const par = await readRaster(params);
    assert.equal(par.bands.length, 6);
    assert.equal(at(par.bands, 5)[0], 145);
    assert.ok(at(at(par.bands, 1), 0) > 10 && at(at(par.bands, 1), 0) < 100, `τ ${at(par.bands, 1)[0]}`); // truth in [20, 50] days
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'real stack (PyRate Mexico City, 30 pairs, no event): the model fits and the index stays in [0, 1]',
  needsShared('data', 'real', 'pyrate-mexico-coherence'),
  async () => {
    // 13 dates in 2018; a fictitious event on 20 May leaves 18 pre-event pairs (12–132 days) and the 24-day
    // co-event pair 0506–0530. Nothing happened there, so the index must not flag most of the scene.
    const { readPairStack } = await import('../host/raster/stack.js');
    const stack = await readPairStack(sharedPath('data', 'real', 'pyrate-mexico-coherence'), { nodata: 0 });
    const res = await dpm2Stack(stack, { eventDate: '20180520' }, silentFeedback);
    assert.equal(res.prePairs, 18);
    assert.deepEqual(res.coPairs, [{ first: '20180506', second: '20180530' }]);
    const P: number[] = [],
      sig: number[] = [],
      g0: number[] = [];
    res.probability.forEach((v, i) => {
      if (Number.isNaN(v)) return;
      assert.ok(v >= 0 && v <= 1);
      P.push(v);
      sig.push(at(res.sigma, i));
      g0.push(at(res.gamma0, i));
    });
    assert.ok(P.length > 5000, `${P.length} of 6000 pixels fitted`);
    const med = (v: number[]) =>
      at(
        v.sort((a, b) => a - b),
        v.length >> 1,
      );
    // GAMMA coherence from 8 range looks scatters by ~0.03–0.06 around a smooth decay (measured median 0.039)
    assert.ok(med(sig) < 0.08, `median residual sd ${med(sig)}`);
    // γ0 is a coherence: the fitted dt → 0 value stays physical for almost every pixel
    assert.ok(g0.filter((v) => v > 1.05).length < 0.01 * g0.length);
    // no event: measured 35% of pixels above 0.75 (25% expected if the noise model were exact; see the report)
    assert.ok(P.filter((v) => v > 0.75).length < 0.5 * P.length);
  },
);
