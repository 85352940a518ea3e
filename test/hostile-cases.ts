// The generator of hostile inputs (issue 11): every class of bad file and request an attacker tried, written into a
// folder, each with the command that reads it. test/hostile-inputs.test.ts runs every case through the CLI and the
// worker; `node scripts/hostile-inputs.mjs DIR` writes them for a look by hand. Not a test file (no .test.).
//
// A case's contract: exit 2, a message naming `names`, every file of `inputs` unchanged, nothing in `outputs` (nor
// a temporary beside it) afterwards.
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { paramCount } from '../host/model/params.js';
import { encodeModel, encodeSafetensors } from '../host/model/safetensors.js';
import { writeGeoTiff } from '../host/raster/geotiff.js';
import type { Georef } from '../host/raster/types.js';
import { isceXml, rawVrt } from './sar-helpers.js';

export interface HostileCase {
  id: string;
  /** the class of the list: tiff, vrt, isce-xml, complex-tiff, safetensors, vector, csv, worker, outputs, range */
  cls: string;
  algorithm: string;
  parameters: Record<string, unknown>;
  /** files whose bytes must not change (inputs, and outputs that existed before) */
  inputs: string[];
  /** paths that must not exist afterwards (outputs), with no `.dpm-tmp-*` beside them */
  outputs: string[];
  /** text the error message must contain (the input's name) */
  names: string;
  /** run through the worker only (a request the CLI cannot express) */
  workerOnly?: boolean;
  /** the raw request line for the worker (default: built from algorithm and parameters) */
  request?: string;
  /** --overwrite (CLI) / "overwrite": true (worker) */
  overwrite?: boolean;
}

// ───────────────────────────── a TIFF writer that writes whatever it is told ─────────────────────────────

interface TiffFields {
  width: number;
  height: number;
  spp?: number;
  bits?: number;
  format?: number;
  compression?: number;
  /** [tileWidth, tileHeight]; default strips */
  tile?: [number, number];
  rowsPerStrip?: number;
  /** the encoded blocks (strips or tiles) */
  blocks: Buffer[];
  metadata?: string;
  /** overrides of counts (a corrupt table) */
  byteCounts?: number[];
  offsetsShift?: number;
  geoTransform?: boolean;
}

/** A classic little-endian TIFF holding exactly the given tags and blocks, valid or not. */
export function rawTiff(f: TiffFields): Buffer {
  const spp = f.spp ?? 1;
  const tags: [number, number, number[] | Buffer][] = []; // tag, type, values
  const SHORT = 3,
    LONG = 4,
    DOUBLE = 12,
    ASCII = 2;
  tags.push([256, LONG, [f.width]], [257, LONG, [f.height]]);
  tags.push([258, SHORT, Array(spp).fill(f.bits ?? 32)]);
  tags.push([259, SHORT, [f.compression ?? 1]], [262, SHORT, [1]], [277, SHORT, [spp]], [284, SHORT, [1]]);
  tags.push([339, SHORT, Array(spp).fill(f.format ?? 3)]);
  // block data first (after an 8-byte header), then the directory
  const header = 8;
  let at = header;
  const offsets: number[] = [];
  for (const b of f.blocks) {
    offsets.push(at + (f.offsetsShift ?? 0));
    at += b.length;
  }
  const counts = f.byteCounts ?? f.blocks.map((b) => b.length);
  if (f.tile) {
    tags.push([322, LONG, [f.tile[0]]], [323, LONG, [f.tile[1]]], [324, LONG, offsets], [325, LONG, counts]);
  } else {
    tags.push([273, LONG, offsets], [278, LONG, [f.rowsPerStrip ?? f.height]], [279, LONG, counts]);
  }
  if (f.geoTransform) {
    tags.push([33550, DOUBLE, [10, 10, 0]], [33922, DOUBLE, [0, 0, 0, 500000, 4000000, 0]]);
  }
  if (f.metadata !== undefined) tags.push([42112, ASCII, Buffer.from(`${f.metadata}\0`, 'latin1')]);
  tags.sort((a, b) => a[0] - b[0]);
  const size = (type: number) => (type === SHORT ? 2 : type === DOUBLE ? 8 : type === ASCII ? 1 : 4);
  const data = Buffer.concat(f.blocks);
  const ifdAt = header + data.length;
  const ifdLen = 2 + tags.length * 12 + 4;
  const extra: Buffer[] = [];
  let extraAt = ifdAt + ifdLen;
  const ifd = Buffer.alloc(ifdLen);
  ifd.writeUInt16LE(tags.length, 0);
  tags.forEach(([tag, type, values], i) => {
    const o = 2 + i * 12;
    const count = Buffer.isBuffer(values) ? values.length : values.length;
    ifd.writeUInt16LE(tag, o);
    ifd.writeUInt16LE(type, o + 2);
    ifd.writeUInt32LE(count, o + 4);
    const bytes = Buffer.alloc(count * size(type));
    if (Buffer.isBuffer(values)) values.copy(bytes);
    else
      values.forEach((v, k) => {
        if (type === SHORT) bytes.writeUInt16LE(v, k * 2);
        else if (type === DOUBLE) bytes.writeDoubleLE(v, k * 8);
        else bytes.writeUInt32LE(v >>> 0, k * 4);
      });
    if (bytes.length <= 4) bytes.copy(ifd, o + 8);
    else {
      ifd.writeUInt32LE(extraAt, o + 8);
      extra.push(bytes);
      extraAt += bytes.length;
    }
  });
  const head = Buffer.from([0x49, 0x49, 42, 0, 0, 0, 0, 0]);
  head.writeUInt32LE(ifdAt, 4);
  return Buffer.concat([head, data, ifd, ...extra]);
}

