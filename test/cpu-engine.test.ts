// The CPU engine (host/cpu/engine.ts: wasm SIMD kernels on worker threads) against the engine contract
// (test/engine-contract.ts: the PyTorch fixtures, the float64 TypeScript reference, finite differences, chunking,
// determinism, ...), in each build (relaxed and plain SIMD, the bounds-checked debug build) and with 1 and 2 threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCpuEngine, cpuBytesPerRow, type CpuEngineOptions } from '../host/cpu/engine.js';
import { relaxedSimdSupported } from '../host/cpu/wasm.js';
import type { ModelConfig } from '../host/model/params.js';
import { DpmError } from '../host/core/errors.js';
import { fixtureConfig, fixturesSkip } from './gpu-helpers.js';
import {
  checkAdamArithmetic,
  checkAgainstReference,
  checkBadCalls,
  checkChangingShapes,
  checkChunking,
  checkDeterminism,
  checkFiniteDifferences,
  checkFixtureAdam,
  checkFixtureForward,
  checkMissingStepFeedsMean,
  checkOptimizerRoundTrip,
  REFERENCE_CASES,
  SMALL,
  withEngine,
  type OpenEngine,
  type ReferenceCase,
} from './engine-contract.js';

/** the builds and thread counts every numerics test runs on */
const VARIANTS: CpuEngineOptions[] = [
  { simd: 'relaxed', threads: 1 },
  { simd: 'relaxed', threads: 2 },
  { simd: 'plain', threads: 1 },
  { simd: 'plain', threads: 2 },
];
const label = (o: CpuEngineOptions) =>
  `${o.debug ? 'debug' : o.simd} SIMD, ${o.threads} thread${o.threads === 1 ? '' : 's'}`;
/** an engine with `opts` (the numerics tests) or 2 threads (the mechanics tests) */
const openWith =
  (opts: CpuEngineOptions = { threads: 2 }) =>
  (config: ModelConfig) =>
    createCpuEngine(config, opts);

test('relaxed SIMD is available in this runtime (Node 20: enabled by the engine at start-up)', () => {
  assert.equal(relaxedSimdSupported(), true);
});

for (const cfg of ['small', 'full']) {
  for (const opts of VARIANTS) {
    const name = `CPU engine matches the PyTorch float32 fixtures: ${cfg}, ${label(opts)}`;
    test(name, { skip: fixturesSkip }, async () => {
      await withEngine(createCpuEngine(fixtureConfig(cfg).config, opts), async (e) => {
        await checkFixtureForward(e, cfg);
        // 5e-6 on the entries whose clipped gradient is below eps: the full config's worst (W_hn[204, 171]) lands
        // 1–3e-6 from torch's float32 value in our builds, as the float32 noise of BPTT moves its g by ±5 % (torch's
        // own float32 run is 1 % off its float64 value there); Adam's arithmetic on them is checked exactly below
        await checkFixtureAdam(e, cfg, 5e-6);
        await checkAdamArithmetic(e, cfg);
      });
    });
  }
}

// beyond the shared cases: wider than one sgemm panel, several row tiles per thread, a partial last panel and tile
const cases: ReferenceCase[] = [
  ...REFERENCE_CASES,
  {
    config: { hidden: 27, mlp: 14, features: 2 },
    B: 23,
    T: 7,
    nan: [
      [4, 0],
      [11, 6],
      [22, 3],
    ],
  },
];

for (const opts of [...VARIANTS, { simd: 'plain', threads: 2, debug: true } as CpuEngineOptions]) {
  test(`CPU engine matches the float64 reference on random small models, missing steps: ${label(opts)}`, async () => {
    for (const [ci, c] of cases.entries()) await checkAgainstReference(c, 1000 + ci, openWith(opts));
  });
}

test('CPU engine gradients match central finite differences of its own loss', async () => {
  await withEngine(openWith()({ hidden: 7, mlp: 5, features: 1 }), checkFiniteDifferences);
});

test('a missing step feeds the forecast mean back: same outputs as x_k := μ_k', async () => {
  // 1e-9: this engine adds the loss terms in float64, so dropping one only changes the order of the additions
  await withEngine(openWith()(SMALL), (e) => checkMissingStepFeedsMean(e, 1e-9));
});

test('batches above maxBatch are chunked inside the engine; results do not depend on the thread count', async () => {
  // 95 sequences: 8 work items at 2 threads (24, 18, … 5 sequences), 11 at 3, so that the workers take some (which
  // thread computes which sequence varies from run to run, the bits must not; the workers run the very module the
  // main thread compiled, relaxed or not)
  const engines = {
    whole: openWith({ threads: 1 }),
    sameBits: [2, 3].map((threads) => [`${threads} threads`, openWith({ threads })] as [string, OpenEngine]),
    budgeted: (config: ModelConfig, workBytes: number) => createCpuEngine(config, { threads: 2, workBytes }),
    bytesPerRow: cpuBytesPerRow,
  };
  // a working-memory budget of 9 rows forces 11 chunks; 1e-12: the chunks' float32 loss terms are added in float64
  await checkChunking(
    engines,
    95,
    [
      [4, 1],
      [20, 0],
      [94, 4],
    ],
    1e-12,
  );
});

test('one engine serves calls of changing batch size and length (memory grows, layout follows)', async () => {
  const shapes = [
    [2, 3],
    [500, 9],
    [3, 2],
    [9, 4],
  ] as const;
  await withEngine(openWith()(SMALL), (e) => checkChangingShapes(e, shapes));
});

test('same seed and thread count give bit-identical weights; the optimizer state round-trips', async () => {
  const config: ModelConfig = { hidden: 16, mlp: 12, features: 1 };
  const run = await checkDeterminism(openWith(), config, 19);
  // 4 uninterrupted steps (the determinism run) against 1, a save, a scramble, a restore and 3 more
  await withEngine(openWith()(config), (e) => checkOptimizerRoundTrip(e, run, 1, 3, run.params));
});

test('bad calls give one clear DpmError', async () => {
  await checkBadCalls(openWith());
  await assert.rejects(createCpuEngine(SMALL, { threads: 0 }), DpmError);
});
