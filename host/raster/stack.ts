// Coherence stacks (ARCHITECTURE.md): find every dated pair in the inputs, then pick the chain of consecutive
// acquisitions (band k = pair (k, k+1) in date order).
//
// Inputs: each one goes to the first reader (pairs.ts PairReader) that accepts it — a Zarr datacube (zarr.ts,
// papers/003), the authors' dataset.json + .npy cubes (products/dpm-dataset.ts), ARIA GUNW products
// (products/gunw.ts), HyP3 products (products/hyp3.ts: folders, ZIPs, loose *_corr.tif), a folder of dated GeoTIFFs
// or one GeoTIFF file (geotiff-pairs.ts). Symbolic links are followed (entries.ts). In an explicit list of files, a
// file without a pair is an error. A new input format is a new PairReader added to READERS.
import { consecutivePairs, ends } from '../core/arrays.js';
import { CHIP_LAYOUT_KEYS } from '../core/chip.js';
import { checkCoherenceRange, RangeTally } from './range.js';
import { DpmError } from '../core/errors.js';
import { type Feedback, silentFeedback, checkpoint } from '../core/feedback.js';
import type { OutputSet } from '../io/outputs.js';
import { entryKind } from './entries.js';
import { RasterRowWriter, writeGeoTiff, writeRaster } from './geotiff.js';
import { datedFolderReader, geotiffFileReader } from './geotiff-pairs.js';
import { dpmDatasetReader, splitDatasetInput } from './products/dpm-dataset.js';
import { gunwReader } from './products/gunw.js';
import { hyp3Reader } from './products/hyp3.js';
import { type Pair, type PairFileInfo, type PairReader, type PairSource, daysBetween, pairKey } from './pairs.js';
import type { CoherenceStack, GeoTransform, Georef, Raster } from './types.js';
import { checkWindow, fullWindow, type Window, windowGeoTransform } from './window.js';
import { zarrPairReader } from './zarr.js';

/** Asked in this order: a Zarr store is a folder too. */
const READERS: readonly PairReader[] = [
  zarrPairReader,
  dpmDatasetReader,
  gunwReader,
  hyp3Reader,
  datedFolderReader,
  geotiffFileReader,
];

export interface StackOptions {
  /** value meaning "no data" in the files (0 for GAMMA/PyRate coherence); overrides their GDAL_NODATA */
  nodata?: number;
  feedback?: Feedback;
  /** readCoherenceStack: fewer consecutive pairs than this is an error (default 1) */
  minPairs?: number;
  /** files on different grids (same CRS and pixel size, origins whole pixels apart, e.g. HyP3 products of one
   *  track): crop every file to the grids' intersection instead of refusing them */
  align?: boolean;
}

/** Every pair found, in (first, second) date order: band k holds pairs[k], read from files[k]. */
export interface PairStack extends Raster {
  pairs: Pair[];
  /** the file each band came from ("file#band" for a band of a multi-band file) */
  files: string[];
}

async function findSources(inputs: string | string[], fb: Feedback): Promise<PairSource[]> {
  const list = (Array.isArray(inputs) ? inputs : [inputs]).filter((s) => s !== '');
  if (list.length === 0) throw new DpmError('coherence stack: no input given');
  const sources: PairSource[] = [];
  for (const input of list) {
    entryKind(splitDatasetInput(input).json); // a missing input, or a link pointing nowhere, is named here
    const reader = READERS.find((r) => r.accepts(input));
    if (!reader) throw new DpmError(`${input}: not a GeoTIFF, a folder of GeoTIFFs or a Zarr datacube`);
    sources.push(...(await reader.findPairs(input, fb)));
  }
  return sources;
}

const sameGt = (a: GeoTransform | undefined, b: GeoTransform | undefined) =>
  a === b ||
  (!!a &&
    !!b &&
    a.every((v, k) => {
      const w = b[k] ?? NaN;
      return Math.abs(v - w) <= 1e-9 * Math.max(1, Math.abs(v), Math.abs(w));
    }));

function describeGrid(i: PairFileInfo): string {
  return `${i.width}×${i.height}${i.georef.epsg ? ` EPSG:${i.georef.epsg}` : ''}${i.georef.geoTransform ? ` origin ${i.georef.geoTransform[0]},${i.georef.geoTransform[3]} pixel ${i.georef.geoTransform[1]}` : ''}`;
}

/** The grid every band is read onto: the files' common grid, or with `align` their intersection (each file's
 *  offset into it in `crop`). The error names the first file that differs, both grids, and what --align-grids does. */
