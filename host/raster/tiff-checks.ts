// Checks of a TIFF's layout before any pixel is decoded, and decoders that never inflate past a block's size.
// Why: geotiff.js trusts the header. TileWidth=0 or an unknown compression decoded to zeros that then trained a
// model; a 1 MB DEFLATE strip inflated to 1 GiB; an 8.7 KB file declaring 16384² × 2 allocated 5.3 GB before failing.
// Every check names the file and the tag.
import { inflateSync } from 'node:zlib';
import { addDecoder, BaseDecoder, type GeoTIFFImage } from 'geotiff';
import { DpmError, shortText } from '../core/errors.js';
import { memoryBudget } from '../io/files.js';

/** Compressions we decode, with the largest output/input ratio each can reach (DEFLATE's is 1032:1). */
export const TIFF_COMPRESSIONS: Record<number, { name: string; maxRatio: number }> = {
  1: { name: 'none', maxRatio: 1 },
  5: { name: 'LZW', maxRatio: 4096 },
  8: { name: 'DEFLATE', maxRatio: 1100 },
  32946: { name: 'DEFLATE (old code)', maxRatio: 1100 },
  32773: { name: 'PackBits', maxRatio: 64 },
};

const KNOWN_NAMES: Record<number, string> = {
  6: 'old JPEG',
  7: 'JPEG',
  34887: 'LERC',
  34925: 'LZMA',
  50000: 'ZSTD',
  50001: 'WebP',
  50002: 'JPEG XL',
};

/** The compression code of a TIFF, checked to be one we decode exactly. */
export function checkCompression(path: string, code: number): void {
  if (TIFF_COMPRESSIONS[code]) return;
  const name = KNOWN_NAMES[code];
  throw new DpmError(
    `${path}: TIFF compression ${code}${name ? ` (${name})` : ''} is not supported ` +
      `(supported: none, LZW, DEFLATE, PackBits; e.g. gdal_translate -co COMPRESS=DEFLATE)`,
  );
}

export interface TiffLayout {
  tiled: boolean;
  blockWidth: number;
  blockHeight: number;
  /** bytes of one full block as decoded */
  blockBytes: number;
  blocks: number;
  compression: number;
}

/**
 * Checks sizes, sample formats, block sizes and the strip/tile tables of `image` against a file of `fileSize`
 * bytes. `outBytesPerSample`: what the caller allocates per decoded sample (4 for float32 output).
 */
