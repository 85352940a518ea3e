// Coherence stacks (ARCHITECTURE.md): find every dated pair in the inputs, then pick the chain of consecutive
// acquisitions (band k = pair (k, k+1) in date order).
//
// Inputs accepted:
// - a multi-band GeoTIFF whose band descriptions are YYYYMMDD_YYYYMMDD (our own stack file);
// - a folder, or a list of files, of single-band GeoTIFFs whose names (or parent folder names) contain
//   YYYYMMDD[-_]YYYYMMDD, optionally with a time (YYYYMMDDTHHMMSS, HyP3) — HyP3, ISCE, PyRate, GAMMA style.
//   A file whose name has no pair may carry it in FIRST_DATE/SECOND_DATE metadata (PyRate). In a folder, files
//   without a pair (a DEM, say) are skipped and logged; in an explicit list they are an error. Where a folder holds
//   several rasters per pair (HyP3: amp, unw_phase, corr …) the one named corr/coh/cc is used;
// - a Zarr datacube (papers/003): see host/raster/zarr.ts.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { DpmError } from '../errors.js';
import { silentFeedback, throwIfCanceled, type Feedback } from '../toolbox/feedback.js';
import type { OutputSet } from '../io/outputs.js';
import { readRaster, readRasterInfo, writeGeoTiff, writeRaster, type RasterInfo } from './geotiff.js';
import type { CoherenceStack, GeoTransform, Georef, Raster } from './types.js';

export interface StackOptions {
  /** value meaning "no data" in the files (0 for GAMMA/PyRate coherence); overrides their GDAL_NODATA */
  nodata?: number;
  feedback?: Feedback;
  /** readCoherenceStack: fewer consecutive pairs than this is an error (default 1) */
  minPairs?: number;
}

export interface Pair {
  first: string;
  second: string;
}

/** Every pair found, in (first, second) date order: band k holds pairs[k], read from files[k]. */
export interface PairStack extends Raster {
  pairs: Pair[];
  /** the file each band came from ("file#band" for a band of a multi-band file) */
  files: string[];
}

const pairKey = (p: Pair) => `${p.first}_${p.second}`;

/** Days between two YYYYMMDD dates. */
export function daysBetween(a: string, b: string): number {
  return (toDate(b).getTime() - toDate(a).getTime()) / 86_400_000;
}

function toDate(s: string): Date {
  return new Date(Date.UTC(Number(s.slice(0, 4)), Number(s.slice(4, 6)) - 1, Number(s.slice(6, 8))));
}

function validDate(s: string): boolean {
  const d = toDate(s);
  const y = Number(s.slice(0, 4));
  return y >= 1978 && y <= 2100 && d.getUTCFullYear() === y && d.getUTCMonth() + 1 === Number(s.slice(4, 6)) && d.getUTCDate() === Number(s.slice(6, 8));
}

/** The date pair in a file name or band description: YYYYMMDD[Thhmmss][-_]YYYYMMDD[Thhmmss]; undefined when none.
 *  Throws a DpmError naming `what` for an impossible date or equal dates. Reversed dates are put in order. */
export function parsePair(text: string, what: string): Pair | undefined {
  const m = [...text.matchAll(/(?<!\d)(\d{8})(?:T\d{6})?[-_](\d{8})(?:T\d{6})?(?!\d)/g)];
  if (m.length === 0) return undefined;
  const [, a, b] = m[m.length - 1];
  for (const d of [a, b]) if (!validDate(d)) throw new DpmError(`${what}: '${d}' in '${text}' is not a valid date (YYYYMMDD)`);
  if (a === b) throw new DpmError(`${what}: pair ${a}_${b} has the same date twice`);
  return a < b ? { first: a, second: b } : { first: b, second: a };
}

interface Source {
  file: string;
  band: number; // 0-based band in the file
  pair: Pair;
  info: RasterInfo;
}

function isTiff(name: string) {
  return /\.tiff?$/i.test(name) && !/\.(lat|lon)\.tiff?$/i.test(name);
}

