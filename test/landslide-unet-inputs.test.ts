// The U-Net's inputs (host/landslide/chips.ts): channel means in dB over the passes nearest the event, training-block
// standardisation, masks, the spatial split and the chips — on a constructed cube checked against direct
// computations, and on the simulator's cube read back from Zarr.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DpmError } from '../host/core/errors.js';
import { silentFeedback } from '../host/core/feedback.js';
import { loadLandslideCube, type LoadedCube } from '../host/landslide/cube.js';
import {
  channelNames,
  channelStats,
  cutChips,
  DB_FLOOR,
  inputChannels,
  meanDb,
  parseInputs,
  ROLE_TEST,
  ROLE_TRAIN,
  ROLE_VALIDATION,
  segmentationLabels,
  spatialSplit,
  standardise,
} from '../host/landslide/chips.js';
import { blockSplit } from '../host/landslide/evaluate.js';
import { IGNORE_LABEL } from '../host/model/unet/config.js';
import { Rng } from '../host/model/rng.js';
import { writeLandslideCube } from '../host/sar/simulate/landslide.js';

const W = 12,
  H = 10,
  N = W * H;
const dates = Array.from({ length: 10 }, (_, k) => `202001${String(k + 10).padStart(2, '0')}`);
const EVENT = '20200115'; // passes 0..5 pre, 6..9 post

function constructed(): LoadedCube {
  const rng = new Rng(3, 1);
  const band = () => Float32Array.from({ length: N }, () => 0.01 + 0.2 * rng.next());
  const vv = dates.map(band),
    vh = dates.map(band);
  vv[5]![7] = NaN; // a missing pass: left out of pixel 7's mean
  vh[6]![9] = 0; // zero backscatter: floored
  for (const k of [2, 3, 4, 5]) vv[k]![11] = NaN; // pixel 11 has no VV before the event at all
  const terrain = () => Float32Array.from({ length: N }, () => rng.uniform(-5, 5));
  const slope = terrain();
  slope[3] = NaN; // the DEM's border: filled with the mean, not masked
  return {
    cube: {
      source: 'constructed',
      width: W,
      height: H,
      georef: {},
      dates,
      orbits: [],
      vv,
      vh,
      slope,
      landslides: Float32Array.from({ length: N }, (_, i) => (i === 20 ? NaN : i % 5 === 0 ? 1 : 0)),
    },
    dem: terrain(),
    aspect: terrain(),
    curvature: terrain(),
  };
}

test('parseInputs: canonical order, unknown, repeated and DEM-only lists refused', () => {
  assert.deepEqual(parseInputs('dem, VH,vv'), ['vv', 'vh', 'dem']);
  assert.deepEqual(channelNames(parseInputs('vh,dem')), [
    'vh_before',
    'vh_after',
    'dem',
    'slope',
    'aspect',
    'curvature',
  ]);
  for (const bad of ['', 'vv,hh', 'vv,vv', 'dem']) assert.throws(() => parseInputs(bad), DpmError, bad);
});

test('meanDb: mean of the finite linear values, floored before the log, NaN when none', () => {
  const a = Float32Array.of(0.1, NaN, 0, NaN),
    b = Float32Array.of(0.3, 0.2, 0, NaN);
  const m = meanDb([a, b], [0, 1]);
  assert.ok(Math.abs(m[0]! - 10 * Math.log10(0.2)) < 1e-5); // float32 output
  assert.ok(Math.abs(m[1]! - 10 * Math.log10(0.2)) < 1e-5);
  assert.equal(m[2], Math.fround(10 * Math.log10(DB_FLOOR)));
  assert.ok(Number.isNaN(m[3]!));
});

