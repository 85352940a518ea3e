// A coherence stack with real dates at irregular intervals, for the time-feature and monitoring tests.
import { Rng } from '../host/model/rng.js';
import type { CoherenceStack } from '../host/raster/types.js';

/** acquisitions at irregular intervals (12, 24, 36, 12, 12, 24 days …) */
export function datedStack(W: number, H: number, K: number, seed = 5): CoherenceStack {
  const gaps = [12, 24, 36, 12, 12, 24];
  const day0 = Date.UTC(2021, 0, 3);
  const dates: string[] = [];
  let d = 0;
  for (let k = 0; k <= K; k++) {
    dates.push(new Date(day0 + d * 86_400_000).toISOString().slice(0, 10).replaceAll('-', ''));
    d += gaps[k % gaps.length]!;
  }
  const rng = new Rng(seed);
  return {
    width: W,
    height: H,
    georef: { geoTransform: [10, 0.001, 0, 50, 0, -0.001], epsg: 4326 },
    bands: Array.from({ length: K }, () => new Float32Array(W * H).map(() => rng.uniform(0.2, 0.9))),
    descriptions: dates.slice(0, -1).map((a, k) => `${a}_${dates[k + 1]}`),
    pairs: dates.slice(0, -1).map((first, k) => ({ first, second: dates[k + 1]! })),
  };
}
