// ASF HyP3 InSAR products as coherence input (PairReader, see ../pairs.ts). A product is a folder or a ZIP named
// like its files, holding `<product>_corr.tif` (coherence, the only layer we use), `<product>.txt` (parameters, among
// them `Reference Granule: …` and `Secondary Granule: …`) and other layers (unw_phase, amp, dem …) we skip. Names:
// - INSAR_GAMMA: S1AB_20190101T023456_20190113T023456_VVP012_INT80_G_ueF_1A2B (date-times of both acquisitions);
// - INSAR_ISCE_BURST: S1_136231_IW2_20200604_20200616_VV_INT80_10EB (multi-burst: S1A_064_E053_1_…_20200604_20200616_…).
// The input is a folder holding product folders, product ZIPs and loose `*_corr.tif` side by side (links followed), or
// one ZIP. The pair comes from the product name, else from the granule names in its .txt. A ZIP's coherence layer is
// extracted once to a private temporary folder (removed at exit) and read from there; messages name `zip!/entry`.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { unzipSync } from 'fflate';
import { DpmError } from '../../core/errors.js';
import { type Feedback, throwIfCanceled } from '../../core/feedback.js';
import { entryKind, listEntries } from '../entries.js';
import { readRaster, readRasterInfo, readRasterWindow } from '../geotiff.js';
import { type Pair, type PairReader, type PairSource, pairKey, parsePair } from '../pairs.js';

const CORR = /_corr\.tiff?$/i;
const ZIP = /\.zip$/i;

/** One product found in the input: where its coherence raster is (a path, or `zip!/entry` with its bytes). */
interface Product {
  name: string;
  /** the coherence layer as messages name it */
  corr: string;
  /** text of <product>.txt when present */
  parameters?: string;
}

/** `zip!/entry` → the extracted file it was written to. */
const extracted = new Map<string, string>();
let scratch: string | undefined;

function scratchDir(): string {
  if (!scratch) {
    const dir = mkdtempSync(join(tmpdir(), 'dpm-hyp3-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    scratch = dir;
  }
  return scratch;
}

/** The products in one ZIP (normally one): its `*_corr.tif` entries, with the product's .txt. */
function zipProducts(zip: string): Product[] {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(readFileSync(zip), { filter: (f) => CORR.test(f.name) || /\.txt$/i.test(f.name) });
  } catch (err) {
    throw new DpmError(`${zip}: not a readable ZIP file (${(err as Error).message})`);
  }
  const out: Product[] = [];
  for (const [entry, bytes] of Object.entries(files)) {
    if (!CORR.test(entry)) continue;
    const name = basename(entry).replace(CORR, '');
    const corr = `${zip}!/${entry}`;
    const dir = mkdtempSync(join(scratchDir(), 'z'));
    const path = join(dir, basename(entry));
    writeFileSync(path, bytes);
    extracted.set(corr, path);
    const txt = files[join(dirname(entry), `${name}.txt`)] ?? files[`${name}.txt`];
    out.push({ name, corr, ...(txt ? { parameters: new TextDecoder().decode(txt) } : {}) });
  }
  if (out.length === 0) throw new DpmError(`${zip}: no *_corr.tif in this ZIP (not a HyP3 InSAR product)`);
  return out;
}

function looseProduct(corr: string): Product {
  const name = basename(corr).replace(CORR, '');
  const txt = join(dirname(corr), `${name}.txt`);
  return { name, corr, ...(existsSync(txt) ? { parameters: readFileSync(txt, 'utf8') } : {}) };
}

/** Products of a folder: loose *_corr.tif, product folders (one level down) and ZIPs. */
function folderProducts(dir: string, fb: Feedback): Product[] {
  const out: Product[] = [];
  for (const e of listEntries(dir)) {
    if (e.kind === 'file' && CORR.test(e.name)) out.push(looseProduct(e.path));
    else if (e.kind === 'file' && ZIP.test(e.name)) out.push(...zipProducts(e.path));
    else if (e.kind === 'file' && /\.tiff?$/i.test(e.name)) fb.log('info', `${e.path}: not a *_corr.tif, skipped`);
    else if (e.kind === 'folder') {
      for (const f of listEntries(e.path)) if (f.kind === 'file' && CORR.test(f.name)) out.push(looseProduct(f.path));
    }
  }
  return out;
}

/** A folder is HyP3 input when it holds a ZIP or a *_corr.tif, directly or in a product folder. */
function holdsProducts(dir: string): boolean {
  return listEntries(dir).some(
    (e) =>
      (e.kind === 'file' && (ZIP.test(e.name) || CORR.test(e.name))) ||
      (e.kind === 'folder' && listEntries(e.path).some((f) => f.kind === 'file' && CORR.test(f.name))),
  );
}

/** The acquisition date of a granule name: its first YYYYMMDDTHHMMSS. */
function granuleDate(line: string | undefined): string | undefined {
  return line?.match(/(?<!\d)(\d{8})T\d{6}/)?.[1];
}

/** The pair of a product's parameter file (`Reference Granule: …`, `Secondary Granule: …`). */
export function parametersPair(text: string, what: string): Pair | undefined {
  const field = (key: string) => text.match(new RegExp(`^\\s*${key} Granule:\\s*(.+)$`, 'im'))?.[1];
  const a = granuleDate(field('Reference'));
  const b = granuleDate(field('Secondary'));
  return a && b ? parsePair(`${a}_${b}`, `${what} (Reference/Secondary Granule)`) : undefined;
}

function productPair(p: Product): Pair {
  const pair = parsePair(p.name, p.corr) ?? (p.parameters ? parametersPair(p.parameters, `${p.name}.txt`) : undefined);
  if (!pair) {
    throw new DpmError(
      `${p.corr}: HyP3 product '${p.name}' names no date pair and ` +
        (p.parameters ? 'its .txt has no Reference/Secondary Granule dates' : 'has no <product>.txt beside it'),
    );
  }
  return pair;
}

const localPath = (file: string) => extracted.get(file) ?? file;

async function findProducts(input: string, fb: Feedback): Promise<PairSource[]> {
  const products = entryKind(input) === 'folder' ? folderProducts(input, fb) : zipProducts(input);
  if (products.length === 0) throw new DpmError(`${input}: no HyP3 product (*_corr.tif, product folder or ZIP)`);
  const out: PairSource[] = [];
  for (const p of products) {
    throwIfCanceled(fb);
    const pair = productPair(p);
    const info = await readRasterInfo(localPath(p.corr));
    if (info.bandCount !== 1) throw new DpmError(`${p.corr}: ${info.bandCount} bands in a HyP3 coherence layer`);
    fb.log('info', `HyP3 product ${p.name}: pair ${pairKey(pair)} from ${p.corr}`);
    out.push({ file: p.corr, band: 0, pair, info: { ...info, source: p.corr }, reader: hyp3Reader });
  }
  return out;
}

export const hyp3Reader: PairReader = {
  name: 'HyP3 InSAR products',
  accepts: (input) => {
    const kind = entryKind(input);
    return kind === 'folder' ? holdsProducts(input) : kind === 'file' && ZIP.test(input);
  },
  findPairs: findProducts,
  async readBands(file, bands, nodata, window) {
    const path = localPath(file);
    const r = window
      ? await readRasterWindow(path, window, { nodata, companions: false, bands: [0] })
      : await readRaster(path, { nodata, companions: false });
    const [band] = r.bands;
    if (!band || bands.some((b) => b !== 0)) throw new DpmError(`${file}: a HyP3 coherence layer has one band`);
    return { bands: bands.map(() => band), georef: r.georef };
  },
};
