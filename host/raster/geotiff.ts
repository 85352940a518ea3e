// GeoTIFF reading (geotiff.js) and writing (cog.ts: our own cloud-optimized GeoTIFF writer — tiled 256×256,
// DEFLATE, internal overviews, GDAL's COG layout, GDAL_METADATA/GDAL_NODATA tags and GeoKeys, which GDAL/QGIS read).
//
// Georeferencing conventions
// - Map grid: Georef.geoTransform (GDAL order, upper-left corner of pixels) + Georef.epsg. Written as
//   ModelPixelScale+ModelTiepoint (or ModelTransformation when rotated) and GeoKeys (EPSG 4xxx → geographic,
//   anything else → projected, e.g. UTM 326xx/327xx). PixelIsPoint files are shifted by half a pixel on read, as GDAL does.
// - Radar geometry: Georef.lat/lon hold the WGS84 latitude/longitude of each pixel CENTRE. They are stored in two
//   float32 companion files beside the raster: `<name>.lat.tif` and `<name>.lon.tif` for `<name>.tif`
//   (see companionPaths). The raster itself references them the GDAL way, in its GEOLOCATION metadata domain
//   (X_DATASET = lon file, Y_DATASET = lat file, absolute paths because GDAL 3.6 resolves relative ones against the
//   working folder; PIXEL_CENTER convention), so `gdalwarp -geoloc` and QGIS can warp it; a grid of GCPs (cog.ts)
//   keeps GDAL's georeferencing when the folder is moved. readRaster picks the
//   companions up when present: the GEOLOCATION paths if they exist, else the same names beside the file (a moved
//   folder), else the naming convention. Use writeRaster(outs, finalPath, …) to write all three through an OutputSet;
//   writeGeoTiff writes exactly one file, the path it is given.
// - Per-band descriptions: GDAL_METADATA `<Item name="DESCRIPTION" sample="k" role="description">`; dataset-level
//   metadata: items with no sample and no domain. Nodata: GDAL_NODATA ("nan" for float outputs).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fromArrayBuffer, fromFile, type GeoTIFFImage } from 'geotiff';
import { DpmError, shortText } from '../core/errors.js';
import { memoryBudget, regularFileSize } from '../io/files.js';
import type { OutputSet } from '../io/outputs.js';
import { checkTiffLayout } from './tiff-checks.js';
import { type CogSpec, CogWriter, GcpCollector, type SampleType, writeTiff } from './cog.js';
import { attrOf, childrenNamed, findDeep, parseXml } from './xml.js';
import type { GeoTransform, Georef, Raster } from './types.js';
import { checkWindow, type Window, windowGeoTransform } from './window.js';

export interface ReadOptions {
  /** value that means "no data" (e.g. 0 for GAMMA coherence); overrides the file's GDAL_NODATA tag */
  nodata?: number;
  /** read the lat/lon companions of a radar-geometry raster (default true) */
  companions?: boolean;
}

export type { SampleType } from './cog.js';
export { writeTiff } from './cog.js';

export interface WriteOptions {
  /** sample type on disk (default float32); integer types are rounded and clamped, NaN → nodata (or 0) */
  type?: SampleType;
  /** nodata written to GDAL_NODATA: default "nan" for float32, none for integer types. NaN pixels are written as it. */
  nodata?: number;
  /** uint8 RGB(A): photometric RGB, and with 4 bands the last one is unassociated alpha (ExtraSamples = 2) */
  rgba?: boolean;
  /** extra dataset-level metadata items (merged over raster.metadata) */
  metadata?: Record<string, string>;
  /** final paths of the lat/lon companions to reference (absolute) in the GEOLOCATION domain;
   *  default: companionPaths(path). Only used when the raster is in radar geometry. */
  geolocation?: { lat: string; lon: string };
  /** tile edge in pixels (multiple of 16; default 256) */
  tileSize?: number;
  /** zlib level 1–9 (default 6) */
  level?: number;
  /** TIFF predictor before DEFLATE (GDAL's PREDICTOR=3 for float32, 2 for integers). Default: on for float32 (the
   *  COG convention for float data), off for integers. */
  predictor?: boolean;
  /** unit of every band (GDAL band unit type, e.g. 'degree'), or one per band */
  units?: string[];
  /** called before each band is written: a cancellation check for many-band rasters (TiffSpec.beforeBand) */
  beforeBand?: () => void;
}

