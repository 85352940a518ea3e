// Cloud-optimized GeoTIFF writer (issue 14): every raster we write is a COG as GDAL's COG driver lays it out and
// its validator (validate_cloud_optimized_geotiff.py) checks it:
//   header | ghost area (GDAL_STRUCTURAL_METADATA) | IFD of the full image, IFDs of the overviews (each followed by
//   its out-of-line values) | tiles of the smallest overview … tiles of the full image
// Tiles are DEFLATE-compressed, row-major per band, each with a 4-byte size leader and its last 4 bytes repeated as a
// trailer (BLOCK_LEADER/BLOCK_TRAILER, so readers can fetch a tile without the IFD). Overviews halve the size until
// it fits one tile; a 2×2 block averages its finite values (NaN/nodata left out; all missing → missing). Float data
// uses the floating-point predictor (3), integers the horizontal one (2) when asked. Band units go to GDAL_METADATA
// (role="unittype"). Radar-geometry rasters carry a grid of ground control points (lat/lon of pixel centres, WGS84)
// in the file itself: GDAL resolves a relative GEOLOCATION path against the working folder, not the file, and an
// absolute one breaks when the folder moves; the GCPs travel with the file.
// A file past 4 GiB is written as a BigTIFF (8-byte offsets; GDAL's BIGTIFF=IF_NEEDED), smaller ones as classic TIFFs.
// Why our own writer: geotiff.js writes strips only, uncompressed.
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { valueAt } from '../core/arrays.js';
import { DpmError } from '../core/errors.js';
import type { GeoTransform } from './types.js';

export type SampleType = 'float32' | 'uint8' | 'int16' | 'uint16';

export interface TiffSpec {
  width: number;
  height: number;
  bands: ArrayLike<number>[];
  type: SampleType;
  nodata?: number;
  rgba: boolean;
  descriptions: string[];
  metadata: Record<string, string>;
  geolocation: Record<string, string>;
  geoTransform?: GeoTransform;
  epsg?: number;
  tileSize: number;
  level: number;
  /** TIFF predictor before DEFLATE: 3 (floating point) for float32, 2 (horizontal) for integers */
  predictor?: boolean;
  /** unit of each band (GDAL band unit type), or one for all */
  units?: string[];
  /** radar geometry: WGS84 lat/lon of pixel centres, written as a grid of GCPs */
  latLon?: { lat: ArrayLike<number>; lon: ArrayLike<number> };
  /** called before each band is compressed: a cancellation check (throwIfCanceled), as a many-band write is long */
  beforeBand?: () => void;
}

const TYPE_INFO: Record<SampleType, { bytes: number; format: number; min: number; max: number }> = {
  float32: { bytes: 4, format: 3, min: -Infinity, max: Infinity },
  uint8: { bytes: 1, format: 1, min: 0, max: 255 },
  int16: { bytes: 2, format: 2, min: -32768, max: 32767 },
  uint16: { bytes: 2, format: 1, min: 0, max: 65535 },
};

// TIFF field types
const BYTE = 1,
  ASCII = 2,
  SHORT = 3,
  LONG = 4,
  DOUBLE = 12,
  LONG8 = 16; // BigTIFF
const FIELD_SIZE: Record<number, number> = { [BYTE]: 1, [ASCII]: 1, [SHORT]: 2, [LONG]: 4, [DOUBLE]: 8, [LONG8]: 8 };
function fieldSize(type: number): number {
  const size = FIELD_SIZE[type];
  if (size === undefined) throw new Error(`internal: TIFF field type ${type} is not written`);
  return size;
}

interface Entry {
  tag: number;
  type: number;
  values: number[] | Buffer;
}

/** GCPs per side at most: dense enough for a smooth radar grid (GDAL fits a polynomial or thin-plate spline). */
const GCP_SIDE = 24;

/** Rows of one image of the pyramid held while they stream: `rows` full rows of `width` per band. */
interface Level {
  width: number;
  height: number;
  /** tiles across and down */
  across: number;
  down: number;
}

/** 2×2 averages (in float64) of the finite values of `rows` rows, stored as float32 (a quarter of the rows given);
 *  odd edges average what there is. Row pairs start at the first row given (callers pass even-aligned blocks). */
