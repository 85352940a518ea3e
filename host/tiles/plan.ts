// Tile plans: the area of interest's output grid (stride 1) cut into rectangles, each with the SLC window its chips
// read. Output pixel (i, j) of a stride-1 coherence grid covers SLC rows [r0 + i, r0 + i + ca) and columns
// [c0 + j, c0 + j + cr): a tile of output rows [a, b) needs SLC rows [r0 + a, r0 + b + ca − 1) — the chip halo.
import { DpmError } from '../core/errors.js';
import type { Window } from '../raster/window.js';

export type { Window } from '../raster/window.js';

/** One tile: its rectangle of the output grid and the input window (SLC, or coherence stack) that gives it. */
export interface Tile {
  index: number;
  out: Window;
  input: Window;
}

export type TileSpec = { size: number } | { rows: number; cols: number };

/** `--tile-size N` or `--tiles RxC` (exactly one; neither = untiled). */
export function parseTileSpec(size: number | undefined, tiles: string | undefined): TileSpec | undefined {
  if (size !== undefined && tiles !== undefined) throw new DpmError('give either --tile-size or --tiles, not both');
  if (size !== undefined) return { size };
  if (tiles === undefined) return undefined;
  const m = /^\s*(\d+)\s*[xX×]\s*(\d+)\s*$/.exec(tiles);
  const rows = Number(m?.[1]),
    cols = Number(m?.[2]);
  if (!m || rows < 1 || cols < 1) throw new DpmError(`--tiles must look like RxC (e.g. 2x2), got '${tiles}'`);
  return { rows, cols };
}

/** Splits n into k nearly equal parts (the first ones one longer). */
function cuts(n: number, k: number): number[] {
  const at = [0];
  for (let i = 1; i <= k; i++) at.push(Math.floor((i * n) / k));
  return at;
}

/**
 * Tiles of an outW × outH output grid whose SLC window (the area of interest) starts at `aoi`; `halo` = chip − 1
 * (range, azimuth). Tiles are numbered row-major; none is empty.
 */
export function planTiles(
  outW: number,
  outH: number,
  aoi: { r0: number; c0: number },
  halo: { range: number; azimuth: number },
  spec: TileSpec,
): Tile[] {
  if (outW < 1 || outH < 1)
    throw new DpmError(`the area of interest gives no output pixels (${outW} × ${outH}): nothing to tile`);
  if ('size' in spec && !(Number.isInteger(spec.size) && spec.size >= 1))
    throw new DpmError(`--tile-size must be a whole number of pixels ≥ 1, got ${spec.size}`);
  const rows = 'size' in spec ? Math.ceil(outH / spec.size) : spec.rows;
  const cols = 'size' in spec ? Math.ceil(outW / spec.size) : spec.cols;
  if (rows > outH || cols > outW)
    throw new DpmError(
      `--tiles ${rows}x${cols}: more tiles than the area of interest's ${outH} rows × ${outW} columns of output ` +
        'pixels (each tile needs at least one)',
    );
  const rc = 'size' in spec ? [...Array(rows).keys()].map((i) => Math.min(i * spec.size, outH)) : cuts(outH, rows);
  const cc = 'size' in spec ? [...Array(cols).keys()].map((j) => Math.min(j * spec.size, outW)) : cuts(outW, cols);
  if ('size' in spec) {
    rc.push(outH);
    cc.push(outW);
  }
  const tiles: Tile[] = [];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const out = { r0: rc[i]!, r1: rc[i + 1]!, c0: cc[j]!, c1: cc[j + 1]! };
      const input = {
        r0: aoi.r0 + out.r0,
        r1: aoi.r0 + out.r1 + halo.azimuth,
        c0: aoi.c0 + out.c0,
        c1: aoi.c0 + out.c1 + halo.range,
      };
      tiles.push({ index: tiles.length, out, input });
    }
  }
  return tiles;
}

/** A window as the `--window` syntax r0:r1,c0:c1. */
export const windowText = (w: Window): string => `${w.r0}:${w.r1},${w.c0}:${w.c1}`;
