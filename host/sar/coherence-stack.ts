// Coherence of a coregistered SLC stack, streamed in row blocks.
//
// Pairs: consecutive (k, k+1) in date order, all pairs, or every pair up to a temporal span (selectPairs). Per row
// block the acquisitions are visited in date order and each one is read ONCE: its block stays in a slot of wasm
// memory while a later pair still needs it (for consecutive pairs acquisition k+1's block is reused for pair
// (k+1, k+2), so two slots suffice; for max-span, one slot per acquisition inside the span).
// Row blocks overlap by ca − sa input rows when the stride is smaller than the chip; those few rows are read again by
// the next block (≤ (ca−sa)/blockRows of the data, ~1–2 % at the default budget).
//
// Memory bound (independent of the scene's height and of the number of dates):
//   wasm memory ≈ blockBytes (SLC slots nSlots × blockRows × windowWidth × 8 B + the output block
//                 outBlockRows × outW × 4 B; blockRows shrunk to fit, never below one chip height)
//               + 48 B × windowWidth (column sums)
//   + reader scratch (one line, or one GeoTIFF tile row) + lat/lon: 4 lines × windowWidth × 8 B.
// What the sink keeps is the caller's: the CLI holds the output stack (outW × outH × nPairs × 4 B, e.g. 155 MB for a
// 20,000 × 5,000 scene, 30 dates, 15x5 chips), a streaming sink holds nothing.
import { valueAt } from '../core/arrays.js';
import { DpmError } from '../core/errors.js';
import { type Feedback, throwIfCanceled } from '../core/feedback.js';
import type { GeoTransform } from '../raster/types.js';
import { CoherenceKernel, outputSize, type ChipSpec } from './kernel.js';
import { daysBetween } from '../raster/pairs.js';
import type { RasterSource } from './readers.js';

export type PairMode = 'consecutive' | 'all' | 'max-span';

/** Half-open window in SLC pixels: rows [r0, r1), columns [c0, c1). */
export interface Window {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
}

/** Pairs (i, j), i < j, indices into `dates` (sorted), ordered by first then second date. */
export function selectPairs(dates: string[], mode: PairMode, maxSpanDays?: number): [number, number][] {
  const pairs: [number, number][] = [];
  if (mode === 'consecutive') {
    for (let k = 0; k + 1 < dates.length; k++) pairs.push([k, k + 1]);
    return pairs;
  }
  if (mode === 'max-span' && !(maxSpanDays !== undefined && maxSpanDays > 0)) {
    throw new DpmError('--pairs max-span needs --max-span DAYS (> 0)');
  }
  const span = maxSpanDays ?? Infinity;
  dates.forEach((first, i) => {
    dates.forEach((second, j) => {
      if (j > i && (mode === 'all' || daysBetween(first, second) <= span)) pairs.push([i, j]);
    });
  });
  return pairs;
}

/** Parses "r0:r1,c0:c1" (SLC pixels, half-open; an empty bound means the scene edge) against a scene size. */
export function parseWindow(text: string | undefined, width: number, height: number): Window {
  if (text === undefined || text.trim() === '') return { r0: 0, r1: height, c0: 0, c1: width };
  const m = /^\s*(\d*)\s*:\s*(\d*)\s*,\s*(\d*)\s*:\s*(\d*)\s*$/.exec(text);
  if (!m) throw new DpmError(`--window must look like r0:r1,c0:c1 (SLC rows, then columns), got '${text}'`);
  const n = (s: string | undefined, d: number) => (s === undefined || s === '' ? d : Number(s));
  const w = { r0: n(m[1], 0), r1: n(m[2], height), c0: n(m[3], 0), c1: n(m[4], width) };
  if (w.r1 > height || w.c1 > width || w.r0 >= w.r1 || w.c0 >= w.c1) {
    throw new DpmError(`--window ${text} is empty or outside the ${width} × ${height} (columns × rows) scene`);
  }
  return w;
}

export interface CoherenceOptions {
  chip: ChipSpec;
  window: Window;
  pairs: [number, number][];
  /** bytes for the SLC row-block slots (default 128 MiB) */
  blockBytes?: number;
  /** optional lat/lon lookups on the SLC grid → chip-centre coordinates */
  lat?: RasterSource;
  lon?: RasterSource;
}

export interface CoherenceGrid {
  outW: number;
  outH: number;
  /** chip-centre latitude/longitude (outH × outW), when lookups were given */
  lat?: Float32Array;
  lon?: Float32Array;
  /** the SLCs' geotransform adjusted for window, chip and stride, when they had one */
  geoTransform?: GeoTransform;
  epsg?: number;
  /** peak wasm memory (bytes) */
  wasmBytes: number;
  blockRows: number;
  slots: number;
}

