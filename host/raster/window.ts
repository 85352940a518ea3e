// Windows of a raster's pixels: what a windowed read decodes (geotiff.ts readRasterWindow, the coherence-stack
// readers), checked against the raster's size, and the geotransform of a window.
import { DpmError } from '../core/errors.js';
import type { GeoTransform } from './types.js';

/** Half-open window of pixels, rows then columns. */
export interface Window {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
}

export const fullWindow = (width: number, height: number): Window => ({ r0: 0, r1: height, c0: 0, c1: width });

/** DpmError naming `what` unless `w` is a non-empty window of whole pixels inside width × height. */
export function checkWindow(what: string, w: Window, width: number, height: number): void {
  const whole = [w.r0, w.r1, w.c0, w.c1].every(Number.isSafeInteger);
  if (!whole || w.r0 < 0 || w.c0 < 0 || w.r1 > height || w.c1 > width || w.r0 >= w.r1 || w.c0 >= w.c1)
    throw new DpmError(
      `${what}: window rows ${w.r0}:${w.r1}, columns ${w.c0}:${w.c1} is empty or outside its ` +
        `${width} × ${height} (columns × rows) pixels`,
    );
}

/** The window's pixels of a row-major band `width` pixels wide. */
export function cropPixels(band: Float32Array, width: number, w: Window): Float32Array {
  const cols = w.c1 - w.c0;
  const out = new Float32Array(cols * (w.r1 - w.r0));
  for (let r = w.r0; r < w.r1; r++) out.set(band.subarray(r * width + w.c0, r * width + w.c1), (r - w.r0) * cols);
  return out;
}

/** The geotransform of the window's upper-left pixel. */
export function windowGeoTransform(gt: GeoTransform, w: Pick<Window, 'r0' | 'c0'>): GeoTransform {
  return [gt[0] + w.c0 * gt[1] + w.r0 * gt[2], gt[1], gt[2], gt[3] + w.c0 * gt[4] + w.r0 * gt[5], gt[4], gt[5]];
}