interface GridPlan {
  width: number;
  height: number;
  geoTransform?: GeoTransform;
  /** per file: its column and row offset of the common grid's corner (align only) */
  crop?: Map<string, { col0: number; row0: number; width: number }>;
}

function commonGrid(sources: PairSource[], what: string, align = false): GridPlan {
  const ref = sources[0]?.info;
  if (!ref) throw new DpmError(`${what}: no coherence pair found`);
  const differs = sources.find((s) => {
    const i = s.info;
    return (
      i.width !== ref.width ||
      i.height !== ref.height ||
      i.georef.epsg !== ref.georef.epsg ||
      !sameGt(i.georef.geoTransform, ref.georef.geoTransform)
    );
  });
  const plain = {
    width: ref.width,
    height: ref.height,
    ...(ref.georef.geoTransform ? { geoTransform: ref.georef.geoTransform } : {}),
  };
  if (!differs) return plain;
  const message = `${differs.file}: grid ${describeGrid(differs.info)} differs from ${ref.source} (${describeGrid(ref)})`;
  if (!align) {
    throw new DpmError(
      `${message}; all coherence files must share one grid (--align-grids crops grids of one CRS and pixel size to their intersection)`,
    );
  }
  return intersection(sources, message);
}

/** Grids of one CRS and pixel size whose corners lie whole pixels apart, cropped to their common extent. */
function intersection(sources: PairSource[], message: string): GridPlan {
  const ref = sources[0]?.info;
  const g0 = ref?.georef.geoTransform;
  if (!ref || !g0 || g0[2] !== 0 || g0[4] !== 0)
    throw new DpmError(`${message}; only north-up map grids can be aligned`);
  const [x0, dx, , y0, , dy] = g0;
  let c0 = -Infinity,
    r0 = -Infinity,
    c1 = Infinity,
    r1 = Infinity;
  const offsets = new Map<string, { col: number; row: number; width: number; height: number }>();
  for (const s of sources) {
    const g = s.info.georef.geoTransform;
    const col = g ? (g[0] - x0) / dx : NaN,
      row = g ? (g[3] - y0) / dy : NaN;
    const whole = (v: number) => Math.abs(v - Math.round(v)) < 1e-6;
    if (
      !g ||
      s.info.georef.epsg !== ref.georef.epsg ||
      !sameGt([0, g[1], g[2], 0, g[4], g[5]], [0, dx, 0, 0, 0, dy]) ||
      !whole(col) ||
      !whole(row)
    )
      throw new DpmError(
        `${message}; ${s.file} cannot be aligned without resampling (another CRS, pixel size or a sub-pixel shift)`,
      );
    const o = { col: Math.round(col), row: Math.round(row), width: s.info.width, height: s.info.height };
    offsets.set(s.file, o);
    c0 = Math.max(c0, o.col);
    r0 = Math.max(r0, o.row);
    c1 = Math.min(c1, o.col + o.width);
    r1 = Math.min(r1, o.row + o.height);
  }
  if (c1 <= c0 || r1 <= r0) throw new DpmError(`${message}; the grids do not overlap`);
  const crop = new Map([...offsets].map(([file, o]) => [file, { col0: c0 - o.col, row0: r0 - o.row, width: o.width }]));
  return { width: c1 - c0, height: r1 - r0, geoTransform: [x0 + c0 * dx, dx, 0, y0 + r0 * dy, 0, dy], crop };
}

/** What `file` is read as: `window` of the common grid in the file's own pixels (the file's part of an aligned
 *  grid without one); undefined: the whole file. */
function fileWindow(file: string, plan: GridPlan, window: Window | undefined): Window | undefined {
  const c = plan.crop?.get(file);
  if (!c) return window;
  const w = window ?? fullWindow(plan.width, plan.height);
  return { r0: c.row0 + w.r0, r1: c.row0 + w.r1, c0: c.col0 + w.c0, c1: c.col0 + w.c1 };
}

/** The geotransform of `window` of the common grid (its corner when none), from the first file's or the aligned
 *  grid's: the same arithmetic whether the pixels were read whole or in a window. */
function gridGeoTransform(sources: PairSource[], plan: GridPlan, window: Window | undefined) {
  const gt = plan.crop ? plan.geoTransform : sources[0]?.info.georef.geoTransform;
  return gt && windowGeoTransform(gt, window ?? { r0: 0, c0: 0 });
}

function checkDuplicates(sources: PairSource[]): void {
  const seen = new Map<string, PairSource>();
  for (const s of sources) {
    const k = pairKey(s.pair);
    const o = seen.get(k);
    if (o) throw new DpmError(`pair ${k} is given twice: ${label(o)} and ${label(s)}`);
    seen.set(k, s);
  }
}

