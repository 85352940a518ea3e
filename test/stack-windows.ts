// Windowed coherence-stack reads against the obvious reference, the whole stack cropped pixel by pixel: shared by
// the tests of every coherence-input format (raster-stack-window, raster-stack, raster-products, raster-dataset).
import assert from 'node:assert/strict';
import { readCoherenceStack } from '../host/raster/stack.js';
import type { CoherenceStack, Georef } from '../host/raster/types.js';
import type { Window } from '../host/raster/window.js';
import { mulberry32 } from './random.js';

/** The obvious reference: the whole stack cropped pixel by pixel (what cropStack did before windowed reads). */
export function cropped(s: CoherenceStack, w: Window): CoherenceStack {
  const cols = w.c1 - w.c0,
    rows = w.r1 - w.r0;
  const pick = (a: Float32Array) => {
    const out = new Float32Array(cols * rows);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) out[r * cols + c] = a[(w.r0 + r) * s.width + w.c0 + c]!;
    return out;
  };
  const g = s.georef;
  const gt = g.geoTransform;
  const georef: Georef = {};
  if (gt)
    georef.geoTransform = [
      gt[0] + w.c0 * gt[1] + w.r0 * gt[2],
      gt[1],
      gt[2],
      gt[3] + w.c0 * gt[4] + w.r0 * gt[5],
      gt[4],
      gt[5],
    ];
  if (g.epsg !== undefined) georef.epsg = g.epsg;
  if (g.lat) georef.lat = pick(g.lat);
  if (g.lon) georef.lon = pick(g.lon);
  return { ...s, width: cols, height: rows, bands: s.bands.map(pick), georef };
}

/** Edge windows (one pixel, the last row and column, a whole row, across tile edges) and random ones. */
export function windows(w: number, h: number, seed: number): Window[] {
  const rand = mulberry32(seed);
  const list: Window[] = [
    { r0: 0, r1: h, c0: 0, c1: w },
    { r0: 0, r1: 1, c0: 0, c1: 1 },
    { r0: h - 1, r1: h, c0: w - 1, c1: w },
    { r0: h - 1, r1: h, c0: 0, c1: w },
    { r0: 0, r1: h, c0: w - 1, c1: w },
    { r0: Math.min(255, h - 2), r1: Math.min(257, h), c0: Math.max(0, Math.min(250, w - 7)), c1: w },
  ];
  for (let k = 0; k < 8; k++) {
    const r0 = Math.floor(rand() * h),
      c0 = Math.floor(rand() * w);
    list.push({ r0, r1: r0 + 1 + Math.floor(rand() * (h - r0)), c0, c1: c0 + 1 + Math.floor(rand() * (w - c0)) });
  }
  return list;
}

export async function assertWindowsEqualCrop(input: string | string[], opts: { nodata?: number; align?: boolean }) {
  const whole = await readCoherenceStack(input, opts);
  for (const w of windows(whole.width, whole.height, 7)) {
    const part = await readCoherenceStack(input, { ...opts, window: w });
    assert.deepStrictEqual(part, cropped(whole, w), `window ${w.r0}:${w.r1},${w.c0}:${w.c1}`);
  }
  return whole;
}