/** Companion file names of a radar-geometry raster: `a/b.tif` → `a/b.lat.tif`, `a/b.lon.tif`. */
export function companionPaths(path: string): { lat: string; lon: string } {
  const stem = path.replace(/\.tiff?$/i, '');
  return { lat: `${stem}.lat.tif`, lon: `${stem}.lon.tif` };
}

// ───────────────────────────────────────────── reading ─────────────────────────────────────────────

const MAX_SAMPLES = 2 ** 31; // pixels × bands we are willing to hold (8 GiB as float32)

/** longest GDAL_METADATA we parse: GDAL writes a few KB; a hostile 0.9 MB one took 7.7 s with the old regexes */
const MAX_METADATA_CHARS = 1 << 20;

/** width×height×bands for a message: a corrupt size tag can hold thousands of values, so each is cut short */
function sizeText(...dims: unknown[]): string {
  return dims.map((d) => shortText(d, 24)).join('×');
}

/** Reads a GeoTIFF as float32 bands, nodata → NaN, with descriptions and georeferencing. */
export async function readRaster(path: string, opts: ReadOptions = {}): Promise<Raster> {
  let bytes: Buffer;
  // read whole below: a file past what memory allows is refused first
  const size = regularFileSize(path, 'raster');
  if (size > memoryBudget())
    throw new DpmError(`${path}: raster of ${size} bytes is more than this machine can hold in memory`);
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new DpmError(
      `${path}: cannot read raster (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  try {
    return await decodeRaster(path, bytes, opts);
  } catch (err) {
    if (err instanceof DpmError) throw err;
    throw new DpmError(`${path}: not a readable GeoTIFF (corrupt or truncated: ${shortText(err)})`);
  }
}

/** What a GeoTIFF holds, without reading its pixels: size, band count and descriptions, georeferencing. */
export interface RasterInfo {
  width: number;
  height: number;
  bandCount: number;
  descriptions: string[];
  /** geotransform/CRS only (lat/lon companions are not read) */
  georef: Georef;
  metadata: Record<string, string>;
  source: string;
}

export async function readRasterInfo(path: string): Promise<RasterInfo> {
  regularFileSize(path, 'raster');
  let tiff: Awaited<ReturnType<typeof fromFile>>;
  try {
    tiff = await fromFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DpmError(
      code ? `${path}: cannot read raster (${code})` : `${path}: not a readable GeoTIFF (${shortText(err)})`,
    );
  }
  try {
    const image = await tiff.getImage(0);
    const fd = image.getFileDirectory();
    const width = image.getWidth();
    const height = image.getHeight();
    const bandCount = image.getSamplesPerPixel();
    if (!(width > 0 && height > 0 && bandCount > 0))
      throw new DpmError(`${path}: empty image (${sizeText(width, height, bandCount)})`);
    const md = await readGdalMetadata(path, fd);
    const georef: Georef = {};
    const gt = readGeoTransform(image);
    if (gt) georef.geoTransform = gt;
    const epsg = readEpsg(image);
    if (epsg !== undefined) georef.epsg = epsg;
    const descriptions = Array.from({ length: bandCount }, (_, b) => md.band.get(b)?.description ?? '');
    return { width, height, bandCount, descriptions, georef, metadata: Object.fromEntries(md.dataset), source: path };
  } catch (err) {
    if (err instanceof DpmError) throw err;
    throw new DpmError(`${path}: not a readable GeoTIFF (corrupt or truncated: ${shortText(err)})`);
  } finally {
    await tiff.close();
  }
}

/** A GeoTIFF open for reading rows in blocks: geotiff.js decodes only the tiles (strips) a window touches. */
export interface RasterRows extends RasterInfo {
  /** rows [r0, r1) of every band, or of band `band` alone: float32, nodata → NaN, band scale and offset applied */
  read(r0: number, r1: number, band?: number): Promise<Float32Array[]>;
  /** radar geometry (opened with `companions`): rows [r0, r1) of its lat/lon lookups */
  latLon?: (r0: number, r1: number) => Promise<{ lat: Float32Array; lon: Float32Array }>;
  close(): Promise<void>;
}

/** Opens `path` for row-block reads (readRasterInfo's facts). With `companions`, a raster without a geotransform
 *  also opens its lat/lon companions (found as readRaster finds them) for latLon(). */
export async function openRasterRows(path: string, opts: { companions?: boolean } = {}): Promise<RasterRows> {
  const info = await readRasterInfo(path);
  // the layout and block tables are checked; the image is never decoded whole (0 bytes held per sample)
  const { tiff, image, format } = await openBlocks(path);
  const opened: RasterRows[] = [];
  const closeAll = async () => {
    await tiff.close();
    for (const r of opened) await r.close();
  };
  try {
    const fd = image.getFileDirectory();
    const md = await readGdalMetadata(path, fd);
    const nodata = parseNodata(fd.hasTag('GDAL_NODATA') ? String(fd.getValue('GDAL_NODATA')) : undefined);
    const { width, height, bandCount } = info;
    const read = async (r0: number, r1: number, band?: number) => {
      const samples = band === undefined ? [...Array(bandCount).keys()] : [band];
      const raw = (await image.readRasters({
        window: [0, r0, width, r1],
        samples,
        interleave: false,
      })) as unknown as ArrayLike<number>[];
      return raw.map((src, k) => toFloat32Band(src, nodata, format === 3, md.band.get(samples[k] ?? 0)));
    };
    const rows: RasterRows = { ...info, read, close: closeAll };
    const found = opts.companions && !info.georef.geoTransform && findCompanions(path, width, height, md.geolocation);
    if (found) {
      const open = (p: string, what: string) => companion(path, p, what, width, height, (q) => openRasterRows(q));
      const lat = await open(found.lat, 'latitude');
      opened.push(lat);
      const lon = await open(found.lon, 'longitude');
      opened.push(lon);
      const band0 = async (r: RasterRows, r0: number, r1: number) => (await r.read(r0, r1, 0))[0] ?? new Float32Array();
      rows.latLon = async (r0, r1) => ({ lat: await band0(lat, r0, r1), lon: await band0(lon, r0, r1) });
    }
    return rows;
  } catch (err) {
    await closeAll();
    throw unreadable(path, err);
  }
}

const unreadable = (path: string, err: unknown) =>
  err instanceof DpmError
    ? err
    : new DpmError(`${path}: not a readable GeoTIFF (corrupt or truncated: ${shortText(err)})`);

/** `path` open for reads of blocks (the caller closes `tiff`): its layout and block tables checked; never decoded
 *  whole (0 bytes held per sample: the caller sizes what it decodes). */
async function openBlocks(path: string) {
  const size = regularFileSize(path, 'raster');
  const tiff = await fromFile(path);
  try {
    const image = await tiff.getImage(0);
    const format = image.getSampleFormat(0);
    if (format === 5 || format === 6) throw new DpmError(`${path}: complex samples; read SLCs with the SAR readers`);
    await checkTiffLayout(path, image, size, 0);
    return { tiff, image, format };
  } catch (err) {
    await tiff.close();
    throw unreadable(path, err);
  }
}

export interface WindowReadOptions extends ReadOptions {
  /** the bands to decode, 0-based (default every band); none: only the lat/lon companions' window */
  bands?: number[];
}

/**
 * The window's pixels of `path`, as readRaster's raster cropped to it (float32, nodata → NaN, scale/offset,
 * descriptions, metadata), decoding only the tiles (strips) the window touches; in radar geometry the same window of
 * the lat/lon companions. The geotransform is the window's. A window outside the raster is a DpmError naming `path`.
 */
export async function readRasterWindow(path: string, window: Window, opts: WindowReadOptions = {}): Promise<Raster> {
  const info = await readRasterInfo(path);
  checkWindow(path, window, info.width, info.height);
  const picked = opts.bands ?? [...Array(info.bandCount).keys()];
  const missing = picked.find((b) => !(Number.isInteger(b) && b >= 0 && b < info.bandCount));
  if (missing !== undefined) throw new DpmError(`${path}: no band ${missing + 1} (it has ${info.bandCount})`);
  const { r0, r1, c0, c1 } = window;
  const width = c1 - c0,
    height = r1 - r0;
  if (width * height * picked.length * 4 > memoryBudget())
    throw new DpmError(`${path}: a ${width} × ${height} window of ${picked.length} bands is more than memory allows`);
  const { tiff, image, format } = await openBlocks(path); // only the window is decoded (its size checked above)
  try {
    const fd = image.getFileDirectory();
    const md = await readGdalMetadata(path, fd);
    const nodata =
      opts.nodata ?? parseNodata(fd.hasTag('GDAL_NODATA') ? String(fd.getValue('GDAL_NODATA')) : undefined);
    const raw = picked.length
      ? ((await image.readRasters({
          window: [c0, r0, c1, r1],
          samples: picked,
          interleave: false,
        })) as unknown as ArrayLike<number>[])
      : [];
    const bands = raw.map((src, k) => {
      if (src.length !== width * height)
        throw new DpmError(`${path}: a window of band ${(picked[k] ?? 0) + 1} decoded to ${src.length} values`);
      return toFloat32Band(src, nodata, format === 3, md.band.get(picked[k] ?? -1));
    });
    const georef: Georef = {};
    const gt = info.georef.geoTransform;
    if (gt) georef.geoTransform = windowGeoTransform(gt, window);
    if (info.georef.epsg !== undefined) georef.epsg = info.georef.epsg;
    if (!gt && opts.companions !== false) {
      const geo = await readCompanionWindows(path, info.width, info.height, md.geolocation, window);
      if (geo) Object.assign(georef, geo);
    }
    const descriptions = picked.map((b) => info.descriptions[b] ?? '');
    const raster: Raster = { width, height, bands, descriptions, georef, source: path };
    if (Object.keys(info.metadata).length) raster.metadata = info.metadata;
    return raster;
  } catch (err) {
    throw unreadable(path, err);
  } finally {
    await tiff.close();
  }
}

/** readCompanions for a window: each companion sized from its header, then only the window decoded. */
async function readCompanionWindows(
  path: string,
  width: number,
  height: number,
  geoloc: Map<string, string>,
  window: Window,
): Promise<Pick<Georef, 'lat' | 'lon'> | undefined> {
  const found = findCompanions(path, width, height, geoloc);
  if (!found) return undefined;
  const part = (q: string) => readRasterWindow(q, window, { companions: false, bands: [0] });
  const read = async (p: string, what: string) => {
    await companion(path, p, what, width, height, readRasterInfo);
    return (await companion(path, p, what, window.c1 - window.c0, window.r1 - window.r0, part)).bands[0];
  };
  return { lat: await read(found.lat, 'latitude'), lon: await read(found.lon, 'longitude') };
}

async function decodeRaster(path: string, bytes: Buffer, opts: ReadOptions): Promise<Raster> {
  if (bytes.length < 8) throw new DpmError(`${path}: not a GeoTIFF (${bytes.length} bytes)`);
  const magic = bytes.toString('latin1', 0, 2);
  const version = magic === 'II' ? bytes.readUInt16LE(2) : magic === 'MM' ? bytes.readUInt16BE(2) : -1;
  if (version !== 42 && version !== 43) throw new DpmError(`${path}: not a TIFF file (bad header)`);

  checkFirstIfd(path, bytes, magic === 'II', version === 43);
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const tiff = await fromArrayBuffer(ab);
  const image = await tiff.getImage(0);
  const width = image.getWidth();
  const height = image.getHeight();
  const spp = image.getSamplesPerPixel();
  if (!(width > 0 && height > 0 && spp > 0))
    throw new DpmError(`${path}: empty image (${sizeText(width, height, spp)})`);
  if (width * height * spp > MAX_SAMPLES)
    throw new DpmError(`${path}: image too large (${sizeText(width, height, spp)})`);
  const format = image.getSampleFormat(0);
  if (format === 5 || format === 6) throw new DpmError(`${path}: complex samples; read SLCs with the SAR readers`);
  await checkTiffLayout(path, image, bytes.length, 4);

  const fd = image.getFileDirectory();
  const md = await readGdalMetadata(path, fd);
  const nodata = opts.nodata ?? parseNodata(fd.hasTag('GDAL_NODATA') ? String(fd.getValue('GDAL_NODATA')) : undefined);

  const raw = (await image.readRasters({ interleave: false })) as unknown as ArrayLike<number>[];
  if (raw.length !== spp) throw new DpmError(`${path}: decoded ${raw.length} of ${spp} bands`);
  const bands: Float32Array[] = [];
  for (const [b, src] of raw.entries()) {
    if (src.length !== width * height)
      throw new DpmError(`${path}: band ${b + 1} decoded to ${src.length} values, expected ${width * height}`);
    bands.push(toFloat32Band(src, nodata, format === 3, md.band.get(b)));
  }

  const georef: Georef = {};
  const gt = readGeoTransform(image);
  if (gt) georef.geoTransform = gt;
  const epsg = readEpsg(image);
  if (epsg !== undefined) georef.epsg = epsg;
  if (!gt && opts.companions !== false) {
    const geo = await readCompanions(path, width, height, md.geolocation);
    if (geo) Object.assign(georef, geo);
  }
  const descriptions = bands.map((_, b) => md.band.get(b)?.description ?? '');
  const raster: Raster = { width, height, bands, descriptions, georef, source: path };
  if (md.dataset.size) raster.metadata = Object.fromEntries(md.dataset);
  return raster;
}

/** A decoded band as float32: nodata → NaN, GDAL scale/offset applied (in place when it is float32 already). */
function toFloat32Band(
  src: ArrayLike<number>,
  nodata: number | undefined,
  isFloat: boolean,
  band: { scale?: string; offset?: string } | undefined,
): Float32Array {
  const out = src instanceof Float32Array ? src : Float32Array.from(src);
  const ndv = nodata === undefined || Number.isNaN(nodata) ? undefined : isFloat ? Math.fround(nodata) : nodata;
  const scale = Number(band?.scale ?? 1);
  const offset = Number(band?.offset ?? 0);
  if (ndv !== undefined || scale !== 1 || offset !== 0) {
    out.forEach((v, i) => {
      // out is src itself or its float32 copy: v is src[i] (as float32, which is what nodata was rounded to)
      out[i] = v === ndv ? NaN : v * scale + offset;
    });
  }
  return out;
}

/** The first IFD and every value it points to must lie inside the file (a truncated file fails here). */
function checkFirstIfd(path: string, b: Buffer, le: boolean, big: boolean): void {
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (o: number) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
  const fail = (what: string) => {
    throw new DpmError(`${path}: truncated or corrupt TIFF (${what}; file has ${b.length} bytes)`);
  };
  if (big && b.length < 16) fail('BigTIFF header cut short');
  const ifd = big ? u64(8) : u32(4);
  const head = big ? 8 : 2;
  const entrySize = big ? 20 : 12;
  if (ifd + head > b.length) fail(`directory at byte ${ifd} is past the end`);
  const n = big ? u64(ifd) : u16(ifd);
  if (ifd + head + n * entrySize > b.length) fail(`directory of ${n} entries runs past the end`);
  const sizes: Record<number, number> = {
    1: 1,
    2: 1,
    3: 2,
    4: 4,
    5: 8,
    6: 1,
    7: 1,
    8: 2,
    9: 4,
    10: 8,
    11: 4,
    12: 8,
    16: 8,
    17: 8,
    18: 8,
  };
  for (let i = 0; i < n; i++) {
    const at = ifd + head + i * entrySize;
    const size = sizes[u16(at + 2)] ?? 1;
    const count = big ? u64(at + 4) : u32(at + 4);
    const bytesLen = size * count;
    if (bytesLen <= (big ? 8 : 4)) continue;
    const off = big ? u64(at + 12) : u32(at + 8);
    if (off + bytesLen > b.length) fail(`tag ${u16(at)} values end at byte ${off + bytesLen}`);
  }
}

function parseNodata(tag: string | undefined): number | undefined {
  if (tag === undefined) return undefined;
  const s = tag.replace(/\0/g, '').trim().toLowerCase();
  if (s === '') return undefined;
  if (s === 'nan' || s === '-nan') return NaN;
  if (s === 'inf' || s === '+inf') return Infinity;
  if (s === '-inf') return -Infinity;
  const v = Number(s);
  return Number.isNaN(v) ? undefined : v;
}

interface GdalMetadata {
  dataset: Map<string, string>;
  band: Map<number, { description?: string; scale?: string; offset?: string }>;
  geolocation: Map<string, string>;
}

// GDAL escapes item values twice (CPLEscapeString, then the XML serialiser): the parser undoes the second, we undo
// the first; writing does both.
const unescapeXml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

/** The GDAL_METADATA tag of `fd`, bounded in size and parsed. */
async function readGdalMetadata(path: string, fd: ReturnType<GeoTIFFImage['getFileDirectory']>): Promise<GdalMetadata> {
  if (!fd.hasTag('GDAL_METADATA')) return parseGdalMetadata('', path);
  const text = String(await fd.loadValue('GDAL_METADATA'));
  if (text.length > MAX_METADATA_CHARS)
    throw new DpmError(`${path}: GDAL_METADATA tag is ${text.length} characters (at most ${MAX_METADATA_CHARS} read)`);
  return parseGdalMetadata(text.replace(/\0+$/, ''), path);
}

/** GDAL_METADATA XML: <Item name=".." [sample="k"] [role=".."] [domain=".."]>value</Item>. */
export function parseGdalMetadata(xml: string, where = 'GDAL_METADATA'): GdalMetadata {
  const md: GdalMetadata = { dataset: new Map(), band: new Map(), geolocation: new Map() };
  if (xml.trim() === '') return md;
  const root = findDeep(parseXml(xml, `${where}: GDAL_METADATA`), 'GDALMetadata');
  for (const item of root ? childrenNamed(root, 'Item') : []) {
    const name = attrOf(item, 'name');
    if (!name) continue;
    const value = unescapeXml(item.text);
    const domain = attrOf(item, 'domain') ?? '';
    const sample = attrOf(item, 'sample');
    if (sample !== undefined) {
      const k = Number(sample);
      if (!Number.isInteger(k) || domain !== '') continue;
      const entry = md.band.get(k) ?? {};
      const role = attrOf(item, 'role');
      if (role === 'description') entry.description = value;
      else if (role === 'scale') entry.scale = value;
      else if (role === 'offset') entry.offset = value;
      md.band.set(k, entry);
    } else if (domain === 'GEOLOCATION') md.geolocation.set(name, value);
    else if (domain === '') md.dataset.set(name, value);
  }
  return md;
}

function readGeoTransform(image: GeoTIFFImage): GeoTransform | undefined {
  const fd = image.getFileDirectory();
  const tie = fd.getValue('ModelTiepoint') as ArrayLike<number> | undefined;
  const scale = fd.getValue('ModelPixelScale') as ArrayLike<number> | undefined;
  const mt = fd.getValue('ModelTransformation') as ArrayLike<number> | undefined;
  let gt: GeoTransform | undefined;
  if (mt && mt.length >= 16) {
    const [a = NaN, b = NaN, , c = NaN, d = NaN, e = NaN, , f = NaN] = Array.from(mt);
    gt = [c, a, b, f, d, e];
  } else if (tie && tie.length >= 6 && scale && scale.length >= 2) {
    const [i = NaN, j = NaN, , x = NaN, y = NaN] = Array.from(tie);
    const [sx = NaN, sy = NaN] = Array.from(scale);
    gt = [x - i * sx, sx, 0, y + j * sy, 0, -sy];
  }
  if (!gt?.every(Number.isFinite)) return undefined;
  // PixelIsPoint: the tie point is a pixel centre; GDAL shifts the transform to the corner by half a pixel.
  if (image.getGeoKeys()?.GTRasterTypeGeoKey === 2) {
    gt = [gt[0] - 0.5 * gt[1] - 0.5 * gt[2], gt[1], gt[2], gt[3] - 0.5 * gt[4] - 0.5 * gt[5], gt[4], gt[5]];
  }
  return gt;
}

function readEpsg(image: GeoTIFFImage): number | undefined {
  const keys = image.getGeoKeys();
  if (!keys) return undefined;
  for (const k of ['ProjectedCSTypeGeoKey', 'GeographicTypeGeoKey'] as const) {
    const v = Number(keys[k]);
    if (Number.isInteger(v) && v > 0 && v !== 32767) return v;
  }
  return undefined;
}

/** bytes a lat/lon companion may hold beyond its pixels (TIFF header, metadata, tables) */
const COMPANION_SLACK = 16 * 2 ** 20;

/** The lat/lon companion files of a radar-geometry raster, found and checked (undefined when it has none). */
function findCompanions(
  path: string,
  width: number,
  height: number,
  geoloc: Map<string, string>,
): { lat: string; lon: string } | undefined {
  const dir = dirname(path);
  const x = geoloc.get('X_DATASET');
  const y = geoloc.get('Y_DATASET');
  const candidates: { lat: string; lon: string }[] = [];
  if (x && y) {
    candidates.push({ lon: resolve(dir, x), lat: resolve(dir, y) });
    candidates.push({ lon: join(dir, basename(x)), lat: join(dir, basename(y)) });
  }
  candidates.push(companionPaths(path));
  const found = candidates.find((c) => existsSync(c.lat) && existsSync(c.lon));
  if (!found) {
    if (x && y)
      throw new DpmError(`${path}: its geolocation files ${shortText(x, 200)} and ${shortText(y, 200)} are missing`);
    return undefined;
  }
  // named inside the file: untrusted (X_DATASET=/dev/zero grew memory without end; a FIFO blocked forever)
  // and sized: a companion holds one float64 (at most) per pixel, with room for a header and overviews; a huge
  // regular file would otherwise be read whole before its size was known to be wrong
  const most = Math.min(width * height * 16 + COMPANION_SLACK, memoryBudget());
  for (const [p, what] of [
    [found.lat, 'latitude'],
    [found.lon, 'longitude'],
  ] as const) {
    const size = regularFileSize(p, `${what} file named by ${path}`);
    if (size > most)
      throw new DpmError(
        `${path}: its ${what} file ${p} is ${size} bytes, more than a ${width} × ${height} grid needs (${most})`,
      );
  }
  // a path named inside the file: untrusted
  if (resolve(found.lat) === resolve(path) || resolve(found.lon) === resolve(path))
    throw new DpmError(`${path}: its GEOLOCATION metadata names the raster itself`);
  return found;
}

/** Reads (or opens for rows) a companion, naming the raster that pointed there in errors (/etc/passwd alone says
 *  nothing), and checks its size against the raster's. */
async function companion<T extends { width: number; height: number }>(
  path: string,
  p: string,
  what: string,
  width: number,
  height: number,
  open: (p: string) => Promise<T>,
): Promise<T> {
  let r: T;
  try {
    r = await open(p);
  } catch (err) {
    if (err instanceof DpmError) throw new DpmError(`${path}: its ${what} file: ${err.message}`);
    throw err;
  }
  if (r.width !== width || r.height !== height) {
    throw new DpmError(
      `${p}: ${what} companion of ${path} is ${r.width}×${r.height}, the raster is ${width}×${height}`,
    );
  }
  return r;
}

async function readCompanions(
  path: string,
  width: number,
  height: number,
  geoloc: Map<string, string>,
): Promise<Pick<Georef, 'lat' | 'lon'> | undefined> {
  const found = findCompanions(path, width, height, geoloc);
  if (!found) return undefined;
  const read = async (p: string, what: string) =>
    (await companion(path, p, what, width, height, (q) => readRaster(q, { companions: false }))).bands[0];
  return { lat: await read(found.lat, 'latitude'), lon: await read(found.lon, 'longitude') };
}

// ───────────────────────────────────────────── writing ─────────────────────────────────────────────

const WGS84_WKT =
  'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],' +
  'AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],' +
  'UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]]';

/** GEOLOCATION metadata items that point GDAL at lat/lon companion files (absolute paths: GDAL 3.6 resolves
 *  relative ones against the working folder, not the raster's). */
export function geolocationItems(c: { lat: string; lon: string }): Record<string, string> {
  return {
    SRS: WGS84_WKT,
    X_DATASET: resolve(c.lon),
    X_BAND: '1',
    Y_DATASET: resolve(c.lat),
    Y_BAND: '1',
    PIXEL_OFFSET: '0',
    LINE_OFFSET: '0',
    PIXEL_STEP: '1',
    LINE_STEP: '1',
    GEOREFERENCING_CONVENTION: 'PIXEL_CENTER',
  };
}

/** What a raster is, without its pixels: what a COG's tags need. */
export interface RasterShape {
  width: number;
  height: number;
  bandCount: number;
  descriptions: string[];
  metadata?: Record<string, string>;
  georef: Georef;
}

/** The COG spec (everything but the pixels) of `r` written to `path`; `radar`: it references lat/lon companions. */
function cogSpecOf(path: string, r: RasterShape, radar: boolean, opts: WriteOptions): CogSpec {
  const metadata = { ...(r.metadata ?? {}), ...(opts.metadata ?? {}) };
  const geolocation = radar ? geolocationItems(opts.geolocation ?? companionPaths(path)) : {};
  const g = r.georef;
  return {
    width: r.width,
    height: r.height,
    bandCount: r.bandCount,
    type: opts.type ?? 'float32',
    nodata: opts.nodata,
    rgba: opts.rgba ?? false,
    descriptions: r.descriptions,
    metadata,
    geolocation,
    geoTransform: g.geoTransform,
    epsg: g.epsg,
    tileSize: opts.tileSize ?? 256,
    level: opts.level ?? 6,
    predictor: opts.predictor ?? (opts.type ?? 'float32') === 'float32',
    ...(opts.units ? { units: opts.units } : {}),
  };
}

/** Writes `raster` (and nothing else) to `path`. Radar-geometry rasters reference their lat/lon companions,
 *  which the caller writes (writeRaster does both). */
export async function writeGeoTiff(path: string, raster: Raster, opts: WriteOptions = {}): Promise<void> {
  const { width, height, bands } = raster;
  if (bands.length === 0) throw new DpmError(`${path}: nothing to write (no bands)`);
  for (const b of bands) {
    if (b.length !== width * height)
      throw new Error(`internal: band of ${b.length} values for ${width}×${height} (${path})`);
  }
  const g = raster.georef;
  const radar = !g.geoTransform && g.lat !== undefined && g.lon !== undefined;
  const spec = cogSpecOf(path, { ...raster, bandCount: bands.length }, radar, opts);
  const latLon = radar && g.lat && g.lon ? { latLon: { lat: g.lat, lon: g.lon } } : {};
  writeTiff(path, { ...spec, bands, ...latLon, ...(opts.beforeBand ? { beforeBand: opts.beforeBand } : {}) });
}

/** Companion description and options: WGS84 degrees of pixel centres. */
const COMPANION = {
  lat: 'latitude (WGS84, pixel centre)',
  lon: 'longitude (WGS84, pixel centre)',
  opts: { nodata: NaN, units: ['degree'] } satisfies WriteOptions,
};

/**
 * A raster written by row blocks through an OutputSet (writeRaster's streaming twin): the GeoTIFF at finalPath and,
 * in radar geometry, its lat/lon companions, whose rows also give the GCPs. Memory: a row of tiles per band.
 */
export class RasterRowWriter {
  private readonly main: CogWriter;
  private readonly geo?: { lat: CogWriter; lon: CogWriter; gcps: GcpCollector };
  readonly paths: string[];

  /** `radar`: the raster has lat/lon lookups (given with latLon()); shape.georef's geotransform/CRS otherwise. */
  constructor(outs: OutputSet, finalPath: string, shape: RasterShape, radar: boolean, opts: WriteOptions = {}) {
    const c = companionPaths(finalPath);
    const path = outs.path(finalPath);
    this.main = new CogWriter(path, cogSpecOf(path, shape, radar, radar ? { ...opts, geolocation: c } : opts));
    this.paths = radar ? [finalPath, c.lat, c.lon] : [finalPath];
    if (!radar) return;
    const one = (file: string, what: string) => {
      const p = outs.path(file);
      const s = { width: shape.width, height: shape.height, bandCount: 1, descriptions: [what], georef: {} };
      return new CogWriter(p, cogSpecOf(p, s, false, COMPANION.opts));
    };
    this.geo = {
      lat: one(c.lat, COMPANION.lat),
      lon: one(c.lon, COMPANION.lon),
      gcps: new GcpCollector(shape.width, shape.height),
    };
  }

  /** The next `count` rows of every band, or of band `band` alone (CogWriter.write). */
  write(rows: ArrayLike<number>[], count: number, band?: number): void {
    this.main.write(rows, count, band);
  }

  /** The next `count` rows of the lat/lon lookups (radar geometry). */
  latLon(lat: Float32Array, lon: Float32Array, count: number): void {
    if (!this.geo) throw new Error('internal: lat/lon rows for a raster on a map grid');
    this.geo.lat.write([lat], count);
    this.geo.lon.write([lon], count);
    this.geo.gcps.add(lat, lon, count);
  }

  finish(): string[] {
    this.main.finish(this.geo?.gcps.gcps);
    this.geo?.lat.finish();
    this.geo?.lon.finish();
    return this.paths;
  }

  /** Drops the scratch files (the OutputSet removes the temporaries). */
  abort(): void {
    this.main.abort();
    this.geo?.lat.abort();
    this.geo?.lon.abort();
  }
}

/** Writes `raster` to outs.path(finalPath) and, in radar geometry, its lat/lon companions beside it (also through
 *  the OutputSet, so all three appear together or not at all). Returns the final paths. */
export async function writeRaster(
  outs: OutputSet,
  finalPath: string,
  raster: Raster,
  opts: WriteOptions = {},
): Promise<string[]> {
  const g = raster.georef;
  const radar = !g.geoTransform && g.lat && g.lon;
  const c = companionPaths(finalPath);
  await writeGeoTiff(outs.path(finalPath), raster, radar ? { ...opts, geolocation: c } : opts);
  if (!radar) return [finalPath];
  const one = (data: Float32Array, what: string): Raster => ({
    width: raster.width,
    height: raster.height,
    bands: [data],
    descriptions: [what],
    georef: {},
  });
  await writeGeoTiff(outs.path(c.lat), one(g.lat!, COMPANION.lat), COMPANION.opts);
  await writeGeoTiff(outs.path(c.lon), one(g.lon!, COMPANION.lon), COMPANION.opts);
  return [finalPath, c.lat, c.lon];
}