test('inputChannels: the n passes nearest the event on each side, in dB; DEM channels as given', () => {
  const loaded = constructed();
  for (const n of [1, 2, 3, 4]) {
    const raw = inputChannels(loaded, EVENT, ['vv', 'vh', 'dem'], n);
    assert.deepEqual(raw.before, [0, 1, 2, 3, 4, 5].slice(-n));
    assert.deepEqual(raw.after, [6, 7, 8, 9].slice(0, n));
    assert.deepEqual(raw.names, channelNames(['vv', 'vh', 'dem']));
    assert.deepEqual(raw.masks, [true, true, true, true, true, false, false, false]);
    for (const [c, pol, ks] of [
      [0, 'vv', raw.before],
      [1, 'vv', raw.after],
      [2, 'vh', raw.before],
      [3, 'vh', raw.after],
    ] as const) {
      for (let i = 0; i < N; i++) {
        const vals = ks.map((k) => loaded.cube[pol]![k]![i]!).filter(Number.isFinite);
        const want = vals.length
          ? 10 * Math.log10(Math.max(vals.reduce((s, v) => s + v, 0) / vals.length, DB_FLOOR))
          : NaN;
        const got = raw.bands[c]![i]!;
        if (Number.isNaN(want)) assert.ok(Number.isNaN(got), `channel ${c} pixel ${i}`);
        else assert.ok(Math.abs(got - want) < 1e-4, `channel ${c} pixel ${i}: ${got} vs ${want}`); // float32 dB
      }
    }
    assert.equal(raw.bands[4], loaded.dem);
    assert.equal(raw.bands[5], loaded.cube.slope);
  }
  assert.throws(() => inputChannels(loaded, EVENT, ['vv'], 5), /--passes 5 needs 5 passes on each side/);
  assert.throws(() => inputChannels({ cube: loaded.cube }, EVENT, ['vv', 'dem'], 1), /dem variable/);
  assert.throws(() => inputChannels({ cube: { ...loaded.cube, vh: undefined } }, EVENT, ['vh'], 1), /vh backscatter/);
});

