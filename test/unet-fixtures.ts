// The PyTorch U-Net fixtures (test/fixtures/unet/*.safetensors, written by scripts/unet-fixtures.py) unpacked for the
// engine tests: the same case feeds the float64 reference, the WebAssembly engine and the WGSL engine.
import { join } from 'node:path';
import { readSafetensors } from '../host/model/safetensors.js';
import { unetBufferLayout, unetParamLayout, type UNetConfig } from '../host/model/unet/config.js';
import type { TensorSlot } from '../host/model/params.js';

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
