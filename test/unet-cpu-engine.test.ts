// The WebAssembly U-Net engine (host/cpu/unet-engine.ts) against the PyTorch fixtures (test/fixtures/unet, written by
// scripts/unet-fixtures.py): every intermediate and its gradient layer by layer, the loss, every parameter gradient,
// the running statistics, eval-mode probabilities and 3 Adam steps; in the relaxed, plain and debug builds. Edge
// cases: every label ignored, one chip (B = 1) against central differences, chips that are not square, bad input;
// 1, 2 and 3 threads bit-identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCpuUNetEngine } from '../host/cpu/unet-engine.js';
import { Rng } from '../host/model/rng.js';
import { DpmError } from '../host/core/errors.js';
import { unetParamLayout } from '../host/model/unet/config.js';
import { PAPER_UNET_ADAM } from '../host/model/unet/engine.js';
import {
  assertAdamParams,
  batchOf,
  checkGradByTensor,
  checkNodes,
  close,
  evalProbabilities,
  loadUNetFixture,
  UNET_CASES,
  type UNetFixture,
} from './unet-fixtures.js';
import { actOf, crossEntropy } from '../host/model/unet/reference-layers.js';
import { checkOptimizerStateRefused } from './optimizer-state.js';

const BUILDS = [
  { simd: 'relaxed', debug: false },
  { simd: 'plain', debug: false },
  { simd: 'plain', debug: true },
] as const;

async function engineFor(f: UNetFixture, build: (typeof BUILDS)[number]) {
  const e = await createCpuUNetEngine(f.config, { ...build, threads: 1 });
  await e.setParams(f.params);
  await e.setBuffers(f.buffers);
  return e;
}

for (const build of BUILDS) {
  const label = `${build.simd}${build.debug ? ' debug' : ''}`;
  for (const name of UNET_CASES) {
    test(`cpu U-Net (${label}, ${name}): every activation and gradient, loss, parameter gradients`, async () => {
      const f = loadUNetFixture(name);
      const e = await engineFor(f, build);
      const loss = e.trainPass(batchOf(f), f.classWeights, true);
      // docs/unet.md: relative 1e-4 for activations, loss and gradients (float32 sums over up to B·H·W·9·C terms,
      // BatchNorm divides by small batch variances); the loss is one float64 sum of float32 logits
      assert.ok(Math.abs(loss - f.loss) <= 1e-5 * f.loss, `loss ${loss} vs ${f.loss}`);
      const checked = checkNodes(f, e.nodes(), 1e-4);
      // every node the engine keeps: 4 per block (conv1, relu1, conv2, relu2), pool, up, cat, head, input
      const blocks = 2 * f.config.depth + 1;
      assert.equal(checked, 8 * blocks + 2 * f.config.depth + 3 * f.config.depth + 2 + 1);
      const { grad } = await e.lossAndGrad(batchOf(f), f.classWeights);
      checkGradByTensor(f, grad, 1e-4);
      e.destroy();
    });

    test(`cpu U-Net (${label}, ${name}): running statistics, eval probabilities and loss`, async () => {
      const f = loadUNetFixture(name);
      const e = await engineFor(f, build);
      await e.lossAndGrad(batchOf(f), f.classWeights);
      // one momentum step of float64 statistics rounded to float32
      close(await e.getBuffers(), f.buffersAfter1, 1e-5, 'running statistics after one training forward');
      const probs = await e.predict(f.x, f.B, f.H, f.W);
      const ref = evalProbabilities(f);
      // probabilities ≤ 1: relative 1e-4 of the logits is ≲ 1e-4 absolute on them
      close(probs, ref, 1e-4, 'eval probabilities');
      const evalLoss = await e.loss(batchOf(f), f.classWeights);
      // the reference's weighted cross-entropy of PyTorch's eval logits
      const want = crossEntropy(actOf(f.evalLogits, f.B, f.config.classes, f.H, f.W), f.labels, f.classWeights).loss;
      assert.ok(Math.abs(evalLoss - want) <= 1e-4 * want, `eval loss ${evalLoss} vs ${want}`);
      close(await e.getBuffers(), f.buffersAfter1, 1e-5, 'eval passes leave the running statistics alone');
    });

    test(`cpu U-Net (${label}, ${name}): 3 Adam steps as torch.optim.Adam(weight_decay)`, async () => {
      const f = loadUNetFixture(name);
      const e = await engineFor(f, build);
      const opt = { ...PAPER_UNET_ADAM, lr: f.adam.lr, weightDecay: f.adam.weightDecay };
      for (let s = 0; s < f.adam.steps; s++) {
        const { loss } = await e.trainStep(batchOf(f), f.classWeights, opt);
        assert.ok(Math.abs(loss - f.adam.losses[s]!) <= 1e-5 * f.adam.losses[s]!, `step ${s} loss ${loss}`);
      }
      const p = await e.getParams();
      assertAdamParams(f, p);
      // docs/unet.md: relative 1e-4 (float64 statistics of float32 activations)
      close(await e.getBuffers(), f.adam.buffers, 1e-4, 'running statistics');
      const state = await e.getOptimizerState();
      assert.equal(state.step, f.adam.steps);
      // resuming from the saved state continues identically
      const again = await engineFor(f, build);
      await again.setParams(p);
      await again.setBuffers(await e.getBuffers());
      await again.setOptimizerState(state);
      await e.trainStep(batchOf(f), f.classWeights, opt);
      await again.trainStep(batchOf(f), f.classWeights, opt);
      assert.deepEqual(await again.getParams(), await e.getParams());
    });
  }
}

