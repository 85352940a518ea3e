// The float64 reference U-Net's backward against central finite differences of its own forward (no PyTorch): random
// entries of every parameter tensor (convolutions, BatchNorm γ and β, transposed convolutions, head) and of the input,
// and edge cases (all labels ignored, one class absent, B = 1 with a 2 × 2 bottom, NaN input).
import test from 'node:test';
import assert from 'node:assert/strict';
import { IGNORE_LABEL, unetParamLayout, type UNetConfig } from '../host/model/unet/config.js';
import { type Act, actOf, crossEntropy } from '../host/model/unet/reference-layers.js';
import {
  backwardNet,
  createUNetState,
  forwardNet,
  layerBackward,
  layerForward,
  type UNetState,
} from '../host/model/unet/reference-net.js';
import { createReferenceUNetEngine } from '../host/model/unet/reference-engine.js';
import { Rng } from '../host/model/rng.js';

// central differences in float64 with h = 1e-5: truncation ~h²·|f'''| ~ 1e-10 and rounding ~ε·|loss|/h ~ 1e-11, so
// 1e-6 of the gradient's scale is a wide margin that still catches any missing or misplaced term. A ReLU or max-pool
// decision that flips within ±h puts a kink in the loss (seen: 7 % off at 1e-5, exact at 1e-6); such an entry is
// retried with h/10 and h/100, where the kink is outside the step (rounding is then ~1e-9, still inside the margin)
const STEPS = [1e-5, 1e-6, 1e-7];
const FD_REL = 1e-6;

interface Case {
  state: UNetState;
  x: Act;
  labels: Uint8Array;
  weights: Float64Array;
}

function randomCase(config: UNetConfig, B: number, size: number, seed: number, label: (r: Rng) => number): Case {
  const rng = new Rng(seed);
  const state = createUNetState(config);
  for (const s of unetParamLayout(config)) {
    const fanIn = s.shape.slice(1).reduce((a, b) => a * b, 1);
    const bn = /\.bn\d\./.test(s.name);
    for (let i = s.offset; i < s.offset + s.size; i++)
      state.params[i] = bn ? (s.name.endsWith('weight') ? 1 : 0) + 0.2 * rng.normal() : rng.normal() / Math.sqrt(fanIn);
  }
  const x = actOf(
    Array.from({ length: B * config.inChannels * size * size }, () => rng.normal()),
    B,
    config.inChannels,
    size,
    size,
  );
  const labels = Uint8Array.from({ length: B * size * size }, () => label(rng));
  return { state, x, labels, weights: Float64Array.from([0.4, 1.6]) };
}

const lossOf = (c: Case) => crossEntropy(forwardNet(c.state, c.x, 'train', false).logits, c.labels, c.weights).loss;

/** analytic gradients of the loss: parameters (state.grad) and input */
function analytic(c: Case): { loss: number; dx: Act } {
  const fwd = forwardNet(c.state, c.x, 'train', false);
  const { loss, dlogits } = crossEntropy(fwd.logits, c.labels, c.weights);
  return { loss, dx: backwardNet(c.state, fwd, dlogits).get('input')! };
}

function centralDifference(c: Case, values: Float64Array, i: number, h: number): number {
  const keep = values[i]!;
  values[i] = keep + h;
  const up = lossOf(c);
  values[i] = keep - h;
  const down = lossOf(c);
  values[i] = keep;
  return (up - down) / (2 * h);
}

/** asserts that some step of STEPS gives a central difference within `tol` of `analytic` */
function assertDerivative(c: Case, values: Float64Array, i: number, analytic: number, tol: number, what: string): void {
  const tries: number[] = [];
  for (const h of STEPS) {
    tries.push(centralDifference(c, values, i, h));
    if (Math.abs(tries[tries.length - 1]! - analytic) <= tol) return;
  }
  assert.fail(`${what}: analytic ${analytic}, central differences ${tries.join(', ')} (h = ${STEPS.join(', ')})`);
}

