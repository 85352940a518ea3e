// The float64 reference U-Net against PyTorch (test/fixtures/unet/{small,medium}, scripts/unet-fixtures.py): each layer
// on its own (PyTorch's input activation in, its output and input gradient out), the whole network, the reference
// engine (loss, gradients, running statistics, eval logits, 3 Adam steps). Tolerances: docs/unet.md "Numerics".
import test from 'node:test';
import assert from 'node:assert/strict';
import { assertAdamParams, batchOf, close, loadUNetFixture, UNET_CASES, type UNetFixture } from './unet-fixtures.js';
import { unetParamLayout } from '../host/model/unet/config.js';
import { type Act, actOf, crossEntropy, softmax } from '../host/model/unet/reference-layers.js';
import {
  accumulate,
  backwardNet,
  createUNetState,
  forwardNet,
  layerBackward,
  layerForward,
  viewsOf,
  type UNetState,
} from '../host/model/unet/reference-net.js';
import { createReferenceUNetEngine } from '../host/model/unet/reference-engine.js';
import { createUNetEngine } from '../host/engines/unet.js';
import { PAPER_UNET_ADAM } from '../host/model/unet/engine.js';
import { checkOptimizerStateRefused } from './optimizer-state.js';

// float32 PyTorch against float64 loops: sums over up to B·H·W·9·C float32 terms, and BatchNorm divides by small
// batch variances, so the float32 rounding shows at ~1e-6 relative and is amplified up to ~10× (docs/unet.md)
const REL = 1e-4;

function stateFrom(f: UNetFixture): UNetState {
  const state = createUNetState(f.config);
  state.params.set(f.params);
  state.buffers.set(f.buffers);
  return state;
}

function get(map: Map<string, Float32Array>, name: string): Float32Array {
  const t = map.get(name);
  assert.ok(t, `fixture has ${name}`);
  return t;
}

for (const name of UNET_CASES) {
  const f = loadUNetFixture(name);
  const input = () => actOf(f.x, f.B, f.config.inChannels, f.H, f.W);

  test(`${name}: each layer forward on PyTorch's input equals PyTorch's output`, () => {
    const state = stateFrom(f);
    const shapes = forwardNet(state, input(), 'train', false).acts;
    const pyAct = (node: string): Act => {
      const s = shapes.get(node)!;
      return actOf(node === 'input' ? f.x : get(f.act, node), s.n, s.c, s.h, s.w);
    };
    // every node PyTorch recorded is one of our layers, and the other way round
    assert.deepEqual(
      state.layers.map((l) => l.node),
      [...f.act.keys()],
    );
    for (const layer of state.layers) {
      const { y } = layerForward(layer, layer.inputs.map(pyAct), state.paramViews, 'train');
      close(y.data, get(f.act, layer.node), REL, `act.${layer.node}`);
    }
  });

  test(`${name}: each layer backward on PyTorch's output gradient equals PyTorch's input and parameter gradients`, () => {
    const state = stateFrom(f);
    const shapes = forwardNet(state, input(), 'train', false).acts;
    const shaped = (node: string, data: Float32Array): Act => {
      const s = shapes.get(node)!;
      return actOf(data, s.n, s.c, s.h, s.w);
    };
    const pyAct = (node: string) => shaped(node, node === 'input' ? f.x : get(f.act, node));
    const dacts = new Map<string, Act>();
    for (const layer of state.layers) {
      const inputs = layer.inputs.map(pyAct);
      const { cache } = layerForward(layer, inputs, state.paramViews, 'train');
      const dy = shaped(layer.node, get(f.dact, layer.node));
      const dxs = layerBackward(layer, inputs, cache, dy, state.paramViews, state.gradViews);
      layer.inputs.forEach((n, k) => accumulate(dacts, n, dxs[k]!));
    }
    // a skip's gradient is the sum of its two readers' (max-pool and concatenation)
    for (const [node, d] of dacts) close(d.data, get(f.dact, node), REL, `dact.${node}`);
    assert.equal(dacts.size, state.layers.length, 'every node and the input got a gradient except the head');
    for (const s of unetParamLayout(f.config))
      close(state.gradViews.get(s.name)!, f.grad.subarray(s.offset, s.offset + s.size), REL, `grad.${s.name}`);
  });

  test(`${name}: the whole network: logits, loss, every gradient, running statistics, eval logits`, () => {
    const state = stateFrom(f);
    const fwd = forwardNet(state, input(), 'train');
    for (const [node, a] of fwd.acts) if (node !== 'input') close(a.data, get(f.act, node), REL, `act.${node}`);
    const { loss, dlogits } = crossEntropy(fwd.logits, f.labels, f.classWeights);
    close([loss], [f.loss], REL, 'loss');
    const dacts = backwardNet(state, fwd, dlogits);
    for (const [node, d] of dacts) close(d.data, get(f.dact, node), REL, `dact.${node}`);
    close(state.grad, f.grad, REL, 'gradient');
    // running statistics: a mean of float32 values and the unbiased variance, both well scaled
    close(state.buffers, f.buffersAfter1, REL, 'running statistics after one training forward');
    close(forwardNet(state, input(), 'eval').logits.data, f.evalLogits, REL, 'eval logits');
  });

  test(`${name}: the reference engine: loss and gradient, buffers, predict, 3 Adam steps`, async () => {
    const engine = createReferenceUNetEngine(f.config);
    await engine.setParams(f.params);
    await engine.setBuffers(f.buffers);
    const { loss, grad } = await engine.lossAndGrad(batchOf(f), f.classWeights);
    close([loss], [f.loss], REL, 'loss');
    close(grad, f.grad, REL, 'gradient');
    const after1 = await engine.getBuffers();
    close(after1, f.buffersAfter1, REL, 'buffers after one training forward');
    const evalLoss = await engine.loss(batchOf(f), f.classWeights);
    const logits = actOf(f.evalLogits, f.B, f.config.classes, f.H, f.W);
    close([evalLoss], [crossEntropy(logits, f.labels, f.classWeights).loss], REL, 'eval loss');
    assert.deepEqual(await engine.getBuffers(), after1, 'eval loss leaves the running statistics');
    const probs = await engine.predict(f.x, f.B, f.H, f.W);
    // probabilities are in [0, 1]: the logits' relative error becomes at most as large an absolute one
    close(probs, softmax(logits).data, REL, 'eval probabilities');

    const fresh = createReferenceUNetEngine(f.config);
    await fresh.setParams(f.params);
    await fresh.setBuffers(f.buffers);
    const opt = { ...PAPER_UNET_ADAM, lr: f.adam.lr, weightDecay: f.adam.weightDecay };
    const losses: number[] = [];
    for (let s = 0; s < f.adam.steps; s++) losses.push((await fresh.trainStep(batchOf(f), f.classWeights, opt)).loss);
    close(losses, f.adam.losses, REL, 'losses before each Adam step');
    assertAdamParams(f, await fresh.getParams());
    close(await fresh.getBuffers(), f.adam.buffers, REL, 'buffers after the Adam steps');
    assert.equal((await fresh.getOptimizerState()).step, f.adam.steps);
  });
}

