// The landslide segmentation U-Net (papers/003; docs/unet.md). The paper used a ResNet-50 encoder (49 M parameters,
// V100 GPUs); ours is the plain U-Net of scripts/unet-fixtures.py with a configurable depth and width, so that it trains
// on a CPU in minutes and the same code scales up on a GPU.
import type { TensorSlot } from '../params.js';

export interface UNetConfig {
  /** input channels C (e.g. VV before, VH before, VV after, VH after [, DEM, slope, aspect, curvature]) */
  inChannels: number;
  /** output classes K (2: background, landslide) */
  classes: number;
  /** channels of the first level; level i has width · 2^i */
  width: number;
  /** number of down-sampling levels: chips must be divisible by 2^depth */
  depth: number;
}

/** Sizes a user can pick: `cpu` trains in minutes without a GPU, `gpu` is wider and deeper. */
export const UNET_PRESETS = {
  cpu: { width: 16, depth: 3 },
  gpu: { width: 32, depth: 4 },
} as const;

/** Pixels whose label is this value are left out of the loss (no data, outside the mapped area). */
export const IGNORE_LABEL = 255;

/** Channel count of each level: widths[i] = width · 2^i for i = 0 … depth (depth = the bottom block). */
export function levelWidths(c: UNetConfig): number[] {
  return Array.from({ length: c.depth + 1 }, (_, i) => c.width * 2 ** i);
}

/** Every tensor of the packed parameter vector, in PyTorch's named_parameters() order (the fixtures' order). */
export function unetParamLayout(c: UNetConfig): TensorSlot[] {
  const w = levelWidths(c);
  const spec: [string, number[]][] = [];
  const block = (name: string, cin: number, cout: number) => {
    spec.push(
      [`${name}.conv1.weight`, [cout, cin, 3, 3]],
      [`${name}.bn1.weight`, [cout]],
      [`${name}.bn1.bias`, [cout]],
    );
    spec.push(
      [`${name}.conv2.weight`, [cout, cout, 3, 3]],
      [`${name}.bn2.weight`, [cout]],
      [`${name}.bn2.bias`, [cout]],
    );
  };
  for (let i = 0; i < c.depth; i++) block(`down.${i}`, i === 0 ? c.inChannels : w[i - 1]!, w[i]!);
  block('bottom', w[c.depth - 1]!, w[c.depth]!);
  // up.j / dec.j run from the deepest level (i = depth − 1) back to level 0
  for (let j = 0; j < c.depth; j++) {
    const i = c.depth - 1 - j;
    spec.push([`up.${j}.weight`, [w[i + 1]!, w[i]!, 2, 2]], [`up.${j}.bias`, [w[i]!]]);
  }
  for (let j = 0; j < c.depth; j++) {
    const i = c.depth - 1 - j;
    block(`dec.${j}`, 2 * w[i]!, w[i]!);
  }
  spec.push(['head.weight', [c.classes, c.width, 1, 1]], ['head.bias', [c.classes]]);
  return slots(spec);
}

/** BatchNorm running statistics in named_buffers() order (num_batches_tracked left out: momentum is fixed). */
export function unetBufferLayout(c: UNetConfig): TensorSlot[] {
  const spec: [string, number[]][] = [];
  for (const p of unetParamLayout(c)) {
    const m = /^(.*\.bn\d)\.weight$/.exec(p.name);
    if (m) spec.push([`${m[1]}.running_mean`, p.shape], [`${m[1]}.running_var`, p.shape]);
  }
  return slots(spec);
}

export function unetParamCount(c: UNetConfig): number {
  return total(unetParamLayout(c));
}

export function unetBufferCount(c: UNetConfig): number {
  return total(unetBufferLayout(c));
}

function slots(spec: [string, number[]][]): TensorSlot[] {
  let offset = 0;
  return spec.map(([name, shape]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const slot = { name, fixtureName: name, shape, offset, size };
    offset += size;
    return slot;
  });
}

function total(layout: TensorSlot[]): number {
  const last = layout[layout.length - 1];
  return last ? last.offset + last.size : 0;
}