function halveRows(src: ArrayLike<number>, width: number, rows: number, missing: (v: number) => boolean): Float32Array {
  const w = Math.ceil(width / 2),
    h = Math.ceil(rows / 2);
  const out = new Float32Array(w * h);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      let s = 0,
        n = 0;
      for (let di = 0; di < 2; di++) {
        for (let dj = 0; dj < 2; dj++) {
          const r = 2 * i + di,
            c = 2 * j + dj;
          if (r >= rows || c >= width) continue;
          const v = valueAt(src, r * width + c);
          if (missing(v)) continue;
          s += v;
          n++;
        }
      }
      out[i * w + j] = n > 0 ? s / n : NaN;
    }
  }
  return out;
}

/** The tiles of one row of tiles (`rows` ≤ T valid rows of `width` in `bands`), left to right: compressed bytes.
 *  `bands` are the samples of one tile (all bands when pixel-interleaved, one band when planar). */
function encodeTileRow(bands: ArrayLike<number>[], width: number, rows: number, s: CogSpec, fill: number): Buffer[] {
  const T = s.tileSize;
  const info = TYPE_INFO[s.type];
  const perTile = bands.length;
  const raw = Buffer.alloc(T * T * perTile * info.bytes); // Buffer.alloc: own ArrayBuffer at offset 0
  const n = T * T * perTile;
  // Host byte order is little-endian on every platform Node supports here (x64, arm64), as is the file.
  const dst =
    s.type === 'float32'
      ? new Float32Array(raw.buffer, 0, n)
      : s.type === 'uint8'
        ? new Uint8Array(raw.buffer, 0, n)
        : s.type === 'int16'
          ? new Int16Array(raw.buffer, 0, n)
          : new Uint16Array(raw.buffer, 0, n);
  const isInt = s.type !== 'float32';
  const tiles: Buffer[] = [];
  for (let tx = 0; tx < Math.ceil(width / T); tx++) {
    let o = 0;
    for (let r = 0; r < T; r++) {
      for (let c = 0; c < T; c++) {
        const col = tx * T + c;
        const inside = r < rows && col < width;
        for (let k = 0; k < perTile; k++) {
          const src = bands[k];
          let v = inside && src ? valueAt(src, r * width + col) : fill;
          if (v !== v) v = fill; // NaN; edge tiles are padded with nodata, as GDAL does
          if (isInt) v = Math.min(info.max, Math.max(info.min, Math.round(v)));
          dst[o++] = v;
        }
      }
    }
    if (s.predictor) applyPredictor(raw, dst, T, perTile, s.type === 'float32');
    tiles.push(deflateSync(raw, { level: s.level }));
  }
  return tiles;
}

export interface Gcp {
  pixel: number;
  line: number;
  lon: number;
  lat: number;
}

/** GCPs of a radar grid picked from its lat/lon rows as they stream by: pixel centres on an even grid (edges
 *  included) of at most GCP_SIDE × GCP_SIDE, with their lon/lat. Rows must come in order. */
export class GcpCollector {
  readonly gcps: Gcp[] = [];
  private readonly rows: number[];
  private readonly cols: number[];
  private next = 0; // index into rows of the next row wanted
  private done = 0; // rows seen

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    const steps = (n: number) => {
      const m = Math.min(n, GCP_SIDE);
      return [...new Set(Array.from({ length: m }, (_, k) => (m === 1 ? 0 : Math.round((k * (n - 1)) / (m - 1)))))];
    };
    this.rows = steps(height);
    this.cols = steps(width);
  }

  /** `count` rows of lat/lon (row-major, `width` each), the next ones of the grid. */
  add(lat: ArrayLike<number>, lon: ArrayLike<number>, count: number): void {
    for (let i = this.rows[this.next]; i !== undefined && i < this.done + count; i = this.rows[++this.next]) {
      const o = (i - this.done) * this.width;
      for (const j of this.cols) {
        const la = valueAt(lat, o + j),
          lo = valueAt(lon, o + j);
        if (Number.isFinite(la) && Number.isFinite(lo))
          this.gcps.push({ pixel: j + 0.5, line: i + 0.5, lon: lo, lat: la });
      }
    }
    this.done += count;
  }
}

/** The GCPs of a whole radar grid (GcpCollector over all rows at once). */
export function gcpGrid(lat: ArrayLike<number>, lon: ArrayLike<number>, width: number, height: number): Gcp[] {
  const c = new GcpCollector(width, height);
  c.add(lat, lon, height);
  return c.gcps;
}

