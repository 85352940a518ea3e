// The PyTorch U-Net fixtures (test/fixtures/unet/*.safetensors, written by scripts/unet-fixtures.py) unpacked for the
// engine tests: the same case feeds the float64 reference, the WebAssembly engine and the WGSL engine.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readSafetensors } from '../host/model/safetensors.js';
import { unetBufferLayout, unetParamLayout, type UNetConfig } from '../host/model/unet/config.js';
import type { TensorSlot } from '../host/model/params.js';
import { actOf, softmax } from '../host/model/unet/reference-layers.js';

export const UNET_CASES = ['small', 'medium'] as const;

export interface UNetFixture {
  name: string;
  config: UNetConfig;
  B: number;
  H: number;
  W: number;
  x: Float32Array;
  labels: Uint8Array;
  classWeights: Float32Array;
  params: Float32Array;
  buffers: Float32Array;
  /** every intermediate of the training-mode forward (`down.0.conv1`, `pool.0`, `up.0`, `cat.0`, `head` …) */
  act: Map<string, Float32Array>;
  /** d loss / d intermediate (and `input`) */
  dact: Map<string, Float32Array>;
  loss: number;
  grad: Float32Array;
  buffersAfter1: Float32Array;
  evalLogits: Float32Array;
  adam: {
    lr: number;
    weightDecay: number;
    steps: number;
    losses: Float32Array;
    params: Float32Array;
    buffers: Float32Array;
  };
}

export function loadUNetFixture(name: string): UNetFixture {
  const path = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'unet', `${name}.safetensors`);
  const { tensors, metadata } = readSafetensors(path);
  const get = (key: string) => {
    const t = tensors.get(key);
    if (!t) throw new Error(`${path}: no tensor ${key}`);
    return t;
  };
  const config: UNetConfig = (({ in_channels, classes, width, depth }) => ({
    inChannels: in_channels,
    classes,
    width,
    depth,
  }))(JSON.parse(metadata.config ?? '{}'));
  const pack = (layout: TensorSlot[], prefix: string) => {
    const last = layout[layout.length - 1]!;
    const out = new Float32Array(last.offset + last.size);
    for (const s of layout) out.set(get(prefix + s.name).data, s.offset);
    return out;
  };
  const params = unetParamLayout(config);
  const buffers = unetBufferLayout(config);
  const input = get('input');
  const [B, , H, W] = input.shape as [number, number, number, number];
  const prefixed = (prefix: string) =>
    new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t.data]));
  return {
    name,
    config,
    B,
    H,
    W,
    x: input.data,
    labels: Uint8Array.from(get('labels').data),
    classWeights: get('class_weights').data,
    params: pack(params, 'param.'),
    buffers: pack(buffers, 'buffer.'),
    act: prefixed('act.'),
    dact: prefixed('dact.'),
    loss: get('loss').data[0]!,
    grad: pack(params, 'grad.'),
    buffersAfter1: pack(buffers, 'after1.buffer.'),
    evalLogits: get('eval.logits').data,
    adam: {
      lr: Number(metadata.lr),
      weightDecay: Number(metadata.weight_decay),
      steps: Number(metadata.steps),
      losses: get('adam.loss').data,
      params: pack(params, 'adam.param.'),
      buffers: pack(buffers, 'adam.buffer.'),
    },
  };
}

// ---- the comparisons every engine's fixture test makes (docs/unet.md "Numerics", one rule for all engines) ----

/** the fixture's batch as an engine takes it */
export const batchOf = (f: UNetFixture) => ({ x: f.x, labels: f.labels, B: f.B, H: f.H, W: f.W });

/**
 * max |a − e| ≤ rel · max |e|: relative to the tensor's scale (single elements near 0 carry the sums' rounding; an
 * all-zero expectation is compared absolutely). A NaN anywhere fails.
 */
