// Header parsers for raw binary rasters: GDAL VRT (VRTRawRasterBand) and ISCE2 image XML (`*.xml`).
// Both yield a RawSpec: where band 1's samples are in which file, in which type and byte order.
// Parsing is tolerant of layout (attribute order, whitespace, case of names) and strict about content: any missing
// or impossible value is one DpmError naming the header file and the problem.
import { dirname, isAbsolute, join, resolve, basename } from 'node:path';
import { existsSync } from 'node:fs';
import { DpmError, shortText } from '../core/errors.js';
import { attrOf, child, childrenNamed, findDeep, parseXml, type XmlElement } from '../raster/xml.js';
import type { GeoTransform } from '../raster/types.js';

export type DataType =
  | 'CFloat32'
  | 'CFloat64'
  | 'CInt16'
  | 'CInt32'
  | 'Float32'
  | 'Float64'
  | 'Int16'
  | 'Int32'
  | 'UInt16'
  | 'Byte';

/** Bytes per sample and whether it is complex. */
export const DATA_TYPES: Record<DataType, { bytes: number; complex: boolean }> = {
  CFloat32: { bytes: 8, complex: true },
  CFloat64: { bytes: 16, complex: true },
  CInt16: { bytes: 4, complex: true },
  CInt32: { bytes: 8, complex: true },
  Float32: { bytes: 4, complex: false },
  Float64: { bytes: 8, complex: false },
  Int16: { bytes: 2, complex: false },
  Int32: { bytes: 4, complex: false },
  UInt16: { bytes: 2, complex: false },
  Byte: { bytes: 1, complex: false },
};

export interface RawSpec {
  /** the raw data file */
  file: string;
  /** the header it was described by (for messages) */
  header: string;
  width: number;
  height: number;
  dataType: DataType;
  littleEndian: boolean;
  imageOffset: number;
  pixelOffset: number;
  lineOffset: number;
  geoTransform?: GeoTransform;
  epsg?: number;
}

function fail(header: string, what: string): never {
  throw new DpmError(`${header}: ${what}`);
}

function positiveInt(header: string, name: string, v: string | undefined): number {
  const n = v === undefined ? NaN : Number(v.trim());
  if (!Number.isInteger(n) || n <= 0)
    fail(
      header,
      `${name} must be a positive whole number, got ${v === undefined ? 'nothing' : `'${shortText(v.trim(), 60)}'`}`,
    );
  return n;
}

function nonNegInt(header: string, name: string, v: string | undefined, dflt: number): number {
  if (v === undefined || v.trim() === '') return dflt;
  const n = Number(v.trim());
  if (!Number.isInteger(n) || n < 0)
    fail(header, `${name} must be a whole number ≥ 0, got '${shortText(v.trim(), 60)}'`);
  return n;
}

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
    .trim();
}

function normaliseType(header: string, t: string | undefined): DataType {
  const key = Object.keys(DATA_TYPES).find((k) => k.toLowerCase() === (t ?? '').trim().toLowerCase());
  if (!key)
    fail(
      header,
      `data type '${shortText(t ?? '', 60)}' is not supported (supported: ${Object.keys(DATA_TYPES).join(', ')})`,
    );
  return key as DataType;
}

/** EPSG code from a VRT/GDAL SRS string: "EPSG:4326", or the last AUTHORITY["EPSG","…"] of a WKT. */
export function epsgFromSrs(srs: string | undefined): number | undefined {
  if (!srs) return undefined;
  const s = unescapeXml(srs);
  const direct = /^\s*EPSG:(\d+)\s*$/i.exec(s);
  if (direct) return Number(direct[1]);
  // the CRS's own id comes last in WKT
  const authority = [...s.matchAll(/AUTHORITY\s*\[\s*"EPSG"\s*,\s*"(\d+)"\s*\]/gi)].at(-1);
  if (authority) return Number(authority[1]);
  const id = [...s.matchAll(/ID\s*\[\s*"EPSG"\s*,\s*(\d+)\s*\]/gi)].at(-1);
  return id ? Number(id[1]) : undefined;
}

