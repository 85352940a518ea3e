// Landslide scores (host/landslide/scores.ts) on a small constructed cube with the obvious float64 forecaster
// (sampleMeanForecast: each sequence's own mean and standard deviation), checked pixel by pixel against direct
// computations of the documented formulas; the block split and AUPRC (host/landslide/evaluate.ts).
import test from 'node:test';
import assert from 'node:assert/strict';
import { silentFeedback } from '../host/core/feedback.js';
import { DpmError } from '../host/core/errors.js';
import { landslideScores, sampleMeanForecast, splitEvent, type LandslideCube } from '../host/landslide/scores.js';
import { stouffer, welchT, zOfWelch } from '../host/landslide/stats.js';
import { blockSplit, scoreMethod } from '../host/landslide/evaluate.js';
import { coherenceToLogit } from '../host/model/series.js';
import { Rng } from '../host/model/rng.js';
import { at } from './at.js';

const W = 6,
  H = 5,
  N = W * H;
const dates = Array.from({ length: 12 }, (_, k) => `202001${String(k + 10).padStart(2, '0')}`);
const orbits = dates.map((_, k) => (k % 2 ? 'descending' : 'ascending'));
const EVENT = '20200117'; // passes 0..7 pre (4 per orbit), 8..11 post
function makeCube(): LandslideCube {
  const rng = new Rng(5, 1);
  const band = (k: number, pol: number) =>
    Float32Array.from({ length: N }, (_, i) => {
      const drop = k >= 8 && i % 4 === 0 ? 0.3 : 1; // every 4th pixel darkens after the event
      return (0.05 + 0.01 * pol + 0.002 * (i % 7)) * drop * (0.7 + 0.6 * rng.next());
    });
  const pairs = dates.slice(0, -2).map((d, k) => ({ first: d, second: at(dates, k + 2) }));
  return {
    source: 'constructed',
    width: W,
    height: H,
    georef: {},
    dates,
    orbits,
    vv: dates.map((_, k) => band(k, 0)),
    vh: dates.map((_, k) => band(k, 1)),
    coherence: {
      pairs,
      bands: pairs.map(() => Float32Array.from({ length: N }, () => 0.2 + 0.6 * rng.next())),
    },
    slope: Float32Array.from({ length: N }, (_, i) => i),
    landslides: Float32Array.from({ length: N }, (_, i) => (i % 4 === 0 ? 1 : 0)),
  };
}