/** The tags of one image (full resolution or overview) except the tile offsets, filled in at layout. */
function imageEntries(s: CogSpec, l: Level, overview: boolean, tileCounts: number[]): Entry[] {
  const info = TYPE_INFO[s.type];
  const spp = s.bandCount;
  const entries: Entry[] = [];
  const add = (tag: number, type: number, values: number[] | Buffer) => entries.push({ tag, type, values });
  if (overview) add(254, LONG, [1]); // NewSubfileType: reduced-resolution image
  add(256, LONG, [l.width]);
  add(257, LONG, [l.height]);
  add(258, SHORT, new Array(spp).fill(info.bytes * 8));
  add(259, SHORT, [8]); // Adobe DEFLATE
  if (s.predictor) add(317, SHORT, [s.type === 'float32' ? 3 : 2]); // floating-point / horizontal differencing
  add(262, SHORT, [s.rgba && spp >= 3 ? 2 : 1]); // RGB or min-is-black
  add(277, SHORT, [spp]);
  add(284, SHORT, [s.rgba || spp === 1 ? 1 : 2]);
  add(322, SHORT, [s.tileSize]);
  add(323, SHORT, [s.tileSize]);
  add(324, LONG, new Array(tileCounts.length).fill(0)); // TileOffsets: set once the layout is known
  add(325, LONG, tileCounts);
  const baseSamples = s.rgba && spp >= 3 ? 3 : 1;
  if (spp > baseSamples) {
    const extra = new Array(spp - baseSamples).fill(0);
    if (s.rgba && spp === 4) extra[0] = 2; // unassociated alpha
    add(338, SHORT, extra);
  }
  add(339, SHORT, new Array(spp).fill(info.format));
  const nodata = s.nodata ?? (s.type === 'float32' ? NaN : undefined);
  if (nodata !== undefined)
    add(42113, ASCII, Buffer.from(`${Number.isNaN(nodata) ? 'nan' : String(nodata)}\0`, 'latin1'));
  if (overview) return entries;
  const gt = s.geoTransform;
  const gcps = gt ? [] : (s.gcps ?? []);
  if (gt) {
    if (gt[2] === 0 && gt[4] === 0) {
      add(33550, DOUBLE, [gt[1], -gt[5], 0]);
      add(33922, DOUBLE, [0, 0, 0, gt[0], gt[3], 0]);
    } else {
      add(34264, DOUBLE, [gt[1], gt[2], 0, gt[0], gt[4], gt[5], 0, gt[3], 0, 0, 0, 0, 0, 0, 0, 1]);
    }
  } else if (gcps.length >= 3) {
    add(
      33922,
      DOUBLE,
      gcps.flatMap((g) => [g.pixel, g.line, 0, g.lon, g.lat, 0]),
    );
  }
  // GeoKeys only with a CRS (a key directory without one makes GDAL report an "unnamed" engineering CRS); the GCPs'
  // CRS is WGS84 longitude/latitude
  const epsg = gt ? s.epsg : gcps.length >= 3 ? 4326 : undefined;
  if (epsg !== undefined) {
    const geographic = epsg >= 4000 && epsg < 5000;
    const keys: [number, number][] = [
      [1024, geographic ? 2 : 1],
      [1025, 1], // PixelIsArea
      [geographic ? 2048 : 3072, epsg],
    ];
    add(34735, SHORT, [1, 1, 0, keys.length, ...keys.flatMap(([k, v]) => [k, 0, 1, v])]);
  }
  const xml = gdalMetadataXml(s.descriptions, s.metadata, s.geolocation, s.units);
  if (xml) add(42112, ASCII, Buffer.from(`${xml}\0`, 'utf8'));
  return entries;
}

