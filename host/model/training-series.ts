// The training sequences of a coherence stack read by row blocks (issue 16: a frame's training window at stride =
// chip is ~14 M pixels × 100 pairs, 5.6 GB as float32): a first pass finds the usable pixels (≥ MIN_VALID valid
// pre-event values) and checks the range over the whole, trainingSample draws the subsample trainModel would draw
// from the whole stack, and a second pass copies only those pixels' sequences. Memory: a block, 4 bytes per usable
// pixel and the sample.
import { checkpoint, type Feedback, silentFeedback } from '../core/feedback.js';
import { RangeTally } from '../raster/range.js';
import type { OpenStack } from '../raster/stack.js';
import { type BandSplit, coherenceToLogit, fillTimeFeatures, MIN_VALID, type TimeFeature } from './series.js';
import { trainingSample } from './train.js';

/** Pixels per row block read (whole rows: at least one). */
const BLOCK_PIXELS = 1 << 20;

export interface TrainingSeries {
  /** [N, T, F] as buildSeries makes them, for the sampled pixels only */
  x: Float32Array;
  N: number;
  T: number;
  F: number;
  /** pixels of the stack, and those left out for too few valid values */
  pixels: number;
  dropped: number;
}

/** The sampled pixels' sequences; `rows` per block (default: about a million pixels a block). */
export async function readTrainingSeries(
  stack: OpenStack,
  split: BandSplit,
  o: { maxSequences?: number; seed: number; timeFeatures?: readonly TimeFeature[]; rows?: number },
  fb: Feedback = silentFeedback,
): Promise<TrainingSeries> {
  const { width, height, source, descriptions } = stack.header;
  const T = split.pre.length,
    F = 1 + (o.timeFeatures?.length ?? 0);
  const step = o.rows ?? Math.max(1, Math.floor(BLOCK_PIXELS / width));
  const blocks = async (pass: string, visit: (bands: Float32Array[], first: number) => void, tally?: RangeTally) => {
    for (let r0 = 0; r0 < height; r0 += step) {
      await checkpoint(fb);
      fb.progress((100 * r0) / height, `${pass}: rows ${r0}/${height}`);
      const r1 = Math.min(height, r0 + step);
      const block = await stack.read({ r0, r1, c0: 0, c1: width }, tally ?? new RangeTally());
      visit(block.bands, r0 * width);
    }
  };

  // pass 1: the usable pixels, as trainModel counts them (valid logit values of the pre-event bands)
  const tally = new RangeTally();
  let usable = new Int32Array(1024);
  let nUsable = 0;
  await blocks(
    'usable pixels',
    (bands, first) => {
      const n = bands[0]?.length ?? 0;
      for (let i = 0; i < n; i++) {
        let valid = 0;
        for (const k of split.pre) if (!Number.isNaN(coherenceToLogit(bands[k]?.[i] ?? NaN))) valid++;
        if (valid < MIN_VALID) continue;
        if (nUsable === usable.length) {
          const grown = new Int32Array(2 * nUsable);
          grown.set(usable);
          usable = grown;
        }
        usable[nUsable++] = first + i;
      }
    },
    tally,
  );
  tally.check(descriptions, source ?? 'coherence stack', fb);
  const pixels = width * height;
  const dropped = pixels - nUsable;
  fb.log('info', split.describe);
  if (dropped > 0)
    fb.log(
      'warning',
      `${dropped} of ${pixels} pixels have fewer than ${MIN_VALID} valid pre-event values: not trained on`,
    );
  const chosen = trainingSample(usable.subarray(0, nUsable), o.maxSequences, o.seed, fb);

  // pass 2: the chosen pixels' sequences (chosen ascending: one walk)
  const N = chosen.length;
  const x = new Float32Array(N * T * F);
  let next = 0;
  await blocks('sequences', (bands, first) => {
    const end = first + (bands[0]?.length ?? 0);
    for (; next < N && (chosen[next] ?? end) < end; next++) {
      const i = (chosen[next] ?? 0) - first;
      split.pre.forEach((k, t) => {
        x[(next * T + t) * F] = coherenceToLogit(bands[k]?.[i] ?? NaN);
      });
    }
  });
  if (F > 1)
    fillTimeFeatures(x, N, { ...stack.header, bands: [], georef: {} }, split.pre, split.coEvent, o.timeFeatures ?? []);
  return { x, N, T, F, pixels, dropped };
}