test('standardisation uses the training pixels only; NaN → 0; backscatter/DEM gaps mask, terrain gaps do not', () => {
  const loaded = constructed();
  const raw = inputChannels(loaded, EVENT, ['vv', 'vh', 'dem'], 4);
  const include = Uint8Array.from({ length: N }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const stats = channelStats(raw, include);
  // values outside the training pixels do not move the statistics
  const changed = { ...raw, bands: raw.bands.map((b) => b.map((v, i) => (include[i] ? v : v + 100))) };
  assert.deepEqual(channelStats(changed, include), stats);
  const stack = standardise(raw, stats);
  assert.equal(stack.C, 8);
  for (let c = 0; c < stack.C; c++) {
    let s = 0,
      ss = 0,
      n = 0;
    for (let i = 0; i < N; i++) {
      if (!include[i] || !Number.isFinite(raw.bands[c]![i]!)) continue;
      const v = stack.x[c * N + i]!;
      s += v;
      ss += v * v;
      n++;
    }
    // float32 values of float64 statistics: 1e-5
    assert.ok(Math.abs(s / n) < 1e-5, `channel ${c} mean ${s / n}`);
    assert.ok(Math.abs(ss / n - 1) < 1e-5, `channel ${c} variance ${ss / n}`);
  }
  assert.equal(stack.valid[11], 0); // no VV before the event
  assert.equal(stack.x[0 * N + 11], 0);
  assert.equal(stack.valid[3], 1); // NaN slope alone: kept, slope 0
  assert.equal(stack.x[5 * N + 3], 0);
  assert.equal(stack.valid[7], 1); // one missing pass is averaged around
  assert.equal(
    stack.valid.reduce((a, v) => a + v, 0),
    N - 1,
  );
  const labels = segmentationLabels(loaded.cube.landslides!, stack.valid);
  assert.equal(labels[11], IGNORE_LABEL);
  assert.equal(labels[20], IGNORE_LABEL); // no truth
  assert.equal(labels[15], 1);
  assert.equal(labels[16], 0);
  assert.throws(() => standardise(inputChannels(loaded, EVENT, ['vv'], 4), stats), /trained on channels/);
});

test('spatialSplit: the unsupervised scores’ test blocks, the rest split into training and validation blocks', () => {
  for (const [w, h, block, seed] of [
    [64, 48, 16, 1],
    [100, 70, 32, 7],
    [50, 50, 8, 128],
  ] as const) {
    const s = spatialSplit(w, h, block, 0.3, 0.2, seed);
    assert.deepEqual(s.test, blockSplit(w, h, block, 0.3, seed).test);
    assert.equal(s.trainBlocks + s.validationBlocks + s.testBlocks, s.blocks);
    assert.ok(s.validationBlocks >= 1 && s.trainBlocks >= 1);
    const bw = Math.ceil(w / block);
    const seen = new Map<number, number>();
    for (let i = 0; i < w * h; i++) {
      const role = s.role[i]!;
      assert.equal(role === ROLE_TEST, s.test[i] === 1);
      const b = Math.floor(Math.floor(i / w) / block) * bw + Math.floor((i % w) / block);
      if (seen.has(b)) assert.equal(seen.get(b), role, 'one role per block');
      seen.set(b, role);
    }
    assert.equal([...seen.values()].filter((r) => r === ROLE_VALIDATION).length, s.validationBlocks);
  }
  assert.throws(() => spatialSplit(16, 16, 16, 0.3, 0.2, 1), /too few remain/);
});

test('cutChips: chips of one role share no pixel with another; landslide chips only; values from the stack', () => {
  const w = 40,
    h = 28,
    n = w * h,
    C = 2,
    chip = 8;
  const rng = new Rng(11);
  const stack = {
    C,
    width: w,
    height: h,
    x: Float32Array.from({ length: C * n }, () => rng.uniform(-1, 1)),
    valid: new Uint8Array(n).fill(1),
  };
  const labels = Uint8Array.from({ length: n }, () => (rng.next() < 0.02 ? 1 : rng.next() < 0.05 ? IGNORE_LABEL : 0));
  for (const block of [8, 4, 12]) {
    const split = spatialSplit(w, h, block, 0.3, 0.2, 5);
    for (const role of [ROLE_TRAIN, ROLE_VALIDATION, ROLE_TEST])
      for (const only of [true, false]) {
        const chips = cutChips(stack, labels, split.role, role, chip, only);
        assert.equal(chips.H, chip);
        // every chip of the grid that holds a (landslide) pixel of the role, and no other
        let want = 0;
        for (let r0 = 0; r0 < h; r0 += chip)
          for (let c0 = 0; c0 < w; c0 += chip) {
            let has = false;
            for (let r = r0; r < Math.min(h, r0 + chip); r++)
              for (let c = c0; c < Math.min(w, c0 + chip); c++) {
                const i = r * w + c;
                if (split.role[i] === role && (only ? labels[i] === 1 : labels[i] !== IGNORE_LABEL)) has = true;
              }
            if (has) want++;
          }
        assert.equal(chips.B, want, `block ${block} role ${role} landslides only ${only}`);
        chips.origins.forEach(({ row, col }, b) => {
          let landslide = false;
          for (let r = 0; r < chip; r++)
            for (let c = 0; c < chip; c++) {
              const inGrid = row + r < h && col + c < w;
              const i = (row + r) * w + col + c;
              const mine = inGrid && split.role[i] === role;
              const l = chips.labels[b * chip * chip + r * chip + c]!;
              assert.equal(l, mine ? labels[i] : IGNORE_LABEL);
              if (l === 1) landslide = true;
              for (let ch = 0; ch < C; ch++)
                assert.equal(chips.x[(b * C + ch) * chip * chip + r * chip + c], mine ? stack.x[ch * n + i] : 0);
            }
          if (only) assert.ok(landslide);
        });
      }
  }
});

test('the simulator’s cube: DEM, aspect and curvature read from Zarr; chips of 16 px on 16 px blocks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpm-unet-inputs-'));
  const r = await writeLandslideCube({ seed: 2, width: 64, height: 48, dates: 14 }, dir, silentFeedback);
  const loaded = await loadLandslideCube(r.cube);
  assert.ok(loaded.dem && loaded.aspect && loaded.curvature && loaded.cube.slope);
  const raw = inputChannels(loaded, loaded.eventDate!, ['vv', 'vh', 'dem'], 2);
  const split = spatialSplit(64, 48, 16, 0.3, 0.2, 128);
  const stats = channelStats(
    raw,
    Uint8Array.from(split.role, (v) => (v === ROLE_TRAIN ? 1 : 0)),
  );
  const stack = standardise(raw, stats);
  assert.equal(
    stack.valid.reduce((a, v) => a + v, 0),
    64 * 48,
  ); // the simulator leaves no gap
  const labels = segmentationLabels(loaded.cube.landslides!, stack.valid);
  const train = cutChips(stack, labels, split.role, ROLE_TRAIN, 16, true);
  assert.ok(train.B >= 1 && train.B <= split.trainBlocks);
  for (let i = 0; i < train.labels.length; i++) assert.notEqual(train.labels[i], IGNORE_LABEL); // block = chip
  // a VV scar darkens after the event: the after-channel is lower on landslides than off them (training chips)
  let on = 0,
    nOn = 0,
    off = 0,
    nOff = 0;
  const P = 16 * 16;
  for (let b = 0; b < train.B; b++)
    for (let p = 0; p < P; p++) {
      const d = train.x[(b * stack.C + 1) * P + p]! - train.x[(b * stack.C + 0) * P + p]!;
      if (train.labels[b * P + p] === 1) [on, nOn] = [on + d, nOn + 1];
      else [off, nOff] = [off + d, nOff + 1];
    }
  assert.ok(on / nOn < off / nOff - 0.3, `after − before: ${on / nOn} on landslides, ${off / nOff} off`);
});