const label = (s: PairSource) => (s.info.bandCount > 1 ? `${s.file} band ${s.band + 1}` : s.file);

async function readSources(
  sources: PairSource[],
  opts: StackOptions,
  plan: GridPlan,
  window?: Window,
): Promise<{ bands: Float32Array[]; georef: Georef }> {
  const fb = opts.feedback ?? silentFeedback;
  const byFile = new Map<string, PairSource[]>();
  for (const s of sources) byFile.set(s.file, [...(byFile.get(s.file) ?? []), s]);
  const bands = new Map<PairSource, Float32Array>();
  let georef: Georef | undefined;
  let done = 0;
  for (const [file, group] of byFile) {
    await checkpoint(fb); // a file decoded from memory never yields by itself: Ctrl-C is heard here
    const [first] = group;
    if (!first) continue;
    const got = await first.reader.readBands(
      file,
      group.map((s) => s.band),
      opts.nodata,
      fileWindow(file, plan, window),
    );
    group.forEach((s, k) => {
      const band = got.bands[k];
      if (band) bands.set(s, band);
    });
    georef ??= got.georef;
    done += group.length;
    fb.progress((100 * done) / sources.length, 'reading coherence');
  }
  return {
    bands: sources.map((s) => {
      const band = bands.get(s);
      if (!band) throw new Error(`internal: ${label(s)} was not read`);
      return band;
    }),
    georef: windowGeoref(georef ?? {}, sources, plan, window),
  };
}

/** A read's georef on the common grid: the window's geotransform (lat/lon came windowed from the reader). */
function windowGeoref(georef: Georef, sources: PairSource[], plan: GridPlan, window: Window | undefined): Georef {
  if (!window && !plan.crop) return georef;
  const { geoTransform: _, ...rest } = georef;
  const gt = gridGeoTransform(sources, plan, window);
  return gt ? { ...rest, geoTransform: gt } : rest;
}

const byDate = (a: PairSource, b: PairSource) => pairKey(a.pair).localeCompare(pairKey(b.pair));

/** Every pair in the inputs (any network), sorted by (first, second) date. */
export async function readPairStack(inputs: string | string[], opts: StackOptions = {}): Promise<PairStack> {
  const fb = opts.feedback ?? silentFeedback;
  const sources = (await findSources(inputs, fb)).sort(byDate);
  checkDuplicates(sources);
  const plan = commonGrid(sources, Array.isArray(inputs) ? inputs.join(', ') : inputs, opts.align);
  const { width, height } = plan;
  const { bands, georef } = await readSources(sources, opts, plan);
  const nFiles = new Set(sources.map((s) => s.file)).size;
  fb.log(
    'info',
    `read ${sources.length} pair${sources.length === 1 ? '' : 's'} from ${nFiles} file${nFiles === 1 ? '' : 's'}`,
  );
  return {
    width,
    height,
    bands,
    georef,
    descriptions: sources.map((s) => pairKey(s.pair)),
    pairs: sources.map((s) => s.pair),
    files: sources.map(label),
    source: Array.isArray(inputs) ? inputs.join(',') : inputs,
  };
}

/** The chain of consecutive acquisitions: present links (d_k, d_k+1) over all dates of the network must be
 *  contiguous; a gap between them is an error naming the missing pair. Dates before or after the run of
 *  consecutive pairs (e.g. acquisitions only reached by long-span pairs at the end) are dropped with a warning. */
export function chainOf(pairs: Pair[], what: string): { chain: Pair[]; dropped: string[] } {
  const dates = [...new Set(pairs.flatMap((p) => [p.first, p.second]))].sort();
  const have = new Set(pairs.map(pairKey));
  const links = consecutivePairs(dates).map(([first, second]) => ({ first, second }));
  const present = links.map((l) => have.has(pairKey(l)));
  const firstOk = present.indexOf(true);
  if (firstOk < 0) {
    throw new DpmError(
      `${what}: no pair of consecutive acquisitions among ${pairs.length} pairs of ${dates.length} dates ` +
        `(e.g. ${links[0] ? pairKey(links[0]) : 'any'} is missing)`,
    );
  }
  const lastOk = present.lastIndexOf(true);
  const missing = links.slice(firstOk, lastOk + 1).filter((_, k) => !present[firstOk + k]);
  if (missing.length) {
    throw new DpmError(
      `${what}: the chain of consecutive acquisitions is broken: missing pair ${missing.map(pairKey).join(', ')}`,
    );
  }
  const chain = links.slice(firstOk, lastOk + 1);
  const dropped = [...dates.slice(0, firstOk), ...dates.slice(lastOk + 2)];
  return { chain, dropped };
}

