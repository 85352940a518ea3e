// Training from a coherence stack read by row blocks (issue 16): readTrainingSeries + trainModel must train exactly
// what buildSeries on the whole stack + trainModel's own subsample trained (same sample, same order, same weights),
// with NaN holes, pixels below MIN_VALID, values rounded past 1 and a few out of range; the range check judges the
// whole stack, not each block.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCoherenceStack, readCoherenceStack, writeCoherenceStack } from '../host/raster/stack.js';
import { buildSeries, splitBands, splitPairs } from '../host/model/series.js';
import { readTrainingSeries } from '../host/model/training-series.js';
import { trainModel } from '../host/model/train.js';
import { ReferenceEngine } from '../host/model/reference.js';
import { PAPER_ADAM } from '../host/model/engine.js';
import { DpmError } from '../host/core/errors.js';
import type { CoherenceStack } from '../host/raster/types.js';
import { mulberry32 } from './random.js';

const root = mkdtempSync(join(tmpdir(), 'dpm-train-series-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const W = 37,
  H = 23;
const DATES = ['20200101', '20200113', '20200125', '20200206', '20200218', '20200301', '20200313', '20200325'];
const PAIRS = DATES.slice(1).map((second, k) => ({ first: DATES[k] ?? '', second }));

async function stackFile(name: string, bad: number): Promise<string> {
  const rand = mulberry32(7);
  const path = join(root, `${name}.tif`);
  const stack: CoherenceStack = {
    width: W,
    height: H,
    // NaN holes (some pixels keep < 2 valid values), rounding past 1 (clipped), `bad` values far out of range
    bands: PAIRS.map(() =>
      Float32Array.from({ length: W * H }, (_, i) => {
        const u = rand();
        if (i % W < 3 && Math.floor(i / W) % 4 === 0) return NaN;
        return u < 0.15 ? NaN : u < 0.17 ? 1 + 3e-6 : u < 0.17 + bad ? 7 : 0.2 + 0.6 * rand();
      }),
    ),
    descriptions: [],
    pairs: PAIRS,
    georef: {},
  };
  await writeCoherenceStack(path, stack);
  return path;
}

test('row-block training series train the same weights as the whole stack, subsample included', async () => {
  const path = await stackFile('stack', 0.002);
  const config = { hidden: 4, mlp: 4, features: 1 };
  const opts = { epochs: 2, batchSize: 16, adam: PAPER_ADAM, valFraction: 0.2, seed: 5 };
  const split = { eventDate: '20200310' };
  for (const maxSequences of [undefined, 300]) {
    const whole = await readCoherenceStack(path);
    const series = buildSeries(whole, splitBands(whole, split, false));
    const engine = new ReferenceEngine(config, { storeFloat32: true });
    const before = await trainModel(engine, { x: series.x, N: series.N, T: series.T }, { ...opts, maxSequences });
    for (const rows of [1, 4, 100]) {
      const open = await openCoherenceStack(path);
      const blocks = await readTrainingSeries(open, splitPairs(open.header, split, false), {
        maxSequences,
        seed: opts.seed,
        rows,
      });
      assert.equal(blocks.dropped, before.nDropped, 'pixels below MIN_VALID');
      assert.equal(blocks.N, before.nTrain + before.nVal, 'the sample');
      const after = await trainModel(new ReferenceEngine(config, { storeFloat32: true }), blocks, opts);
      const why = `max ${maxSequences}, ${rows} rows a block`;
      assert.deepEqual([after.nTrain, after.nVal], [before.nTrain, before.nVal], why);
      const losses = (h: typeof before.history) => h.map(({ seconds: _, ...rest }) => rest);
      assert.deepEqual(losses(after.history), losses(before.history), `${why}: losses`);
      assert.deepEqual(after.final, before.final, `${why}: weights`);
    }
  }
});

test('the range check judges the whole stack: 1 % out of range spread over blocks is refused once', async () => {
  const path = await stackFile('bad', 0.03);
  const open = await openCoherenceStack(path);
  await assert.rejects(
    () => readTrainingSeries(open, splitPairs(open.header, { eventDate: '20200310' }, false), { seed: 1, rows: 2 }),
    (e: unknown) => e instanceof DpmError && /not a coherence stack: \d+ values outside \[0, 1\]/.test(e.message),
  );
});
