// Readers of single-look complex (and real-valued lookup) rasters, by row block with a column window.
//   - raw binary + GDAL VRT (VRTRawRasterBand) or ISCE2 XML header (headers.ts): ISCE2 coregistered stacks
//     `YYYYMMDD/YYYYMMDD.slc.full[.vrt|.xml]`, geom_reference/lat.rdr, any raw file GDAL can describe;
//   - GeoTIFF CInt16 (Sentinel-1 SAFE measurement files), CFloat32, CFloat64, and real float/int types. geotiff.js
//     does not decode complex sample formats, so strips/tiles are fetched from the file directory's offsets and
//     decompressed with geotiff.js's own decoders (none, deflate, LZW, PackBits …), then converted here.
// Every reader converts to float32 (complex: interleaved re, im) or float64, checks the file is long enough when it
// is opened, and turns any malformed or short file into one DpmError naming the file.
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { GeoTIFF, getDecoder, type GeoTIFFImage } from 'geotiff';
import { consecutivePairs } from '../core/arrays.js';
import { DpmError, shortText } from '../core/errors.js';
import type { GeoTransform } from '../raster/types.js';
import { regularFileSize } from '../io/files.js';
import { checkCompression, checkTiffLayout } from '../raster/tiff-checks.js';
import {
  DATA_TYPES,
  parseIsceXml,
  parseMosaicVrt,
  parseVrt,
  vrtKind,
  type DataType,
  type MosaicSpec,
  type RawSpec,
} from './headers.js';

export interface RasterSource {
  /** the file a user would recognise (raw file, or GeoTIFF) */
  readonly path: string;
  readonly width: number;
  readonly height: number;
  readonly dataType: DataType;
  readonly complex: boolean;
  readonly geoTransform?: GeoTransform;
  readonly epsg?: number;
  /**
   * Reads rows [row0, row0+nRows) × columns [col0, col0+nCols) of band 1 into `out`, row-major, row stride nCols
   * (complex: 2·nCols interleaved re, im). `out` may be a view into wasm memory.
   */
  read(row0: number, nRows: number, col0: number, nCols: number, out: Float32Array | Float64Array): Promise<void>;
  close(): Promise<void>;
}

function checkWindow(
  src: RasterSource,
  row0: number,
  nRows: number,
  col0: number,
  nCols: number,
  out: ArrayLike<number>,
) {
  if (row0 < 0 || col0 < 0 || nRows < 0 || nCols < 0 || row0 + nRows > src.height || col0 + nCols > src.width) {
    throw new Error(
      `internal: read rows ${row0}+${nRows}, cols ${col0}+${nCols} outside ${src.width}×${src.height} (${src.path})`,
    );
  }
  const need = nRows * nCols * (src.complex ? 2 : 1);
  if (out.length < need) throw new Error(`internal: buffer of ${out.length} for ${need} values (${src.path})`);
}

type Getter = (dv: DataView, off: number, le: boolean) => number;
const GETTERS: Record<DataType, Getter> = {
  CFloat32: (d, o, le) => d.getFloat32(o, le),
  CFloat64: (d, o, le) => d.getFloat64(o, le),
  CInt16: (d, o, le) => d.getInt16(o, le),
  CInt32: (d, o, le) => d.getInt32(o, le),
  Float32: (d, o, le) => d.getFloat32(o, le),
  Float64: (d, o, le) => d.getFloat64(o, le),
  Int16: (d, o, le) => d.getInt16(o, le),
  Int32: (d, o, le) => d.getInt32(o, le),
  UInt16: (d, o, le) => d.getUint16(o, le),
  Byte: (d, o) => d.getUint8(o),
};

/** Converts n samples starting at byte `off` (sample stride `step` bytes) into out[o…]. */
function convert(
  dv: DataView,
  off: number,
  step: number,
  n: number,
  type: DataType,
  le: boolean,
  out: Float32Array | Float64Array,
  o: number,
): void {
  const get = GETTERS[type];
  const { bytes, complex } = DATA_TYPES[type];
  if (complex) {
    const half = bytes / 2;
    for (let i = 0; i < n; i++, off += step) {
      out[o++] = get(dv, off, le);
      out[o++] = get(dv, off + half, le);
    }
  } else {
    for (let i = 0; i < n; i++, off += step) out[o++] = get(dv, off, le);
  }
}

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A raw binary band described by a RawSpec (VRT or ISCE2 XML). */
export class RawSource implements RasterSource {
  readonly path: string;
  readonly width: number;
  readonly height: number;
  readonly dataType: DataType;
  readonly complex: boolean;
  readonly geoTransform?: GeoTransform;
  readonly epsg?: number;
  private scratch = Buffer.alloc(0);