export interface StackReadOptions extends StackOptions {
  /** only these pixels of the (aligned) common grid: only they are decoded (default all) */
  window?: Window;
}

/** A coherence stack without its pixels: what its headers say (no lat/lon companions). */
export interface StackHeader extends Omit<CoherenceStack, 'bands' | 'georef'> {
  georef: Pick<Georef, 'geoTransform' | 'epsg'>;
}

/** The chain of a coherence stack found and checked, nothing decoded yet: read windows of it. */
export interface OpenStack {
  header: StackHeader;
  /** `window` (default all) of every band, range-checked, with the lat/lon of that window in radar geometry:
   *  the same stack as the whole one cropped to it. With `tally`, the window is cleaned and counted there and the
   *  caller checks the whole once (RangeTally.check) */
  read(window?: Window, tally?: RangeTally): Promise<CoherenceStack>;
  /** only the lat/lon companions' `window` (default all); none on a map grid or without companions */
  latLon(window?: Window): Promise<Pick<Georef, 'lat' | 'lon'>>;
}

/** The chain of consecutive acquisitions (band k = pair (k, k+1)) found in the inputs, from their headers. */
export async function openCoherenceStack(inputs: string | string[], opts: StackOptions = {}): Promise<OpenStack> {
  const fb = opts.feedback ?? silentFeedback;
  const what = Array.isArray(inputs) ? inputs.join(', ') : inputs;
  const all = (await findSources(inputs, fb)).sort(byDate);
  checkDuplicates(all);
  const grid = commonGrid(all, what, opts.align);
  const { chain, dropped } = chainOf(
    all.map((s) => s.pair),
    what,
  );
  const chainEnds = ends(chain);
  if (!chainEnds || chain.length < (opts.minPairs ?? 1)) {
    throw new DpmError(
      `${what}: ${chain.length} consecutive pair${chain.length === 1 ? '' : 's'}, at least ${opts.minPairs ?? 1} needed`,
    );
  }
  const runs = `${chainEnds.first.first}→${chainEnds.last.second}`;
  if (dropped.length) {
    fb.log(
      'warning',
      `acquisitions ${dropped.join(', ')} have no coherence with their neighbours in time: not used ` +
        `(the chain runs ${runs})`,
    );
  }
  const bySrc = new Map(all.map((s) => [pairKey(s.pair), s]));
  // chainOf builds the chain from these very pairs: every link has its source
  const used = chain.map((p) => {
    const s = bySrc.get(pairKey(p));
    if (!s) throw new Error(`internal: chain pair ${pairKey(p)} has no source`);
    return s;
  });
  const { width, height } = grid;
  // the chip layout holds only when every band was made on the same one
  const layout = chipLayoutMetadata(chainSourceMetadata(used));
  const same = used.every((s) => CHIP_LAYOUT_KEYS.every((k) => s.info.metadata[k] === layout[k]));
  const gt = gridGeoTransform(used, grid, undefined);
  const epsg = used[0]?.info.georef.epsg;
  const header: StackHeader = {
    width,
    height,
    georef: { ...(gt ? { geoTransform: gt } : {}), ...(epsg !== undefined ? { epsg } : {}) },
    descriptions: chain.map(pairKey),
    pairs: chain,
    source: what,
    ...(same ? { metadata: layout } : {}),
  };
  const checked = (window: Window | undefined) => {
    if (window) checkWindow(what, window, width, height);
    return window;
  };
  const read = async (window?: Window, tally?: RangeTally): Promise<CoherenceStack> => {
    const part = checked(window) ?? fullWindow(width, height);
    const { bands, georef } = await readSources(used, opts, grid, window);
    if (grid.crop && !tally)
      fb.log('info', `grids aligned: every file cropped to their ${width}×${height} intersection`);
    // out-of-range values counted, reported, refused past 1 % (of the window read, or of all the tally's windows)
    if (tally) tally.add(bands, chain.map(pairKey));
    else checkCoherenceRange(bands, chain.map(pairKey), what, fb);
    const intervals = chain.map((p) => daysBetween(p.first, p.second));
    fb.log(
      tally ? 'debug' : 'info',
      `coherence stack: ${chain.length} consecutive pairs ${runs} ` +
        `(intervals ${intervals.join(', ')} days) from ${all.length} pairs found` +
        (window ? `, window ${part.r0}:${part.r1},${part.c0}:${part.c1}` : ''),
    );
    for (const s of used) fb.log('debug', `  ${pairKey(s.pair)}: ${label(s)}`); // --verbose: each band's file
    const { georef: _, ...rest } = header;
    return { ...rest, width: part.c1 - part.c0, height: part.r1 - part.r0, bands, georef };
  };
  const latLon = async (window?: Window): Promise<Pick<Georef, 'lat' | 'lon'>> => {
    const part = checked(window) ?? fullWindow(width, height);
    const first = used[0];
    if (!first || header.georef.geoTransform) return {};
    const { georef } = await first.reader.readBands(first.file, [], opts.nodata, fileWindow(first.file, grid, part));
    return georef.lat && georef.lon ? { lat: georef.lat, lon: georef.lon } : {};
  };
  return { header, read, latLon };
}