export async function checkTiffLayout(
  path: string,
  image: GeoTIFFImage,
  fileSize: number,
  outBytesPerSample: number,
  /** the strip/tile table when the caller read it itself (geotiff.js byte-swaps big-endian tables of many strips) */
  table?: { offsets: ArrayLike<number>; counts: ArrayLike<number> },
): Promise<TiffLayout> {
  const fail = (what: string): never => {
    throw new DpmError(`${path}: ${what}`);
  };
  const fd = image.getFileDirectory();
  type Tag = Parameters<typeof fd.hasTag>[0];
  const list = (v: unknown): number[] =>
    ArrayBuffer.isView(v) || Array.isArray(v) ? Array.from(v as unknown as ArrayLike<number>) : [Number(v)];
  const num = async (tag: Tag): Promise<number | undefined> => {
    if (!fd.hasTag(tag)) return undefined;
    const n = list(await fd.loadValue(tag))[0] ?? NaN;
    return Number.isFinite(n) ? n : NaN;
  };
  const width = (await num('ImageWidth')) ?? 0;
  const height = (await num('ImageLength')) ?? 0;
  const spp = (await num('SamplesPerPixel')) ?? 1;
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0))
    fail(`TIFF ImageWidth × ImageLength is ${width} × ${height}; the header is corrupt or truncated`);
  if (!(Number.isInteger(spp) && spp > 0 && spp <= 65535)) fail(`TIFF SamplesPerPixel ${spp} is impossible`);
  const compression = (await num('Compression')) ?? 1;
  checkCompression(path, compression);
  const planar = (await num('PlanarConfiguration')) ?? 1;
  if (planar !== 1 && planar !== 2) fail(`TIFF PlanarConfiguration ${planar} must be 1 or 2`);

  const bits = list(fd.hasTag('BitsPerSample') ? await fd.loadValue('BitsPerSample') : 1);
  const formats = list(fd.hasTag('SampleFormat') ? await fd.loadValue('SampleFormat') : 1);
  const b0 = bits[0] ?? NaN;
  const f0 = formats[0] ?? 1;
  if (![8, 16, 32, 64, 128].includes(b0)) fail(`TIFF BitsPerSample ${b0} is not supported (8, 16, 32 or 64)`);
  if (bits.some((b) => b !== b0)) fail(`TIFF BitsPerSample differs between bands (${bits.slice(0, 8).join(', ')})`);
  if (![1, 2, 3, 5, 6].includes(f0)) fail(`TIFF SampleFormat ${f0} is not supported (1 uint, 2 int, 3 float)`);
  if (formats.some((f) => f !== f0)) fail('TIFF SampleFormat differs between bands');
  if (f0 === 3 && b0 !== 32 && b0 !== 64) fail(`TIFF float samples of ${b0} bits are not supported (32 or 64)`);

  const tiled = fd.hasTag('TileWidth') || fd.hasTag('TileOffsets');
  let bw: number;
  let bh: number;
  if (tiled) {
    bw = (await num('TileWidth')) ?? 0;
    bh = (await num('TileLength')) ?? 0;
    for (const [tag, v] of [
      ['TileWidth', bw],
      ['TileLength', bh],
    ] as const) {
      if (!(Number.isInteger(v) && v > 0 && v % 16 === 0 && v <= 65536))
        fail(`TIFF ${tag} ${v} is invalid (a positive multiple of 16 up to 65536)`);
    }
  } else {
    bw = width;
    const rps = (await num('RowsPerStrip')) ?? height;
    if (!(Number.isInteger(rps) && rps > 0)) fail(`TIFF RowsPerStrip ${rps} is invalid (a positive whole number)`);
    bh = Math.min(rps, height);
  }
  const samplesPerBlock = planar === 2 ? 1 : spp;
  const blockBytes = bw * bh * samplesPerBlock * (b0 / 8);
  const blocks = Math.ceil(width / bw) * Math.ceil(height / bh) * (planar === 2 ? spp : 1);
  const decodedBytes = width * height * spp * outBytesPerSample;
  if (decodedBytes > memoryBudget())
    fail(
      `TIFF declares ${width} × ${height} × ${spp} samples (${gib(decodedBytes)} GiB decoded), ` +
        `more than this machine can hold (${gib(memoryBudget())} GiB allowed)`,
    );

  const offTag = tiled ? 'TileOffsets' : 'StripOffsets';
  const cntTag = tiled ? 'TileByteCounts' : 'StripByteCounts';
  if (!table && (!fd.hasTag(offTag) || !fd.hasTag(cntTag))) fail(`TIFF has no ${offTag}/${cntTag}: no image data`);
  const offsets = table?.offsets ?? ((await fd.loadValue(offTag)) as ArrayLike<number>);
  const counts = table?.counts ?? ((await fd.loadValue(cntTag)) as ArrayLike<number>);
  if (offsets.length !== counts.length)
    fail(`TIFF ${offTag} lists ${offsets.length} blocks, ${cntTag} ${counts.length}`);
  if (offsets.length < blocks) fail(`TIFF ${offTag} lists ${offsets.length} blocks, the image needs ${blocks}`);
  let stored = 0;
  for (let i = 0; i < blocks; i++) {
    const off = Number(offsets[i]);
    const cnt = Number(counts[i]);
    if (!(Number.isFinite(off) && Number.isFinite(cnt) && off >= 0 && cnt >= 0))
      fail(`TIFF ${offTag}[${i}] / ${cntTag}[${i}] are not valid (${off}, ${cnt})`);
    if (off + cnt > fileSize)
      fail(`truncated: data block ${i} ends at byte ${off + cnt}, the file has ${fileSize} bytes`);
    stored += cnt;
  }
  const maxRatio = TIFF_COMPRESSIONS[compression]?.maxRatio ?? 1;
  const rawBytes = width * height * spp * (b0 / 8);
  if (compression === 1) {
    // uncompressed: every block must hold its rows (the last strip may be short)
    for (let i = 0; i < blocks; i++) {
      const rowsHere = tiled ? bh : Math.min(bh, height - (i % Math.ceil(height / bh)) * bh);
      const need = bw * rowsHere * samplesPerBlock * (b0 / 8);
      const cnt = Number(counts[i]);
      if (cnt !== 0 && cnt < need) fail(`TIFF ${cntTag}[${i}] is ${cnt} bytes, an uncompressed block needs ${need}`);
    }
  } else if (rawBytes > stored * maxRatio + blocks * 1024) {
    fail(
      `TIFF declares ${width} × ${height} × ${spp} samples (${rawBytes} bytes) but its ${blocks} data blocks hold ` +
        `${stored} bytes: more than ${TIFF_COMPRESSIONS[compression]?.name} can expand to (corrupt header)`,
    );
  }
  return { tiled, blockWidth: bw, blockHeight: bh, blockBytes, blocks, compression };
}