/** Folder → candidate files (depth ≤ 2, so unzipped HyP3/ISCE pair folders work). */
function listFolder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isFile() && isTiff(e.name)) out.push(p);
    else if (e.isDirectory()) {
      for (const f of readdirSync(p).sort()) if (isTiff(f) && statSync(join(p, f)).isFile()) out.push(join(p, f));
    }
  }
  return out;
}

const COHERENCE_NAME = /(^|[^a-z])(corr|coh|cc|coherence)([^a-z]|$)/i;

async function findSources(inputs: string | string[], fb: Feedback): Promise<Source[]> {
  const list = (Array.isArray(inputs) ? inputs : [inputs]).filter((s) => s !== '');
  if (list.length === 0) throw new DpmError('coherence stack: no input given');
  const sources: Source[] = [];
  for (const input of list) {
    if (!existsSync(input)) throw new DpmError(`${input}: no such file or folder`);
    if (statSync(input).isDirectory()) {
      const { readZarrPairs, isZarr } = await import('./zarr.js');
      if (isZarr(input)) {
        sources.push(...(await readZarrPairs(input)));
        continue;
      }
      const files = listFolder(input);
      const found: Source[] = [];
      for (const f of files) {
        const name = relative(input, f);
        const pair = parsePair(basename(f), f) ?? (dirname(name) !== '.' ? parsePair(dirname(name), f) : undefined);
        if (!pair) {
          fb.log('info', `${f}: no date pair in its name, skipped`);
          continue;
        }
        throwIfCanceled(fb);
        const info = await readRasterInfo(f);
        if (info.bandCount !== 1) {
          fb.log('warning', `${f}: ${info.bandCount} bands in a dated single-pair file, skipped`);
          continue;
        }
        found.push({ file: f, band: 0, pair, info });
      }
      sources.push(...pickCoherence(found, input, fb));
      if (found.length === 0) throw new DpmError(`${input}: no GeoTIFF named with a date pair YYYYMMDD[-_]YYYYMMDD in this folder`);
    } else {
      sources.push(...(await fileSources(input)));
    }
  }
  return sources;
}

/** Several rasters for one pair (HyP3 products): keep the coherence one. */
function pickCoherence(found: Source[], folder: string, fb: Feedback): Source[] {
  const byPair = new Map<string, Source[]>();
  for (const s of found) byPair.set(pairKey(s.pair), [...(byPair.get(pairKey(s.pair)) ?? []), s]);
  const out: Source[] = [];
  for (const [key, group] of byPair) {
    if (group.length === 1) {
      out.push(group[0]);
      continue;
    }
    const coh = group.filter((s) => COHERENCE_NAME.test(basename(s.file).replace(/\.tiff?$/i, '')));
    if (coh.length !== 1) {
      throw new DpmError(`${folder}: ${group.length} files for pair ${key} (${group.map((s) => basename(s.file)).join(', ')}); ` +
        'cannot tell which is the coherence: pass the files explicitly');
    }
    fb.log('info', `pair ${key}: using ${basename(coh[0].file)} of ${group.length} files`);
    out.push(coh[0]);
  }
  return out;
}

async function fileSources(file: string): Promise<Source[]> {
  const info = await readRasterInfo(file);
  if (info.bandCount > 1 || parsePair(info.descriptions[0] ?? '', file)) {
    return info.descriptions.map((d, band) => {
      const pair = /^\d{8}[-_]\d{8}$/.test(d.trim()) ? parsePair(d, `${file} band ${band + 1}`) : undefined;
      if (!pair) throw new DpmError(`${file}: band ${band + 1} description '${d}' is not a date pair YYYYMMDD_YYYYMMDD`);
      return { file, band, pair, info };
    });
  }
  const pair = parsePair(basename(file), file) ?? parsePair(basename(dirname(file)), file) ?? metadataPair(info);
  if (!pair) throw new DpmError(`${file}: no date pair YYYYMMDD[-_]YYYYMMDD in its name, band description or FIRST_DATE/SECOND_DATE`);
  return [{ file, band: 0, pair, info }];
}

