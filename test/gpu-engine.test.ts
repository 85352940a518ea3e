// The WGSL forecaster engine (host/gpu/forecaster.ts) against the engine contract (test/engine-contract.ts: the
// PyTorch fixtures, the float64 TypeScript reference, chunking, determinism, ...), on every Dawn backend present
// (OpenGL ES on llvmpipe, Vulkan on lavapipe in CI) with every kernel plan (hardware, software). Plan-specific checks:
// gpu-plans.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGpuEngine, workBytesPerRow, type GpuEngineOptions } from '../host/gpu/forecaster.js';
import { PAPER_CONFIG, paramCount, type ModelConfig } from '../host/model/params.js';
import { engineTargets, fixtureConfig, fixturesSkip } from './gpu-helpers.js';
import {
  checkAgainstReference,
  checkBadCalls,
  checkChangingShapes,
  checkChunking,
  checkDeterminism,
  checkFixtureAdam,
  checkFixtureForward,
  checkMissingStepFeedsMean,
  checkOptimizerRoundTrip,
  REFERENCE_CASES,
  SMALL,
  trainingData,
  withEngine,
} from './engine-contract.js';

// Every distinct (H, M, F) compiles its own pipelines (slow on llvmpipe), so the tests share a few shapes: the
// fixtures' small one, and odd sizes that exercise the kernels' partial tiles. Of the reference cases, H = 5, 9, 6
// run the storage-buffer GRU step (gru_forward.wgsl), H = 8, 12 and the fixtures' 8 and 256 the uniform-window one
// (gru_forward.wgsl (gru_h_* and gru_w_window pieces)): both paths are checked.

// OpenGL ES on llvmpipe, Vulkan on lavapipe (or a GPU) × the hardware and software plans
const targets = await engineTargets();

for (const t of targets) {
  const open = (config: ModelConfig, opts: GpuEngineOptions = {}) =>
    createGpuEngine(config, { backend: t.backend, plan: t.plan, ...opts });
  // the small fixture with every plan; the full one (H 256, slow on CPU backends) once per backend: OpenGL ES with
  // the plan llvmpipe gets, Vulkan with the plan GPUs get (bench/device-check.sh runs it on a GPU)
  const full = (t.backend === 'opengles') === (t.plan === 'software');
  const FIXTURE_CONFIGS = full ? ['small', 'full'] : ['small'];
  // the engine's host-side mechanics (chunking, buffer growth, optimizer state, input checks) do not depend on the
  // backend: checked on OpenGL ES, which keeps the CPU Vulkan leg (slow pipeline compiles) within CI time
  const hostOnly = t.backend === 'vulkan' ? 'host-side mechanics: checked on OpenGL ES' : false;

  for (const cfg of FIXTURE_CONFIGS) {
    test(`GPU engine matches the PyTorch float32 fixtures: ${cfg} [${t.label}]`, {
      skip: t.skip || fixturesSkip,
    }, async () => {
      await withEngine(open(fixtureConfig(cfg).config), async (e) => {
        await checkFixtureForward(e, cfg);
        // 2e-6 also on the entries whose clipped gradient is below eps: the GPU engine's worst (full: |g| ≈ 8e-9
        // before clipping) lands 1.6e-6 from torch's f32 value, 1.0e-6 from the f64 one
        await checkFixtureAdam(e, cfg, 2e-6);
      });
    });
  }

  test(`GPU engine has 265,090 parameters at the paper defaults [${t.label}]`, { skip: t.skip }, async () => {
    assert.equal(paramCount(PAPER_CONFIG), 265_090);
    await withEngine(open(PAPER_CONFIG), async (e) => {
      assert.equal((await e.getParams()).length, 265_090);
      // the widest binding (gates, 4H floats per step and row) of a maxBatch chunk must fit the device's binding
      // limit (128 MiB on llvmpipe), and that must still allow the paper's batch of 256
      const b = e.maxBatch(48);
      assert.ok(b >= 256, `maxBatch(48) = ${b}`);
      const gatesBytes = b * 48 * 4 * 256 * 4;
      assert.ok(gatesBytes <= e.gpu.limits.maxStorageBufferBindingSize!, `gates binding ${gatesBytes} bytes`);
    });
  });

  test(`GPU engine matches the float64 reference on random small models, with missing steps [${t.label}]`, {
    skip: t.skip,
  }, async () => {
    for (const [ci, c] of REFERENCE_CASES.entries()) {
      // lavapipe compiles the software plan's storage-buffer step kernels (H not a multiple of 4) for minutes; they
      // run on OpenGL ES above, and the same WGSL on Vulkan with H 8
      if (t.backend === 'vulkan' && t.plan === 'software' && c.config.hidden % 4 !== 0) continue;
      await checkAgainstReference(c, 1000 + ci, open);
    }
  });

  test(`a missing step feeds the forecast mean back: same outputs as x_k := μ_k [${t.label}]`, {
    skip: t.skip,
  }, async () => {
    // 1e-5: float32 loss terms summed in another order with and without the missing step (as for the loss above)
    await withEngine(open(SMALL), (e) => checkMissingStepFeedsMean(e, 1e-5));
  });

  test(`batches above maxBatch are chunked inside the engine with the same results [${t.label}]`, {
    skip: t.skip || hostOnly,
  }, async () => {
    const engines = {
      whole: open,
      budgeted: (config: ModelConfig, workBytes: number) => open(config, { workBytes }),
      bytesPerRow: workBytesPerRow,
    };
    // 1e-9: the chunks' float32 loss terms are added in float64 in another grouping
    await checkChunking(
      engines,
      23,
      [
        [4, 1],
        [20, 0],
      ],
      1e-9,
    );
  });

  test(`one engine serves calls of changing batch size and length (buffers grow, bindings follow) [${t.label}]`, {
    skip: t.skip || hostOnly,
  }, async () => {
    const shapes = [
      [2, 3],
      [5, 9],
      [3, 2],
      [9, 4],
    ] as const;
    await withEngine(open(SMALL), (e) => checkChangingShapes(e, shapes));
  });

  test(`same parameters, data and adapter give bit-identical weights [${t.label}]`, { skip: t.skip }, async () => {
    await checkDeterminism(open, SMALL, 9);
  });

  test(`optimizer state round-trips (resume gives the same weights as an uninterrupted run) [${t.label}]`, {
    skip: t.skip || hostOnly,
  }, async () => {
    // 3 uninterrupted steps on this engine against 1, a save, a scramble, a restore and 2 more
    await withEngine(open(SMALL), (e) => checkOptimizerRoundTrip(e, trainingData(SMALL, 9, 4, 5, []), 1, 2));
  });

  test(`bad calls give one clear DpmError [${t.label}]`, { skip: t.skip || hostOnly }, async () => {
    await checkBadCalls(open);
  });
}
