// The kernel plans (host/gpu/ops/plan.ts): the software plan's llvmpipe variants give the same bits as its plain
// storage-buffer kernels; the hardware plan's dispatch count per training step does not grow with T; plan settings
// are validated; every composed module keeps one declaration of each shared struct. Runs on OpenGL ES (llvmpipe).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGpuEngine, type GpuForecaster } from '../host/gpu/forecaster.js';
import { kernelPlan, type KernelPlan } from '../host/gpu/ops/plan.js';
import { PAPER_ADAM } from '../host/model/engine.js';
import type { ModelConfig } from '../host/model/params.js';
import { initParams } from '../host/model/init.js';
import { Rng } from '../host/model/rng.js';
import { DpmError } from '../host/core/errors.js';
import { shadersDir } from '../host/paths.js';
import { backendSkip, randomX } from './gpu-helpers.js';

/** an engine on OpenGL ES with the software plan changed by `plan` */
async function withEngine<T>(
  config: ModelConfig,
  fn: (e: GpuForecaster) => Promise<T>,
  plan: Partial<KernelPlan>,
): Promise<T> {
  const e = await createGpuEngine(config, { backend: 'opengles', plan: { name: 'software', ...plan } });
  try {
    return await fn(e);
  } finally {
    e.destroy();
  }
}

// the plans' own checks run on OpenGL ES (llvmpipe in CI; the GPU's GL driver on a device check)
const skip = await backendSkip('opengles');

const SMALL: ModelConfig = { hidden: 8, mlp: 6, features: 1 };

test('software plan: the uniform-window GRU step gives the same bits as the storage-buffer one', { skip }, async () => {
  const config = SMALL;
  const rng = new Rng(3);
  const p0 = initParams(config, rng);
  const B = 11,
    T = 6;
  const x = randomX(rng, B, T, 1, [[2, 2]]);
  const run = (plan: Partial<KernelPlan>) =>
    withEngine(
      config,
      async (e) => {
        await e.setParams(p0);
        await e.trainStep(x, B, T, PAPER_ADAM); // the windows must follow the weights Adam moved
        return { fc: await e.forecast(x, B, T), lg: await e.lossAndGrad(x, B, T) };
      },
      plan,
    );
  const uw = await run({});
  // windows of 32 floats: H = 8 splits into 2 windows per gate (the paper's H = 256 uses 4)
  const split = await run({ windowFloats: 32 });
  const plain = await run({ uniformWindows: false });
  for (const r of [uw, split]) {
    assert.deepEqual(Array.from(r.fc.mu), Array.from(plain.fc.mu));
    assert.deepEqual(Array.from(r.fc.logvar), Array.from(plain.fc.logvar));
    assert.deepEqual(Array.from(r.lg.grad), Array.from(plain.lg.grad));
  }
});

