// Crop of an in-memory coherence stack to a window of its pixels: `dpm run --coherence`'s D_t and D_f, and the tiles
// of a tiled run on a coherence stack.
import { parseWindow } from '../sar/coherence-stack.js';
import type { CoherenceStack } from '../raster/types.js';

/** Crops a coherence stack to a window r0:r1,c0:c1 of its pixels. */
export function cropStack(s: CoherenceStack, window: string | undefined): CoherenceStack {
  // same syntax as the SLC windows (an empty bound = the edge); preflight has checked it
  const { r0, r1, c0, c1 } = parseWindow(window, s.width, s.height);
  const w = c1 - c0,
    h = r1 - r0;
  const pick = (a: Float32Array) => {
    const out = new Float32Array(w * h);
    for (let i = 0; i < h; i++) out.set(a.subarray((r0 + i) * s.width + c0, (r0 + i) * s.width + c1), i * w);
    return out;
  };
  const g = s.georef;
  const gt = g.geoTransform;
  return {
    ...s,
    width: w,
    height: h,
    bands: s.bands.map(pick),
    georef: {
      epsg: g.epsg,
      geoTransform: gt
        ? [gt[0] + c0 * gt[1] + r0 * gt[2], gt[1], gt[2], gt[3] + c0 * gt[4] + r0 * gt[5], gt[4], gt[5]]
        : undefined,
      lat: g.lat ? pick(g.lat) : undefined,
      lon: g.lon ? pick(g.lon) : undefined,
    },
  };
}