export function close(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let d = 0;
  let s = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(actual[i]! - expected[i]!);
    d = Number.isNaN(e) ? Infinity : Math.max(d, e);
    s = Math.max(s, Math.abs(expected[i]!));
  }
  assert.ok(d <= rel * (s || 1), `${what}: max error ${d.toExponential(2)} > ${rel} × ${s.toExponential(2)}`);
}

/**
 * Every intermediate and gradient an engine kept against the fixture's `act.<node>` / `dact.<node>`, each on its own
 * scale; returns how many were compared (callers assert it, so a node that silently goes missing fails).
 */
export function checkNodes(
  f: UNetFixture,
  nodes: { act: Map<string, ArrayLike<number>>; dact: Map<string, ArrayLike<number>> },
  rel: number,
): number {
  let compared = 0;
  for (const [kind, got, want] of [
    ['act', nodes.act, f.act],
    ['dact', nodes.dact, f.dact],
  ] as const) {
    for (const [name, v] of got) {
      const ref = want.get(name);
      assert.ok(ref, `the fixture has ${kind}.${name}`);
      close(v, ref, rel, `${kind}.${name}`);
      compared++;
    }
  }
  return compared;
}

/** every parameter tensor's gradient on its own scale (a small tensor's error would hide under the largest) */
export function checkGradByTensor(f: UNetFixture, grad: Float32Array, rel: number): void {
  for (const s of unetParamLayout(f.config)) {
    const at = (a: Float32Array) => a.subarray(s.offset, s.offset + s.size);
    close(at(grad), at(f.grad), rel, `grad.${s.name}`);
  }
}

/** softmax of the fixture's eval-mode logits in float64: what an engine's predict must give */
export function evalProbabilities(f: UNetFixture): Float64Array {
  return softmax(actOf(f.evalLogits, f.B, f.config.classes, f.H, f.W)).data;
}

/** Parameters after the fixture's Adam steps: within 1e-5 absolute (lr 0.01: float32 rounding of m/√v shows at 1e-6) … */
export const ADAM_ABS = 1e-5;
/** … the fixture's float32 gradients are good to this relative to their tensor's largest (docs/unet.md) … */
const GRAD_REL = 1e-4;
/** … and at least this share of the parameters within ADAM_ABS */
const ADAM_WITHIN = 0.999;

/**
 * docs/unet.md's Adam rule, the one every engine asserts: each parameter within ADAM_ABS + lr·steps·min(2,
 * 1e-4·max|g|/|g_i|) — Adam's step lr·m̂/√v̂ does not depend on the gradient's scale, so the float32 gradient's error
 * (1e-4 · max |g| of the tensor) becomes a step error of lr · 1e-4·max|g|/|g_i| per step (capped at 2 lr, a step's
 * size) — and at least 99.9 % of them within ADAM_ABS. The medium case has 9 such entries of 121 546 (bottom 3 × 3
 * convolutions, |g_i| ~ 1e-6). The reference, WebAssembly and WGSL engines all hold it as it stands.
 */
export function assertAdamParams(f: UNetFixture, params: Float32Array): void {
  const lrSteps = f.adam.lr * f.adam.steps;
  for (const s of unetParamLayout(f.config)) {
    const g = f.grad.subarray(s.offset, s.offset + s.size);
    const gmax = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let i = 0; i < s.size; i++) {
      const tol = ADAM_ABS + lrSteps * Math.min(2, (GRAD_REL * gmax) / Math.abs(g[i]!));
      const err = Math.abs(params[s.offset + i]! - f.adam.params[s.offset + i]!);
      assert.ok(err <= tol, `${s.name}[${i}] after ${f.adam.steps} Adam steps: error ${err} > ${tol}`);
    }
  }
  let within = 0;
  for (let i = 0; i < params.length; i++) if (Math.abs(params[i]! - f.adam.params[i]!) <= ADAM_ABS) within++;
  assert.ok(
    within >= ADAM_WITHIN * params.length,
    `only ${within} of ${params.length} parameters within ${ADAM_ABS} after ${f.adam.steps} Adam steps`,
  );
}