/** checks `perTensor` random entries of every parameter tensor and `inputs` random input values */
function checkFiniteDifferences(c: Case, perTensor: number, inputs: number, seed: number): number {
  const rng = new Rng(seed, 1);
  const { dx } = analytic(c);
  const grad = Float64Array.from(c.state.grad);
  const scale = grad.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(scale > 0, 'the loss depends on the parameters');
  let checked = 0;
  for (const s of unetParamLayout(c.state.config))
    for (let k = 0; k < perTensor; k++) {
      const i = s.offset + rng.int(s.size);
      assertDerivative(c, c.state.params, i, grad[i]!, FD_REL * scale, `${s.name}[${i - s.offset}]`);
      checked++;
    }
  const dxScale = dx.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  for (let k = 0; k < inputs; k++) {
    const i = rng.int(c.x.data.length);
    assertDerivative(c, c.x.data, i, dx.data[i]!, FD_REL * dxScale, `input[${i}]`);
    checked++;
  }
  return checked;
}

const someLabels = (r: Rng) => (r.next() < 0.1 ? IGNORE_LABEL : r.next() < 0.3 ? 1 : 0);

test('finite differences: every parameter tensor and the input (depth 2, B 2, 8 × 8)', () => {
  const c = randomCase({ inChannels: 3, classes: 2, width: 3, depth: 2 }, 2, 8, 1, someLabels);
  const n = checkFiniteDifferences(c, 4, 8, 1);
  assert.equal(n, 4 * unetParamLayout(c.state.config).length + 8);
});

test('finite differences: depth 3, odd 3 × 3 bottom (B 2, 24 × 24)', () => {
  const c = randomCase({ inChannels: 2, classes: 2, width: 2, depth: 3 }, 2, 24, 2, someLabels);
  checkFiniteDifferences(c, 2, 4, 2);
});

test('B = 1 with a 2 × 2 bottom: BatchNorm over 4 values still differentiates right', () => {
  const c = randomCase({ inChannels: 2, classes: 2, width: 2, depth: 2 }, 1, 8, 3, someLabels);
  checkFiniteDifferences(c, 2, 4, 3);
});

test('one class absent: only background labelled, gradients still right', () => {
  const c = randomCase({ inChannels: 2, classes: 2, width: 2, depth: 2 }, 2, 8, 4, () => 0);
  checkFiniteDifferences(c, 2, 4, 4);
});

test('all labels ignored: loss 0 and a zero gradient (nothing to learn, no NaN)', async () => {
  const config = { inChannels: 2, classes: 2, width: 2, depth: 2 };
  const c = randomCase(config, 2, 8, 5, () => IGNORE_LABEL);
  const engine = createReferenceUNetEngine(config);
  await engine.setParams(Float32Array.from(c.state.params));
  const batch = { x: Float32Array.from(c.x.data), labels: c.labels, B: 2, H: 8, W: 8 };
  const { loss, grad } = await engine.lossAndGrad(batch, Float32Array.from(c.weights));
  assert.equal(loss, 0);
  assert.ok(grad.every((g) => g === 0));
  assert.equal(await engine.loss(batch, Float32Array.from(c.weights)), 0);
});

test('NaN input is not handled by the engine: it shows as a NaN loss, never as a plausible number', async () => {
  // inputs are cleaned (no-data filled) before the engine (docs/unet.md); a NaN that slips through must be visible
  const config = { inChannels: 2, classes: 2, width: 2, depth: 2 };
  const c = randomCase(config, 1, 8, 6, someLabels);
  c.x.data[5] = Number.NaN;
  const engine = createReferenceUNetEngine(config);
  await engine.setParams(Float32Array.from(c.state.params));
  const batch = { x: Float32Array.from(c.x.data), labels: c.labels, B: 1, H: 8, W: 8 };
  assert.ok(Number.isNaN((await engine.lossAndGrad(batch, Float32Array.from(c.weights))).loss));
});

test('max-pool sends the gradient to the first maximum in row-major order (PyTorch), and ties do not split it', () => {
  const config = { inChannels: 1, classes: 2, width: 1, depth: 1 };
  const state = createUNetState(config);
  const pool = state.layers.find((l) => l.kind === 'pool')!;
  const x = actOf([2, 2, 2, 2], 1, 1, 2, 2);
  const dy = actOf([1], 1, 1, 1, 1);
  const { y, cache } = layerForward(pool, [x], state.paramViews, 'train');
  assert.deepEqual([...y.data], [2]);
  const [dx] = layerBackward(pool, [x], cache, dy, state.paramViews, state.gradViews);
  assert.deepEqual([...dx!.data], [1, 0, 0, 0]);
});
