// U-Net model files (host/model/unet/model-file.ts): PyTorch state_dict names, config and training summary in
// __metadata__, a round trip, and one clear error naming the file for each way a file can be wrong.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DpmError } from '../host/core/errors.js';
import { decodeSafetensors, encodeSafetensors, type Tensor } from '../host/model/safetensors.js';
import { Rng } from '../host/model/rng.js';
import { unetBufferLayout, unetParamLayout, type UNetConfig } from '../host/model/unet/config.js';
import { initUNetBuffers, initUNetParams } from '../host/model/unet/init.js';
import { decodeUNetModel, loadUNetModel, saveUNetModel } from '../host/model/unet/model-file.js';
import { loadUNetFixture } from './unet-fixtures.js';

const CONFIG: UNetConfig = { inChannels: 3, classes: 2, width: 4, depth: 2 };
const model = () => ({
  config: CONFIG,
  params: initUNetParams(CONFIG, new Rng(1)),
  buffers: initUNetBuffers(CONFIG).map((v, i) => v + i * 1e-3),
});

/** a state_dict-like file from tensors and metadata, as bytes */
function fileOf(tensors: Tensor[], metadata: Record<string, string>): Uint8Array {
  return encodeSafetensors(tensors, metadata);
}

function tensorsOf(m: ReturnType<typeof model>): Tensor[] {
  const out: Tensor[] = [];
  for (const [layout, packed] of [
    [unetParamLayout(CONFIG), m.params],
    [unetBufferLayout(CONFIG), m.buffers],
  ] as const)
    for (const s of layout)
      out.push({ name: s.name, shape: s.shape, data: packed.subarray(s.offset, s.offset + s.size) });
  return out;
}

const CONFIG_JSON = JSON.stringify({ in_channels: 3, classes: 2, width: 4, depth: 2 });

test('save and load: PyTorch names and shapes, config and training summary, caller metadata kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unet-model-'));
  try {
    const path = join(dir, 'model.safetensors');
    const m = model();
    saveUNetModel(path, { ...m, training: { bestEpoch: 3 }, metadata: { channels: 'vv_before,vv_after' } });
    const back = loadUNetModel(path);
    assert.deepEqual(back.config, CONFIG);
    assert.deepEqual(back.params, m.params);
    assert.deepEqual(back.buffers, m.buffers);
    assert.deepEqual(back.training, { bestEpoch: 3 });
    assert.equal(back.metadata.channels, 'vv_before,vv_after');
    // the names are exactly the fixtures' (PyTorch's named_parameters / named_buffers of scripts/unet-fixtures.py)
    const fixture = loadUNetFixture('small');
    assert.deepEqual(fixture.config, CONFIG);
    const { tensors } = decodeSafetensors(fileOf(tensorsOf(m), {}), 'x');
    assert.deepEqual(
      [...tensors.keys()],
      [...unetParamLayout(CONFIG).map((s) => s.name), ...unetBufferLayout(CONFIG).map((s) => s.name)],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** `bytes` with one more tensor appended: an int64 scalar (PyTorch's num_batches_tracked) */
function withInt64(bytes: Uint8Array, name: string): Uint8Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const data = bytes.subarray(8 + n);
  header[name] = { dtype: 'I64', shape: [], data_offsets: [data.length, data.length + 8] };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length + data.length + 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  new DataView(out.buffer).setBigInt64(8 + text.length + data.length, 1n, true);
  return out;
}

test("PyTorch's num_batches_tracked (int64) is accepted and ignored; another int64 tensor is refused", () => {
  const m = model();
  const plain = fileOf(tensorsOf(m), { config: CONFIG_JSON });
  const back = decodeUNetModel(withInt64(plain, 'down.0.bn1.num_batches_tracked'), 'sd.safetensors');
  assert.deepEqual(back.params, m.params);
  assert.throws(() => decodeUNetModel(withInt64(plain, 'head.weight2'), 'sd.safetensors'), /dtype I64/);
});

test('each way a file can be wrong is one DpmError naming the file and the problem', () => {
  const m = model();
  const t = tensorsOf(m);
  const bad = (tensors: Tensor[], metadata: Record<string, string>, pattern: RegExp) =>
    assert.throws(
      () => decodeUNetModel(fileOf(tensors, metadata), 'bad.safetensors'),
      (e: Error) => e instanceof DpmError && /^bad\.safetensors: /.test(e.message) && pattern.test(e.message),
    );
  bad(t, {}, /no __metadata__\.config/);
  bad(t, { config: '{' }, /config is not JSON/);
  bad(t, { config: JSON.stringify({ in_channels: 3, classes: 2, width: 4 }) }, /config\.depth is undefined/);
  bad(t, { config: CONFIG_JSON, kind: 'insar-dpm forecaster' }, /not a landslide U-Net model file/);
  bad(t.slice(1), { config: CONFIG_JSON }, /tensor down\.0\.conv1\.weight is missing/);
  const wrongShape = t.map((x, i) => (i === 0 ? { ...x, shape: [x.data.length] } : x));
  bad(wrongShape, { config: CONFIG_JSON }, /down\.0\.conv1\.weight has shape \[108\], expected \[4,3,3,3\]/);
  const wider = JSON.stringify({ in_channels: 3, classes: 2, width: 8, depth: 2 });
  bad(t, { config: wider }, /has shape \[4,3,3,3\], expected \[8,3,3,3\] for in_channels 3, classes 2, width 8/);
  bad(
    [...t, { name: 'fc.weight', shape: [1], data: Float32Array.of(0) }],
    { config: CONFIG_JSON },
    /unexpected.*fc\.weight/,
  );
  const nan = t.map((x, i) => (i === 1 ? { ...x, data: x.data.map(() => Number.NaN) } : x));
  bad(nan, { config: CONFIG_JSON }, /down\.0\.bn1\.weight holds a non-finite value/);
  assert.throws(
    () => loadUNetModel('/nonexistent/model.safetensors'),
    /\/nonexistent\/model\.safetensors: no such file/,
  );
});

test("fresh weights follow PyTorch's initialisation bounds (1/√fan_in; ConvTranspose2d's fan_in from its out channels)", () => {
  const p = initUNetParams(CONFIG, new Rng(2));
  const range = (name: string) => {
    const s = unetParamLayout(CONFIG).find((x) => x.name === name)!;
    const v = p.subarray(s.offset, s.offset + s.size);
    return [Math.min(...v), Math.max(...v)];
  };
  const within = (name: string, bound: number) => {
    const [lo, hi] = range(name);
    assert.ok(lo! >= -bound && hi! <= bound && hi! - lo! > bound, `${name}: [${lo}, ${hi}] for bound ${bound}`);
  };
  within('down.0.conv1.weight', 1 / Math.sqrt(3 * 9));
  within('up.0.weight', 1 / Math.sqrt(8 * 4)); // [16, 8, 2, 2]: fan_in = 8 · 4
  within('head.weight', 1 / Math.sqrt(4));
  assert.deepEqual(range('down.0.bn1.weight'), [1, 1]);
  assert.deepEqual(range('down.0.bn1.bias'), [0, 0]);
});
