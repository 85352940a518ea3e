// Whole-scene prediction (host/model/unet/predict.ts): blended overlapping tiles put every tile value back where it
// came from (no seams, edges and small scenes included), batches respect the engine's limit, cancel stops it; and a
// tiny U-Net trained on a synthetic task (landslide where input channel 0 > 0) predicts a new scene well.
import test from 'node:test';
import assert from 'node:assert/strict';
import { CanceledError } from '../host/core/errors.js';
import { recordingFeedback } from '../host/core/feedback.js';
import { prAuc, prCurve } from '../host/eval/metrics.js';
import { Rng } from '../host/model/rng.js';
import type { UNetConfig } from '../host/model/unet/config.js';
import { PAPER_UNET_ADAM, type UNetEngine } from '../host/model/unet/engine.js';
import { PAPER_PLATEAU } from '../host/model/unet/plateau.js';
import { blendWindow, predictScene, type Scene, tileOrigins } from '../host/model/unet/predict.js';
import { initUNetBuffers, initUNetParams } from '../host/model/unet/init.js';
import { createReferenceUNetEngine } from '../host/model/unet/reference-engine.js';
import { trainUNet } from '../host/model/unet/train.js';

const CONFIG: UNetConfig = { inChannels: 2, classes: 2, width: 4, depth: 2 };

/**
 * A stand-in engine whose class-1 "probability" is `f(channel 0 of the tile, …)`; it records the tile sizes and
 * batch sizes it was given.
 */
function fakeEngine(f: (x0: number) => number, maxBatch = 3): UNetEngine & { calls: [number, number, number][] } {
  const calls: [number, number, number][] = [];
  const unused = async () => {
    throw new Error('not used');
  };
  return {
    config: CONFIG,
    description: 'fake',
    calls,
    maxBatch: () => maxBatch,
    predict: async (x, B, H, W) => {
      calls.push([B, H, W]);
      const plane = H * W;
      const out = new Float32Array(B * 2 * plane);
      for (let b = 0; b < B; b++)
        for (let i = 0; i < plane; i++) {
          const p = f(x[b * CONFIG.inChannels * plane + i]!);
          out[(b * 2 + 1) * plane + i] = p;
          out[b * 2 * plane + i] = 1 - p;
        }
      return out;
    },
    setParams: unused,
    getParams: unused,
    setBuffers: unused,
    getBuffers: unused,
    getOptimizerState: unused,
    setOptimizerState: unused,
    lossAndGrad: unused,
    trainStep: unused,
    loss: unused,
    destroy() {},
  };
}

function randomScene(H: number, W: number, seed: number): Scene {
  const rng = new Rng(seed);
  return {
    x: Float32Array.from({ length: CONFIG.inChannels * H * W }, () => rng.normal()),
    C: CONFIG.inChannels,
    H,
    W,
  };
}

const SIZES: [number, number][] = [
  [32, 32], // whole tiles
  [50, 37], // not a multiple of the tile: the last tiles move back to the edge
  [10, 6], // smaller than a tile: zero-padded to 12 × 8 (multiples of 2^depth = 4)
  [16, 70], // exactly one tile high
];

test('a constant model blends to the constant everywhere, whatever the scene size', async () => {
  for (const [H, W] of SIZES) {
    const engine = fakeEngine(() => 0.3);
    const p = await predictScene(engine, randomScene(H, W, 1), { tile: 16 });
    assert.equal(p.length, H * W);
    // Σ w·c / Σ w in float64, stored as float32
    for (const v of p) assert.ok(Math.abs(v - 0.3) < 1e-7, `${H} × ${W}: ${v}`);
    for (const [B, th, tw] of engine.calls) {
      assert.ok(B <= 3, 'batches respect maxBatch');
      assert.ok(th % 4 === 0 && tw % 4 === 0 && th <= 16 && tw <= 16, `tile ${th} × ${tw}`);
    }
  }
});

test('every tile value lands where it came from: a model that returns its input reproduces the scene (no seams)', async () => {
  for (const [H, W] of SIZES) {
    const scene = randomScene(H, W, 2);
    const p = await predictScene(
      fakeEngine((v) => v),
      scene,
      { tile: 16 },
    );
    for (let i = 0; i < H * W; i++)
      assert.ok(Math.abs(p[i]! - scene.x[i]!) < 1e-6, `${H} × ${W} pixel ${i}: ${p[i]} vs ${scene.x[i]}`);
  }
});

