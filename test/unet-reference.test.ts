// The float64 reference U-Net against PyTorch (test/fixtures/unet/{small,medium}, scripts/unet-fixtures.py): each layer
// on its own (PyTorch's input activation in, its output and input gradient out), the whole network, the reference
// engine (loss, gradients, running statistics, eval logits, 3 Adam steps). Tolerances: docs/unet.md "Numerics".
import test from 'node:test';
import assert from 'node:assert/strict';
import { loadUNetFixture, UNET_CASES, type UNetFixture } from './unet-fixtures.js';
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

// float32 PyTorch against float64 loops: sums over up to B·H·W·9·C float32 terms, and BatchNorm divides by small
// batch variances, so the float32 rounding shows at ~1e-6 relative and is amplified up to ~10× (docs/unet.md)
const REL = 1e-4;
// parameters after 3 Adam steps (lr 0.01): one step moves a parameter by up to lr, and m/√v in float32 carries
// ~1e-7 relative rounding into each move, so 1e-5 absolute leaves room and still catches a wrong bias correction …
const ADAM_ABS = 1e-5;

/**
 * … except where a gradient entry is tiny next to its tensor's largest: Adam's step lr·m̂/√v̂ does not depend on the
 * gradient's scale, so PyTorch's float32 gradient error (REL · max |g| of the tensor, checked above) becomes a step
 * error of lr · REL·max|g|/|g_i| per step (capped at 2 lr, a step's size). The medium case has 9 such entries of
 * 121 546 (bottom 3 × 3 convolutions, |g_i| ~ 1e-6); all others hold ADAM_ABS.
 */
function assertAdamParams(f: UNetFixture, params: Float32Array): void {
  const lrSteps = f.adam.lr * f.adam.steps;
  for (const s of unetParamLayout(f.config)) {
    const g = f.grad.subarray(s.offset, s.offset + s.size);
    const gmax = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let i = 0; i < s.size; i++) {
      const tol = ADAM_ABS + lrSteps * Math.min(2, (REL * gmax) / Math.abs(g[i]!));
      const err = Math.abs(params[s.offset + i]! - f.adam.params[s.offset + i]!);
      assert.ok(err <= tol, `${s.name}[${i}] after ${f.adam.steps} Adam steps: error ${err} > ${tol}`);
    }
  }
  let within = 0;
  for (let i = 0; i < params.length; i++) if (Math.abs(params[i]! - f.adam.params[i]!) <= ADAM_ABS) within++;
  assert.ok(within >= 0.999 * params.length, `only ${within} of ${params.length} parameters within ${ADAM_ABS}`);
}

/** max |a − b| / max |b|: the error relative to the tensor's scale (elementwise relative error explodes near 0) */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths');
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return den === 0 ? num : num / den;
}

function assertRel(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  const e = relErr(a, b);
  assert.ok(e <= tol, `${what}: relative error ${e.toExponential(2)} > ${tol}`);
}

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

