// Coherence stacks (ARCHITECTURE.md): find every dated pair in the inputs, then pick the chain of consecutive
// acquisitions (band k = pair (k, k+1) in date order).
//
// Inputs: each one goes to the first reader (pairs.ts PairReader) that accepts it — a Zarr datacube (zarr.ts,
// papers/003), a folder of dated GeoTIFFs or one GeoTIFF file (geotiff-pairs.ts). In an explicit list of files, a
// file without a pair is an error. A new input format is a new PairReader added to READERS.
import { existsSync } from 'node:fs';
import { consecutivePairs, ends } from '../core/arrays.js';
import { CHIP_LAYOUT_KEYS } from '../core/chip.js';
import { checkCoherenceRange } from './range.js';
import { DpmError } from '../core/errors.js';
import { type Feedback, silentFeedback, throwIfCanceled } from '../core/feedback.js';
import type { OutputSet } from '../io/outputs.js';
import { writeGeoTiff, writeRaster } from './geotiff.js';
import { datedFolderReader, geotiffFileReader } from './geotiff-pairs.js';
import { type Pair, type PairFileInfo, type PairReader, type PairSource, daysBetween, pairKey } from './pairs.js';
import type { CoherenceStack, GeoTransform, Georef, Raster } from './types.js';
import { zarrPairReader } from './zarr.js';

/** Asked in this order: a Zarr store is a folder too. */
const READERS: readonly PairReader[] = [zarrPairReader, datedFolderReader, geotiffFileReader];

export interface StackOptions {
  /** value meaning "no data" in the files (0 for GAMMA/PyRate coherence); overrides their GDAL_NODATA */
  nodata?: number;
  feedback?: Feedback;
  /** readCoherenceStack: fewer consecutive pairs than this is an error (default 1) */
  minPairs?: number;
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
    if (!existsSync(input)) throw new DpmError(`${input}: no such file or folder`);
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

/** All files on one grid, returned: the error names the first file that differs. */
function commonGrid(sources: PairSource[], what: string): PairFileInfo {
  const ref = sources[0]?.info;
  if (!ref) throw new DpmError(`${what}: no coherence pair found`);
  for (const s of sources) {
    const i = s.info;
    if (
      i.width !== ref.width ||
      i.height !== ref.height ||
      i.georef.epsg !== ref.georef.epsg ||
      !sameGt(i.georef.geoTransform, ref.georef.geoTransform)
    ) {
      throw new DpmError(
        `${s.file}: grid ${describeGrid(i)} differs from ${ref.source} (${describeGrid(ref)}); all coherence files must share one grid`,
      );
    }
  }
  return ref;
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
): Promise<{ bands: Float32Array[]; georef: Georef }> {
  const fb = opts.feedback ?? silentFeedback;
  const byFile = new Map<string, PairSource[]>();
  for (const s of sources) byFile.set(s.file, [...(byFile.get(s.file) ?? []), s]);
  const bands = new Map<PairSource, Float32Array>();
  let georef: Georef | undefined;
  let done = 0;
  for (const [file, group] of byFile) {
    throwIfCanceled(fb);
    const [first] = group;
    if (!first) continue;
    const got = await first.reader.readBands(
      file,
      group.map((s) => s.band),
      opts.nodata,
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
    georef: georef ?? {},
  };
}

const byDate = (a: PairSource, b: PairSource) => pairKey(a.pair).localeCompare(pairKey(b.pair));

/** Every pair in the inputs (any network), sorted by (first, second) date. */
export async function readPairStack(inputs: string | string[], opts: StackOptions = {}): Promise<PairStack> {
  const fb = opts.feedback ?? silentFeedback;
  const sources = (await findSources(inputs, fb)).sort(byDate);
  checkDuplicates(sources);
  const { width, height } = commonGrid(sources, Array.isArray(inputs) ? inputs.join(', ') : inputs);
  const { bands, georef } = await readSources(sources, opts);
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

/** The chain of consecutive acquisitions as a CoherenceStack (band k = pair (k, k+1)); reads only those files. */
export async function readCoherenceStack(inputs: string | string[], opts: StackOptions = {}): Promise<CoherenceStack> {
  const fb = opts.feedback ?? silentFeedback;
  const what = Array.isArray(inputs) ? inputs.join(', ') : inputs;
  const all = (await findSources(inputs, fb)).sort(byDate);
  checkDuplicates(all);
  const grid = commonGrid(all, what);
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
  const { bands, georef } = await readSources(used, opts);
  checkCoherenceRange(bands, chain.map(pairKey), what, fb); // out-of-range values counted, reported, refused past 1 %
  const intervals = chain.map((p) => daysBetween(p.first, p.second));
  fb.log(
    'info',
    `coherence stack: ${chain.length} consecutive pairs ${runs} ` +
      `(intervals ${intervals.join(', ')} days) from ${all.length} pairs found`,
  );
  for (const s of used) fb.log('debug', `  ${pairKey(s.pair)}: ${label(s)}`); // --verbose: where each band comes from
  const { width, height } = grid;
  // the chip layout holds only when every band was made on the same one
  const layout = chipLayoutMetadata(chainSourceMetadata(used));
  const same = used.every((s) => CHIP_LAYOUT_KEYS.every((k) => s.info.metadata[k] === layout[k]));
  return {
    width,
    height,
    bands,
    georef,
    descriptions: chain.map(pairKey),
    pairs: chain,
    source: what,
    ...(same ? { metadata: layout } : {}),
  };
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

function stackRaster(stack: CoherenceStack): Raster {
  if (stack.bands.length !== stack.pairs.length)
    throw new Error(`internal: ${stack.bands.length} bands for ${stack.pairs.length} pairs`);
  return { ...stack, descriptions: stack.pairs.map(pairKey) };
}

/** Writes the ARCHITECTURE.md stack file (float32, NaN nodata, band descriptions YYYYMMDD_YYYYMMDD) to exactly `path`. */
export async function writeCoherenceStack(path: string, stack: CoherenceStack): Promise<void> {
  await writeGeoTiff(path, stackRaster(stack));
}

/** The same through an OutputSet, with the lat/lon companions of a radar-geometry stack. */
export async function writeCoherenceStackOutputs(
  outs: OutputSet,
  finalPath: string,
  stack: CoherenceStack,
): Promise<string[]> {
  return writeRaster(outs, finalPath, stackRaster(stack));
}