/** Serialises one IFD at `at` with its out-of-line values right after it; `next` = offset of the next IFD (0: last). */
function encodeIfd(entries: Entry[], at: number, next: number, big = false): Buffer {
  entries.sort((a, b) => a.tag - b.tag);
  // classic TIFF: 2-byte count, 12-byte entries, 4-byte values/offsets; BigTIFF: 8, 20 and 8
  const [head, entry, word] = big ? [8, 20, 8] : [2, 12, 4];
  const ifdSize = head + entries.length * entry + word;
  const ifd = Buffer.alloc(ifdSize);
  const extras: Buffer[] = [];
  let extraPos = at + ifdSize;
  const writeWord = (v: number, o: number) => (big ? ifd.writeBigUInt64LE(BigInt(v), o) : ifd.writeUInt32LE(v, o));
  if (big) ifd.writeBigUInt64LE(BigInt(entries.length), 0);
  else ifd.writeUInt16LE(entries.length, 0);
  entries.forEach((e, i) => {
    const data = encodeValues(e);
    const o = head + i * entry;
    ifd.writeUInt16LE(e.tag, o);
    ifd.writeUInt16LE(e.type, o + 2);
    writeWord(data.length / fieldSize(e.type), o + 4);
    if (data.length <= word) data.copy(ifd, o + 4 + word);
    else {
      writeWord(extraPos, o + 4 + word);
      const padded = data.length % 2 ? Buffer.concat([data, Buffer.alloc(1)]) : data;
      extras.push(padded);
      extraPos += padded.length;
    }
  });
  writeWord(next, ifdSize - word);
  return Buffer.concat([ifd, ...extras]);
}

const GHOST =
  'LAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nBLOCK_LEADER=SIZE_AS_UINT4\n' +
  'BLOCK_TRAILER=LAST_4_BYTES_REPEATED\nKNOWN_INCOMPATIBLE_EDITION=NO\n ';

/** Writes a cloud-optimized GeoTIFF of whole bands in memory (see the file comment): CogWriter fed every row at
 *  once. Used by writeGeoTiff and the overlay writer. */
export function writeTiff(path: string, s: TiffSpec): void {
  const { bands, latLon, beforeBand, ...rest } = s;
  const gcps = !s.geoTransform && latLon ? gcpGrid(latLon.lat, latLon.lon, s.width, s.height) : undefined;
  const w = new CogWriter(path, { ...rest, bandCount: bands.length, ...(gcps ? { gcps } : {}) });
  try {
    if (s.rgba) {
      w.write(bands, s.height); // pixel-interleaved: all bands together
    } else {
      // planar: band after band (the same bytes as all bands at once), with the caller's check between bands
      for (const [b, band] of bands.entries()) {
        beforeBand?.();
        w.write([band], s.height, b);
      }
    }
    w.finish();
  } catch (err) {
    w.abort();
    throw err;
  }
}

/** What a CogWriter needs before the pixels: TiffSpec without the bands, with their count and the radar GCPs. */
export type CogSpec = Omit<TiffSpec, 'bands' | 'latLon'> & {
  bandCount: number;
  /** radar geometry: ground control points (gcpGrid, or a GcpCollector fed while the rows stream) */
  gcps?: Gcp[];
  /** write a BigTIFF even when the file would fit a classic TIFF (which is written below 4 GiB) */
  bigTiff?: boolean;
};

/** One pyramid level of one tile plane while rows stream in: up to T buffered rows, tiles written so far. */
interface PlaneLevel {
  /** one array of T rows × level width per band of the plane: made at its first rows, freed when complete */
  buf: (Float32Array | Float64Array)[];
  /** rows in buf */
  held: number;
  /** rows of this level received so far */
  received: number;
}

/**
 * A COG written from rows as they come, in blocks of any size (memory: a row of tiles per band and level, not the
 * image). Each row of tiles is compressed as soon as it is complete and appended to a scratch file beside `path`
 * (`<path>.tiles`, a table keeps where each tile lies); overviews are built from the rows on the way (each level
 * halves the one above, row pairs at a time). finish() writes header, IFDs and the tiles in COG order to `path`;
 * the bytes are those of the same raster written whole. Planar (data) images take their bands together or one at a
 * time (`write(rows, n, band)`), so a multi-band raster can stream band after band.
 */
export class CogWriter {
  private readonly levels: Level[];
  /** tile plane → its level states (planar: one plane per band; pixel-interleaved: one plane of every band) */
  private readonly planes: PlaneLevel[][];
  /** [level][tile in file order] → offset in the scratch file and compressed size */
  private readonly at: Float64Array[];
  private readonly size: Uint32Array[];
  private readonly scratch: string;
  private fd: number | undefined;
  private scratchBytes = 0;
  private readonly fill: number;
  private readonly missing: (v: number) => boolean;