test('cpu U-Net: every label ignored gives loss 0 and a zero gradient', async () => {
  const f = loadUNetFixture('small');
  const e = await engineFor(f, BUILDS[0]);
  const labels = new Uint8Array(f.labels.length).fill(255);
  const { loss, grad } = await e.lossAndGrad({ ...batchOf(f), labels }, f.classWeights);
  assert.equal(loss, 0);
  assert.ok(grad.every((g) => g === 0));
  assert.equal(await e.loss({ ...batchOf(f), labels }, f.classWeights), 0);
});

test('cpu U-Net: one chip (B = 1) matches central differences of its own loss', async () => {
  const f = loadUNetFixture('small');
  const e = await engineFor(f, BUILDS[0]);
  const C = f.config.inChannels;
  const HW = f.H * f.W;
  const one = { x: f.x.slice(0, C * HW), labels: f.labels.slice(0, HW), B: 1, H: f.H, W: f.W };
  const { grad } = await e.lossAndGrad(one, f.classWeights);
  const params = f.params.slice();
  // the largest gradient of a few tensors (a float32 forward: a step of 1e-2 keeps the rounding below 1e-3 of it)
  for (const name of ['down.0.conv1.weight', 'bottom.bn2.weight', 'up.1.weight', 'dec.1.conv2.weight', 'head.bias']) {
    const s = unetParamLayout(f.config).find((l) => l.name === name)!;
    let i = s.offset;
    for (let k = s.offset; k < s.offset + s.size; k++) if (Math.abs(grad[k]!) > Math.abs(grad[i]!)) i = k;
    const h = 1e-2;
    const lossAt = async (v: number) => {
      const p = params.slice();
      p[i] = v;
      await e.setParams(p);
      await e.setBuffers(f.buffers);
      return (await e.lossAndGrad(one, f.classWeights)).loss;
    };
    const fd = ((await lossAt(params[i]! + h)) - (await lossAt(params[i]! - h))) / (2 * h);
    // central difference error O(h²·f''') plus float32 noise of the loss / h: a few percent of the gradient
    assert.ok(
      Math.abs(fd - grad[i]!) <= 0.03 * Math.abs(grad[i]!) + 1e-5,
      `${name}[${i - s.offset}]: ${fd} vs ${grad[i]}`,
    );
  }
});

test('cpu U-Net: bad sizes, labels and optimizer states are clear errors', async () => {
  const f = loadUNetFixture('small');
  const e = await engineFor(f, BUILDS[0]);
  await assert.rejects(e.predict(new Float32Array(3 * 10 * 10), 1, 10, 10), DpmError);
  const labels = f.labels.slice();
  labels[0] = 7;
  await assert.rejects(e.lossAndGrad({ ...batchOf(f), labels }, f.classWeights), /label 7/);
  await assert.rejects(e.setParams(new Float32Array(3)), DpmError);
  await checkOptimizerStateRefused(e, f.params.length);
  assert.ok(e.maxBatch(128, 128) >= 1);
});

