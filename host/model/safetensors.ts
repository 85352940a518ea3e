// safetensors files (https://github.com/huggingface/safetensors): u64 little-endian header length N, N bytes of JSON
// header (padded with spaces to a multiple of 8), then the raw little-endian tensor data. Model files hold the
// authors' PyTorch names (ARCHITECTURE.md "Model file") in packed-vector order, float32, and a `__metadata__`
// with our config and training summary as JSON strings. A bare state_dict conversion (no metadata) loads too:
// the sizes come from the shapes. Every problem becomes one DpmError naming the file.
import { mkdirSync, readFileSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { DpmError } from '../core/errors.js';
import { paramCount, paramLayout, type ModelConfig } from './params.js';

export interface Tensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsContent {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

const MAX_HEADER = 100 * 1024 * 1024; // the reference implementation's limit

/** Encodes float32 tensors in the given order (contiguous, no gaps). */
export function encodeSafetensors(tensors: Tensor[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', ...metadata } };
  let offset = 0;
  for (const t of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length)
      throw new Error(`internal: tensor ${t.name} has ${t.data.length} values for shape [${t.shape}]`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * size] };
    offset += 4 * size;
  }
  let json = JSON.stringify(header);
  const enc = new TextEncoder();
  let hbytes = enc.encode(json);
  const padded = Math.ceil(hbytes.length / 8) * 8;
  json += ' '.repeat(padded - hbytes.length);
  hbytes = enc.encode(json);
  const out = new Uint8Array(8 + hbytes.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let pos = 8 + hbytes.length;
  for (const t of tensors) {
    const view = new DataView(out.buffer, pos, t.data.length * 4);
    for (let i = 0; i < t.data.length; i++) view.setFloat32(i * 4, t.data[i]!, true);
    pos += t.data.length * 4;
  }
  return out;
}

/** Decodes a safetensors file's bytes; `source` names the file in error messages. Only F32 tensors are accepted. */
export interface DecodeOptions {
  /** tensors of another dtype that are left out instead of refused (e.g. PyTorch's int64 num_batches_tracked) */
  skip?: (name: string, dtype: string) => boolean;
}

export function decodeSafetensors(bytes: Uint8Array, source: string, opts: DecodeOptions = {}): SafetensorsContent {
  const bad = (what: string) => new DpmError(`${source}: not a valid safetensors file: ${what}`);
  if (bytes.length < 8) throw bad(`only ${bytes.length} bytes (the 8-byte header length is missing)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) throw bad(`header length ${n64} bytes is implausible (garbage or not safetensors)`);
  const n = Number(n64);
  if (8 + n > bytes.length)
    throw bad(`header of ${n} bytes runs past the end of the file (${bytes.length} bytes): truncated`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw bad(`header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, Tensor>();
  const ranges: [number, number, string][] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null) throw bad('__metadata__ is not an object');
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') throw bad(`__metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const t = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== 'object' || t === null) throw bad(`entry ${name} is not an object`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0))
      throw bad(`tensor ${name} has no valid shape`);
    const off = t.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((d) => Number.isInteger(d) && d >= 0) ||
      off[0] > off[1]
    ) {
      throw bad(`tensor ${name} has no valid data_offsets`);
    }
    if (t.dtype !== 'F32' && opts.skip?.(name, String(t.dtype))) {
      if (off[1] > dataLen) throw bad(`tensor ${name} ends past the data section: truncated`);
      ranges.push([off[0], off[1], name]);
      continue;
    }
    if (t.dtype !== 'F32')
      throw new DpmError(`${source}: tensor ${name} has dtype ${String(t.dtype)}; model files must be float32 (F32)`);
    const shape = t.shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    const [b, e] = off as [number, number];
    if (e - b !== 4 * size)
      throw bad(`tensor ${name}: shape [${shape}] needs ${4 * size} bytes, data_offsets give ${e - b}`);
    if (e > dataLen)
      throw bad(`tensor ${name} ends at byte ${e} of the data section, which has only ${dataLen} bytes: truncated`);
    ranges.push([b, e, name]);
    const data = new Float32Array(size);
    const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart + b, e - b);
    for (let i = 0; i < size; i++) data[i] = view.getFloat32(4 * i, true);
    tensors.set(name, { name, shape, data });
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]![0] < ranges[i - 1]![1]) throw bad(`tensors ${ranges[i - 1]![2]} and ${ranges[i]![2]} overlap`);
  }
  return { tensors, metadata };
}

/** Reads a file and decodes it (missing/unreadable file → DpmError). */
export function readSafetensors(path: string, opts: DecodeOptions = {}): SafetensorsContent {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DpmError(`${path}: no such file`);
    if (code === 'EISDIR') throw new DpmError(`${path} is a folder, not a model file (.safetensors)`);
    throw new DpmError(`${path}: cannot read the file (${code ?? (e as Error).message})`);
  }
  return decodeSafetensors(bytes, path, opts);
}

