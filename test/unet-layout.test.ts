// The U-Net's packed layout (host/model/unet/config.ts) is PyTorch's: same names, order and shapes as the fixtures.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { readSafetensors } from '../host/model/safetensors.js';
import { unetBufferLayout, unetParamCount, unetParamLayout } from '../host/model/unet/config.js';
import { loadUNetFixture, UNET_CASES } from './unet-fixtures.js';

for (const name of UNET_CASES) {
  test(`U-Net layout = PyTorch named_parameters / named_buffers (${name})`, () => {
    const path = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'unet', `${name}.safetensors`);
    const { tensors } = readSafetensors(path);
    const f = loadUNetFixture(name);
    const inOrder = (prefix: string) =>
      [...tensors.keys()]
        .filter((k) => k.startsWith(prefix))
        .map((k) => [k.slice(prefix.length), tensors.get(k)!.shape]);
    const params = unetParamLayout(f.config).map((s) => [s.name, s.shape]);
    const buffers = unetBufferLayout(f.config).map((s) => [s.name, s.shape]);
    assert.deepEqual(params, inOrder('param.'));
    assert.deepEqual(buffers, inOrder('buffer.'));
    assert.equal(f.params.length, unetParamCount(f.config));
    // every label is a class or ignored, and both occur
    assert.ok(f.labels.every((v) => v === 0 || v === 1 || v === 255));
    assert.ok(f.labels.includes(255) && f.labels.includes(1));
  });
}