const f32 = (values: number[]) => Buffer.from(new Float32Array(values).buffer);

/** GDAL_METADATA with pair descriptions for `bands` bands (a coherence stack) and any extra items. */
function gdalMetadata(bands: number, extra = ''): string {
  const dates = ['20190101', '20190113', '20190125', '20190206', '20190218'];
  const items = Array.from(
    { length: bands },
    (_, k) => `<Item name="DESCRIPTION" sample="${k}" role="description">${dates[k]}_${dates[k + 1]}</Item>`,
  );
  return `<GDALMetadata>${items.join('')}${extra}</GDALMetadata>`;
}

/** A 3-band 16 × 16 float32 coherence stack as one strip per band (PlanarConfiguration would differ: spp = 3). */
function stackTiff(o: Partial<TiffFields> & { value?: number; extraMetadata?: string } = {}): Buffer {
  const w = o.width ?? 16,
    h = o.height ?? 16;
  const px = Array.from({ length: w * h * 3 }, () => o.value ?? 0.5);
  return rawTiff({
    width: w,
    height: h,
    spp: 3,
    blocks: o.blocks ?? [f32(px)],
    metadata: o.metadata ?? gdalMetadata(3, o.extraMetadata),
    geoTransform: true,
    ...o,
  });
}

// ───────────────────────────── the cases ─────────────────────────────

/**
 * A Zarr v2 coherence datacube (pairs 20190101…20190206 as strings, zlib chunks) with the coherence array's `shape`
 * and `chunks` as given and `chunk` (compressed) as its first chunk; returns every file written.
 */
function writeZarrStack(dir: string, coherence: { shape: number[]; chunks: number[] }, chunk?: Buffer): string[] {
  const files: string[] = [];
  const put = (path: string, text: string | Buffer) => {
    writeFileSync(path, text);
    files.push(path);
  };
  const variable = (name: string, zarray: object, dims: string[], first?: Buffer) => {
    mkdirSync(join(dir, name), { recursive: true });
    const meta = { zarr_format: 2, order: 'C', filters: null, fill_value: null, compressor: { id: 'zlib', level: 1 } };
    put(join(dir, name, '.zarray'), JSON.stringify({ ...meta, ...zarray }));
    put(join(dir, name, '.zattrs'), JSON.stringify({ _ARRAY_DIMENSIONS: dims }));
    if (first) put(join(dir, name, dims.map(() => '0').join('.')), first);
  };
  mkdirSync(dir, { recursive: true });
  put(join(dir, '.zgroup'), JSON.stringify({ zarr_format: 2 }));
  variable('coherence', { ...coherence, dtype: '<f4', fill_value: 'NaN' }, ['timepair', 'y', 'x'], chunk);
  const pairs = ['20190101_20190113', '20190113_20190125', '20190125_20190206'];
  variable(
    'timepair',
    { shape: [3], chunks: [3], dtype: '<U17', compressor: null },
    ['timepair'],
    Buffer.from(new Uint32Array(pairs.flatMap((p) => [...p].map((c) => c.charCodeAt(0)))).buffer),
  );
  return files;
}

/** A valid 3-pair 16 × 16 coherence stack (γ = 0.6), optionally georeferenced. */
export async function writeGoodStack(path: string, georef: Georef = {}, size = 16): Promise<void> {
  await writeGeoTiff(path, {
    width: size,
    height: size,
    bands: [0, 1, 2].map(() => new Float32Array(size * size).fill(0.6)),
    descriptions: ['20190101_20190113', '20190113_20190125', '20190125_20190206'],
    georef,
  });
}

