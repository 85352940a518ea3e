// The probability of class 1 (landslide) over a whole scene [C, H, W] from a U-Net trained on chips: overlapping
// tiles (tile = the chip size, stride tile/2) blended with a separable sin² window, so no seam shows. With stride
// tile/2 the shifted windows sum to 1 inside the scene (sin² + cos² = 1); near the edges fewer tiles overlap and the
// sum of weights there divides them out. The last tile of a row or column is moved back to end at the scene's edge
// (no padding when the scene is at least a tile). A scene side shorter than a tile is padded with zeros up to a
// multiple of 2^depth: zero is the standardised inputs' mean, and what the training chips hold outside the grid.
// The scene must be finite (no-data filled before, as for training).
import { checkpoint, type Feedback, silentFeedback } from '../../core/feedback.js';
import type { UNetEngine } from './engine.js';

export interface Scene {
  /** [C, H, W] row-major, standardised, finite */
  x: Float32Array;
  C: number;
  H: number;
  W: number;
}

export interface PredictOptions {
  /** tile side (default 128, papers/003's chip); a multiple of 2^depth */
  tile?: number;
  /** tiles per engine call (default and maximum: engine.maxBatch) */
  batch?: number;
}

export const DEFAULT_PREDICT_TILE = 128;

/** Tile starts along one axis of length `length` for tiles of `tile` (≤ length) with stride tile/2. */
export function tileOrigins(length: number, tile: number): number[] {
  const stride = Math.max(1, tile / 2);
  const out: number[] = [];
  for (let o = 0; o + tile < length; o += stride) out.push(o);
  out.push(length - tile); // the last tile ends at the edge
  return out;
}

/** sin²(π(i + ½)/tile): positive everywhere, so a pixel covered by one tile still gets its value */
export function blendWindow(tile: number): Float64Array {
  return Float64Array.from({ length: tile }, (_, i) => Math.sin((Math.PI * (i + 0.5)) / tile) ** 2);
}

/** The tile side along an axis: the tile, or the axis rounded up to a multiple of 2^depth when shorter. */
function tileSide(length: number, tile: number, multiple: number): number {
  return length >= tile ? tile : Math.ceil(length / multiple) * multiple;
}

/** Σ over the tiles covering each position of their window's weight (the blend's denominator, one axis) */
function axisWeights(length: number, origins: number[], window: Float64Array): Float64Array {
  const sum = new Float64Array(length);
  for (const o of origins)
    for (let i = 0; i < window.length; i++) if (o + i >= 0 && o + i < length) sum[o + i]! += window[i]!;
  return sum;
}

/** tile [C, th, tw] at (y0, x0) of the scene, zeros outside it, written into `out` at `offset` */
function cutTile(s: Scene, y0: number, x0: number, th: number, tw: number, out: Float32Array, offset: number): void {
  for (let c = 0; c < s.C; c++)
    for (let y = 0; y < th && y0 + y < s.H; y++) {
      const from = (c * s.H + y0 + y) * s.W + x0;
      const n = Math.min(tw, s.W - x0);
      out.set(s.x.subarray(from, from + n), offset + (c * th + y) * tw);
    }
}

export async function predictScene(
  engine: UNetEngine,
  scene: Scene,
  opts: PredictOptions = {},
  fb: Feedback = silentFeedback,
): Promise<Float32Array> {
  const { C, H, W } = scene;
  const multiple = 2 ** engine.config.depth;
  const tile = opts.tile ?? DEFAULT_PREDICT_TILE;
  if (tile % multiple !== 0 || tile < multiple)
    throw new Error(`internal: tile ${tile} is not a multiple of 2^depth = ${multiple}`);
  if (C !== engine.config.inChannels || scene.x.length !== C * H * W)
    throw new Error(
      `internal: a scene of ${scene.x.length} values for ${C} × ${H} × ${W}, the U-Net reads ${engine.config.inChannels} channels`,
    );
  const th = tileSide(H, tile, multiple);
  const tw = tileSide(W, tile, multiple);
  const ys = tileOrigins(Math.max(H, th), th);
  const xs = tileOrigins(Math.max(W, tw), tw);
  const wy = blendWindow(th);
  const wx = blendWindow(tw);
  const [sumY, sumX] = [axisWeights(H, ys, wy), axisWeights(W, xs, wx)];
  const tiles = ys.flatMap((y) => xs.map((x) => ({ y, x })));
  const batch = Math.max(1, Math.min(opts.batch ?? Infinity, engine.maxBatch(th, tw)));
  const numerator = new Float64Array(H * W);
  const plane = th * tw;
  for (let from = 0; from < tiles.length; from += batch) {
    await checkpoint(fb);
    const group = tiles.slice(from, from + batch);
    const x = new Float32Array(group.length * C * plane);
    group.forEach((t, j) => cutTile(scene, t.y, t.x, th, tw, x, j * C * plane));
    const p = await engine.predict(x, group.length, th, tw);
    const K = engine.config.classes;
    group.forEach((t, j) => {
      for (let y = 0; y < th && t.y + y < H; y++)
        for (let xx = 0; xx < tw && t.x + xx < W; xx++)
          numerator[(t.y + y) * W + t.x + xx]! += wy[y]! * wx[xx]! * p[(j * K + 1) * plane + y * tw + xx]!;
    });
    fb.progress(
      (100 * Math.min(tiles.length, from + batch)) / tiles.length,
      `tiles ${from + group.length}/${tiles.length}`,
    );
  }
  return Float32Array.from(numerator, (v, i) => v / (sumY[Math.floor(i / W)]! * sumX[i % W]!));
}