function metadataPair(info: RasterInfo): Pair | undefined {
  const a = info.metadata.FIRST_DATE?.replace(/-/g, '');
  const b = info.metadata.SECOND_DATE?.replace(/-/g, '');
  return a && b ? parsePair(`${a}_${b}`, `${info.source} FIRST_DATE/SECOND_DATE`) : undefined;
}

const sameGt = (a: GeoTransform | undefined, b: GeoTransform | undefined) =>
  a === b || (!!a && !!b && a.every((v, k) => Math.abs(v - b[k]) <= 1e-9 * Math.max(1, Math.abs(v), Math.abs(b[k]))));

function describeGrid(i: RasterInfo): string {
  return `${i.width}×${i.height}${i.georef.epsg ? ` EPSG:${i.georef.epsg}` : ''}${i.georef.geoTransform ? ` origin ${i.georef.geoTransform[0]},${i.georef.geoTransform[3]} pixel ${i.georef.geoTransform[1]}` : ''}`;
}

/** All files on one grid: the error names the first file that differs. */
function checkGrids(sources: Source[]): void {
  const ref = sources[0].info;
  for (const s of sources) {
    const i = s.info;
    if (i.width !== ref.width || i.height !== ref.height || i.georef.epsg !== ref.georef.epsg || !sameGt(i.georef.geoTransform, ref.georef.geoTransform)) {
      throw new DpmError(`${s.file}: grid ${describeGrid(i)} differs from ${ref.source} (${describeGrid(ref)}); all coherence files must share one grid`);
    }
  }
}

function checkDuplicates(sources: Source[]): void {
  const seen = new Map<string, Source>();
  for (const s of sources) {
    const k = pairKey(s.pair);
    const o = seen.get(k);
    if (o) throw new DpmError(`pair ${k} is given twice: ${label(o)} and ${label(s)}`);
    seen.set(k, s);
  }
}

const label = (s: Source) => (s.info.bandCount > 1 ? `${s.file} band ${s.band + 1}` : s.file);

async function readSources(sources: Source[], opts: StackOptions): Promise<{ bands: Float32Array[]; georef: Georef }> {
  const fb = opts.feedback ?? silentFeedback;
  const byFile = new Map<string, Source[]>();
  for (const s of sources) byFile.set(s.file, [...(byFile.get(s.file) ?? []), s]);
  const bands = new Map<Source, Float32Array>();
  let georef: Georef | undefined;
  let done = 0;
  for (const [file, group] of byFile) {
    throwIfCanceled(fb);
    if ((group[0].info as { zarr?: boolean }).zarr) {
      const { readZarrBands } = await import('./zarr.js');
      const got = await readZarrBands(file, group.map((s) => s.band), opts.nodata);
      group.forEach((s, k) => bands.set(s, got.bands[k]));
      georef ??= got.georef;
    } else {
      const r = await readRaster(file, { nodata: opts.nodata });
      for (const s of group) bands.set(s, r.bands[s.band]);
      georef ??= r.georef;
    }
    done += group.length;
    fb.progress((100 * done) / sources.length, 'reading coherence');
  }
  return { bands: sources.map((s) => bands.get(s)!), georef: georef ?? {} };
}

const byDate = (a: Source, b: Source) => pairKey(a.pair).localeCompare(pairKey(b.pair));