test('software plan: the vec4 / uniform-window decoder and weight-gradient kernels give the same bits as the scalar ones', {
  skip,
}, async () => {
  // H 12 / M 8 and H 8 / M 12: layer widths 4 mod 8 (half tiles) and multiples of 8, with a missing step; H 64: the
  // uniform-window weight gradients (weight_grad.wgsl with wg_window.wgsl). The split run uses smaller windows: several per layer
  // (H 8 / M 12: mlp.0 in windows of 8 and 4 rows; H 64: weight-gradient windows of 32, 32 and 6 rows, backward
  // decoder windows of 32 weight columns, h_k windows of 32, 32 and 6 batch rows)
  const shapes: [ModelConfig, number, number, number][] = [
    [{ hidden: 12, mlp: 8, features: 1 }, 13, 5, 64],
    [{ hidden: 8, mlp: 12, features: 2 }, 13, 5, 64],
    [{ hidden: 64, mlp: 64, features: 1 }, 70, 3, 2048],
  ];
  for (const [config, B, T, splitFloats] of shapes) {
    const rng = new Rng(5);
    const p0 = initParams(config, rng);
    const x = randomX(rng, B, T, config.features, [[3, 2]]);
    const run = (plan: Partial<KernelPlan>) =>
      withEngine(
        config,
        async (e) => {
          await e.setParams(p0);
          await e.trainStep(x, B, T, PAPER_ADAM);
          return { fc: await e.forecast(x, B, T), lg: await e.lossAndGrad(x, B, T), p: await e.getParams() };
        },
        plan,
      );
    const v4 = await run({});
    const split = await run({ windowFloats: splitFloats });
    const plain = await run({ vec4: false });
    for (const [label, r] of [
      ['v4', v4],
      ['split', split],
    ] as const) {
      const what = `${label}, H ${config.hidden} M ${config.mlp}`;
      assert.deepEqual(Array.from(r.fc.mu), Array.from(plain.fc.mu), `${what}: mu`);
      assert.deepEqual(Array.from(r.fc.logvar), Array.from(plain.fc.logvar), `${what}: logvar`);
      assert.deepEqual(Array.from(r.lg.grad), Array.from(plain.lg.grad), `${what}: grad`);
      assert.equal(r.lg.loss, plain.lg.loss, `${what}: loss`);
      assert.deepEqual(Array.from(r.p), Array.from(plain.p), `${what}: params after a step`);
    }
  }
});

test('hardware plan: the dispatches of a training step do not depend on T (at most 40); software plan: they grow', {
  skip,
}, async () => {
  const config: ModelConfig = { hidden: 16, mlp: 8, features: 1 };
  const p0 = initParams(config, new Rng(1));
  const counts: Record<string, number[]> = { hardware: [], software: [] };
  for (const plan of ['hardware', 'software'] as const) {
    const e = await createGpuEngine(config, { backend: 'opengles', plan });
    try {
      assert.equal(e.plan, plan);
      assert.equal(e.backend, 'opengles');
      assert.equal(e.dispatchesPerTrainStep(), 0, 'no training step yet');
      await e.setParams(p0);
      for (const T of [12, 48, 96]) {
        await e.trainStep(randomX(new Rng(T), 3, T, 1, []), 3, T, PAPER_ADAM);
        counts[plan]!.push(e.dispatchesPerTrainStep());
      }
    } finally {
      e.destroy();
    }
  }
  const [h12, h48, h96] = counts.hardware!;
  assert.ok(h12 === h48 && h48 === h96 && h96! <= 40, `hardware: ${counts.hardware}`);
  const [s12, s48, s96] = counts.software!;
  assert.ok(s12! < s48! && s48! < s96!, `software: ${counts.software}`);
});

test('kernel plan settings are checked', () => {
  assert.deepEqual(kernelPlan('hardware').name, 'hardware');
  assert.equal(kernelPlan({ name: 'software', windowFloats: 64 }).windowFloats, 64);
  assert.throws(() => kernelPlan({ name: 'software', windowFloats: 20000 }), DpmError);
  assert.throws(() => kernelPlan({ name: 'hardware', sequenceRows: 9 }), DpmError);
  assert.throws(() => kernelPlan({ name: 'gpu' as 'hardware' }), /not one of hardware, software/);
});

test('shared WGSL declarations live in common.wgsl only', () => {
  // compose.ts puts common.wgsl in front of every module: a second declaration would not compile
  const common = readFileSync(join(shadersDir, 'common.wgsl'), 'utf8');
  const names = [...common.matchAll(/^(?:struct|fn|const|override)\s+(\w+)/gm)].map((m) => m[1]!);
  assert.ok(names.includes('Step') && names.includes('sigmoid') && names.includes('WG'), names.join(' '));
  for (const file of readdirSync(shadersDir).filter((f) => f.endsWith('.wgsl') && f !== 'common.wgsl')) {
    const src = readFileSync(join(shadersDir, file), 'utf8');
    for (const name of names) {
      assert.doesNotMatch(
        src,
        new RegExp(`^(?:struct|fn|const|override)\\s+${name}\\b`, 'm'),
        `${file} declares ${name} again`,
      );
    }
  }
});