/** The parts every VRT we read starts with: the dataset element, its size and its first band. */
function vrtDataset(text: string, h: string) {
  if (!/<VRTDataset\b/i.test(text)) fail(h, 'not a GDAL VRT (no <VRTDataset> element)');
  if (!/<\/VRTDataset\s*>/i.test(text)) fail(h, 'VRT is truncated (no closing </VRTDataset>)');
  const ds = findDeep(parseXml(text, h), 'VRTDataset');
  if (!ds) fail(h, 'not a GDAL VRT (no <VRTDataset> element)');
  const width = positiveInt(h, 'rasterXSize', attrOf(ds, 'rasterXSize'));
  const height = positiveInt(h, 'rasterYSize', attrOf(ds, 'rasterYSize'));
  const band = child(ds, 'VRTRasterBand');
  if (!band) fail(h, 'no <VRTRasterBand>');
  return { ds, width, height, band };
}

/** The VRT's GeoTransform: six finite numbers, or a DpmError when `strict` (else undefined). */
function vrtGeoTransform(ds: XmlElement, h: string, strict: boolean): GeoTransform | undefined {
  const gt = child(ds, 'GeoTransform');
  if (!gt) return undefined;
  const v = gt.text.split(',').map((x) => Number(x.trim()));
  if (v.length === 6 && v.every((x) => Number.isFinite(x))) return v as GeoTransform;
  if (strict) fail(h, `GeoTransform must be 6 numbers, got '${shortText(gt.text.trim(), 120)}'`);
  return undefined;
}

/** A source file named by a VRT: relative names (or relativeToVRT="1") are resolved against the VRT's folder. */
function sourceFile(src: XmlElement | undefined, vrtPath: string, where: string): string {
  const name = src?.text.trim() ?? '';
  if (!name) fail(where, 'no <SourceFilename>');
  if (name.includes('\0')) fail(where, 'SourceFilename contains a NUL byte');
  const relative = (attrOf(src!, 'relativeToVRT') ?? '0').trim() === '1';
  return relative || !isAbsolute(name) ? resolve(dirname(vrtPath), name) : name;
}

/** Parses a GDAL VRT whose first band is a VRTRawRasterBand (mosaics: parseMosaicVrt). */
export function parseVrt(text: string, vrtPath: string): RawSpec {
  const h = vrtPath;
  const { ds, width, height, band } = vrtDataset(text, h);
  const sub = attrOf(band, 'subClass');
  if (sub !== 'VRTRawRasterBand') {
    fail(
      h,
      `band 1 is a ${sub ?? 'VRTSourcedRasterBand'} without sources; supported: VRTRawRasterBand (a raw binary file) or a mosaic of unresampled SimpleSource/ComplexSource entries`,
    );
  }
  const dataType = normaliseType(h, attrOf(band, 'dataType'));
  let file = sourceFile(child(band, 'SourceFilename'), vrtPath, h);
  // tolerate stacks moved with their headers: an absolute path that is gone, but the file is beside the VRT
  if (!existsSync(file) && existsSync(join(dirname(vrtPath), basename(file))))
    file = join(dirname(vrtPath), basename(file));
  const bo = (child(band, 'ByteOrder')?.text ?? 'LSB').trim().toUpperCase();
  if (bo !== 'LSB' && bo !== 'MSB') fail(h, `ByteOrder must be LSB or MSB, got '${shortText(bo, 60)}'`);
  const bytes = DATA_TYPES[dataType].bytes;
  const imageOffset = nonNegInt(h, 'ImageOffset', child(band, 'ImageOffset')?.text, 0);
  const pixelOffset = nonNegInt(h, 'PixelOffset', child(band, 'PixelOffset')?.text, bytes);
  const lineOffset = nonNegInt(h, 'LineOffset', child(band, 'LineOffset')?.text, pixelOffset * width);
  if (pixelOffset < bytes)
    fail(h, `PixelOffset ${pixelOffset} is smaller than one ${dataType} sample (${bytes} bytes)`);
  if (lineOffset < (width - 1) * pixelOffset + bytes)
    fail(h, `LineOffset ${lineOffset} is smaller than one line of ${width} samples`);
  return {
    file,
    header: h,
    width,
    height,
    dataType,
    littleEndian: bo === 'LSB',
    imageOffset,
    pixelOffset,
    lineOffset,
    geoTransform: vrtGeoTransform(ds, h, true),
    epsg: epsgFromSrs(child(ds, 'SRS')?.text),
  };
}

