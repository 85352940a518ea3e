// U-Net model files: safetensors holding a PyTorch state_dict of scripts/unet-fixtures.py's UNet (parameters and
// BatchNorm running statistics under PyTorch's names; num_batches_tracked left out, and ignored when present), with
// __metadata__ kind, config (JSON: in_channels, classes, width, depth — the fixtures' keys) and training (JSON
// summary). Callers may add their own metadata strings (e.g. channel names and standardisation statistics).
// Loading checks kind, config, every name and shape and finiteness; each problem is one DpmError naming the file.
import { DpmError } from '../../core/errors.js';
import {
  decodeSafetensors,
  readSafetensors,
  type SafetensorsContent,
  type Tensor,
  trainingMetadata,
  writeSafetensors,
} from '../safetensors.js';
import type { TensorSlot } from '../params.js';
import { unetBufferCount, unetBufferLayout, unetParamCount, unetParamLayout, type UNetConfig } from './config.js';

export const UNET_MODEL_KIND = 'insar-dpm landslide U-Net';

export interface UNetModel {
  config: UNetConfig;
  /** unetParamLayout order */
  params: Float32Array;
  /** unetBufferLayout order */
  buffers: Float32Array;
  /** parsed `training` metadata, when present */
  training?: Record<string, unknown>;
  /** every __metadata__ string (the caller's own keys too) */
  metadata: Record<string, string>;
}

function tensorsOf(layout: TensorSlot[], packed: Float32Array): Tensor[] {
  return layout.map((s) => ({ name: s.name, shape: s.shape, data: packed.subarray(s.offset, s.offset + s.size) }));
}

/** The __metadata__ and tensors of a model file. */
function modelContent(model: Omit<UNetModel, 'metadata'> & { metadata?: Record<string, string> }) {
  const { config, params, buffers } = model;
  if (params.length !== unetParamCount(config) || buffers.length !== unetBufferCount(config))
    throw new Error(`internal: ${params.length} parameters / ${buffers.length} buffers for ${JSON.stringify(config)}`);
  const metadata: Record<string, string> = {
    ...model.metadata,
    kind: UNET_MODEL_KIND,
    config: JSON.stringify({
      in_channels: config.inChannels,
      classes: config.classes,
      width: config.width,
      depth: config.depth,
    }),
  };
  if (model.training) metadata.training = JSON.stringify(model.training);
  const tensors = [...tensorsOf(unetParamLayout(config), params), ...tensorsOf(unetBufferLayout(config), buffers)];
  return { tensors, metadata };
}

/** Writes a model file (atomically unless `atomic` is false: the path is already a temporary of OutputSet). */
export function saveUNetModel(
  path: string,
  model: Omit<UNetModel, 'metadata'> & { metadata?: Record<string, string> },
  atomic = true,
): void {
  const { tensors, metadata } = modelContent(model);
  writeSafetensors(path, tensors, metadata, atomic);
}

/** PyTorch's BatchNorm step counter (int64): not ours to keep (momentum is fixed) */
const SKIP_COUNTERS = { skip: (name: string) => name.endsWith('.num_batches_tracked') };

export function loadUNetModel(path: string): UNetModel {
  return unetModelFromContent(readSafetensors(path, SKIP_COUNTERS), path);
}

export function decodeUNetModel(bytes: Uint8Array, source: string): UNetModel {
  return unetModelFromContent(decodeSafetensors(bytes, source, SKIP_COUNTERS), source);
}

export function unetModelFromContent(content: SafetensorsContent, source: string): UNetModel {
  const { tensors, metadata } = content;
  if (metadata.kind !== undefined && metadata.kind !== UNET_MODEL_KIND)
    throw new DpmError(`${source}: not a landslide U-Net model file (its kind is '${metadata.kind}')`);
  const config = configOf(metadata, source);
  const params = packTensors(content, unetParamLayout(config), source, config);
  const buffers = packTensors(content, unetBufferLayout(config), source, config);
  const known = new Set([...unetParamLayout(config), ...unetBufferLayout(config)].map((s) => s.name));
  const extra = [...tensors.keys()].filter((k) => !known.has(k) && !k.endsWith('.num_batches_tracked'));
  if (extra.length > 0)
    throw new DpmError(
      `${source}: unexpected tensor(s) ${extra.slice(0, 5).join(', ')} (not part of the U-Net ${describe(config)})`,
    );
  const training = trainingMetadata(metadata, source);
  return training ? { config, params, buffers, training, metadata } : { config, params, buffers, metadata };
}

function describe(c: UNetConfig): string {
  return `in_channels ${c.inChannels}, classes ${c.classes}, width ${c.width}, depth ${c.depth}`;
}

/** The config from __metadata__.config: required (the depth cannot be told from the names alone without it). */
function configOf(metadata: Record<string, string>, source: string): UNetConfig {
  if (metadata.config === undefined)
    throw new DpmError(
      `${source}: no __metadata__.config (in_channels, classes, width, depth): not a U-Net model file`,
    );
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(metadata.config) as Record<string, unknown>;
  } catch {
    throw new DpmError(`${source}: __metadata__.config is not JSON`);
  }
  const field = (key: string) => {
    const v = raw[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
      throw new DpmError(`${source}: __metadata__.config.${key} is ${JSON.stringify(v)}, expected a positive integer`);
    return v;
  };
  return { inChannels: field('in_channels'), classes: field('classes'), width: field('width'), depth: field('depth') };
}

function packTensors(content: SafetensorsContent, layout: TensorSlot[], source: string, c: UNetConfig): Float32Array {
  const last = layout[layout.length - 1];
  const out = new Float32Array(last ? last.offset + last.size : 0);
  for (const s of layout) {
    const t = content.tensors.get(s.name);
    if (!t) throw new DpmError(`${source}: tensor ${s.name} is missing (the U-Net ${describe(c)} needs it)`);
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i]))
      throw new DpmError(
        `${source}: tensor ${s.name} has shape [${t.shape}], expected [${s.shape}] for ${describe(c)}`,
      );
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new DpmError(`${source}: tensor ${s.name} holds a non-finite value (${t.data[bad]}) at ${bad}`);
    out.set(t.data, s.offset);
  }
  return out;
}