/** Receives each block of output rows of one pair; `values` (nRows × outW) is reused after the call returns. */
export type RowSink = (pair: number, outRow0: number, nRows: number, values: Float32Array) => void | Promise<void>;

/** Geotransform of the coherence grid: output pixel centres on chip centres. */
export function chipGeoTransform(gt: GeoTransform, w: Window, c: ChipSpec): GeoTransform {
  const col = w.c0 + (c.cr - c.sr) / 2;
  const row = w.r0 + (c.ca - c.sa) / 2;
  return [
    gt[0] + col * gt[1] + row * gt[2],
    c.sr * gt[1],
    c.sa * gt[2],
    gt[3] + col * gt[4] + row * gt[5],
    c.sr * gt[4],
    c.sa * gt[5],
  ];
}

/** The SLCs are complex and on one grid; lat/lon lookups (both or neither) are real and on the same grid.
 *  Returns the first SLC, whose grid every other raster shares. */
export function checkStack(sources: RasterSource[], lat?: RasterSource, lon?: RasterSource): RasterSource {
  const ref = sources[0];
  if (!ref) throw new DpmError('no SLC in the stack');
  for (const s of sources) {
    if (!s.complex) throw new DpmError(`${s.path}: ${s.dataType} is not a complex SLC`);
    if (s.width !== ref.width || s.height !== ref.height) {
      throw new DpmError(
        `${s.path}: ${s.width} × ${s.height} pixels, but ${ref.path} has ${ref.width} × ${ref.height}; the stack must be coregistered on one grid`,
      );
    }
  }
  for (const [name, l] of [
    ['--lat', lat],
    ['--lon', lon],
  ] as const) {
    if (l && (l.width !== ref.width || l.height !== ref.height)) {
      throw new DpmError(
        `${name} ${l.path}: ${l.width} × ${l.height} pixels, the SLCs have ${ref.width} × ${ref.height}`,
      );
    }
    if (l?.complex) throw new DpmError(`${name} ${l.path}: a real-valued lookup raster is expected, got ${l.dataType}`);
  }
  if ((lat === undefined) !== (lon === undefined)) throw new DpmError('give both --lat and --lon, or neither');
  return ref;
}