  constructor(
    private readonly path: string,
    private readonly s: CogSpec,
  ) {
    const { width, height, tileSize: T } = s;
    if (T % 16 !== 0 || T <= 0) throw new Error(`internal: tile size ${T} must be a positive multiple of 16`);
    if (!(width > 0 && height > 0 && s.bandCount > 0))
      throw new DpmError(`${path}: nothing to write (${width} × ${height}, ${s.bandCount} bands)`);
    const nodata = s.nodata ?? (s.type === 'float32' ? NaN : undefined);
    this.fill = nodata === undefined || Number.isNaN(nodata) ? (s.type === 'float32' ? NaN : 0) : nodata;
    // values that overviews leave out: NaN and the nodata value of integer types
    this.missing = (v: number) => v !== v || (nodata !== undefined && !Number.isNaN(nodata) && v === nodata);
    const level = (w: number, h: number): Level => ({
      width: w,
      height: h,
      across: Math.ceil(w / T),
      down: Math.ceil(h / T),
    });
    this.levels = [level(width, height)];
    for (let l = this.levels[0]; l && (l.width > T || l.height > T); ) {
      l = level(Math.ceil(l.width / 2), Math.ceil(l.height / 2));
      this.levels.push(l);
    }
    const planeCount = s.rgba ? 1 : s.bandCount;
    // buffers are made when a plane's first rows come and dropped when it is complete: a raster written band
    // after band holds one band's rows at a time
    this.planes = Array.from({ length: planeCount }, () => this.levels.map(() => ({ buf: [], held: 0, received: 0 })));
    this.at = this.levels.map((l) => new Float64Array(planeCount * l.across * l.down));
    this.size = this.levels.map((l) => new Uint32Array(planeCount * l.across * l.down));
    this.scratch = `${path}.tiles`;
    this.fd = openSync(this.scratch, 'w+');
  }

  /**
   * The next `count` rows: one row-major array (count × width) per band, or with `band` (planar images) the rows of
   * that band alone. Rows must come in order, per band.
   */
  write(rows: ArrayLike<number>[], count: number, band?: number): void {
    const perPlane = this.s.rgba ? this.s.bandCount : 1;
    if (band !== undefined) {
      if (this.s.rgba) throw new Error('internal: a pixel-interleaved COG takes all its bands together');
      const r = rows[0];
      if (rows.length !== 1 || !r) throw new Error('internal: write(rows, count, band) takes one band');
      this.push(band, 0, [r], 0, count);
      return;
    }
    if (rows.length !== this.s.bandCount)
      throw new Error(`internal: ${rows.length} bands given, the COG has ${this.s.bandCount}`);
    for (let p = 0; p < this.planes.length; p++)
      this.push(p, 0, rows.slice(p * perPlane, (p + 1) * perPlane), 0, count);
  }

  /** Adds rows [from, from + count) of `src` (rows of this level's width) to plane p's level l; a full row of
   *  tiles is encoded and halved into the next level. */
  private push(p: number, l: number, src: ArrayLike<number>[], from: number, count: number): void {
    const level = this.levels[l];
    const st = this.planes[p]?.[l];
    if (!level || !st) throw new Error(`internal: no plane ${p} level ${l}`);
    const T = this.s.tileSize,
      W = level.width;
    if (st.received + count > level.height)
      throw new Error(`internal: ${st.received + count} rows written, the image has ${level.height}`);
    if (st.buf.length === 0 && count > 0) {
      // level 0 holds the caller's values as given (float64 for integer types, which round only when encoded);
      // overviews are float32, as the means are stored
      const float64 = l === 0 && this.s.type !== 'float32';
      const perPlane = this.s.rgba ? this.s.bandCount : 1;
      st.buf = Array.from({ length: perPlane }, () => (float64 ? new Float64Array(T * W) : new Float32Array(T * W)));
    }
    let done = 0;
    while (done < count) {
      const n = Math.min(count - done, T - st.held);
      st.buf.forEach((b, k) => {
        const s = src[k];
        if (!s) throw new Error('internal: missing band rows');
        const a = (from + done) * W,
          z = a + n * W;
        if (ArrayBuffer.isView(s)) b.set((s as Float32Array).subarray(a, z), st.held * W);
        else for (let i = a; i < z; i++) b[st.held * W + i - a] = valueAt(s, i);
      });
      st.held += n;
      st.received += n;
      done += n;
      if (st.held === T || st.received === level.height) this.flush(p, l, st, level);
    }
  }