const ISCE_TYPES: Record<string, DataType> = {
  CFLOAT: 'CFloat32',
  CDOUBLE: 'CFloat64',
  CSHORT: 'CInt16',
  CINT: 'CInt32',
  FLOAT: 'Float32',
  DOUBLE: 'Float64',
  SHORT: 'Int16',
  INT: 'Int32',
  BYTE: 'Byte',
};

/** Parses an ISCE2 image XML (`<imageFile>` with `<property name=…><value>…</value>` entries) for band 1. */
export function parseIsceXml(text: string, xmlPath: string): RawSpec {
  const h = xmlPath;
  if (!/<imageFile\b/i.test(text)) fail(h, 'not an ISCE2 image header (no <imageFile> element)');
  if (!/<\/imageFile\s*>/i.test(text)) fail(h, 'ISCE2 header is truncated (no closing </imageFile>)');
  const root = findDeep(parseXml(text, h), 'imageFile');
  if (!root) fail(h, 'not an ISCE2 image header (no <imageFile> element)');
  // Top-level properties (outside <component>) and the coordinate components' sizes.
  const propertyValue = (p: XmlElement) => child(p, 'value')?.text.trim() ?? '';
  const props = new Map<string, string>();
  for (const p of childrenNamed(root, 'property')) {
    const k = (attrOf(p, 'name') ?? '').trim().toLowerCase();
    if (k && !props.has(k)) props.set(k, propertyValue(p));
  }
  const coordSize = (n: number): string | undefined => {
    const c = childrenNamed(root, 'component').find((e) => attrOf(e, 'name')?.toLowerCase() === `coordinate${n}`);
    const s = c && childrenNamed(c, 'property').find((p) => attrOf(p, 'name')?.toLowerCase() === 'size');
    return s ? propertyValue(s) : undefined;
  };
  const width = positiveInt(h, 'width', props.get('width') ?? coordSize(1));
  const height = positiveInt(h, 'length', props.get('length') ?? coordSize(2));
  const t = (props.get('data_type') ?? '').toUpperCase();
  const dataType = ISCE_TYPES[t];
  if (!dataType)
    fail(
      h,
      `data_type '${shortText(props.get('data_type') ?? '', 60)}' is not supported (${Object.keys(ISCE_TYPES).join(', ')})`,
    );
  const bo = (props.get('byte_order') ?? 'l').toLowerCase();
  if (!/^(l|little|b|big)/.test(bo)) fail(h, `byte_order must be 'l' or 'b', got '${shortText(bo, 60)}'`);
  const bands = props.has('number_bands') ? positiveInt(h, 'number_bands', props.get('number_bands')) : 1;
  const scheme = (props.get('scheme') ?? 'BIL').toUpperCase();
  if (!['BIL', 'BIP', 'BSQ'].includes(scheme))
    fail(h, `scheme must be BIL, BIP or BSQ, got '${shortText(scheme, 60)}'`);
  const bytes = DATA_TYPES[dataType].bytes;
  // band 1 of a multi-band file: BIL = lines of band 1, band 2 …; BIP = samples interleaved; BSQ = whole bands
  const pixelOffset = scheme === 'BIP' ? bytes * bands : bytes;
  const lineOffset = scheme === 'BSQ' ? bytes * width : bytes * width * bands;
  const file = xmlPath.replace(/\.xml$/i, '');
  return {
    file,
    header: h,
    width,
    height,
    dataType,
    littleEndian: bo.startsWith('l'),
    imageOffset: 0,
    pixelOffset,
    lineOffset,
  };
}