const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(1);

/** Bytes of one full block for a decoder's parameters (what a block may decode to at most). */
function blockLimit(p: {
  tileWidth: number;
  tileHeight: number;
  bitsPerSample: number | ArrayLike<number>;
  planarConfiguration: number;
}): number {
  const bits = typeof p.bitsPerSample === 'number' ? [p.bitsPerSample] : Array.from(p.bitsPerSample);
  const perPixel = p.planarConfiguration === 2 ? (bits[0] ?? 0) : bits.reduce((a, b) => a + b, 0);
  return Math.ceil((p.tileWidth * p.tileHeight * perPixel) / 8);
}

// DEFLATE through node:zlib (native: ~3× faster than geotiff.js's pako), never past one block's size: a DEFLATE
// bomb stops at the cap instead of filling memory.
class CappedDeflateDecoder extends BaseDecoder {
  override decodeBlock(buffer: ArrayBufferLike): ArrayBufferLike {
    const limit = blockLimit(this.parameters as Parameters<typeof blockLimit>[0]);
    let out: Buffer;
    try {
      out = inflateSync(new Uint8Array(buffer), { maxOutputLength: Math.max(1, limit) });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE')
        throw new Error(`a DEFLATE block expands past its ${limit} bytes (decompression bomb or corrupt data)`);
      throw new Error(`DEFLATE data is corrupt (${shortText(err, 80)})`);
    }
    return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
  }
}
addDecoder([8, 32946], async () => CappedDeflateDecoder);

/**
 * TIFF LZW (MSB first, early change) into at most `limit` bytes. geotiff.js's decoder grows a plain array without
 * bound (8 bytes per output byte): an LZW bomb would fill memory before any size check.
 */