  private flush(p: number, l: number, st: PlaneLevel, level: Level): void {
    const T = this.s.tileSize;
    const ty = Math.ceil(st.received / T) - 1;
    const tiles = encodeTileRow(st.buf, level.width, st.held, this.s, this.fill);
    const fd = this.openScratch();
    tiles.forEach((t, tx) => {
      const k = (p * level.down + ty) * level.across + tx;
      (this.at[l] as Float64Array)[k] = this.scratchBytes;
      (this.size[l] as Uint32Array)[k] = t.length;
      writeSync(fd, t, 0, t.length, this.scratchBytes);
      this.scratchBytes += t.length;
    });
    if (l + 1 < this.levels.length) {
      const half = st.buf.map((b) => halveRows(b, level.width, st.held, this.missing));
      this.push(p, l + 1, half, 0, Math.ceil(st.held / 2));
    }
    st.held = 0;
    if (st.received === level.height) st.buf = []; // this plane's level is complete
  }

  private openScratch(): number {
    if (this.fd === undefined) throw new Error(`internal: ${this.path} was already finished or aborted`);
    return this.fd;
  }

  /** Writes `path` (header, IFDs, tiles smallest overview first) once every row has come; removes the scratch.
   *  `gcps`: the radar GCPs when they were collected while the rows streamed. */
  finish(gcps?: Gcp[]): void {
    const fd = this.openScratch();
    this.planes.forEach((levels, p) => {
      const got = levels[0]?.received ?? 0;
      if (got !== this.s.height)
        throw new Error(`internal: ${this.path} plane ${p} got ${got} of ${this.s.height} rows`);
    });
    const s = gcps ? { ...this.s, gcps } : this.s;
    const levels = this.levels;
    const ghost = `GDAL_STRUCTURAL_METADATA_SIZE=${String(GHOST.length).padStart(6, '0')} bytes\n${GHOST}`;
    const entries = levels.map((l, k) => imageEntries(s, l, k > 0, Array.from(this.size[k] ?? [])));
    // IFDs first (their sizes do not depend on the offsets they hold), then the data, smallest overview first; a
    // file past 4 GiB (a frame's coherence stack) is a BigTIFF, as GDAL's BIGTIFF=IF_NEEDED makes it
    const layout = (big: boolean) => {
      const headerSize = big ? 16 : 8;
      const ifdStart = headerSize + ghost.length + ((headerSize + ghost.length) % 2);
      const ifdAt: number[] = [];
      let pos = ifdStart;
      for (const e of entries) {
        ifdAt.push(pos);
        pos += encodeIfd(e, 0, 0, big).length;
      }
      // tile k of level l: 4-byte leader, the bytes, the last 4 bytes again
      const offsets = levels.map(() => [] as number[]);
      for (let l = levels.length - 1; l >= 0; l--) {
        for (const n of this.size[l] ?? []) {
          offsets[l]?.push(pos + 4);
          pos += 4 + n + 4;
        }
      }
      return { headerSize, ifdStart, ifdAt, offsets, end: pos };
    };
    const big = s.bigTiff === true || layout(false).end > 0xffffffff;
    for (const e of entries) {
      const tileOffsets = e.find((x) => x.tag === 324);
      if (tileOffsets && big) tileOffsets.type = LONG8;
    }
    const { headerSize, ifdStart, ifdAt, offsets } = layout(big);
    const ifds = entries.map((e, l) => {
      const tileOffsets = e.find((x) => x.tag === 324);
      if (tileOffsets) tileOffsets.values = offsets[l] ?? [];
      return encodeIfd(e, ifdAt[l] ?? 0, ifdAt[l + 1] ?? 0, big);
    });

    const header = Buffer.alloc(headerSize);
    header.write('II', 0, 'latin1');
    if (big) {
      header.writeUInt16LE(43, 2);
      header.writeUInt16LE(8, 4); // bytes per offset
      header.writeBigUInt64LE(BigInt(ifdStart), 8);
    } else {
      header.writeUInt16LE(42, 2);
      header.writeUInt32LE(ifdStart, 4);
    }
    const out = openSync(this.path, 'w');
    try {
      writeSync(out, header);
      writeSync(out, Buffer.from(ghost, 'latin1'));
      if ((headerSize + ghost.length) % 2) writeSync(out, Buffer.alloc(1));
      for (const ifd of ifds) writeSync(out, ifd);
      let tile = Buffer.alloc(0);
      for (let l = levels.length - 1; l >= 0; l--) {
        const at = this.at[l] ?? new Float64Array(0);
        for (const [k, n] of (this.size[l] ?? []).entries()) {
          if (tile.length < n + 8) tile = Buffer.alloc(Math.max(n + 8, 2 * tile.length));
          // leader, data, and its last 4 bytes again (zero-padded for a tile under 4 bytes)
          tile.writeUInt32LE(n, 0);
          readSync(fd, tile, 4, n, at[k] ?? 0);
          tile.fill(0, 4 + n, n + 8);
          tile.copy(tile, 4 + n, 4 + Math.max(0, n - 4), 4 + n);
          writeSync(out, tile, 0, n + 8);
        }
      }
    } finally {
      closeSync(out);
    }
    this.abort();
  }