export async function computeCoherence(
  sources: RasterSource[],
  opts: CoherenceOptions,
  sink: RowSink,
  fb: Feedback,
): Promise<CoherenceGrid> {
  const { chip: c, window: w, pairs } = opts;
  const W = w.c1 - w.c0,
    H = w.r1 - w.r0;
  const { outW, outH } = outputSize(W, H, c);
  if (outW === 0 || outH === 0) {
    throw new DpmError(`the window (${W} × ${H} SLC pixels) is smaller than one ${c.cr}x${c.ca} chip`);
  }
  const ref = checkStack(sources, opts.lat, opts.lon);

  // Slot schedule: date t is read when first needed and freed after its last pair (`last`: the latest date it is
  // paired with, -1 when unused); `ending`: the pairs whose second date is t; `slot`: its wasm buffer in this block.
  interface DateSlot {
    source: RasterSource;
    last: number;
    ending: { pair: number; first: DateSlot }[];
    slot: number;
  }
  const dates: DateSlot[] = sources.map((source) => ({ source, last: -1, ending: [], slot: -1 }));
  pairs.forEach(([a, b], pair) => {
    const first = dates[a],
      second = dates[b];
    if (!first || !second) throw new Error(`internal: pair ${pair} (${a}, ${b}) outside the ${dates.length} dates`);
    first.last = Math.max(first.last, b);
    second.last = Math.max(second.last, b);
    second.ending.push({ pair, first });
  });
  let live = 0,
    slots = 0;
  for (const [t, d] of dates.entries()) {
    if (d.last < 0) continue;
    live++;
    slots = Math.max(slots, live);
    live -= dates.filter((s) => s.last === t).length;
  }

  // Rows per block from the memory budget: slots × inRows × W × 8 B of SLC + outRows × outW × 4 B of output,
  // with inRows = (outRows − 1)·sa + ca; at least one output row (one chip height) whatever the budget.
  const budget = opts.blockBytes ?? 128 * 2 ** 20;
  const rowBytes = W * 8;
  const fit = Math.floor((budget - slots * rowBytes * (c.ca - c.sa)) / (slots * rowBytes * c.sa + outW * 4));
  const outPerBlock = Math.max(1, Math.min(outH, fit));
  const inRows = (outPerBlock - 1) * c.sa + c.ca;

  const k = await CoherenceKernel.create();
  const slotPtr: number[] = [];
  for (let s = 0; s < slots; s++) slotPtr.push(k.alloc(inRows * rowBytes));
  const outPtr = k.alloc(outPerBlock * outW * 4);
  const colPtr = k.alloc(W * 48);

  const grid: CoherenceGrid = { outW, outH, wasmBytes: k.bytes, blockRows: inRows, slots };
  if (ref.geoTransform) {
    grid.geoTransform = chipGeoTransform(ref.geoTransform, w, c);
    grid.epsg = ref.epsg;
  }
  const lookups = opts.lat && opts.lon ? new ChipCentres(opts.lat, opts.lon, w, c, outW, outH) : undefined;

  const usedDates = dates.filter((d) => d.last >= 0).length;
  const nBlocks = Math.ceil(outH / outPerBlock);
  let done = 0;
  for (let i0 = 0, blk = 0; i0 < outH; i0 += outPerBlock, blk++) {
    const nOut = Math.min(outPerBlock, outH - i0);
    const rows = (nOut - 1) * c.sa + c.ca;
    const row0 = w.r0 + i0 * c.sa;
    const free = [...slotPtr].reverse();
    for (const d of dates) d.slot = -1;
    for (const [t, d] of dates.entries()) {
      if (d.last < 0) continue;
      throwIfCanceled(fb);
      const ptr = free.pop();
      if (ptr === undefined) throw new Error(`internal: no free slot of ${slots} for date ${t}`);
      d.slot = ptr;
      await d.source.read(row0, rows, w.c0, W, k.f32(ptr, rows * W * 2));
      for (const { pair, first } of d.ending) {
        k.block(first.slot, d.slot, W, c, nOut, outPtr, colPtr);
        await sink(pair, i0, nOut, k.f32(outPtr, nOut * outW));
      }
      for (const s of dates) {
        if (s.last === t && s.slot >= 0) {
          free.push(s.slot);
          s.slot = -1;
        }
      }
      done++;
      fb.progress((100 * done) / (nBlocks * usedDates), `coherence: block ${blk + 1}/${nBlocks}`);
    }
    if (lookups) await lookups.rows(i0, nOut);
  }
  if (lookups) {
    grid.lat = lookups.lat;
    grid.lon = lookups.lon;
  }
  return grid;
}

/** Chip-centre coordinates by bilinear interpolation of lat/lon lookups at the chip's centre (SLC pixel centres). */
class ChipCentres {
  readonly lat: Float32Array;
  readonly lon: Float32Array;
  private bufLat: Float64Array;
  private bufLon: Float64Array;

  constructor(
    private latSrc: RasterSource,
    private lonSrc: RasterSource,
    private w: Window,
    private c: ChipSpec,
    private outW: number,
    outH: number,
  ) {
    this.lat = new Float32Array(outW * outH);
    this.lon = new Float32Array(outW * outH);
    const W = w.c1 - w.c0;
    this.bufLat = new Float64Array(2 * W);
    this.bufLon = new Float64Array(2 * W);
  }

  async rows(i0: number, nOut: number): Promise<void> {
    const { w, c, outW } = this;
    const W = w.c1 - w.c0;
    for (let i = i0; i < i0 + nOut; i++) {
      const rc = w.r0 + i * c.sa + (c.ca - 1) / 2; // chip centre, in SLC pixel-centre coordinates
      const ra = Math.floor(rc),
        fr = rc - ra;
      const nr = fr > 0 ? 2 : 1;
      await this.latSrc.read(ra, nr, w.c0, W, this.bufLat);
      await this.lonSrc.read(ra, nr, w.c0, W, this.bufLon);
      for (let j = 0; j < outW; j++) {
        const cc = j * c.sr + (c.cr - 1) / 2; // relative to the window
        const ca = Math.floor(cc),
          fc = cc - ca;
        const o = i * outW + j;
        this.lat[o] = bilinear(this.bufLat, W, ca, fc, fr);
        this.lon[o] = bilinear(this.bufLon, W, ca, fc, fr);
      }
    }
  }
}

function bilinear(b: Float64Array, W: number, c: number, fc: number, fr: number): number {
  const v00 = valueAt(b, c),
    v01 = fc > 0 ? valueAt(b, c + 1) : v00;
  const top = v00 + (v01 - v00) * fc;
  if (fr === 0) return top;
  const v10 = valueAt(b, W + c),
    v11 = fc > 0 ? valueAt(b, W + c + 1) : v10;
  return top + (v10 + (v11 - v10) * fc - top) * fr;
}