test('optimizer state round-trips: a restored Adam continues as if never interrupted', async () => {
  const f = loadUNetFixture('small');
  const opt = { ...PAPER_UNET_ADAM, lr: f.adam.lr, weightDecay: f.adam.weightDecay };
  const run = async (split: boolean) => {
    let e = createReferenceUNetEngine(f.config);
    await e.setParams(f.params);
    await e.setBuffers(f.buffers);
    await e.trainStep(batchOf(f), f.classWeights, opt);
    if (split) {
      const [p, b, s] = [await e.getParams(), await e.getBuffers(), await e.getOptimizerState()];
      e = createReferenceUNetEngine(f.config);
      await e.setParams(p);
      await e.setBuffers(b);
      await e.setOptimizerState(s);
    }
    await e.trainStep(batchOf(f), f.classWeights, opt);
    return e.getParams();
  };
  const [whole, resumed] = [await run(false), await run(true)];
  // the restore rounds the float64 state to float32 once: differences stay at float32 rounding of a 0.01 step
  let worst = 0;
  for (let i = 0; i < whole.length; i++) worst = Math.max(worst, Math.abs(whole[i]! - resumed[i]!));
  assert.ok(worst < 1e-6, `resumed run differs by ${worst}`);
});

test('createUNetEngine: each device opens its engine and says why; auto falls back to the CPU without a GPU', async () => {
  const config = loadUNetFixture('small').config;
  const expect: [string | undefined, RegExp, RegExp][] = [
    ['reference', /^reference$/, /--device reference/],
    ['cpu', /^cpu$/, /--device cpu/],
    [undefined, /^(cpu|gpu)$/, /\(auto\)/],
  ];
  for (const [device, kind, reason] of expect) {
    const sel = await createUNetEngine(config, { device, threads: 1 });
    assert.match(sel.kind, kind);
    assert.match(sel.reason, reason);
    if (sel.kind === 'cpu') assert.match(sel.engine.description, /WebAssembly/);
    sel.engine.destroy();
  }
  await assert.rejects(createUNetEngine(config, { device: 'tpu' }), /--device: 'tpu' is not one of/);
});

test('wrong sizes and optimizer states are refused', async () => {
  const f = loadUNetFixture('small');
  const engine = createReferenceUNetEngine(f.config);
  await assert.rejects(engine.setParams(new Float32Array(3)), /parameters has 3 values, expected/);
  await assert.rejects(engine.predict(new Float32Array(3 * 6 * 6), 1, 6, 6), /multiples of 2\^depth = 4/);
  await checkOptimizerStateRefused(engine, f.params.length);
  // the layout's views cover the whole vector, so a name lookup can never read past a tensor
  const state = createUNetState(f.config);
  const views = viewsOf(unetParamLayout(f.config), state.params);
  assert.equal(
    [...views.values()].reduce((s, v) => s + v.length, 0),
    state.params.length,
  );
});