const dB = (v: number) => 10 * Math.log10(v);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('scores equal the documented formulas, pixel by pixel, after 1–4 passes', async () => {
  const cube = makeCube();
  const s = await landslideScores(cube, EVENT, sampleMeanForecast, silentFeedback);
  assert.equal(s.postPasses, 4);
  for (const n of [1, 2, 3, 4]) {
    const got = s.after(n);
    const post = [8, 9, 10, 11].slice(0, n);
    for (let i = 0; i < N; i++) {
      const perPol = (['vv', 'vh'] as const).map((pol) => {
        const bands = cube[pol]!;
        // standardisation over every pre-event value of this polarisation
        const all = [0, 1, 2, 3, 4, 5, 6, 7].flatMap((k) => Array.from(at(bands, k), dB));
        const m = mean(all),
          sd = Math.sqrt(mean(all.map((v) => v * v)) - m * m);
        let S2 = 0,
          L2 = 0,
          w = 0;
        const pw: number[] = [];
        for (const o of ['ascending', 'descending']) {
          const mine = post.filter((k) => orbits[k] === o);
          if (mine.length === 0) continue;
          const pre = [0, 1, 2, 3, 4, 5, 6, 7].filter((k) => orbits[k] === o).map((k) => dB(at(at(bands, k), i)));
          const preZ = pre.map((v) => (v - m) / sd);
          const mu = mean(preZ),
            sg = Math.sqrt(preZ.reduce((a, b) => a + (b - mu) ** 2, 0) / (preZ.length - 1));
          const postDb = mine.map((k) => dB(at(at(bands, k), i)));
          const Z = postDb.reduce((a, v) => a + (mu - (v - m) / sd) / sg, 0) / Math.sqrt(mine.length);
          S2 += Z * Z;
          const lr = mean(postDb) - mean(pre.slice(-mine.length));
          L2 += mine.length * lr * lr;
          w += mine.length;
          pw.push(zOfWelch(welchT(pre, postDb)));
        }
        return { S: Math.sqrt(S2), L: Math.sqrt(L2 / w), P: stouffer(pw) };
      });
      const [vv, vh] = [at(perPol, 0), at(perPol, 1)];
      const near = (name: string, want: number) => {
        const v = at(got.get(name) ?? [], i);
        // float32 maps of float64 sums: 1e-5 relative
        assert.ok(
          Math.abs(v - want) <= 1e-5 * Math.max(1, Math.abs(want)),
          `${name} n=${n} pixel ${i}: ${v} vs ${want}`,
        );
      };
      near('gru_vv', vv.S);
      near('gru_vh', vh.S);
      near('gru_vvvh', Math.hypot(vv.S, vh.S));
      // the test's forecaster is the sample mean: mean_z is the same map
      near('mean_z', Math.hypot(vv.S, vh.S));
      near('log_ratio', Math.hypot(vv.L, vh.L));
      near('pwtt', Math.max(vv.P, vh.P));
      near('dem_slope', i);
      // co-event pairs: (20200116, 20200118) ascending completes at pass 1, (20200117, 20200119) descending at pass 2
      const coh = cube.coherence!;
      const zOf = (co: number, pre: number[]) => {
        const x = pre.map((k) => coherenceToLogit(at(at(coh.bands, k), i)));
        const mu = mean(x),
          sg = Math.sqrt(x.reduce((a, b) => a + (b - mu) ** 2, 0) / (x.length - 1));
        return (mu - coherenceToLogit(at(at(coh.bands, co), i))) / sg;
      };
      // pair k = (date k, date k + 2): ascending pre pairs end on or before the event (k = 0, 2, 4), co-event k = 6
      const za = zOf(6, [0, 2, 4]),
        zd = zOf(7, [1, 3, 5]);
      near('coherence_z', n === 1 ? za : stouffer([za, zd]));
      near('gru_combined', Math.hypot(vv.S, vh.S, Math.max(0, n === 1 ? za : stouffer([za, zd]))));
    }
  }
  // the darkened pixels stand out: every score but slope ranks them above chance
  const split = blockSplit(W, H, 2, 0.5, 1);
  for (const [name, score] of s.after(4)) {
    if (name === 'dem_slope') continue;
    const r = scoreMethod(name, score, cube.landslides!, split);
    assert.ok(r.auprcAll > r.prevalenceAll, `${name}: ${r.auprcAll} vs random ${r.prevalenceAll}`);
  }
});

test('event splits: passes on the event date are pre-event; no post pass is an error', () => {
  const cube = makeCube();
  assert.deepEqual(splitEvent(cube, '20200117').post, [8, 9, 10, 11]);
  assert.deepEqual(splitEvent(cube, '20200118').pre.length, 9);
  assert.throws(() => splitEvent(cube, '20200130'), DpmError);
  assert.throws(() => splitEvent(cube, '20200110'), /at least 2/);
  assert.throws(() => splitEvent(cube, '2020-01-17'), /YYYYMMDD/);
  assert.throws(() => splitEvent({ ...cube, dates: [...dates].reverse() }, EVENT), /not in time order/);
});

test('block split: whole blocks, the asked share, seeded', () => {
  const a = blockSplit(100, 70, 16, 0.3, 9),
    b = blockSplit(100, 70, 16, 0.3, 9);
  assert.deepEqual(a.test, b.test);
  assert.equal(a.blocks, 7 * 5);
  assert.equal(a.testBlocks, Math.round(0.3 * 35));
  // every block is all test or all train
  for (let br = 0; br < 5; br++)
    for (let bc = 0; bc < 7; bc++) {
      const first = at(a.test, br * 16 * 100 + bc * 16);
      for (let r = br * 16; r < Math.min(70, br * 16 + 16); r++)
        for (let c = bc * 16; c < Math.min(100, bc * 16 + 16); c++) assert.equal(at(a.test, r * 100 + c), first);
    }
});