/** Every pair in the inputs (any network), sorted by (first, second) date. */
export async function readPairStack(inputs: string | string[], opts: StackOptions = {}): Promise<PairStack> {
  const fb = opts.feedback ?? silentFeedback;
  const sources = (await findSources(inputs, fb)).sort(byDate);
  checkDuplicates(sources);
  checkGrids(sources);
  const { bands, georef } = await readSources(sources, opts);
  const { width, height } = sources[0].info;
  const nFiles = new Set(sources.map((s) => s.file)).size;
  fb.log('info', `read ${sources.length} pair${sources.length === 1 ? '' : 's'} from ${nFiles} file${nFiles === 1 ? '' : 's'}`);
  return {
    width, height, bands, georef,
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
  const links = dates.slice(0, -1).map((d, k) => ({ first: d, second: dates[k + 1] }));
  const present = links.map((l) => have.has(pairKey(l)));
  const firstOk = present.indexOf(true);
  if (firstOk < 0) {
    throw new DpmError(`${what}: no pair of consecutive acquisitions among ${pairs.length} pairs of ${dates.length} dates ` +
      `(e.g. ${pairKey(links[0])} is missing)`);
  }
  const lastOk = present.lastIndexOf(true);
  const missing = links.slice(firstOk, lastOk + 1).filter((_, k) => !present[firstOk + k]);
  if (missing.length) {
    throw new DpmError(`${what}: the chain of consecutive acquisitions is broken: missing pair ${missing.map(pairKey).join(', ')}`);
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
  checkGrids(all);
  const { chain, dropped } = chainOf(all.map((s) => s.pair), what);
  if (chain.length < (opts.minPairs ?? 1)) {
    throw new DpmError(`${what}: ${chain.length} consecutive pair${chain.length === 1 ? '' : 's'}, at least ${opts.minPairs} needed`);
  }
  if (dropped.length) {
    fb.log('warning', `acquisitions ${dropped.join(', ')} have no coherence with their neighbours in time: not used ` +
      `(the chain runs ${chain[0].first}→${chain[chain.length - 1].second})`);
  }
  const bySrc = new Map(all.map((s) => [pairKey(s.pair), s]));
  const used = chain.map((p) => bySrc.get(pairKey(p))!);
  const { bands, georef } = await readSources(used, opts);
  const intervals = chain.map((p) => daysBetween(p.first, p.second));
  fb.log('info', `coherence stack: ${chain.length} consecutive pairs ${chain[0].first}→${chain[chain.length - 1].second} ` +
    `(intervals ${intervals.join(', ')} days) from ${all.length} pairs found`);
  for (const s of used) fb.log('debug', `  ${pairKey(s.pair)}: ${label(s)}`); // --verbose: where each band comes from
  const { width, height } = used[0].info;
  // the chip layout holds only when every band was made on the same one
  const layout = chipLayoutMetadata(used[0].info.metadata);
  const same = used.every((s) => CHIP_LAYOUT_KEYS.every((k) => s.info.metadata[k] === layout[k]));
  return { width, height, bands, georef, descriptions: chain.map(pairKey), pairs: chain, source: what, ...(same ? { metadata: layout } : {}) };
}

/** Dataset metadata items that say how the coherence grid was made (`dpm coherence` writes them), e.g.
 *  DPM_CHIP=15x5, DPM_STRIDE=1x1: carried to every raster computed on that grid so that `dpm evaluate` knows each
 *  pixel's chip footprint without being told. */
export const CHIP_LAYOUT_KEYS = ['DPM_CHIP', 'DPM_STRIDE'] as const;

/** The chip-layout items of `metadata` (empty when it has none). */
export function chipLayoutMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of CHIP_LAYOUT_KEYS) if (metadata?.[k]) out[k] = metadata[k];
  return out;
}

function stackRaster(stack: CoherenceStack): Raster {
  if (stack.bands.length !== stack.pairs.length) throw new Error(`internal: ${stack.bands.length} bands for ${stack.pairs.length} pairs`);
  return { ...stack, descriptions: stack.pairs.map(pairKey) };
}

/** Writes the ARCHITECTURE.md stack file (float32, NaN nodata, band descriptions YYYYMMDD_YYYYMMDD) to exactly `path`. */
export async function writeCoherenceStack(path: string, stack: CoherenceStack): Promise<void> {
  await writeGeoTiff(path, stackRaster(stack));
}

/** The same through an OutputSet, with the lat/lon companions of a radar-geometry stack. */
export async function writeCoherenceStackOutputs(outs: OutputSet, finalPath: string, stack: CoherenceStack): Promise<string[]> {
  return writeRaster(outs, finalPath, stackRaster(stack));
}
