// Scoring landslide maps against the cube's mask (papers/003 §3.1): AUPRC (average precision, as sklearn and the
// paper) and the trapezoid PR AUC (host/eval/metrics.ts), on the test blocks of a spatial block split and over all
// finite pixels, and the early-detection table: AUPRC after 1, 2, 3, 4 post-event passes (papers/003 Fig. 4 axes).
// Blocks, not random pixels or tiles: neighbouring pixels of one landslide would sit on both sides of a pixel split.
// The unsupervised maps learn nothing from the mask, so the split only makes their numbers comparable with a
// supervised model trained on the other blocks.
import { Rng } from '../model/rng.js';
import { averagePrecision, prAuc, prCurve } from '../eval/metrics.js';

export interface BlockSplit {
  /** block edge in pixels */
  block: number;
  /** 1 = pixel in a test block */
  test: Uint8Array;
  testBlocks: number;
  blocks: number;
}

/** A seeded random `testFraction` of the block × block tiles (partial tiles at the edges count as tiles). */
export function blockSplit(
  width: number,
  height: number,
  block: number,
  testFraction: number,
  seed: number,
): BlockSplit {
  const bw = Math.ceil(width / block),
    bh = Math.ceil(height / block);
  const ids = new Rng(seed, 7).shuffle(Array.from({ length: bw * bh }, (_, k) => k));
  const nTest = Math.max(1, Math.round(testFraction * ids.length));
  const isTest = new Uint8Array(bw * bh);
  for (const k of ids.slice(0, nTest)) isTest[k] = 1;
  const test = new Uint8Array(width * height);
  for (let r = 0; r < height; r++)
    for (let c = 0; c < width; c++) test[r * width + c] = isTest[Math.floor(r / block) * bw + Math.floor(c / block)]!;
  return { block, test, testBlocks: nTest, blocks: ids.length };
}

export interface MethodScore {
  name: string;
  /** average precision and trapezoid PR AUC on the test blocks and on every finite pixel */
  auprcTest: number;
  prAucTest: number;
  auprcAll: number;
  prAucAll: number;
  /** landslide share among the scored pixels (a random map's AUPRC) */
  prevalenceAll: number;
  prevalenceTest: number;
  scoredPixels: number;
}

/** AUPRC of one score; labels 1/0, anything else (NaN) is no truth. NaN when the truth is degenerate. */
export function scoreMethod(name: string, score: Float32Array, labels: Float32Array, split: BlockSplit): MethodScore {
  const testLabels = Float32Array.from(labels, (l, i) => (split.test[i] ? l : NaN));
  const one = (l: Float32Array) => {
    try {
      const c = prCurve(score, l, name);
      return {
        ap: averagePrecision(c),
        auc: prAuc(c),
        prev: c.positives / (c.positives + c.negatives),
        n: c.positives + c.negatives,
      };
    } catch {
      return { ap: NaN, auc: NaN, prev: NaN, n: 0 };
    }
  };
  const all = one(labels),
    test = one(testLabels);
  return {
    name,
    auprcTest: test.ap,
    prAucTest: test.auc,
    auprcAll: all.ap,
    prAucAll: all.auc,
    prevalenceAll: all.prev,
    prevalenceTest: test.prev,
    scoredPixels: all.n,
  };
}

/** Vega-Lite: AUPRC against the number of post-event passes, one line per method (papers/003 Fig. 4). */
export function earlyDetectionChartSpec(
  rows: { method: string; passes: number; auprc: number }[],
  prevalence: number,
  title: string,
): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 420,
    height: 320,
    layer: [
      {
        data: { values: rows.filter((r) => Number.isFinite(r.auprc)) },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'passes', type: 'ordinal', title: 'post-event passes (SAR timesteps)', axis: { labelAngle: 0 } },
          y: { field: 'auprc', type: 'quantitative', scale: { domain: [0, 1] }, title: 'AUPRC' },
          color: { field: 'method', type: 'nominal', title: 'Method', sort: null, legend: { labelLimit: 0 } },
        },
      },
      {
        data: { values: [{ y: prevalence }] },
        mark: { type: 'rule', color: 'gray', strokeDash: [4, 4] },
        encoding: { y: { field: 'y', type: 'quantitative' } },
      },
    ],
  };
}