test('cpu U-Net: 1, 2 and 3 threads give bit-identical losses, gradients, statistics and parameters', async () => {
  for (const name of UNET_CASES) {
    const f = loadUNetFixture(name);
    const opt = { ...PAPER_UNET_ADAM, lr: f.adam.lr, weightDecay: f.adam.weightDecay };
    const results = [];
    for (const threads of [1, 2, 3]) {
      const e = await createCpuUNetEngine(f.config, { threads });
      assert.match(e.description, new RegExp(`${threads} threads?$`));
      await e.setParams(f.params);
      await e.setBuffers(f.buffers);
      const { loss, grad } = await e.lossAndGrad(batchOf(f), f.classWeights);
      for (let s = 0; s < 2; s++) await e.trainStep(batchOf(f), f.classWeights, opt);
      results.push({ loss, grad, params: await e.getParams(), buffers: await e.getBuffers() });
      e.destroy();
    }
    close(results[0]!.grad, f.grad, 1e-4, `${name}: gradient`);
    for (const r of results.slice(1)) assert.deepEqual(r, results[0], `${name}: threads change nothing`);
  }
});

test('cpu U-Net: chips that are not square (16 × 8) give the transpose of the transposed problem', async () => {
  // transposing the chip, every 3×3 kernel (ky ↔ kx) and every 2×2 transposed-convolution kernel (a ↔ b) transposes
  // every activation: the loss and gradients agree up to the order of float32 sums
  const f = loadUNetFixture('small');
  const { inChannels: C } = f.config;
  const B = 2,
    H = 16,
    W = 8;
  const rng = new Rng(4);
  const x = Float32Array.from({ length: B * C * H * W }, () => rng.normal());
  const labels = Uint8Array.from({ length: B * H * W }, () => [0, 1, 255][rng.int(3)]!);
  const transposePlanes = (a: Float32Array, planes: number, h: number, w: number) => {
    const out = new Float32Array(a.length);
    for (let p = 0; p < planes; p++) {
      for (let y = 0; y < h; y++) for (let i = 0; i < w; i++) out[(p * w + i) * h + y] = a[(p * h + y) * w + i]!;
    }
    return out;
  };
  const layout = unetParamLayout(f.config);
  const swapped = f.params.slice();
  for (const s of layout) {
    const k = s.shape.length === 4 ? s.shape[2]! : 1;
    if (k < 2) continue;
    swapped.set(transposePlanes(f.params.subarray(s.offset, s.offset + s.size), s.size / (k * k), k, k), s.offset);
  }
  const e = await engineFor(f, BUILDS[0]);
  const a = await e.lossAndGrad({ x, labels, B, H, W }, f.classWeights);
  await e.setParams(swapped);
  await e.setBuffers(f.buffers);
  const xt = transposePlanes(x, B * C, H, W);
  const lt = Uint8Array.from(transposePlanes(Float32Array.from(labels), B, H, W));
  const b = await e.lossAndGrad({ x: xt, labels: lt, B, H: W, W: H }, f.classWeights);
  assert.ok(Math.abs(a.loss - b.loss) <= 1e-6 * a.loss, `loss ${a.loss} vs ${b.loss}`);
  for (const s of layout) {
    const k = s.shape.length === 4 ? s.shape[2]! : 1;
    const ga = a.grad.subarray(s.offset, s.offset + s.size);
    const gb = b.grad.subarray(s.offset, s.offset + s.size);
    close(k < 2 ? gb : transposePlanes(gb, s.size / (k * k), k, k), ga, 1e-4, `grad.${s.name}`);
  }
});

test('cpu U-Net: a NaN in the input shows as a NaN loss, never as a plausible number', async () => {
  const f = loadUNetFixture('small');
  const e = await engineFor(f, BUILDS[0]);
  const x = f.x.slice();
  x[5] = Number.NaN;
  const { loss } = await e.lossAndGrad({ ...batchOf(f), x }, f.classWeights);
  assert.ok(Number.isNaN(loss), `loss ${loss}`);
});
