// The WGSL U-Net engine (host/gpu/unet-engine.ts) against the PyTorch fixtures of scripts/unet-fixtures.py
// (test/fixtures/unet/{small,medium}.safetensors, loaded by test/unet-fixtures.ts): every intermediate and its
// gradient node by node, the loss, every parameter gradient, the running statistics after one training forward,
// eval-mode logits and probabilities, 3 Adam steps; and the engine's edge cases (every label ignored, B = 1, bad
// input). On every Dawn backend present (OpenGL ES on llvmpipe, Vulkan on lavapipe or a GPU). Layers one by one on
// random inputs against float64 loops: unet-gpu-layers.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DpmError } from '../host/core/errors.js';
import { IGNORE_LABEL } from '../host/model/unet/config.js';
import { createGpuUNetEngine, type GpuUNetEngine, type UNetGpuTuning } from '../host/gpu/unet-engine.js';
import { backendSkip, maxAbsErr, relErr } from './gpu-helpers.js';
import { checkOptimizerStateRefused } from './optimizer-state.js';
import {
  assertAdamParams,
  batchOf,
  checkGradByTensor,
  checkNodes,
  evalProbabilities,
  loadUNetFixture,
  type UNetFixture,
} from './unet-fixtures.js';

// docs/unet.md: relative 1e-4 (max |a − b| / max |b| per tensor) for activations, loss, gradients and running
// statistics — float32 sums over up to B·H·W·9·C terms in another order than PyTorch's, and BatchNorm divides by
// small batch variances; parameters after the Adam steps: assertAdamParams (test/unet-fixtures.ts).
const REL = 1e-4;

const backends = ['opengles', 'vulkan'] as const;
const skips = new Map(await Promise.all(backends.map(async (b) => [b, await backendSkip(b)] as const)));

async function withUNet<T>(
  f: UNetFixture,
  backend: string,
  fn: (e: GpuUNetEngine) => Promise<T>,
  tuning?: Partial<UNetGpuTuning>,
): Promise<T> {
  const e = await createGpuUNetEngine(f.config, { backend: backend as 'opengles' | 'vulkan', tuning });
  try {
    return await fn(e);
  } finally {
    e.destroy();
  }
}

async function checkFixture(e: GpuUNetEngine, f: UNetFixture): Promise<void> {
  await e.setParams(f.params);
  await e.setBuffers(f.buffers);
  const { loss, grad } = await e.lossAndGrad(batchOf(f), f.classWeights);
  assert.ok(Math.abs(loss - f.loss) <= REL * Math.abs(f.loss), `loss ${loss} vs PyTorch ${f.loss}`);
  assert.ok(relErr(grad, f.grad) <= REL, `gradient: relative error ${relErr(grad, f.grad)}`);
  // every parameter tensor on its own scale too; 1e-3 per tensor: BatchNorm's β/γ gradients of one channel are sums
  // whose terms cancel to ~1e-4 of their size
  checkGradByTensor(f, grad, 1e-3);
  const after1 = await e.getBuffers();
  assert.ok(relErr(after1, f.buffersAfter1) <= REL, 'running statistics after one training forward');

  // node by node: every intermediate the fixture holds (BatchNorm outputs are fused into the ReLU's: the layer tests
  // check them) and every gradient the engine keeps (the concatenation's own gradient is not kept: the pool's
  // backward adds into its skip half in place; its up half is dact.up.j)
  const { act, dact } = await e.readNodes(f.B);
  act.delete('input'); // the engine's copy of the batch
  const compared = checkNodes(f, { act, dact }, REL);
  const d = f.config.depth;
  // per block 4 act + 4 dact, per level pool/up (act + dact) and cat (act), head (act + dact)
  assert.equal(compared, (2 * d + 1) * 8 + d * 2 + d * 2 + d + 2);

  // eval mode: the running statistics after that forward (now in the engine) give the fixture's eval logits
  const probs = await e.predict(f.x, f.B, f.H, f.W);
  const evalNodes = await e.readNodes(f.B);
  const logits = evalNodes.act.get('head')!;
  assert.ok(relErr(logits, f.evalLogits) <= REL, `eval logits: relative error ${relErr(logits, f.evalLogits)}`);
  // probabilities within 1e-6 of softmax(PyTorch's eval logits) in float64 (they lie in [0, 1]; logits agree to 1e-4
  // relative of their largest, |logit| ≲ 3 → 1e-6 absolute on a probability needs the 1e-5 below)
  assert.ok(maxAbsErr(probs, evalProbabilities(f)) <= 1e-5, 'eval probabilities');
  const evalLoss = await e.loss(batchOf(f), f.classWeights);
  assert.ok(Number.isFinite(evalLoss) && evalLoss > 0, `eval loss ${evalLoss}`);
  assert.deepEqual(await e.getBuffers(), after1, 'eval mode leaves the running statistics alone');

  // 3 Adam steps from the initial state (lr, weight decay of the fixture)
  await e.setParams(f.params);
  await e.setBuffers(f.buffers);
  await e.setOptimizerState(undefined);
  const opt = { lr: f.adam.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: f.adam.weightDecay };
  for (let s = 0; s < f.adam.steps; s++) {
    const { loss: l } = await e.trainStep(batchOf(f), f.classWeights, opt);
    const want = f.adam.losses[s]!;
    assert.ok(Math.abs(l - want) <= REL * want, `Adam step ${s + 1}: loss ${l} vs PyTorch ${want}`);
  }
  const params = await e.getParams();
  assertAdamParams(f, params);
  assert.ok(relErr(await e.getBuffers(), f.adam.buffers) <= REL, 'running statistics after the Adam steps');
  const state = await e.getOptimizerState();
  assert.equal(state.step, f.adam.steps);
}

