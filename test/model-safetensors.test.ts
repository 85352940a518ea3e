// Model files: round trip, the fixtures' bare PyTorch state_dict conversion, and every bad-file case.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needsShared, sharedPath } from './shared.js';
import { DpmError } from '../host/core/errors.js';
import { paramCount, paramLayout, type ModelConfig } from '../host/model/params.js';
import {
  decodeModel,
  encodeModel,
  encodeSafetensors,
  loadModel,
  saveModel,
  modelTensors,
} from '../host/model/safetensors.js';
import { initParams } from '../host/model/init.js';
import { Rng } from '../host/model/rng.js';

const dir = mkdtempSync(join(tmpdir(), 'dpm-model-st-'));
const small: ModelConfig = { hidden: 8, mlp: 6, features: 1 };

test('round trip: config, bit-identical parameters, training summary', () => {
  for (const config of [small, { hidden: 5, mlp: 3, features: 2 }]) {
    const p = initParams(config, new Rng(3));
    p[0] = -0; // signed zero and extreme values survive
    p[1] = 3.4028234663852886e38;
    p[2] = 1.401298464324817e-45;
    const path = join(dir, `rt-${config.hidden}.safetensors`);
    saveModel(path, config, p, { bestEpoch: 3, history: [{ epoch: 1, valLoss: 1.5 }] });
    const m = loadModel(path);
    assert.deepEqual(m.config, config);
    assert.deepEqual(new Uint32Array(m.params.buffer), new Uint32Array(p.buffer));
    assert.equal(m.training?.bestEpoch, 3);
    // the data section starts 8-byte aligned and is the packed vector (fixtures/manifest.json "safetensors")
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0);
    assert.equal(bytes.length, 8 + n + 4 * paramCount(config));
    assert.equal(bytes.readFloatLE(8 + n + 12), p[3]);
  }
});

test(
  "the fixtures' bare state_dict conversions load with sizes inferred from the shapes",
  needsShared('fixtures', 'manifest.json'),
  () => {
    for (const [name, H, M] of [
      ['small', 8, 6],
      ['full', 256, 128],
    ] as const) {
      const m = loadModel(sharedPath('fixtures', name, 'params_init.safetensors'));
      assert.deepEqual(m.config, { hidden: H, mlp: M, features: 1 });
      assert.equal(m.training, undefined);
      const json = JSON.parse(readFileSync(sharedPath('fixtures', name, 'params_init.json'), 'utf8')).tensors;
      for (const s of paramLayout(m.config)) {
        const want = json[s.fixtureName].data as number[];
        const got = m.params.subarray(s.offset, s.offset + s.size);
        assert.ok(
          want.every((v, i) => v === got[i]),
          `${s.name} bit-identical to params_init.json`,
        );
      }
    }
  },
);

/** asserts one DpmError naming the file and matching `what` */
function rejects(bytes: Uint8Array, what: RegExp) {
  const path = join(dir, 'bad.safetensors');
  writeFileSync(path, bytes);
  assert.throws(
    () => loadModel(path),
    (e: unknown) => {
      assert.ok(e instanceof DpmError, `DpmError, got ${String(e)}`);
      assert.ok(e.message.includes(path), `names the file: ${e.message}`);
      assert.match(e.message, what);
      return true;
    },
  );
  // also from memory
  assert.throws(() => decodeModel(bytes, 'mem'), DpmError);
}

test('bad files: truncated, garbage, wrong dtype/shape/names, non-finite values → one DpmError naming the file', () => {
  const p = initParams(small, new Rng(4));
  const good = encodeModel(small, p);
  const n = Number(Buffer.from(good).readBigUInt64LE(0));
  rejects(good.subarray(0, 5), /header length is missing/);
  rejects(good.subarray(0, 8 + n - 3), /truncated/);
  rejects(good.subarray(0, good.length - 4), /truncated/);
  rejects(good.subarray(0, 8 + n), /truncated/);
  rejects(new Uint8Array(0), /0 bytes/);
  rejects(new TextEncoder().encode('this is not a model file at all, just text'), /implausible|runs past/);
  const garbage = new Uint8Array(64);
  garbage[0] = 16;
  garbage.fill(0xff, 8);
  rejects(garbage, /not UTF-8 JSON/);
  const withHeader = (h: unknown, data = new Uint8Array(0)) => {
    const json = new TextEncoder().encode(JSON.stringify(h));
    const out = new Uint8Array(8 + json.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    out.set(data, 8 + json.length);
    return out;
  };
  rejects(withHeader([1, 2]), /not a JSON object/);
  rejects(withHeader({ 'rnn.weight_hh_l0': { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }), /needs 8 bytes/);
  // F64 / F16 tensors
  const tensors = modelTensors(small, p);
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const t of tensors) {
    header[t.name] = {
      dtype: t.name === 'dec_fc.2.weight' ? 'F16' : 'F32',
      shape: t.shape,
      data_offsets: [off, off + 4 * t.data.length],
    };
    off += 4 * t.data.length;
  }
  rejects(withHeader(header, new Uint8Array(off)), /dec_fc\.2\.weight has dtype F16/);
  // wrong shape: decoder width disagrees between tensors
  const wrongShape = tensors.map((t) => (t.name === 'dec_fc.2.weight' ? { ...t, shape: [3, 12] } : t));
  rejects(encodeSafetensors(wrongShape), /dec_fc\.2\.weight has shape \[3,12\], expected \[6,6\]/);
  // missing and extra names (e.g. a Keras-style or renamed state_dict)
  rejects(encodeSafetensors(tensors.filter((t) => t.name !== 'dec_logvar.bias')), /dec_logvar\.bias is missing/);
  rejects(
    encodeSafetensors(tensors.map((t) => (t.name === 'rnn.weight_hh_l0' ? { ...t, name: 'gru.weight_hh_l0' } : t))),
    /rnn\.weight_hh_l0 is missing/,
  );
  rejects(
    encodeSafetensors([...tensors, { name: 'rnn.weight_ih_l1', shape: [1], data: new Float32Array(1) }]),
    /unexpected tensor/,
  );
  // a metadata config that contradicts the shapes
  rejects(
    encodeSafetensors(tensors, { config: JSON.stringify({ hidden: 16, mlp: 6, features: 1 }) }),
    /hidden = 16 but the tensor shapes give 8/,
  );
  // NaN weights
  const nanP = p.slice();
  nanP[7] = NaN;
  rejects(encodeModel(small, nanP), /non-finite/);
  // a missing file
  assert.throws(
    () => loadModel(join(dir, 'nope.safetensors')),
    (e: unknown) => e instanceof DpmError && /nope\.safetensors: no such file/.test(e.message),
  );
});