export function lzwDecode(input: Uint8Array, limit: number): Uint8Array {
  const CLEAR = 256;
  const EOI = 257;
  const out = new Uint8Array(limit);
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const length = new Int32Array(4096);
  const first = new Uint8Array(4096);
  for (let i = 0; i < 256; i++) {
    prefix[i] = -1;
    suffix[i] = i;
    length[i] = 1;
    first[i] = i;
  }
  let next = 258;
  let width = 9;
  let bitPos = 0;
  let outLen = 0;
  const totalBits = input.length * 8;
  const read = (): number => {
    if (bitPos + width > totalBits) return EOI; // ran off the end: as geotiff.js, an implicit end of information
    const at = bitPos >> 3;
    const word = ((input[at] ?? 0) << 16) | ((input[at + 1] ?? 0) << 8) | (input[at + 2] ?? 0);
    bitPos += width;
    return (word >> (24 - ((bitPos - width) & 7) - width)) & ((1 << width) - 1);
  };
  const emit = (code: number) => {
    const len = length[code]!;
    if (outLen + len > limit)
      throw new Error(`an LZW block expands past its ${limit} bytes (decompression bomb or corrupt data)`);
    let c = code;
    for (let i = len - 1; i >= 0; i--) {
      out[outLen + i] = suffix[c]!;
      c = prefix[c]!;
    }
    outLen += len;
  };
  const add = (p: number, ch: number) => {
    if (next >= 4096) return;
    prefix[next] = p;
    suffix[next] = ch;
    length[next] = length[p]! + 1;
    first[next] = first[p]!;
    next++;
  };
  let old = -1;
  for (;;) {
    let code = read();
    if (code === EOI) break;
    if (code === CLEAR) {
      next = 258;
      width = 9;
      do code = read();
      while (code === CLEAR);
      if (code === EOI) break;
      if (code > 255) throw new Error(`corrupt LZW data (code ${code} after a clear code)`);
      emit(code);
      old = code;
    } else if (old < 0) {
      if (code > 255) throw new Error(`corrupt LZW data (code ${code} with no previous code)`);
      emit(code);
      old = code;
    } else if (code < next) {
      emit(code);
      add(old, first[code]!);
      old = code;
    } else if (code === next) {
      add(old, first[old]!);
      emit(code);
      old = code;
    } else throw new Error(`corrupt LZW data (code ${code} past the table's ${next})`);
    // early change, as libtiff (and geotiff.js): one code earlier than the table needs
    if (next + 1 >= 1 << width) {
      if (width < 12) width++;
      else old = -1; // a full table without a clear code: as geotiff.js, start over
    }
  }
  return out.subarray(0, outLen);
}

/** A geotiff.js decoder class around `decode(input, limit)`, with the limit one block's size. */
function cappedDecoder(decode: (input: Uint8Array, limit: number) => Uint8Array): typeof BaseDecoder {
  return class extends BaseDecoder {
    override decodeBlock(buffer: ArrayBufferLike): ArrayBufferLike {
      const limit = blockLimit(this.parameters as Parameters<typeof blockLimit>[0]);
      const out = decode(new Uint8Array(buffer), Math.max(1, limit));
      return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
    }
  };
}
addDecoder(5, async () => cappedDecoder(lzwDecode));

/**
 * TIFF PackBits into at most `limit` bytes. geotiff.js's decoder pushes to a plain array without bound, so a
 * PackBits bomb (64× per byte) would fill memory before any size check. -128 repeats as in geotiff.js.
 */
export function packBitsDecode(input: Uint8Array, limit: number): Uint8Array {
  const out = new Uint8Array(limit);
  let outLen = 0;
  const tooBig = () =>
    new Error(`a PackBits block expands past its ${limit} bytes (decompression bomb or corrupt data)`);
  for (let i = 0; i < input.length; ) {
    const header = (input[i]! << 24) >> 24; // signed byte
    if (header < 0) {
      const run = 1 - header;
      if (i + 1 >= input.length) throw new Error('corrupt PackBits data (a run without its byte)');
      if (outLen + run > limit) throw tooBig();
      out.fill(input[i + 1]!, outLen, outLen + run);
      outLen += run;
      i += 2;
    } else {
      const literal = header + 1;
      if (i + 1 + literal > input.length) throw new Error('corrupt PackBits data (a literal runs past the block)');
      if (outLen + literal > limit) throw tooBig();
      out.set(input.subarray(i + 1, i + 1 + literal), outLen);
      outLen += literal;
      i += 1 + literal;
    }
  }
  return out.subarray(0, outLen);
}

addDecoder(32773, async () => cappedDecoder(packBitsDecode));