for (const backend of backends) {
  const skip = skips.get(backend)!;
  test(`GPU U-Net matches PyTorch node by node, loss, gradients, running stats, eval, Adam: small [${backend}]`, {
    skip,
  }, async () => {
    const f = loadUNetFixture('small');
    await withUNet(f, backend, (e) => checkFixture(e, f));
  });
}

// the same fixture through other tiles: small ones (a K slice of 5 that divides no K, 2-row register blocks),
// weight gradients split every 32 pixels, BatchNorm reductions in chunks of 100 values (several per channel, the
// last one short)
test('GPU U-Net matches PyTorch with small tiles, many splits and BatchNorm chunks: small [opengles]', {
  skip: skips.get('opengles')!,
}, async () => {
  const f = loadUNetFixture('small');
  const tuning = { tileM: 16, tileN: 8, tileK: 5, rowsPerInvocation: 2, splitPixels: 32, bnChunk: 100, workgroup: 64 };
  await withUNet(f, 'opengles', (e) => checkFixture(e, f), tuning);
});

// the medium case (odd 3 × 3 bottom, 8 input channels, depth 3) compiles ~70 pipelines: slow on the CPU Vulkan
// (lavapipe, ~2 min on 2 shared cores), so it runs on OpenGL ES, and on Vulkan only where the adapter is a GPU
test('GPU U-Net matches PyTorch: medium, odd 3 × 3 bottom [opengles]', { skip: skips.get('opengles')! }, async () => {
  const f = loadUNetFixture('medium');
  await withUNet(f, 'opengles', (e) => checkFixture(e, f));
});

test('GPU U-Net: every label ignored gives loss 0 and a zero gradient; B = 1; bad input is refused', {
  skip: skips.get('opengles')!,
}, async () => {
  const f = loadUNetFixture('small');
  await withUNet(f, 'opengles', async (e) => {
    await e.setParams(f.params);
    await e.setBuffers(f.buffers);
    const ignored = { ...batchOf(f), labels: new Uint8Array(f.labels.length).fill(IGNORE_LABEL) };
    const { loss, grad } = await e.lossAndGrad(ignored, f.classWeights);
    assert.equal(loss, 0);
    assert.ok(
      grad.every((v) => v === 0),
      'no pixel counts: every gradient is exactly 0',
    );
    // B = 1: the first chip alone equals PyTorch's batch statistics of that chip only, so compare the engine with
    // itself: a batch of one is a forward with its own statistics (finite, and the loss of chip 0 alone)
    const HW = f.H * f.W;
    const one = {
      x: f.x.subarray(0, f.config.inChannels * HW),
      labels: f.labels.subarray(0, HW),
      B: 1,
      H: f.H,
      W: f.W,
    };
    const r1 = await e.lossAndGrad(one, f.classWeights);
    assert.ok(Number.isFinite(r1.loss) && r1.loss > 0 && r1.grad.every(Number.isFinite));
    const probs = await e.predict(one.x, 1, f.H, f.W);
    for (let p = 0; p < HW; p++) assert.ok(Math.abs(probs[p]! + probs[HW + p]! - 1) < 1e-6);
    // the graph grows back to B = 2 and still matches the fixture; the same call twice is bit-identical (fixed
    // summation orders, no atomics; the training-mode gradient does not read the running statistics it updates)
    await e.setBuffers(f.buffers);
    const again = await e.lossAndGrad(batchOf(f), f.classWeights);
    assert.ok(relErr(again.grad, f.grad) <= REL);
    const twice = await e.lossAndGrad(batchOf(f), f.classWeights);
    assert.deepEqual(twice.grad, again.grad);
    assert.equal(twice.loss, again.loss);

    const bad = (labels: Uint8Array) => ({ ...batchOf(f), labels });
    const badLabel = Uint8Array.from(f.labels);
    badLabel[5] = 7;
    await assert.rejects(e.lossAndGrad(bad(badLabel), f.classWeights), DpmError);
    await assert.rejects(e.lossAndGrad({ ...batchOf(f), H: 10 }, f.classWeights), DpmError);
    await assert.rejects(e.lossAndGrad(batchOf(f), new Float32Array([1])), DpmError);
    await assert.rejects(e.predict(f.x, 3, f.H, f.W), DpmError);
    await assert.rejects(e.setParams(new Float32Array(3)), DpmError);
    await checkOptimizerStateRefused(e, f.params.length);
    assert.throws(() => e.maxBatch(10, 16), DpmError);
    assert.ok(e.maxBatch(f.H, f.W) >= f.B);
  });
});

test('GPU U-Net: BatchNorm with one value per channel at the bottom is refused as PyTorch refuses it', {
  skip: skips.get('opengles')!,
}, async () => {
  const config = { inChannels: 1, classes: 2, width: 2, depth: 2 };
  const e = await createGpuUNetEngine(config, { backend: 'opengles' });
  try {
    const batch = { x: new Float32Array(16), labels: new Uint8Array(16), B: 1, H: 4, W: 4 };
    await assert.rejects(e.lossAndGrad(batch, new Float32Array([1, 1])), /more than one value per channel/);
  } finally {
    e.destroy();
  }
});

test('GPU U-Net: a pipeline the device refuses fails loudly, naming the kernel', {
  skip: skips.get('opengles')!,
}, async () => {
  const f = loadUNetFixture('small');
  // a K slice of 1000 asks for 1000 · (64 + 64) floats of workgroup memory, far past the device's limit
  const e = await createGpuUNetEngine(f.config, { backend: 'opengles', tuning: { tileK: 1000 } });
  try {
    await assert.rejects(e.lossAndGrad(batchOf(f), f.classWeights), /GPU validation error in pipeline conv2d forward/);
  } finally {
    e.destroy();
  }
});