const batchOf = (f: UNetFixture) => ({ x: f.x, labels: f.labels, B: f.B, H: f.H, W: f.W });

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
      assertRel(y.data, get(f.act, layer.node), REL, `act.${layer.node}`);
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
    for (const [node, d] of dacts) assertRel(d.data, get(f.dact, node), REL, `dact.${node}`);
    assert.equal(dacts.size, state.layers.length, 'every node and the input got a gradient except the head');
    for (const s of unetParamLayout(f.config))
      assertRel(state.gradViews.get(s.name)!, f.grad.subarray(s.offset, s.offset + s.size), REL, `grad.${s.name}`);
  });

  test(`${name}: the whole network: logits, loss, every gradient, running statistics, eval logits`, () => {
    const state = stateFrom(f);
    const fwd = forwardNet(state, input(), 'train');
    for (const [node, a] of fwd.acts) if (node !== 'input') assertRel(a.data, get(f.act, node), REL, `act.${node}`);
    const { loss, dlogits } = crossEntropy(fwd.logits, f.labels, f.classWeights);
    assertRel([loss], [f.loss], REL, 'loss');
    const dacts = backwardNet(state, fwd, dlogits);
    for (const [node, d] of dacts) assertRel(d.data, get(f.dact, node), REL, `dact.${node}`);
    assertRel(state.grad, f.grad, REL, 'gradient');
    // running statistics: a mean of float32 values and the unbiased variance, both well scaled
    assertRel(state.buffers, f.buffersAfter1, REL, 'running statistics after one training forward');
    assertRel(forwardNet(state, input(), 'eval').logits.data, f.evalLogits, REL, 'eval logits');
  });

  test(`${name}: the reference engine: loss and gradient, buffers, predict, 3 Adam steps`, async () => {
    const engine = createReferenceUNetEngine(f.config);
    await engine.setParams(f.params);
    await engine.setBuffers(f.buffers);
    const { loss, grad } = await engine.lossAndGrad(batchOf(f), f.classWeights);
    assertRel([loss], [f.loss], REL, 'loss');
    assertRel(grad, f.grad, REL, 'gradient');
    const after1 = await engine.getBuffers();
    assertRel(after1, f.buffersAfter1, REL, 'buffers after one training forward');
    const evalLoss = await engine.loss(batchOf(f), f.classWeights);
    const logits = actOf(f.evalLogits, f.B, f.config.classes, f.H, f.W);
    assertRel([evalLoss], [crossEntropy(logits, f.labels, f.classWeights).loss], REL, 'eval loss');
    assert.deepEqual(await engine.getBuffers(), after1, 'eval loss leaves the running statistics');
    const probs = await engine.predict(f.x, f.B, f.H, f.W);
    // probabilities are in [0, 1]: the logits' relative error becomes at most as large an absolute one
    assertRel(probs, softmax(logits).data, REL, 'eval probabilities');

    const fresh = createReferenceUNetEngine(f.config);
    await fresh.setParams(f.params);
    await fresh.setBuffers(f.buffers);
    const opt = { ...PAPER_UNET_ADAM, lr: f.adam.lr, weightDecay: f.adam.weightDecay };
    const losses: number[] = [];
    for (let s = 0; s < f.adam.steps; s++) losses.push((await fresh.trainStep(batchOf(f), f.classWeights, opt)).loss);
    assertRel(losses, f.adam.losses, REL, 'losses before each Adam step');
    assertAdamParams(f, await fresh.getParams());
    assertRel(await fresh.getBuffers(), f.adam.buffers, REL, 'buffers after the Adam steps');
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

test('createUNetEngine: every device opens the reference in this build and says why', async () => {
  const config = loadUNetFixture('small').config;
  for (const device of ['auto', 'gpu', 'cpu', 'software', 'reference', undefined]) {
    const sel = await createUNetEngine(config, { device });
    assert.equal(sel.kind, 'reference');
    assert.match(sel.reason, device === 'reference' ? /--device reference/ : /float64 reference runs/);
    assert.equal(sel.engine.description, 'reference float64');
    sel.engine.destroy();
  }
  await assert.rejects(createUNetEngine(config, { device: 'tpu' }), /--device: 'tpu' is not one of/);
});

test('wrong sizes are refused', async () => {
  const f = loadUNetFixture('small');
  const engine = createReferenceUNetEngine(f.config);
  await assert.rejects(engine.setParams(new Float32Array(3)), /parameters values/);
  await assert.rejects(engine.predict(new Float32Array(3 * 6 * 6), 1, 6, 6), /multiples of 2\^depth = 4/);
  // the layout's views cover the whole vector, so a name lookup can never read past a tensor
  const state = createUNetState(f.config);
  const views = viewsOf(unetParamLayout(f.config), state.params);
  assert.equal(
    [...views.values()].reduce((s, v) => s + v.length, 0),
    state.params.length,
  );
});