/** The chain of consecutive acquisitions as a CoherenceStack (band k = pair (k, k+1)); reads only those files,
 *  and of them only `window` when given. */
export async function readCoherenceStack(
  inputs: string | string[],
  opts: StackReadOptions = {},
): Promise<CoherenceStack> {
  return (await openCoherenceStack(inputs, opts)).read(opts.window);
}

/** The metadata of the first band's file (the chip layout is checked against every band by the caller). */
function chainSourceMetadata(used: PairSource[]): Record<string, string> | undefined {
  return used[0]?.info.metadata;
}

/** The chip-layout items of `metadata` (empty when it has none). */
export function chipLayoutMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of CHIP_LAYOUT_KEYS) if (metadata?.[k]) out[k] = metadata[k];
  return out;
}

/** Band unit of coherence stacks (GDAL unit type): the magnitude of the complex correlation, 0–1. */
const COHERENCE_UNIT = 'coherence';

function stackRaster(stack: CoherenceStack): Raster {
  if (stack.bands.length !== stack.pairs.length)
    throw new Error(`internal: ${stack.bands.length} bands for ${stack.pairs.length} pairs`);
  return { ...stack, descriptions: stack.pairs.map(pairKey) };
}

/** Writes the ARCHITECTURE.md stack file (float32, NaN nodata, band descriptions YYYYMMDD_YYYYMMDD) to exactly `path`. */
export async function writeCoherenceStack(path: string, stack: CoherenceStack): Promise<void> {
  await writeGeoTiff(path, stackRaster(stack), { units: [COHERENCE_UNIT] });
}

/**
 * `window` of an open stack written as writeCoherenceStackOutputs writes that window read whole (the same bytes), a
 * block of `rows` rows at a time (e.g. `dpm run --coherence`'s training window, which may be the whole scene); the
 * range rule judges the whole window.
 */
export async function writeCoherenceWindowOutputs(
  outs: OutputSet,
  finalPath: string,
  stack: OpenStack,
  window: Window,
  fb: Feedback = silentFeedback,
  rows = 256,
): Promise<string[]> {
  const { header } = stack;
  const tally = new RangeTally();
  let writer: RasterRowWriter | undefined;
  try {
    for (let r0 = window.r0; r0 < window.r1; r0 += rows) {
      await checkpoint(fb);
      fb.progress(
        (100 * (r0 - window.r0)) / (window.r1 - window.r0),
        `rows ${r0 - window.r0}/${window.r1 - window.r0}`,
      );
      const r1 = Math.min(window.r1, r0 + rows);
      const block = await stack.read({ ...window, r0, r1 }, tally);
      const { lat, lon } = block.georef;
      // the first block's georef is the window's (the same upper-left pixel)
      writer ??= new RasterRowWriter(
        outs,
        finalPath,
        {
          width: window.c1 - window.c0,
          height: window.r1 - window.r0,
          bandCount: header.pairs.length,
          descriptions: header.pairs.map(pairKey),
          ...(header.metadata ? { metadata: header.metadata } : {}),
          georef: { geoTransform: block.georef.geoTransform, epsg: block.georef.epsg },
        },
        !!(lat && lon),
        { units: [COHERENCE_UNIT] },
      );
      writer.write(block.bands, r1 - r0);
      if (lat && lon) writer.latLon(lat, lon, r1 - r0);
    }
    tally.check(header.descriptions, header.source ?? 'coherence stack', fb);
    return writer?.finish() ?? [];
  } catch (err) {
    writer?.abort();
    throw err;
  }
}

/** The same through an OutputSet, with the lat/lon companions of a radar-geometry stack. */
export async function writeCoherenceStackOutputs(
  outs: OutputSet,
  finalPath: string,
  stack: CoherenceStack,
): Promise<string[]> {
  return writeRaster(outs, finalPath, stackRaster(stack), { units: [COHERENCE_UNIT] });
}