  private constructor(
    readonly spec: RawSpec,
    private fh: FileHandle,
  ) {
    this.path = spec.file;
    this.width = spec.width;
    this.height = spec.height;
    this.dataType = spec.dataType;
    this.complex = DATA_TYPES[spec.dataType].complex;
    this.geoTransform = spec.geoTransform;
    this.epsg = spec.epsg;
  }

  static async open(spec: RawSpec): Promise<RawSource> {
    if (!existsSync(spec.file))
      throw new DpmError(`${spec.file}: data file named by ${spec.header} does not exist or cannot be read`);
    const size = regularFileSize(spec.file, `data file named by ${spec.header}`);
    const need =
      spec.imageOffset +
      (spec.height - 1) * spec.lineOffset +
      (spec.width - 1) * spec.pixelOffset +
      DATA_TYPES[spec.dataType].bytes;
    if (size < need) {
      throw new DpmError(
        `${spec.file}: file is truncated: ${spec.header} describes ${spec.width}×${spec.height} ${spec.dataType} (${need} bytes), the file has ${size}`,
      );
    }
    return new RawSource(spec, await open(spec.file, 'r'));
  }

  private async readExact(buf: Uint8Array, pos: number): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await this.fh.read(buf, done, buf.length - done, pos + done);
      if (bytesRead === 0)
        throw new DpmError(
          `${this.path}: unexpected end of file at byte ${pos + done} (file truncated while reading?)`,
        );
      done += bytesRead;
    }
  }

  async read(
    row0: number,
    nRows: number,
    col0: number,
    nCols: number,
    out: Float32Array | Float64Array,
  ): Promise<void> {
    checkWindow(this, row0, nRows, col0, nCols, out);
    if (nRows === 0 || nCols === 0) return;
    const s = this.spec;
    const { bytes } = DATA_TYPES[s.dataType];
    const rowBytes = (nCols - 1) * s.pixelOffset + bytes;
    const direct =
      s.littleEndian === HOST_LE &&
      s.pixelOffset === bytes &&
      out.BYTES_PER_ELEMENT * (this.complex ? 2 : 1) === bytes &&
      ((s.dataType.endsWith('Float32') && out instanceof Float32Array) ||
        (s.dataType.endsWith('Float64') && out instanceof Float64Array));
    if (direct) {
      // the file's bytes are the wanted values: read straight into the destination (wasm memory)
      const dst = new Uint8Array(out.buffer, out.byteOffset, nRows * rowBytes);
      if (s.lineOffset === rowBytes) {
        await this.readExact(dst, s.imageOffset + row0 * s.lineOffset + col0 * s.pixelOffset);
      } else {
        for (let r = 0; r < nRows; r++) {
          await this.readExact(
            dst.subarray(r * rowBytes, (r + 1) * rowBytes),
            s.imageOffset + (row0 + r) * s.lineOffset + col0 * s.pixelOffset,
          );
        }
      }
      return;
    }
    if (this.scratch.length < rowBytes) this.scratch = Buffer.alloc(rowBytes);
    const buf = this.scratch.subarray(0, rowBytes);
    const dv = new DataView(buf.buffer, buf.byteOffset, rowBytes);
    const per = this.complex ? 2 : 1;
    for (let r = 0; r < nRows; r++) {
      await this.readExact(buf, s.imageOffset + (row0 + r) * s.lineOffset + col0 * s.pixelOffset);
      convert(dv, 0, s.pixelOffset, nCols, s.dataType, s.littleEndian, out, r * nCols * per);
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

// ─────────────────────────────────────────── GeoTIFF ───────────────────────────────────────────

interface Decoder {
  decode(b: ArrayBuffer): Promise<ArrayBufferLike>;
}

/**
 * Strip/tile offsets and byte counts of the first image, read from the TIFF directory ourselves: geotiff.js 3.0.5
 * byte-swaps out-of-line LONG arrays of big-endian files (seen on GDAL-written ENDIANNESS=BIG files).
 */
async function readBlockTable(
  fh: FileHandle,
  size: number,
  path: string,
  tiled: boolean,
): Promise<{ offsets: number[]; counts: number[] }> {
  const fail = (what: string): never => {
    throw new DpmError(`${path}: ${what}; the file is truncated or corrupt`);
  };
  const read = async (pos: number, n: number): Promise<Buffer> => {
    if (pos < 0 || pos + n > size)
      fail(`TIFF directory data at byte ${pos}+${n} lies past the end of the file (${size} bytes)`);
    const b = Buffer.alloc(n);
    await fh.read(b, 0, n, pos);
    return b;
  };
  const head = await read(0, 16 <= size ? 16 : 8);
  const le = head[0] === 0x49;
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (b: Buffer, o: number) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
  const big = u16(head, 2) === 43;
  const ifd = big ? u64(head, 8) : u32(head, 4);
  const nEntries = big ? u64(await read(ifd, 8), 0) : u16(await read(ifd, 2), 0);
  if (nEntries > 4096) fail(`${nEntries} TIFF directory entries`);
  const entrySize = big ? 20 : 12,
    inline = big ? 8 : 4;
  const entries = await read(ifd + (big ? 8 : 2), nEntries * entrySize);
  const want = tiled ? [324, 325] : [273, 279];
  const offsets: number[] = [],
    counts: number[] = [];
  for (let e = 0; e < nEntries; e++) {
    const o = e * entrySize;
    const k = want.indexOf(u16(entries, o));
    if (k < 0) continue;
    const type = u16(entries, o + 2);
    const count = big ? u64(entries, o + 4) : u32(entries, o + 4);
    const ts = type === 3 ? 2 : type === 4 ? 4 : type === 16 ? 8 : fail(`strip/tile table of TIFF type ${type}`);
    if (count > 1e8) fail(`${count} strips/tiles`);
    const valueAt = o + (big ? 12 : 8);
    const data =
      count * ts <= inline
        ? entries.subarray(valueAt, valueAt + count * ts)
        : await read(big ? u64(entries, valueAt) : u32(entries, valueAt), count * ts);
    const list = k === 0 ? offsets : counts;
    for (let i = 0; i < count; i++)
      list.push(ts === 2 ? u16(data, i * 2) : ts === 4 ? u32(data, i * 4) : u64(data, i * 8));
  }
  if (offsets.length === 0 || offsets.length !== counts.length)
    fail('no consistent strip/tile offset and byte-count tables');
  return { offsets, counts };
}

/** Complex (and real) GeoTIFF read strip by strip / tile by tile through the file directory. */
export class TiffSource implements RasterSource {
  readonly width: number;
  readonly height: number;
  readonly complex: boolean;
  geoTransform?: GeoTransform;
  epsg?: number;
  private readonly tw: number;
  private readonly th: number;
  private readonly tiled: boolean;
  private readonly bpp: number;
  private cache = new Map<number, DataView>(); // decoded tiles of the current tile row
  private cacheRow = -1;

  private constructor(
    readonly path: string,
    private image: GeoTIFFImage,
    readonly dataType: DataType,
    private decoder: Decoder,
    private fh: FileHandle,
    private fileSize: number,
    private table: { offsets: number[]; counts: number[] },
    private uncompressed: boolean,
  ) {
    this.width = image.getWidth();
    this.height = image.getHeight();
    this.complex = DATA_TYPES[dataType].complex;
    this.tiled = image.isTiled;
    this.tw = image.getTileWidth();
    this.th = image.getTileHeight();
    this.bpp = DATA_TYPES[dataType].bytes;
  }

  static async open(path: string): Promise<TiffSource> {
    const fail = (what: string): never => {
      throw new DpmError(`${path}: ${what}`);
    };
    // geotiff.js reads the header and directory through our own file handle: it is closed on every path, and a
    // corrupted count can never make it allocate more than the file holds
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      return fail(`cannot open (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    try {
      const size = (await fh.stat()).size;
      const source = {
        fileSize: size,
        async fetch(slices: { offset: number; length: number }[]): Promise<ArrayBuffer[]> {
          return Promise.all(
            slices.map(async ({ offset, length }) => {
              const n = Math.max(0, Math.min(length, size - offset));
              const b = Buffer.alloc(n);
              if (n > 0) await fh.read(b, 0, n, offset);
              return b.buffer.slice(b.byteOffset, b.byteOffset + n) as ArrayBuffer;
            }),
          );
        },
        async close() {},
      };
      let image: GeoTIFFImage;
      try {
        const tiff = await GeoTIFF.fromSource(source as never);
        image = await tiff.getImage(0);
      } catch (err) {
        return fail(`not a readable TIFF (${err instanceof Error ? err.message : String(err)})`);
      }
      return await TiffSource.build(path, image, fh, size);
    } catch (err) {
      await fh.close();
      if (err instanceof DpmError) throw err;
      return fail(`not a readable TIFF (${err instanceof Error ? err.message : String(err)})`);
    }
  }

  private static async build(path: string, image: GeoTIFFImage, fh: FileHandle, fileSize: number): Promise<TiffSource> {
    const fail = (what: string): never => {
      throw new DpmError(`${path}: ${what}`);
    };
    const fd = image.getFileDirectory();
    const spp = image.getSamplesPerPixel();
    const bits = Number(image.getBitsPerSample(0));
    const fmt = image.getSampleFormat(0);
    if (spp !== 1) fail(`${spp} samples per pixel; a single complex (or real) band is expected`);
    const types: Record<string, DataType> = {
      '5/32': 'CInt16',
      '5/64': 'CInt32',
      '6/64': 'CFloat32',
      '6/128': 'CFloat64',
      '3/32': 'Float32',
      '3/64': 'Float64',
      '2/16': 'Int16',
      '2/32': 'Int32',
      '1/16': 'UInt16',
      '1/8': 'Byte',
    };
    const dataType =
      types[`${fmt}/${bits}`] ??
      fail(`sample format ${fmt} with ${bits} bits is not supported (CInt16, CFloat32, CFloat64, or a real type)`);
    const predictor = Number((await fd.loadValue('Predictor')) ?? 1);
    if (predictor !== 1) fail(`TIFF predictor ${predictor} is not supported for SLC data`);
    const compression = Number((await fd.loadValue('Compression')) ?? 1);
    checkCompression(path, compression);
    const table = await readBlockTable(fh, fileSize, path, image.isTiled);
    // sizes, block tables, declared size against what the file can hold (before any block is decoded)
    await checkTiffLayout(path, image, fileSize, DATA_TYPES[dataType].bytes, table);
    let decoder: Decoder;
    try {
      decoder = (await getDecoder(compression, {
        tileWidth: image.getTileWidth(),
        tileHeight: image.getTileHeight(),
        predictor: 1,
        bitsPerSample: [bits],
        planarConfiguration: 1,
        samplesPerPixel: 1,
      })) as unknown as Decoder;
    } catch {
      return fail(`TIFF compression ${compression} is not supported`);
    }
    const blocks =
      Math.ceil(image.getWidth() / image.getTileWidth()) * Math.ceil(image.getHeight() / image.getTileHeight());
    if (table.offsets.length < blocks) fail(`${table.offsets.length} strips/tiles listed, ${blocks} needed`);
    const src = new TiffSource(path, image, dataType, decoder, fh, fileSize, table, compression === 1);
    try {
      const geoKeys = image.getGeoKeys();
      const scale = await fd.loadValue('ModelPixelScale');
      if (scale && (await fd.loadValue('ModelTiepoint'))) {
        const [ox = NaN, oy = NaN] = image.getOrigin();
        const [rx = NaN, ry = NaN] = image.getResolution();
        src.geoTransform = [ox, rx, 0, oy, 0, ry];
      }
      const code = geoKeys?.ProjectedCSTypeGeoKey ?? geoKeys?.GeographicTypeGeoKey;
      if (typeof code === 'number' && code > 0 && code < 32767) src.epsg = code;
    } catch {
      // georeferencing is optional (Sentinel-1 SAFE measurement files carry only GCPs)
    }
    return src;
  }

  /** Where strip/tile `index` lies in the file (the table was checked to list every block the image needs). */
  private blockAt(index: number): { offset: number; count: number } {
    const offset = this.table.offsets[index],
      count = this.table.counts[index];
    if (offset === undefined || count === undefined) {
      throw new DpmError(`${this.path}: no ${this.tiled ? 'tile' : 'strip'} ${index} in its offset table`);
    }
    return { offset, count };
  }

  private async tile(index: number, rowsInTile: number): Promise<DataView> {
    const hit = this.cache.get(index);
    if (hit) return hit;
    const bad = (what: string): never => {
      throw new DpmError(
        `${this.path}: ${what} (${this.tiled ? 'tile' : 'strip'} ${index}); the file is truncated or corrupt`,
      );
    };
    const { offset, count } = this.blockAt(index);
    const need = this.tw * rowsInTile * this.bpp;
    let view: DataView;
    if (count === 0) {
      view = new DataView(new ArrayBuffer(need)); // sparse file: missing block reads as zeros (= invalid samples)
    } else {
      if (!Number.isFinite(offset) || !Number.isFinite(count) || offset + count > this.fileSize)
        bad(`data at byte ${offset}+${count} lies past the end of the file (${this.fileSize} bytes)`);
      const raw = Buffer.alloc(count);
      const { bytesRead } = await this.fh.read(raw, 0, count, offset);
      if (bytesRead !== count) bad('short read');
      let dec: ArrayBufferLike;
      try {
        dec = await this.decoder.decode(raw.buffer.slice(raw.byteOffset, raw.byteOffset + count));
      } catch (err) {
        return bad(`cannot decompress (${shortText(err)})`);
      }
      // a tile decodes to exactly its size, a strip to at least its rows: anything else is not what the header says
      if (dec.byteLength < need || (this.tiled && dec.byteLength !== need))
        bad(`decoded ${dec.byteLength} bytes, expected ${need}`);
      view = new DataView(dec);
    }
    this.cache.set(index, view);
    return view;
  }

  async read(
    row0: number,
    nRows: number,
    col0: number,
    nCols: number,
    out: Float32Array | Float64Array,
  ): Promise<void> {
    checkWindow(this, row0, nRows, col0, nCols, out);
    const per = this.complex ? 2 : 1;
    const le = this.image.littleEndian;
    const across = Math.ceil(this.width / this.tw);
    for (let ty = Math.floor(row0 / this.th); ty * this.th < row0 + nRows; ty++) {
      if (ty !== this.cacheRow) {
        this.cache.clear(); // keep one tile row: memory ≤ tile height × width × sample size
        this.cacheRow = ty;
      }
      const rowsInTile = this.tiled ? this.th : Math.min(this.th, this.height - ty * this.th);
      const rA = Math.max(row0, ty * this.th),
        rB = Math.min(row0 + nRows, (ty + 1) * this.th);
      for (let tx = Math.floor(col0 / this.tw); tx * this.tw < col0 + nCols; tx++) {
        const cA = Math.max(col0, tx * this.tw),
          cB = Math.min(col0 + nCols, (tx + 1) * this.tw);
        if (this.uncompressed) {
          // read just the wanted rows of the strip/tile: a single-strip Sentinel-1 file (~1.3 GB) stays on disk
          await this.readRaw(ty * across + tx, rowsInTile, ty, tx, rA, rB, cA, cB, row0, col0, nCols, out);
          continue;
        }
        const dv = await this.tile(ty * across + tx, rowsInTile);
        for (let r = rA; r < rB; r++) {
          const off = ((r - ty * this.th) * this.tw + (cA - tx * this.tw)) * this.bpp;
          convert(dv, off, this.bpp, cB - cA, this.dataType, le, out, ((r - row0) * nCols + (cA - col0)) * per);
        }
      }
    }
  }

  private scratch = Buffer.alloc(0);

  private async readRaw(
    index: number,
    rowsInTile: number,
    ty: number,
    tx: number,
    rA: number,
    rB: number,
    cA: number,
    cB: number,
    row0: number,
    col0: number,
    nCols: number,
    out: Float32Array | Float64Array,
  ): Promise<void> {
    const { offset, count } = this.blockAt(index);
    const per = this.complex ? 2 : 1;
    const len = (cB - cA) * this.bpp;
    if (this.scratch.length < len) this.scratch = Buffer.alloc(len);
    const buf = this.scratch.subarray(0, len);
    const dv = new DataView(buf.buffer, buf.byteOffset, len);
    if (count === 0)
      buf.fill(0); // sparse file: missing block = zeros (invalid samples)
    else if (count < this.tw * rowsInTile * this.bpp || offset + count > this.fileSize) {
      throw new DpmError(
        `${this.path}: ${this.tiled ? 'tile' : 'strip'} ${index} holds ${count} bytes at ${offset}, expected ${this.tw * rowsInTile * this.bpp} inside a ${this.fileSize}-byte file; the file is truncated or corrupt`,
      );
    }
    for (let r = rA; r < rB; r++) {
      if (count !== 0) {
        const pos = offset + ((r - ty * this.th) * this.tw + (cA - tx * this.tw)) * this.bpp;
        const { bytesRead } = await this.fh.read(buf, 0, len, pos);
        if (bytesRead !== len)
          throw new DpmError(`${this.path}: short read at byte ${pos}; the file is truncated or corrupt`);
      }
      convert(
        dv,
        0,
        this.bpp,
        cB - cA,
        this.dataType,
        this.image.littleEndian,
        out,
        ((r - row0) * nCols + (cA - col0)) * per,
      );
    }
  }

  async close(): Promise<void> {
    this.cache.clear();
    await this.fh.close();
  }
}

// ─────────────────────────────────────── mosaic VRT ───────────────────────────────────────

/**
 * A VRTSourcedRasterBand of unresampled sources (ISCE2 topsStack virtual merges of burst SLCs). Pieces are opened
 * when a read first needs them and closed once reads have moved below them, so a stack of many dates × bursts does
 * not hold hundreds of file handles. Memory: one line of scratch.
 */
export class MosaicSource implements RasterSource {
  readonly path: string;
  readonly width: number;
  readonly height: number;
  readonly dataType: DataType;
  readonly complex: boolean;
  readonly geoTransform?: GeoTransform;
  readonly epsg?: number;
  private open = new Map<number, RasterSource>();
  private line: Float32Array | Float64Array = new Float32Array(0);

  private constructor(private spec: MosaicSpec) {
    this.path = spec.header;
    this.width = spec.width;
    this.height = spec.height;
    this.dataType = spec.dataType;
    this.complex = DATA_TYPES[spec.dataType].complex;
    this.geoTransform = spec.geoTransform;
    this.epsg = spec.epsg;
  }

  /** Opens every piece once to check it exists, is large enough and of the same kind, then closes it. */
  static async create(spec: MosaicSpec): Promise<MosaicSource> {
    for (const [i, pc] of spec.pieces.entries()) {
      const where = `${spec.header}: source ${i + 1} (${pc.file})`;
      if (pc.dst.x + pc.dst.w > spec.width || pc.dst.y + pc.dst.h > spec.height)
        throw new DpmError(`${where}: DstRect reaches outside the ${spec.width} × ${spec.height} mosaic`);
      const src = await openPiece(pc.file, where);
      try {
        if (pc.src.x + pc.src.w > src.width || pc.src.y + pc.src.h > src.height)
          throw new DpmError(`${where}: SrcRect reaches outside its ${src.width} × ${src.height} pixels`);
        if (src.complex !== DATA_TYPES[spec.dataType].complex)
          throw new DpmError(`${where}: ${src.dataType} in a ${spec.dataType} mosaic`);
      } finally {
        await src.close();
      }
    }
    return new MosaicSource(spec);
  }

  async read(
    row0: number,
    nRows: number,
    col0: number,
    nCols: number,
    out: Float32Array | Float64Array,
  ): Promise<void> {
    checkWindow(this, row0, nRows, col0, nCols, out);
    const per = this.complex ? 2 : 1;
    out.fill(0, 0, nRows * nCols * per); // uncovered pixels: zero = invalid sample
    for (const [i, pc] of this.spec.pieces.entries()) {
      const d = pc.dst;
      if (d.y + d.h <= row0) {
        await this.open.get(i)?.close(); // reads go down the image: this piece is done
        this.open.delete(i);
        continue;
      }
      const r0 = Math.max(row0, d.y),
        r1 = Math.min(row0 + nRows, d.y + d.h);
      const c0 = Math.max(col0, d.x),
        c1 = Math.min(col0 + nCols, d.x + d.w);
      if (r0 >= r1 || c0 >= c1) continue;
      let src = this.open.get(i);
      if (!src) {
        src = await openPiece(pc.file, `${this.path}: source ${i + 1} (${pc.file})`);
        this.open.set(i, src);
      }
      const n = (c1 - c0) * per;
      if (this.line.length < n || this.line.constructor !== out.constructor) {
        this.line = out instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
      }
      const line = this.line.subarray(0, n);
      for (let r = r0; r < r1; r++) {
        await src.read(pc.src.y + (r - d.y), 1, pc.src.x + (c0 - d.x), c1 - c0, line);
        out.set(line, ((r - row0) * nCols + (c0 - col0)) * per);
      }
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.open.values()].map((s) => s.close()));
    this.open.clear();
  }
}

async function openPiece(file: string, where: string): Promise<RasterSource> {
  regularFileSize(file, where);
  // a piece is opened as a plain raster (nested = true): a mosaic naming a mosaic (or itself) is refused before
  // it is opened, so a self-referencing VRT cannot recurse
  return openRaster(file, true);
}

/** A .vrt: a raw band (VRTRawRasterBand) or a mosaic of unresampled sources (not inside another mosaic). */
async function openVrt(text: string, path: string, nested = false): Promise<RasterSource> {
  const kind = vrtKind(text, path);
  if (kind === 'mosaic') {
    if (nested) throw new DpmError(`${path}: a mosaic VRT inside a mosaic VRT is not supported`);
    return MosaicSource.create(parseMosaicVrt(text, path));
  }
  return RawSource.open(parseVrt(text, path)); // for 'other', its error names what is wrong
}

// ─────────────────────────────────────── opening files ───────────────────────────────────────

/** largest VRT/XML header read (ISCE2 and GDAL write a few KB; a topsStack mosaic of many bursts stays < 1 MB) */
const MAX_HEADER_BYTES = 16 * 2 ** 20;

async function readHeader(path: string): Promise<string> {
  const size = regularFileSize(path, 'header');
  if (size > MAX_HEADER_BYTES) throw new DpmError(`${path}: header is ${size} bytes, not a VRT/XML header`);
  try {
    const buf = await readFile(path);
    return buf.toString('utf8');
  } catch (err) {
    if (err instanceof DpmError) throw err;
    throw new DpmError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

function isTiffMagic(path: string): boolean {
  try {
    const b = Buffer.alloc(4);
    const h = openSync(path, 'r');
    try {
      if (readSync(h, b, 0, 4, 0) < 4) return false;
    } finally {
      closeSync(h);
    }
    return (
      (b[0] === 0x49 && b[1] === 0x49 && (b[2] === 42 || b[2] === 43)) ||
      (b[0] === 0x4d && b[1] === 0x4d && (b[3] === 42 || b[3] === 43))
    );
  } catch {
    return false;
  }
}

/**
 * Opens a raster: a .vrt or ISCE2 .xml header, a GeoTIFF, or a raw file with `<file>.vrt` or `<file>.xml` beside it
 * (the VRT is preferred; the XML is used when the VRT is missing or not a raw band).
 */
export async function openRaster(path: string, nested = false): Promise<RasterSource> {
  const p = resolve(path);
  if (!existsSync(p)) throw new DpmError(`${path}: no such file`);
  if (statSync(p).isDirectory()) throw new DpmError(`${path}: is a folder, expected a raster file`);
  regularFileSize(p, 'raster');
  if (/\.vrt$/i.test(p)) return openVrt(await readHeader(p), p, nested);
  if (/\.xml$/i.test(p)) return RawSource.open(parseIsceXml(await readHeader(p), p));
  if (/\.tiff?$/i.test(p) || isTiffMagic(p)) return TiffSource.open(p);
  const vrt = `${p}.vrt`,
    xml = `${p}.xml`;
  if (existsSync(vrt)) {
    const text = await readHeader(vrt);
    if (!(vrtKind(text, vrt) !== 'raw' && existsSync(xml))) return openVrt(text, vrt, nested);
  }
  if (existsSync(xml)) return RawSource.open(parseIsceXml(await readHeader(xml), xml));
  throw new DpmError(`${path}: raw file without a header: expected ${basename(vrt)} or ${basename(xml)} beside it`);
}

// ─────────────────────────────────────── stacks ───────────────────────────────────────

/** The first 8-digit group that is a plausible calendar date (1990–2099), or undefined. */
export function dateFromName(name: string): string | undefined {
  for (const [, d = ''] of name.matchAll(/(?<!\d)((?:19|20)\d{6})/g)) {
    const y = Number(d.slice(0, 4)),
      mo = Number(d.slice(4, 6)),
      da = Number(d.slice(6, 8));
    const t = new Date(Date.UTC(y, mo - 1, da));
    if (y >= 1990 && t.getUTCMonth() === mo - 1 && t.getUTCDate() === da) return d;
  }
  return undefined;
}

export interface StackEntry {
  date: string;
  path: string;
}

export interface DiscoveredStack {
  entries: StackEntry[];
  /** lat/lon lookups found beside the stack (ISCE2 geom_reference), if any */
  lat?: string;
  lon?: string;
}

const DATA_EXT = /\.(slc\.full|slc|tiff?|vrt)$/i;

/** HDF5 products (OPERA CSLC-S1, NISAR RSLC/GSLC: hdf5.ts), and their lat/lon lookups `<file>#lat|#lon`. */
export const HDF5_NAME = /\.(h5|hdf5|he5)$/i;
export const HDF5_PATH = /^(.*\.(?:h5|hdf5|he5))(?:#(lat|lon))?$/i;

/** Whether --slc names HDF5 products: HDF5 files, or one folder holding them (read by hdf5.ts). */
export function isHdf5Stack(inputs: string[]): boolean {
  const [only] = inputs;
  if (inputs.length === 1 && only !== undefined && existsSync(only) && statSync(only).isDirectory())
    return readdirSync(only).some((n) => HDF5_NAME.test(n));
  return inputs.length > 0 && inputs.every((p) => HDF5_NAME.test(p));
}

function stackFromFolder(dir: string): StackEntry[] {
  const names = readdirSync(dir).sort();
  const entries: StackEntry[] = [];
  // ISCE2: per-date folders YYYYMMDD/YYYYMMDD.slc.full (or .slc), header beside it
  for (const n of names) {
    const sub = join(dir, n);
    if (!/^\d{8}$/.test(n) || !dateFromName(n) || !statSync(sub).isDirectory()) continue;
    const cands = [
      `${n}.slc.full`,
      `${n}.slc`,
      `${n}.slc.full.vrt`,
      `${n}.slc.vrt`,
      `${n}.slc.full.xml`,
      `${n}.slc.xml`,
      `${n}.tif`,
      `${n}.tiff`,
    ];
    const hit = cands.find((c) => existsSync(join(sub, c)));
    if (!hit) throw new DpmError(`${sub}: date folder without ${n}.slc.full or ${n}.slc (ISCE2 stack layout)`);
    entries.push({ date: n, path: join(sub, hit) });
  }
  if (entries.length) return entries;
  // topsStack / stripmapStack: <dir>/merged/SLC or <dir>/SLC
  for (const s of ['merged/SLC', 'SLC'])
    if (existsSync(join(dir, s)) && statSync(join(dir, s)).isDirectory()) return stackFromFolder(join(dir, s));
  // flat folder of files named with dates (Sentinel-1 SAFE measurement TIFFs, VRTs …): one dataset per base name
  const seen = new Set<string>();
  for (const n of names) {
    if (!DATA_EXT.test(n) && !/\.xml$/i.test(n)) continue;
    const base = n.replace(/\.(vrt|xml)$/i, '');
    if (seen.has(base)) continue;
    const date = dateFromName(n);
    if (!date) continue;
    if (/\.xml$/i.test(n) && !existsSync(join(dir, base))) continue;
    seen.add(base);
    const raw = join(dir, base);
    entries.push({ date, path: existsSync(raw) && !statSync(raw).isDirectory() ? raw : join(dir, n) });
  }
  return entries;
}

function findLookup(dir: string, name: 'lat' | 'lon'): string | undefined {
  // ISCE2: <stack>/geom_reference/lat.rdr; topsStack: <stack>/merged/geom_reference/lat.rdr.full (possibly only a
  // virtual .vrt); the user may point --slc at the stack, at merged/ or at merged/SLC
  for (const d of [dir, dirname(dir), dirname(dirname(dir))]) {
    for (const g of ['geom_reference', 'merged/geom_reference']) {
      for (const f of [`${name}.rdr`, `${name}.rdr.full`]) {
        const p = join(d, g, f);
        if (existsSync(p)) return p;
        if (existsSync(`${p}.vrt`)) return `${p}.vrt`;
      }
    }
  }
  return undefined;
}

/**
 * Resolves --slc: one folder (ISCE2 stack, topsStack merged/SLC, or a flat folder of dated files) or a list of
 * files whose names (or parent folder) carry the date. Sorted by date; duplicate dates are an error.
 */
export function discoverStack(inputs: string[]): DiscoveredStack {
  if (inputs.length === 0) throw new DpmError('--slc: give a stack folder or at least two SLC files');
  let entries: StackEntry[] = [];
  const out: DiscoveredStack = { entries };
  const [only] = inputs;
  if (only !== undefined && inputs.length === 1 && existsSync(only) && statSync(only).isDirectory()) {
    const dir = resolve(only);
    entries = stackFromFolder(dir);
    if (entries.length === 0)
      throw new DpmError(
        `${only}: no SLCs found (expected YYYYMMDD/YYYYMMDD.slc.full folders, or files named with a date)`,
      );
    out.lat = findLookup(dir, 'lat');
    out.lon = findLookup(dir, 'lon');
  } else {
    for (const f of inputs) {
      if (!existsSync(f)) throw new DpmError(`--slc: ${f}: no such file`);
      const date = dateFromName(basename(f)) ?? dateFromName(basename(dirname(resolve(f))));
      if (!date) throw new DpmError(`--slc: ${f}: no acquisition date (YYYYMMDD) in the file or folder name`);
      entries.push({ date, path: resolve(f) });
    }
  }
  entries.sort((a, b) => a.date.localeCompare(b.date));
  for (const [a, b] of consecutivePairs(entries)) {
    if (a.date === b.date) throw new DpmError(`--slc: two SLCs for ${b.date}: ${a.path} and ${b.path}`);
  }
  if (entries.length < 2)
    throw new DpmError(`--slc: found ${entries.length} acquisition; a coherence stack needs at least two`);
  out.entries = entries;
  return out;
}