/** Writes atomically (temp file + rename) unless the caller already writes to a temporary (OutputSet). */
export function writeSafetensors(
  path: string,
  tensors: Tensor[],
  metadata: Record<string, string> = {},
  atomic = true,
): void {
  const bytes = encodeSafetensors(tensors, metadata);
  if (!atomic) {
    writeFileSync(path, bytes);
    return;
  }
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

// ---- model files ----

export interface ModelFile {
  config: ModelConfig;
  /** packed parameter vector (params.ts order) */
  params: Float32Array;
  /** parsed `training` metadata (our summary), when present */
  training?: Record<string, unknown>;
  /** the raw __metadata__ strings */
  metadata: Record<string, string>;
}

/** Tensors of a packed vector under the authors' names. */
export function modelTensors(config: ModelConfig, params: Float32Array): Tensor[] {
  if (params.length !== paramCount(config))
    throw new Error(`internal: ${params.length} parameters for config ${JSON.stringify(config)}`);
  return paramLayout(config).map((s) => ({
    name: s.name,
    shape: s.shape,
    data: params.subarray(s.offset, s.offset + s.size),
  }));
}

export function encodeModel(config: ModelConfig, params: Float32Array, training?: Record<string, unknown>): Uint8Array {
  const meta: Record<string, string> = { config: JSON.stringify(config) };
  if (training) meta.training = JSON.stringify(training);
  return encodeSafetensors(modelTensors(config, params), meta);
}

/** Writes a model file; `atomic` false when the path is already a temporary from OutputSet. */
export function saveModel(
  path: string,
  config: ModelConfig,
  params: Float32Array,
  training?: Record<string, unknown>,
  atomic = true,
): void {
  const meta: Record<string, string> = { config: JSON.stringify(config) };
  if (training) meta.training = JSON.stringify(training);
  writeSafetensors(path, modelTensors(config, params), meta, atomic);
}

/** Builds a model from decoded content: names, shapes and the config (metadata or inferred) must agree. */
export function modelFromContent(content: SafetensorsContent, source: string): ModelFile {
  const { tensors, metadata } = content;
  const shapeOf = (name: string) => {
    const t = tensors.get(name);
    if (!t)
      throw new DpmError(
        `${source}: not a forecaster model: tensor ${name} is missing (found: ${[...tensors.keys()].slice(0, 6).join(', ') || 'none'})`,
      );
    return t.shape;
  };
  const hh = shapeOf('rnn.weight_hh_l0');
  const ih = shapeOf('rnn.weight_ih_l0');
  const d0 = shapeOf('dec_fc.0.weight');
  if (hh.length !== 2 || hh[0] !== 3 * hh[1]!)
    throw new DpmError(`${source}: rnn.weight_hh_l0 has shape [${hh}], expected [3H, H]`);
  if (ih.length !== 2) throw new DpmError(`${source}: rnn.weight_ih_l0 has shape [${ih}], expected [3H, features]`);
  if (d0.length !== 2) throw new DpmError(`${source}: dec_fc.0.weight has shape [${d0}], expected [M, H]`);
  const inferred: ModelConfig = { hidden: hh[1]!, mlp: d0[0]!, features: ih[1]! };
  if (inferred.hidden < 1 || inferred.mlp < 1 || inferred.features < 1)
    throw new DpmError(`${source}: empty tensors (H ${inferred.hidden}, M ${inferred.mlp})`);
  let config = inferred;
  if (metadata.config !== undefined) {
    let meta: Partial<ModelConfig>;
    try {
      meta = JSON.parse(metadata.config) as Partial<ModelConfig>;
    } catch {
      throw new DpmError(`${source}: __metadata__.config is not JSON`);
    }
    for (const k of ['hidden', 'mlp', 'features'] as const) {
      if (meta[k] !== undefined && meta[k] !== inferred[k]) {
        throw new DpmError(`${source}: __metadata__ says ${k} = ${meta[k]} but the tensor shapes give ${inferred[k]}`);
      }
    }
    config = inferred;
  }
  const layout = paramLayout(config);
  const expected = new Set(layout.map((s) => s.name));
  const extra = [...tensors.keys()].filter((k) => !expected.has(k));
  if (extra.length > 0)
    throw new DpmError(`${source}: unexpected tensor(s) ${extra.join(', ')} (not part of the forecaster model)`);
  const params = new Float32Array(paramCount(config));
  for (const s of layout) {
    const t = tensors.get(s.name);
    if (!t) throw new DpmError(`${source}: tensor ${s.name} is missing`);
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new DpmError(
        `${source}: tensor ${s.name} has shape [${t.shape}], expected [${s.shape}] for H=${config.hidden}, M=${config.mlp}, F=${config.features}`,
      );
    }
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new DpmError(`${source}: tensor ${s.name} holds a non-finite value (${t.data[bad]}) at index ${bad}`);
    params.set(t.data, s.offset);
  }
  return { config, params, training: trainingMetadata(metadata, source), metadata };
}

/** The parsed `training` summary of a model file's __metadata__ (undefined when absent). */
export function trainingMetadata(
  metadata: Record<string, string>,
  source: string,
): Record<string, unknown> | undefined {
  if (metadata.training === undefined) return undefined;
  try {
    return JSON.parse(metadata.training) as Record<string, unknown>;
  } catch {
    throw new DpmError(`${source}: __metadata__.training is not JSON`);
  }
}

export function decodeModel(bytes: Uint8Array, source: string): ModelFile {
  return modelFromContent(decodeSafetensors(bytes, source), source);
}

/** Loads a model file (ours, or a bare PyTorch state_dict converted to safetensors). */
export function loadModel(path: string): ModelFile {
  return modelFromContent(readSafetensors(path), path);
}