test('tiles: stride tile/2, the last one ends at the edge; the window is positive and sums to 1 at stride tile/2', () => {
  assert.deepEqual(tileOrigins(16, 16), [0]);
  assert.deepEqual(tileOrigins(32, 16), [0, 8, 16]);
  assert.deepEqual(tileOrigins(37, 16), [0, 8, 16, 21]);
  const w = blendWindow(16);
  assert.ok(w.every((v) => v > 0));
  for (let i = 0; i < 8; i++) assert.ok(Math.abs(w[i]! + w[i + 8]! - 1) < 1e-15);
});

test('progress ends at 100; cancel stops between batches', async () => {
  const fb = recordingFeedback();
  await predictScene(
    fakeEngine(() => 0.5, 1),
    randomScene(32, 32, 3),
    { tile: 16 },
    fb,
  );
  assert.equal(fb.percents[fb.percents.length - 1], 100);
  fb.cancel();
  await assert.rejects(
    predictScene(
      fakeEngine(() => 0.5),
      randomScene(32, 32, 3),
      { tile: 16 },
      fb,
    ),
    CanceledError,
  );
});

/** a scene whose truth is channel 0 > 0, cut into training chips */
function taskScene(H: number, W: number, seed: number): { scene: Scene; labels: Uint8Array } {
  const scene = randomScene(H, W, seed);
  return { scene, labels: Uint8Array.from({ length: H * W }, (_, i) => (scene.x[i]! > 0 ? 1 : 0)) };
}

function chipsOf(s: { scene: Scene; labels: Uint8Array }, chip: number) {
  const { C, H, W } = s.scene;
  const n = (H / chip) * (W / chip);
  const x = new Float32Array(n * C * chip * chip);
  const labels = new Uint8Array(n * chip * chip);
  let b = 0;
  for (let r0 = 0; r0 < H; r0 += chip)
    for (let c0 = 0; c0 < W; c0 += chip, b++)
      for (let y = 0; y < chip; y++)
        for (let xx = 0; xx < chip; xx++) {
          const i = (r0 + y) * W + c0 + xx;
          labels[(b * chip + y) * chip + xx] = s.labels[i]!;
          for (let c = 0; c < C; c++) x[((b * C + c) * chip + y) * chip + xx] = s.scene.x[c * H * W + i]!;
        }
  return { x, labels, B: n, H: chip, W: chip };
}

/** mean cross-entropy of class-1 probabilities against 0/1 labels */
function crossEntropy(p: Float32Array, labels: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) s -= Math.log(Math.max(1e-12, labels[i] ? p[i]! : 1 - p[i]!));
  return s / p.length;
}

test('a tiny U-Net trained on channel 0 > 0 predicts a new scene: loss far below the start, AUPRC near 1', async (t) => {
  const engine = createReferenceUNetEngine(CONFIG);
  const train = chipsOf(taskScene(64, 64, 10), 16);
  const validation = chipsOf(taskScene(32, 32, 11), 16);
  const test = taskScene(40, 44, 12); // not a multiple of the tile
  const opts = { epochs: 15, batchSize: 4, adam: PAPER_UNET_ADAM, plateau: PAPER_PLATEAU, seed: 1 };
  // the untrained model: PyTorch's default initialisation
  await engine.setParams(initUNetParams(CONFIG, new Rng(7)));
  await engine.setBuffers(initUNetBuffers(CONFIG));
  const before = await predictScene(engine, test.scene, { tile: 16 });
  await trainUNet(engine, { train, validation }, opts);
  const after = await predictScene(engine, test.scene, { tile: 16 });
  const [lossBefore, lossAfter] = [crossEntropy(before, test.labels), crossEntropy(after, test.labels)];
  const auprc = prAuc(prCurve(after, test.labels));
  t.diagnostic(`test loss ${lossBefore.toFixed(3)} → ${lossAfter.toFixed(3)}, AUPRC ${auprc.toFixed(4)}`);
  assert.ok(lossAfter < 0.5 * lossBefore, `test loss ${lossBefore} → ${lossAfter}`);
  assert.ok(auprc > 0.95, `test AUPRC ${auprc} (landslide share ${test.labels.reduce((a, b) => a + b, 0) / 1760})`);
});