/** Writes every hostile case under `dir` and returns them. `good` inputs are written once and shared. */
export async function makeHostileCases(dir: string): Promise<HostileCase[]> {
  mkdirSync(dir, { recursive: true });
  const cases: HostileCase[] = [];
  const at = (...p: string[]) => join(dir, ...p);

  // shared good inputs: a coherence stack (3 pairs, UTM grid), a model, an SLC
  const good = at('good-stack.tif');
  await writeGoodStack(good, { geoTransform: [500000, 10, 0, 4000000, 0, -10], epsg: 32633 });
  const goodModel = at('good-model.safetensors');
  const config = { hidden: 4, mlp: 4, features: 1 };
  writeFileSync(goodModel, encodeModel(config, new Float32Array(paramCount(config))));
  const slcDir = at('good-slc');
  mkdirSync(slcDir, { recursive: true });
  const goodSlc = join(slcDir, '20190113.slc');
  writeFileSync(goodSlc, Buffer.alloc(32 * 32 * 8, 1));
  writeFileSync(`${goodSlc}.vrt`, rawVrt('20190113.slc', 32, 32, 'CFloat32', 8, 256));

  /** a coherence-stack reader case: baseline-ccd reads `file` */
  const stackCase = (id: string, cls: string, file: string, bytes: Buffer | string, names = file) => {
    writeFileSync(file, bytes);
    const out = at(`out-${id}`, 'ccd.tif');
    cases.push({
      id,
      cls,
      algorithm: 'baseline-ccd',
      parameters: { coherence: [file], output: out },
      inputs: [file],
      outputs: [at(`out-${id}`)],
      names,
    });
  };
  /** an SLC reader case: coherence reads `file` (dated 20190101) with the good SLC */
  const slcCase = (
    id: string,
    cls: string,
    file: string,
    bytes: Buffer | string | undefined,
    names = file,
    extraInputs: string[] = [],
  ) => {
    if (bytes !== undefined) writeFileSync(file, bytes);
    const out = at(`out-${id}`, 'coh.tif');
    cases.push({
      id,
      cls,
      algorithm: 'coherence',
      parameters: { slc: [file, `${goodSlc}.vrt`], out },
      inputs: [file, goodSlc, `${goodSlc}.vrt`, ...extraInputs],
      outputs: [at(`out-${id}`)],
      names,
    });
  };

  // ── TIFF (coherence stacks) ──
  const geoloc = (x: string, y: string) =>
    gdalMetadata(
      3,
      `<Item name="X_DATASET" domain="GEOLOCATION">${x}</Item><Item name="Y_DATASET" domain="GEOLOCATION">${y}</Item>`,
    );
  const radar = (metadata: string) =>
    rawTiff({ width: 16, height: 16, spp: 3, blocks: [f32(Array(768).fill(0.5))], metadata });
  stackCase('tiff-geoloc-dev-zero', 'tiff', at('20190101_geoloc-zero.tif'), radar(geoloc('/dev/zero', '/dev/zero')));
  stackCase('tiff-geoloc-passwd', 'tiff', at('geoloc-passwd.tif'), radar(geoloc('/etc/passwd', '/etc/passwd')));
  const fifo = at('a-fifo');
  try {
    execFileSync('mkfifo', [fifo]);
    stackCase('tiff-geoloc-fifo', 'tiff', at('geoloc-fifo.tif'), radar(geoloc(fifo, fifo)));
  } catch {
    /* no mkfifo: the FIFO case is left out */
  }
  stackCase(
    'tiff-geoloc-self',
    'tiff',
    at('geoloc-self.tif'),
    radar(geoloc(at('geoloc-self.tif'), at('geoloc-self.tif'))),
  );
  // a regular but huge companion (sparse: cheap to make): refused by its size before it is read
  const hugeCompanion = at('huge-lonlat.tif');
  writeFileSync(hugeCompanion, '');
  truncateSync(hugeCompanion, 3 * 2 ** 30);
  stackCase('tiff-geoloc-huge', 'tiff', at('geoloc-huge.tif'), radar(geoloc(hugeCompanion, hugeCompanion)));
  const tile16 = f32(Array(16 * 16 * 3).fill(0.5));
  stackCase('tiff-tilewidth-0', 'tiff', at('tw0.tif'), stackTiff({ tile: [0, 16], blocks: [tile16] }));
  stackCase('tiff-tilewidth-7', 'tiff', at('tw7.tif'), stackTiff({ tile: [7, 16], blocks: [tile16] }));
  stackCase('tiff-rowsperstrip-0', 'tiff', at('rps0.tif'), stackTiff({ rowsPerStrip: 0 }));
  stackCase('tiff-compression-zstd', 'tiff', at('zstd.tif'), stackTiff({ compression: 50000 }));
  stackCase('tiff-compression-unknown', 'tiff', at('comp-unknown.tif'), stackTiff({ compression: 12345 }));
  stackCase('tiff-bits-12', 'tiff', at('bits12.tif'), stackTiff({ bits: 12 }));
  stackCase('tiff-sampleformat-4', 'tiff', at('fmt4.tif'), stackTiff({ format: 4 }));
  // a DEFLATE bomb: 256 MiB of zeros in a strip declared to hold 16 × 16 × 3 floats
  const bomb = deflateSync(Buffer.alloc(256 * 2 ** 20), { level: 9 });
  stackCase(
    'tiff-deflate-bomb',
    'tiff',
    at('bomb.tif'),
    stackTiff({ compression: 8, blocks: [bomb, bomb, bomb, bomb], rowsPerStrip: 4 }),
  );
  const lzwBombStrip = lzwBomb(16); // ~100 KB of codes → ~130 MB of zeros
  stackCase('tiff-lzw-bomb', 'tiff', at('lzw-bomb.tif'), stackTiff({ compression: 5, blocks: [lzwBombStrip] }));
  // a PackBits bomb: 1 MiB of 128-byte runs (64 MiB decoded) in a strip declared to hold 16 × 16 × 3 floats
  const packBitsBomb = Buffer.alloc(2 ** 20);
  for (let i = 0; i < packBitsBomb.length; i += 2) packBitsBomb[i] = 0x81;
  stackCase(
    'tiff-packbits-bomb',
    'tiff',
    at('packbits-bomb.tif'),
    stackTiff({ compression: 32773, blocks: [packBitsBomb] }),
  );
  // Zarr datacubes: a chunk that inflates far past its shape, one that decodes short, a huge shape, huge chunks
  const zarrCase = (id: string, coherence: { shape: number[]; chunks: number[] }, chunk?: Buffer) => {
    const store = at(`${id}.zarr`);
    const files = writeZarrStack(store, coherence, chunk);
    const out = at(`out-${id}`, 'ccd.tif');
    cases.push({
      id,
      cls: 'zarr',
      algorithm: 'baseline-ccd',
      parameters: { coherence: [store], output: out },
      inputs: files,
      outputs: [at(`out-${id}`)],
      names: store,
    });
  };
  const stackShape = { shape: [3, 16, 16], chunks: [3, 16, 16] };
  zarrCase('zarr-chunk-bomb', stackShape, deflateSync(Buffer.alloc(256 * 2 ** 20), { level: 9 }));
  zarrCase('zarr-chunk-short', stackShape, deflateSync(Buffer.alloc(100)));
  zarrCase('zarr-huge-shape', { shape: [3, 2 ** 24, 2 ** 24], chunks: [3, 16, 16] });
  zarrCase('zarr-huge-chunks', { shape: [3, 16, 16], chunks: [3, 2 ** 20, 2 ** 20] });
  // 8.7 KB declaring 16384² × 2 bands
  stackCase(
    'tiff-huge-declared',
    'tiff',
    at('huge.tif'),
    rawTiff({
      width: 16384,
      height: 16384,
      spp: 2,
      compression: 8,
      blocks: [deflateSync(Buffer.alloc(8000))],
      metadata: gdalMetadata(2),
      geoTransform: true,
    }),
  );
  const okStack = stackTiff();
  stackCase('tiff-truncated', 'tiff', at('truncated.tif'), okStack.subarray(0, Math.floor(okStack.length / 2)));
  stackCase('tiff-offsets-past-end', 'tiff', at('offsets.tif'), stackTiff({ offsetsShift: 1 << 30 }));
  stackCase('tiff-bytecount-short', 'tiff', at('short.tif'), stackTiff({ byteCounts: [100] }));
  stackCase(
    'tiff-metadata-2mb',
    'tiff',
    at('md-huge.tif'),
    stackTiff({ metadata: `<GDALMetadata>${'<Item name="x">y</Item>'.repeat(100_000)}</GDALMetadata>` }),
  );
  stackCase(
    'tiff-metadata-unclosed',
    'tiff',
    at('md-open.tif'),
    stackTiff({ metadata: `<GDALMetadata>${'<Item name="x">'.repeat(40_000)}` }),
  );
  stackCase('tiff-not-tiff', 'tiff', at('text.tif'), 'hello, not a tiff\n');
  stackCase('tiff-empty', 'tiff', at('empty.tif'), Buffer.alloc(0));

  // ── range ──
  stackCase('range-out-of-range', 'range', at('range5.tif'), stackTiff({ value: 5 }));
  stackCase('range-infinite', 'range', at('rangeinf.tif'), stackTiff({ value: Infinity }));
  stackCase('range-all-nan', 'range', at('rangenan.tif'), stackTiff({ value: NaN }));

  // ── VRT / XML headers (SLCs) ──
  const selfVrt = at('20190101.self.vrt');
  slcCase(
    'vrt-mosaic-self',
    'vrt',
    selfVrt,
    `<VRTDataset rasterXSize="32" rasterYSize="32"><VRTRasterBand dataType="CFloat32" band="1"><SimpleSource>` +
      `<SourceFilename relativeToVRT="1">20190101.self.vrt</SourceFilename><SourceBand>1</SourceBand>` +
      `<SrcRect xOff="0" yOff="0" xSize="32" ySize="32"/><DstRect xOff="0" yOff="0" xSize="32" ySize="32"/>` +
      `</SimpleSource></VRTRasterBand></VRTDataset>`,
  );
  slcCase(
    'vrt-source-dev-zero',
    'vrt',
    at('20190101.zero.vrt'),
    rawVrt('/dev/zero', 32, 32, 'CFloat32', 8, 256, { relative: false }),
  );
  if (cases.some((c) => c.id === 'tiff-geoloc-fifo'))
    slcCase(
      'vrt-source-fifo',
      'vrt',
      at('20190101.fifo.vrt'),
      rawVrt(fifo, 32, 32, 'CFloat32', 8, 256, { relative: false }),
    );
  slcCase(
    'vrt-source-folder',
    'vrt',
    at('20190101.dir.vrt'),
    rawVrt(dir, 32, 32, 'CFloat32', 8, 256, { relative: false }),
  );
  slcCase(
    'vrt-unclosed-1.5mb',
    'vrt',
    at('20190101.open.vrt'),
    `<VRTDataset rasterXSize="32" rasterYSize="32">${'<VRTRasterBand a="1">'.repeat(70_000)}</VRTDataset>`,
  );
  slcCase(
    'vrt-deep-nesting',
    'vrt',
    at('20190101.deep.vrt'),
    `<VRTDataset>${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}</VRTDataset>`,
  );
  slcCase(
    'vrt-entity-bomb',
    'vrt',
    at('20190101.lol.vrt'),
    `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>` +
      `<VRTDataset rasterXSize="32" rasterYSize="32"><VRTRasterBand dataType="CFloat32" subClass="VRTRawRasterBand"><SourceFilename>&b;</SourceFilename></VRTRasterBand></VRTDataset>`,
  );
  slcCase(
    'vrt-huge-size',
    'vrt',
    at('20190101.big.vrt'),
    rawVrt('20190101.big.raw', 2 ** 30, 2 ** 30, 'CFloat32', 8, 8 * 2 ** 30),
  );
  writeFileSync(at('20190101.big.raw'), Buffer.alloc(64));
  slcCase('vrt-not-xml', 'vrt', at('20190101.bin.vrt'), Buffer.from([0, 1, 2, 0xff, 0xfe, 0x3c]));

  // ── ISCE2 XML: a good raw file beside a hostile header ──
  const isceCase = (id: string, name: string, xml: string) => {
    const raw = at(name);
    writeFileSync(raw, Buffer.alloc(32 * 32 * 8));
    slcCase(id, 'isce-xml', `${raw}.xml`, xml, undefined, [raw]);
  };
  isceCase(
    'isce-no-width',
    '20190101.isce.slc',
    isceXml('x', 32, 32, 'CFLOAT', 'l')
      .replace(/<property name="width">[\s\S]*?<\/property>/, '')
      .replace(/<component name="coordinate1">[\s\S]*?<\/component>/, ''),
  );
  isceCase('isce-huge-length', '20190101.isce2.slc', isceXml('x', 32, 2 ** 31, 'CFLOAT', 'l'));
  isceCase('isce-bad-type', '20190101.isce3.slc', isceXml('x', 32, 32, 'Q'.repeat(100_000), 'l'));
  isceCase(
    'isce-property-spam',
    '20190101.isce4.slc',
    `<imageFile>${'<property name="width"><value>'.repeat(50_000)}</imageFile>`,
  );

  // ── complex TIFF (SLCs) ──
  const cplx = (o: Partial<TiffFields>) =>
    rawTiff({ width: 32, height: 32, bits: 64, format: 6, blocks: [Buffer.alloc(32 * 32 * 8)], ...o });
  slcCase('ctiff-zstd', 'complex-tiff', at('20190101_zstd.tif'), cplx({ compression: 50000 }));
  slcCase('ctiff-tilewidth-0', 'complex-tiff', at('20190101_tw0.tif'), cplx({ tile: [0, 32] }));
  slcCase('ctiff-deflate-bomb', 'complex-tiff', at('20190101_bomb.tif'), cplx({ compression: 8, blocks: [bomb] }));
  slcCase('ctiff-truncated', 'complex-tiff', at('20190101_cut.tif'), cplx({}).subarray(0, 4000));
  slcCase(
    'ctiff-huge-declared',
    'complex-tiff',
    at('20190101_huge.tif'),
    cplx({ width: 1 << 20, height: 1 << 20, compression: 8, blocks: [deflateSync(Buffer.alloc(1000))] }),
  );

  // ── safetensors (forecast reads the model) ──
  const modelCase = (id: string, bytes: Buffer | Uint8Array) => {
    const file = at(`${id}.safetensors`);
    writeFileSync(file, bytes);
    cases.push({
      id,
      cls: 'safetensors',
      algorithm: 'forecast',
      parameters: { coherence: [good], model: file, 'out-dir': at(`out-${id}`), device: 'reference' },
      inputs: [file, good],
      outputs: [at(`out-${id}`)],
      names: file,
    });
  };
  const header = (h: string, extra = 0) => {
    const b = Buffer.alloc(8 + h.length + extra);
    b.writeBigUInt64LE(BigInt(h.length));
    b.write(h, 8);
    return b;
  };
  modelCase('st-header-length-huge', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x7b]));
  modelCase('st-header-not-json', header('{"a": [1, 2'));
  modelCase('st-deep-json', header(`${'['.repeat(200_000)}${']'.repeat(200_000)}`));
  modelCase(
    'st-offsets-outside',
    header('{"rnn.weight_ih_l0":{"dtype":"F32","shape":[768,1],"data_offsets":[0,3072000000]}}'),
  );
  modelCase('st-dtype', header('{"x":{"dtype":"F8","shape":[2],"data_offsets":[0,2]}}', 2));
  modelCase(
    'st-truncated',
    encodeSafetensors([{ name: 'x', shape: [64], data: new Float32Array(64) }]).subarray(0, 100),
  );
  modelCase('st-8-bytes', Buffer.alloc(8));

  // ── vectors (evaluate reads the truth) ──
  const truthCase = (id: string, file: string, bytes: Buffer | string | undefined, extraInputs: string[] = []) => {
    if (bytes !== undefined) writeFileSync(file, bytes);
    cases.push({
      id,
      cls: 'vector',
      algorithm: 'evaluate',
      parameters: {
        score: [good],
        truth: file,
        'damage-field': 'grade',
        'damaged-values': 'Destroyed',
        'out-dir': at(`out-${id}`),
      },
      inputs: [file, good, ...extraInputs],
      outputs: [at(`out-${id}`)],
      names: file,
    });
  };
  truthCase('fgb-8-bytes', at('magic.fgb'), Buffer.from([0x66, 0x67, 0x62, 0x03, 0x66, 0x67, 0x62, 0x00]));
  truthCase(
    'fgb-header-past-end',
    at('header.fgb'),
    Buffer.from([0x66, 0x67, 0x62, 0x03, 0x66, 0x67, 0x62, 0x00, 0xff, 0xff, 0, 0, 1, 2]),
  );
  truthCase('fgb-not-fgb', at('junk.fgb'), Buffer.alloc(4096, 0x41));
  truthCase(
    'geojson-deep-nesting',
    at('deep.geojson'),
    `{"type":"FeatureCollection","features":[${'['.repeat(500_000)}${']'.repeat(500_000)}]}`,
  );
  truthCase(
    'geojson-null-geometries',
    at('nullgeom.geojson'),
    JSON.stringify({
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', geometry: null, properties: { grade: 'Destroyed' } },
        {
          type: 'Feature',
          geometry: { type: 'Polygon', coordinates: [[['a', 'b']]] },
          properties: { grade: 'Destroyed' },
        },
        { type: 'Feature', geometry: { type: 'Polygon', coordinates: 5 }, properties: 'odd' },
      ],
    }),
  );
  truthCase('geojson-not-json', at('bad.geojson'), '{"type": "FeatureCollection", "features": [');
  truthCase('geojson-array', at('array.geojson'), '[1, 2, 3]');
  // a shapefile whose .dbf is cut short
  const shp = at('cut.shp');
  writeFileSync(shp, shpPolygons(3));
  const dbf = at('cut.dbf');
  writeFileSync(dbf, dbfTable(['Destroyed', 'Destroyed', 'Destroyed']).subarray(0, 80));
  truthCase('shp-dbf-truncated', shp, undefined, [dbf]);
  const shp2 = at('fewer.shp');
  writeFileSync(shp2, shpPolygons(3));
  const dbf2 = at('fewer.dbf');
  writeFileSync(dbf2, dbfTable(['Destroyed']));
  truthCase('shp-dbf-fewer-records', shp2, undefined, [dbf2]);
  const shp3 = at('junk.shp');
  writeFileSync(shp3, Buffer.alloc(100, 0x20));
  writeFileSync(at('junk.dbf'), dbfTable(['Destroyed']));
  truthCase('shp-not-shp', shp3, undefined, [at('junk.dbf')]);

  // ── CSV points (validate-points) ──
  const csvCase = (id: string, text: string | Buffer) => {
    const file = at(`${id}.csv`);
    writeFileSync(file, text);
    cases.push({
      id,
      cls: 'csv',
      algorithm: 'validate-points',
      parameters: { points: file, displacement: 'd', dpm: [good], 'out-dir': at(`out-${id}`) },
      inputs: [file, good],
      outputs: [at(`out-${id}`)],
      names: file,
    });
  };
  csvCase(
    'csv-unbalanced-quote',
    `lon,lat,d\n${Array.from({ length: 80 }, (_, i) => `15.${i},40.1,${i === 20 ? '"3' : i}`).join('\n')}\n`,
  );
  csvCase('csv-quote-in-field', 'lon,lat,d\n15.1,40.1,3"x\n');
  csvCase('csv-ragged', 'lon,lat,d\n15.1,40.1\n15.2,40.2,1,9\n');
  csvCase('csv-binary', Buffer.from([0x49, 0x49, 0x2a, 0, 0, 0, 0, 0]));
  csvCase('csv-no-columns', 'a,b\n1,2\n');

  // ── worker requests (the worker only) ──
  const req = (id: string, request: string, names: string) =>
    cases.push({
      id,
      cls: 'worker',
      algorithm: '',
      parameters: {},
      inputs: [],
      outputs: [],
      names,
      workerOnly: true,
      request,
    });
  req('worker-not-json', '{"algorithm": "train", ', 'not valid JSON');
  req(
    'worker-line-5mb',
    `{"algorithm":"train","parameters":{"coherence":["${'a'.repeat(5 * 2 ** 20)}"]}}`,
    'request line',
  );
  req(
    'worker-nul-in-path',
    JSON.stringify({
      algorithm: 'baseline-ccd',
      parameters: { coherence: ['a\u0000b.tif'], output: at('out-nul', 'x.tif') },
    }),
    'NUL',
  );
  req(
    'worker-object-as-path',
    JSON.stringify({
      algorithm: 'baseline-ccd',
      parameters: { coherence: [{ a: 1 }], output: at('out-obj', 'x.tif') },
    }),
    '--coherence',
  );
  req(
    'worker-overwrite-not-bool',
    JSON.stringify({ algorithm: 'baseline-ccd', parameters: {}, overwrite: 'yes' }),
    'overwrite',
  );
  req(
    'worker-unknown-parameter',
    JSON.stringify({ algorithm: 'baseline-ccd', parameters: { ['x'.repeat(10_000)]: 1 } }),
    'unknown parameter',
  );
  req('worker-protocol-99', JSON.stringify({ protocol: 99, algorithm: 'train' }), 'protocol');
  req(
    'worker-deep-json',
    `{"algorithm":"train","parameters":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
    'parameters',
  );

  // ── outputs: inputs are sacred, no silent overwrite, one writer per folder ──
  const sameIn = at('same.tif');
  await writeGoodStack(sameIn);
  cases.push({
    id: 'out-equals-input',
    cls: 'outputs',
    algorithm: 'baseline-ccd',
    parameters: { coherence: [sameIn], output: sameIn },
    inputs: [sameIn],
    outputs: [],
    names: sameIn,
    overwrite: true,
  });
  const link = at('link-to-input.tif');
  symlinkSync(sameIn, link);
  cases.push({
    id: 'out-link-to-input',
    cls: 'outputs',
    algorithm: 'baseline-ccd',
    parameters: { coherence: [sameIn], output: link },
    inputs: [sameIn],
    outputs: [],
    names: 'link-to-input.tif',
    overwrite: true,
  });
  cases.push({
    id: 'out-inside-input-folder',
    cls: 'outputs',
    algorithm: 'coherence',
    parameters: { slc: [slcDir], out: join(slcDir, '20190113.slc') },
    inputs: [goodSlc, `${goodSlc}.vrt`],
    outputs: [],
    names: slcDir,
    overwrite: true,
  });
  const fcDir = at('forecast-into-input');
  mkdirSync(fcDir);
  const fcIn = join(fcDir, 'stack.tif');
  await writeGoodStack(fcIn);
  cases.push({
    id: 'out-dir-is-input',
    cls: 'outputs',
    algorithm: 'forecast',
    parameters: { coherence: [fcDir], model: goodModel, 'out-dir': fcDir },
    inputs: [fcIn, goodModel],
    outputs: [join(fcDir, '.dpm-lock'), join(fcDir, 'zscore.tif')],
    names: fcDir,
    overwrite: true,
  });
  const existing = at('existing.tif');
  writeFileSync(existing, 'an earlier result the user keeps');
  cases.push({
    id: 'out-exists-no-overwrite',
    cls: 'outputs',
    algorithm: 'baseline-ccd',
    parameters: { coherence: [good], output: existing },
    inputs: [existing, good],
    outputs: [],
    names: existing,
  });
  const locked = at('locked-out');
  mkdirSync(locked);
  const lockFile = join(locked, '.dpm-lock');
  writeFileSync(
    lockFile,
    `${JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname(), since: 'now', command: 'train' })}\n`,
  );
  cases.push({
    id: 'out-dir-locked',
    cls: 'outputs',
    algorithm: 'forecast',
    parameters: { coherence: [good], model: goodModel, 'out-dir': locked, device: 'reference' },
    inputs: [lockFile, good, goodModel],
    outputs: [join(locked, 'zscore.tif')],
    names: `pid ${process.pid}`,
  });
  return cases;
}

/**
 * An LZW stream of `cycles` tables that each grow a run of zero bytes by one per code (the KwKwK case): about 6 KB of
 * codes per 8 MB of output, a ratio near 1400 — geotiff.js's decoder holds each output byte as an array element.
 */
export function lzwBomb(cycles: number): Buffer {
  const bytes: number[] = [];
  let acc = 0;
  let bits = 0;
  const put = (code: number, width: number) => {
    acc = (acc << width) | code;
    bits += width;
    while (bits >= 8) {
      bytes.push((acc >> (bits - 8)) & 0xff);
      bits -= 8;
      acc &= (1 << bits) - 1;
    }
  };
  for (let c = 0; c < cycles; c++) {
    put(256, c === 0 ? 9 : 12); // clear
    let width = 9;
    put(0, width);
    for (let next = 258; next < 4094; next++) {
      // the decoder adds entry `next` before reading the following code: widths change one code early
      if (next + 1 >= 1 << width && width < 12) width++;
      put(next, next === 258 ? 9 : width);
    }
  }
  put(257, 12);
  if (bits > 0) put(0, 8 - bits);
  return Buffer.from(bytes);
}

// ───────────────────────────── shapefile bits ─────────────────────────────

/** A polygon shapefile of `n` unit squares. */
function shpPolygons(n: number): Buffer {
  const recs: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const content = Buffer.alloc(4 + 32 + 4 + 4 + 4 + 5 * 16);
    content.writeInt32LE(5, 0);
    [500000 + i * 20, 4000000 - 20, 500000 + i * 20 + 10, 4000000].forEach((v, k) =>
      content.writeDoubleLE(v, 4 + 8 * k),
    );
    content.writeInt32LE(1, 36);
    content.writeInt32LE(5, 40);
    content.writeInt32LE(0, 44);
    const x0 = 500000 + i * 20,
      y0 = 4000000 - 20;
    [
      [x0, y0],
      [x0, y0 + 10],
      [x0 + 10, y0 + 10],
      [x0 + 10, y0],
      [x0, y0],
    ].forEach(([x, y], k) => {
      content.writeDoubleLE(x!, 48 + 16 * k);
      content.writeDoubleLE(y!, 56 + 16 * k);
    });
    const head = Buffer.alloc(8);
    head.writeInt32BE(i + 1, 0);
    head.writeInt32BE(content.length / 2, 4);
    recs.push(head, content);
  }
  const body = Buffer.concat(recs);
  const h = Buffer.alloc(100);
  h.writeInt32BE(9994, 0);
  h.writeInt32BE((100 + body.length) / 2, 24);
  h.writeInt32LE(1000, 28);
  h.writeInt32LE(5, 32);
  [500000, 3999980, 500000 + n * 20, 4000000].forEach((v, k) => h.writeDoubleLE(v, 36 + 8 * k));
  return Buffer.concat([h, body]);
}

/** A dBASE III table with one character field "grade". */
function dbfTable(values: string[]): Buffer {
  const fieldLen = 12;
  const headerLen = 32 + 32 + 1;
  const recordLen = 1 + fieldLen;
  const b = Buffer.alloc(headerLen + values.length * recordLen + 1, 0x20);
  b.fill(0, 0, headerLen);
  b[0] = 3;
  b.writeUInt32LE(values.length, 4);
  b.writeUInt16LE(headerLen, 8);
  b.writeUInt16LE(recordLen, 10);
  b.write('grade', 32, 'latin1');
  b[32 + 11] = 0x43; // 'C'
  b[32 + 16] = fieldLen;
  b[headerLen - 1] = 0x0d;
  values.forEach((v, i) => {
    const o = headerLen + i * recordLen;
    b[o] = 0x20;
    b.write(v.padEnd(fieldLen), o + 1, 'latin1');
  });
  b[b.length - 1] = 0x1a;
  return b;
}
