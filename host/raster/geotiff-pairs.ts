// GeoTIFF coherence inputs (PairReader, see pairs.ts):
// - a multi-band GeoTIFF whose band descriptions are YYYYMMDD_YYYYMMDD (our own stack file), or one single-band file
//   whose name (or parent folder name) holds the pair, or whose FIRST_DATE/SECOND_DATE metadata does (PyRate);
// - a folder of single-band GeoTIFFs named with YYYYMMDD[-_]YYYYMMDD, optionally with a time (YYYYMMDDTHHMMSS,
//   HyP3) — HyP3, ISCE, PyRate, GAMMA style. Files without a pair (a DEM, say) are skipped and logged. Where a folder
//   holds several rasters per pair (HyP3: amp, unw_phase, corr …) the one named corr/coh/cc is used.
import { basename, dirname, relative } from 'node:path';
import { DpmError } from '../core/errors.js';
import { type Feedback, throwIfCanceled } from '../core/feedback.js';
import { entryKind, listEntries } from './entries.js';
import { readRaster, readRasterInfo, readRasterWindow, type RasterInfo } from './geotiff.js';
import { type Pair, type PairReader, type PairSource, pairKey, parsePair } from './pairs.js';
import type { Window } from './window.js';

function isTiff(name: string) {
  return /\.tiff?$/i.test(name) && !/\.(lat|lon)\.tiff?$/i.test(name);
}

/** Folder → candidate files (depth ≤ 2, so unzipped HyP3/ISCE pair folders work); symbolic links followed. */
function listFolder(dir: string): string[] {
  const out: string[] = [];
  for (const e of listEntries(dir)) {
    if (e.kind === 'file' && isTiff(e.name)) out.push(e.path);
    else if (e.kind === 'folder') {
      for (const f of listEntries(e.path)) if (f.kind === 'file' && isTiff(f.name)) out.push(f.path);
    }
  }
  return out;
}

const COHERENCE_NAME = /(^|[^a-z])(corr|coh|cc|coherence)([^a-z]|$)/i;

/** Several rasters for one pair (HyP3 products): keep the coherence one. */
function pickCoherence(found: PairSource[], folder: string, fb: Feedback): PairSource[] {
  const byPair = new Map<string, PairSource[]>();
  for (const s of found) byPair.set(pairKey(s.pair), [...(byPair.get(pairKey(s.pair)) ?? []), s]);
  const out: PairSource[] = [];
  for (const [key, group] of byPair) {
    const [only] = group;
    if (only && group.length === 1) {
      out.push(only);
      continue;
    }
    const coh = group.filter((s) => COHERENCE_NAME.test(basename(s.file).replace(/\.tiff?$/i, '')));
    const [picked] = coh;
    if (!picked || coh.length !== 1) {
      const names = group.map((s) => basename(s.file)).join(', ');
      throw new DpmError(
        `${folder}: ${group.length} files for pair ${key} (${names}); ` +
          'cannot tell which is the coherence: pass the files explicitly',
      );
    }
    fb.log('info', `pair ${key}: using ${basename(picked.file)} of ${group.length} files`);
    out.push(picked);
  }
  return out;
}

function metadataPair(info: RasterInfo): Pair | undefined {
  const a = info.metadata.FIRST_DATE?.replace(/-/g, '');
  const b = info.metadata.SECOND_DATE?.replace(/-/g, '');
  return a && b ? parsePair(`${a}_${b}`, `${info.source} FIRST_DATE/SECOND_DATE`) : undefined;
}

async function readGeoTiffBands(file: string, bands: number[], nodata: number | undefined, window?: Window) {
  if (window) return readRasterWindow(file, window, { nodata, bands });
  const r = await readRaster(file, { nodata });
  return {
    bands: bands.map((b) => {
      const band = r.bands[b];
      if (!band) throw new DpmError(`${file}: no band ${b + 1} (it has ${r.bands.length})`);
      return band;
    }),
    georef: r.georef,
  };
}

/** One GeoTIFF: a multi-band stack with dated band descriptions, or a single dated pair. */
export const geotiffFileReader: PairReader = {
  name: 'GeoTIFF file',
  accepts: (input) => entryKind(input) === 'file',
  async findPairs(file) {
    const info = await readRasterInfo(file);
    if (info.bandCount > 1 || parsePair(info.descriptions[0] ?? '', file)) {
      return info.descriptions.map((d, band) => {
        const pair = /^\d{8}[-_]\d{8}$/.test(d.trim()) ? parsePair(d, `${file} band ${band + 1}`) : undefined;
        if (!pair) {
          throw new DpmError(`${file}: band ${band + 1} description '${d}' is not a date pair YYYYMMDD_YYYYMMDD`);
        }
        return { file, band, pair, info, reader: geotiffFileReader };
      });
    }
    const pair = parsePair(basename(file), file) ?? parsePair(basename(dirname(file)), file) ?? metadataPair(info);
    if (!pair) {
      throw new DpmError(
        `${file}: no date pair YYYYMMDD[-_]YYYYMMDD in its name, band description or FIRST_DATE/SECOND_DATE`,
      );
    }
    return [{ file, band: 0, pair, info, reader: geotiffFileReader }];
  },
  readBands: readGeoTiffBands,
};

/** A folder of single-band GeoTIFFs named with their pair (asked after the Zarr reader, which also takes folders). */
export const datedFolderReader: PairReader = {
  name: 'folder of dated GeoTIFFs',
  accepts: (input) => entryKind(input) === 'folder',
  async findPairs(dir, fb) {
    const found: PairSource[] = [];
    for (const f of listFolder(dir)) {
      const name = relative(dir, f);
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
      found.push({ file: f, band: 0, pair, info, reader: datedFolderReader });
    }
    const picked = pickCoherence(found, dir, fb);
    if (found.length === 0) {
      throw new DpmError(`${dir}: no GeoTIFF named with a date pair YYYYMMDD[-_]YYYYMMDD in this folder`);
    }
    return picked;
  },
  readBands: readGeoTiffBands,
};