  /** Drops the scratch file (after finish, or on an error: the caller's temporary output is its OutputSet's). */
  abort(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.scratch, { force: true });
  }
}

/** TIFF predictors, in place on one tile (rows of T pixels × perTile samples), as libtiff writes them:
 *  floating point (3): each row's bytes regrouped most-significant byte first, then byte-wise differences;
 *  horizontal (2): sample-wise differences, wrapping in the sample type. Differences run from the row's end. */
function applyPredictor(
  raw: Buffer,
  samples: Float32Array | Uint8Array | Int16Array | Uint16Array,
  T: number,
  perTile: number,
  float: boolean,
) {
  const wc = T * perTile;
  if (float) {
    const rowBytes = wc * 4;
    const tmp = Buffer.alloc(rowBytes);
    for (let r = 0; r < T; r++) {
      const row = raw.subarray(r * rowBytes, (r + 1) * rowBytes);
      row.copy(tmp);
      for (let i = 0; i < wc; i++) for (let p = 0; p < 4; p++) row[p * wc + i] = tmp.readUInt8(i * 4 + 3 - p); // little-endian host
      for (let k = rowBytes - 1; k >= perTile; k--) row[k] = (row.readUInt8(k) - row.readUInt8(k - perTile)) & 0xff;
    }
  } else {
    for (let r = 0; r < T; r++) {
      const o = r * wc;
      // typed arrays wrap
      for (let k = wc - 1; k >= perTile; k--)
        samples[o + k] = valueAt(samples, o + k) - valueAt(samples, o + k - perTile);
    }
  }
}

function encodeValues(e: Entry): Buffer {
  if (Buffer.isBuffer(e.values)) return e.values;
  const size = fieldSize(e.type);
  const b = Buffer.alloc(e.values.length * size);
  e.values.forEach((v, i) => {
    if (e.type === SHORT) b.writeUInt16LE(v, i * 2);
    else if (e.type === LONG) b.writeUInt32LE(v, i * 4);
    else if (e.type === DOUBLE) b.writeDoubleLE(v, i * 8);
    else if (e.type === LONG8) b.writeBigUInt64LE(BigInt(v), i * 8);
    else b[i] = v;
  });
  return b;
}

// GDAL escapes item values twice (CPLEscapeString, then the XML serialiser); geotiff.ts's reader undoes both
const escapeXml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function gdalMetadataXml(
  descriptions: string[],
  metadata: Record<string, string>,
  geolocation: Record<string, string>,
  units: string[] | undefined,
): string {
  const items: string[] = [];
  for (const [k, v] of Object.entries(metadata))
    items.push(`  <Item name="${escapeXml(k)}">${escapeXml(escapeXml(String(v)))}</Item>`);
  descriptions.forEach((d, k) => {
    if (d) items.push(`  <Item name="DESCRIPTION" sample="${k}" role="description">${escapeXml(escapeXml(d))}</Item>`);
    const unit = units?.length === 1 ? units[0] : units?.[k];
    if (unit) items.push(`  <Item name="UNITTYPE" sample="${k}" role="unittype">${escapeXml(escapeXml(unit))}</Item>`);
  });
  for (const [k, v] of Object.entries(geolocation))
    items.push(`  <Item name="${escapeXml(k)}" domain="GEOLOCATION">${escapeXml(escapeXml(v))}</Item>`);
  return items.length ? `<GDALMetadata>\n${items.join('\n')}\n</GDALMetadata>` : '';
}
