// `dpm coherence` as a library call: resolve the stack, open the readers, stream the coherence into an in-memory
// CoherenceStack, close everything whatever happens.
import { type ChipLayout, chipLayoutToMetadata, parseChipLayout } from '../core/chip.js';
import { DEFAULT_CHIP } from '../core/defaults.js';
import { DpmError } from '../core/errors.js';
import type { Feedback } from '../core/feedback.js';
import type { CoherenceStack } from '../raster/types.js';
import {
  checkStack,
  computeCoherence,
  parseWindow,
  selectPairs,
  type CoherenceGrid,
  type PairMode,
} from './coherence-stack.js';
import {
  discoverStack,
  HDF5_PATH,
  isHdf5Stack,
  openRaster,
  type DiscoveredStack,
  type RasterSource,
  type StackEntry,
} from './readers.js';
import type { ChipSpec } from './kernel.js';

export interface CoherenceJobOptions {
  slc: string[];
  /** chip and stride (default: the paper's chip, side by side) */
  layout?: ChipLayout;
  window?: string;
  lat?: string;
  lon?: string;
  pairs?: PairMode;
  maxSpan?: number;
  blockMb?: number;
}

/** Largest output stack held in memory (float32 values): 8 GiB. */
const MAX_OUTPUT_VALUES = 2 ** 31;

/** The acquisitions of an SLC stack (folder or dated files, HDF5 products included) and how to open each one. */
export async function discoverSlcStack(
  slc: string[],
  fb: Feedback,
): Promise<{ found: DiscoveredStack; open: (path: string) => Promise<RasterSource> }> {
  // HDF5 products (OPERA CSLC-S1, NISAR): loaded only then, h5wasm's WebAssembly is not small
  const h5 = isHdf5Stack(slc) ? await import('./hdf5.js') : undefined;
  const found = h5 ? h5.discoverHdf5Stack(slc, fb) : discoverStack(slc);
  const open = async (p: string) => (h5 && HDF5_PATH.test(p) ? h5.openHdf5(p) : openRaster(p));
  return { found, open };
}

export async function coherenceStackFromSlc(
  o: CoherenceJobOptions,
  fb: Feedback,
): Promise<{ stack: CoherenceStack; grid: CoherenceGrid; acquisitions: StackEntry[] }> {
  const layout = o.layout ?? parseChipLayout(DEFAULT_CHIP, undefined);
  const { range: cr, azimuth: ca } = layout.chip,
    { range: sr, azimuth: sa } = layout.stride;
  const chip: ChipSpec = { cr, ca, sr, sa };
  if (o.maxSpan !== undefined && o.pairs !== 'max-span') {
    throw new DpmError(
      `--max-span ${o.maxSpan} is used only with --pairs max-span (now --pairs ${o.pairs ?? 'consecutive'})`,
    );
  }
  const { found, open } = await discoverSlcStack(o.slc, fb);
  const dates = found.entries.map((e) => e.date);
  const pairs = selectPairs(dates, o.pairs ?? 'consecutive', o.maxSpan);
  if (pairs.length === 0) throw new DpmError(`--max-span ${o.maxSpan}: no pair of acquisitions is that close in time`);
  if (o.pairs === 'max-span') {
    const gaps = dates.slice(1).filter((_, k) => !pairs.some(([a, b]) => a === k && b === k + 1)).length;
    if (gaps)
      fb.log('warning', `--max-span ${o.maxSpan}: ${gaps} consecutive pair(s) are longer than the span and left out`);
  }
  const latPath = o.lat ?? (o.lon === undefined ? found.lat : undefined);
  const lonPath = o.lon ?? (o.lat === undefined ? found.lon : undefined);
  const opened: RasterSource[] = [];
  try {
    for (const e of found.entries) opened.push(await open(e.path));
    const lat = latPath && lonPath ? await open(latPath) : undefined;
    if (lat) opened.push(lat);
    const lon = latPath && lonPath ? await open(lonPath) : undefined;
    if (lon) opened.push(lon);
    if ((o.lat !== undefined) !== (o.lon !== undefined)) throw new DpmError('give both --lat and --lon, or neither');
    if (lat && !o.lat) fb.log('info', `chip-centre coordinates from ${latPath} and ${lonPath}`);
    const slcs = opened.slice(0, found.entries.length);
    const ref = checkStack(slcs, lat, lon);
    const window = parseWindow(o.window, ref.width, ref.height);
    const W = window.c1 - window.c0,
      H = window.r1 - window.r0;
    const outW = W >= cr ? Math.floor((W - cr) / sr) + 1 : 0;
    const outH = H >= ca ? Math.floor((H - ca) / sa) + 1 : 0;
    if (outW * outH * pairs.length > MAX_OUTPUT_VALUES) {
      throw new DpmError(
        `the output would hold ${outW} × ${outH} × ${pairs.length} pairs; use a --window, a larger --stride or fewer --pairs`,
      );
    }
    fb.log(
      'info',
      `${dates.length} acquisitions ${dates[0]}…${dates.at(-1)}, ${pairs.length} pairs, window rows ${window.r0}:${window.r1} columns ${window.c0}:${window.c1}, chip ${cr}x${ca}, stride ${sr}x${sa} → ${outW} × ${outH} (columns × rows)`,
    );
    const bands = pairs.map(() => new Float32Array(outW * outH));
    // selectPairs indexes `dates`: a pair of indices → its two YYYYMMDD dates
    const pairDates = pairs.map(([a, b]) => {
      const first = dates[a],
        second = dates[b];
      if (first === undefined || second === undefined)
        throw new Error(`internal: pair (${a}, ${b}) of ${dates.length} dates`);
      return { first, second };
    });
    const grid = await computeCoherence(
      slcs,
      {
        chip,
        window,
        pairs,
        lat,
        lon,
        blockBytes: (o.blockMb ?? 128) * 2 ** 20,
      },
      (p, i0, n, values) => {
        bands[p]?.set(values.subarray(0, n * outW), i0 * outW);
      },
      fb,
    );
    const stack: CoherenceStack = {
      width: grid.outW,
      height: grid.outH,
      bands,
      descriptions: pairDates.map((p) => `${p.first}_${p.second}`),
      pairs: pairDates,
      georef:
        grid.lat && grid.lon
          ? { lat: grid.lat, lon: grid.lon }
          : grid.geoTransform
            ? { geoTransform: grid.geoTransform, epsg: grid.epsg }
            : {},
      source: found.entries.map((e) => e.path).join(', '),
      // how the grid was made: carried to every product on it (dpm evaluate reads the chip footprint from it)
      metadata: chipLayoutToMetadata(layout),
    };
    return { stack, grid, acquisitions: found.entries };
  } finally {
    await Promise.allSettled(opened.map((s) => s.close()));
  }
}