/** One source of a mosaic VRT: a rectangle of `file` (band 1) placed at a rectangle of the mosaic, same size. */
export interface MosaicPiece {
  file: string;
  src: { x: number; y: number; w: number; h: number };
  dst: { x: number; y: number; w: number; h: number };
}

export interface MosaicSpec {
  header: string;
  width: number;
  height: number;
  dataType: DataType;
  pieces: MosaicPiece[];
  geoTransform?: GeoTransform;
  epsg?: number;
}

/**
 * Parses a VRTSourcedRasterBand made of SimpleSource/ComplexSource entries without resampling — the form of ISCE2
 * topsStack's virtually merged SLCs (`merged/SLC/<date>/<date>.slc.full.vrt` pointing at the burst SLCs).
 * Sources are painted in order (a later one wins where they overlap, as in GDAL); uncovered pixels read as 0.
 */
export function parseMosaicVrt(text: string, vrtPath: string): MosaicSpec {
  const h = vrtPath;
  const { ds, width, height, band } = vrtDataset(text, h);
  const dataType = normaliseType(h, attrOf(band, 'dataType'));
  const pieces: MosaicPiece[] = [];
  for (const source of childrenNamed(band, 'SimpleSource', 'ComplexSource')) {
    const where = `${h}: source ${pieces.length + 1}`;
    if (['ScaleRatio', 'ScaleOffset', 'LUT', 'NODATA'].some((n) => child(source, n)))
      fail(where, 'scaling, LUTs and NODATA in a ComplexSource are not supported');
    const file = sourceFile(child(source, 'SourceFilename'), vrtPath, where);
    const sb = child(source, 'SourceBand')?.text.trim() ?? '1';
    if (sb !== '1') fail(where, `SourceBand ${shortText(sb, 40)}: only band 1 of a source is supported`);
    const rect = (n: 'SrcRect' | 'DstRect') => {
      const t = child(source, n);
      if (!t) return undefined;
      const [x = NaN, y = NaN, w = NaN, h = NaN] = ['xOff', 'yOff', 'xSize', 'ySize'].map((a) => Number(attrOf(t, a)));
      if (![x, y, w, h].every(Number.isInteger) || x < 0 || y < 0 || w <= 0 || h <= 0) {
        fail(where, `${n} must hold whole, non-negative offsets and positive sizes`);
      }
      return { x, y, w, h };
    };
    const s = rect('SrcRect'),
      d = rect('DstRect');
    if (!s || !d) fail(where, 'SrcRect and DstRect are required');
    if (s.w !== d.w || s.h !== d.h)
      fail(where, `SrcRect ${s.w}×${s.h} and DstRect ${d.w}×${d.h} differ: resampling is not supported`);
    pieces.push({ file, src: s, dst: d });
  }
  if (pieces.length === 0) fail(h, 'band 1 has no SimpleSource/ComplexSource and is not a VRTRawRasterBand');
  const geoTransform = vrtGeoTransform(ds, h, false);
  return { header: h, width, height, dataType, pieces, geoTransform, epsg: epsgFromSrs(child(ds, 'SRS')?.text) };
}

/** What a VRT's first band is: a raw binary band, a mosaic of sources, or neither (parseVrt's error says why). */
export function vrtKind(text: string, vrtPath: string): 'raw' | 'mosaic' | 'other' {
  const { band } = vrtDataset(text, vrtPath);
  if (attrOf(band, 'subClass') === 'VRTRawRasterBand') return 'raw';
  return childrenNamed(band, 'SimpleSource', 'ComplexSource').length > 0 ? 'mosaic' : 'other';
}
