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
// Why our own writer: geotiff.js writes strips only, uncompressed.
import { closeSync, openSync, writeSync } from 'node:fs';
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
  DOUBLE = 12;
const FIELD_SIZE: Record<number, number> = { [BYTE]: 1, [ASCII]: 1, [SHORT]: 2, [LONG]: 4, [DOUBLE]: 8 };
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

/** One image of the pyramid: its size and its bands (the caller's arrays at full resolution, no copy). */
interface Level {
  width: number;
  height: number;
  bands: ArrayLike<number>[];
}

/** 2×2 averages (in float64) of the finite values, stored as float32 (a quarter of the level above); odd edges
 *  average what there is. */
function halve(l: Level, missing: (v: number) => boolean): Level {
  const width = Math.ceil(l.width / 2),
    height = Math.ceil(l.height / 2);
  const bands = l.bands.map((src) => {
    const out = new Float32Array(width * height);
    for (let i = 0; i < height; i++) {
      for (let j = 0; j < width; j++) {
        let s = 0,
          n = 0;
        for (let di = 0; di < 2; di++) {
          for (let dj = 0; dj < 2; dj++) {
            const r = 2 * i + di,
              c = 2 * j + dj;
            if (r >= l.height || c >= l.width) continue;
            const v = valueAt(src, r * l.width + c);
            if (missing(v)) continue;
            s += v;
            n++;
          }
        }
        out[i * width + j] = n > 0 ? s / n : NaN;
      }
    }
    return out;
  });
  return { width, height, bands };
}

/** The tiles of one level, band after band, each row-major: compressed bytes. */
function encodeTiles(l: Level, s: TiffSpec, fill: number): Buffer[] {
  const T = s.tileSize;
  const info = TYPE_INFO[s.type];
  const contiguous = s.rgba; // RGB(A) pixel-interleaved; data bands are band-interleaved (planar)
  const spp = l.bands.length;
  const planes = contiguous ? 1 : spp;
  const perTile = contiguous ? spp : 1;
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
  for (let p = 0; p < planes; p++) {
    for (let ty = 0; ty < Math.ceil(l.height / T); ty++) {
      for (let tx = 0; tx < Math.ceil(l.width / T); tx++) {
        let o = 0;
        for (let r = 0; r < T; r++) {
          const row = ty * T + r;
          for (let c = 0; c < T; c++) {
            const col = tx * T + c;
            const inside = row < l.height && col < l.width;
            for (let k = 0; k < perTile; k++) {
              const src = l.bands[contiguous ? k : p];
              let v = inside && src ? valueAt(src, row * l.width + col) : fill;
              if (v !== v) v = fill; // NaN; edge tiles are padded with nodata, as GDAL does
              if (isInt) v = Math.min(info.max, Math.max(info.min, Math.round(v)));
              dst[o++] = v;
            }
          }
        }
        if (s.predictor) applyPredictor(raw, dst, T, perTile, s.type === 'float32');
        tiles.push(deflateSync(raw, { level: s.level }));
      }
    }
  }
  return tiles;
}

/** The GCPs of a radar grid: (pixel, line) of pixel centres on an even grid (edges included), with their lon/lat. */
export function gcpGrid(
  lat: ArrayLike<number>,
  lon: ArrayLike<number>,
  width: number,
  height: number,
): { pixel: number; line: number; lon: number; lat: number }[] {
  const steps = (n: number) => {
    const m = Math.min(n, GCP_SIDE);
    return [...new Set(Array.from({ length: m }, (_, k) => (m === 1 ? 0 : Math.round((k * (n - 1)) / (m - 1)))))];
  };
  const out: { pixel: number; line: number; lon: number; lat: number }[] = [];
  for (const i of steps(height)) {
    for (const j of steps(width)) {
      const la = valueAt(lat, i * width + j),
        lo = valueAt(lon, i * width + j);
      if (Number.isFinite(la) && Number.isFinite(lo)) out.push({ pixel: j + 0.5, line: i + 0.5, lon: lo, lat: la });
    }
  }
  return out;
}

/** The tags of one image (full resolution or overview) except the tile offsets, filled in at layout. */
function imageEntries(s: TiffSpec, l: Level, overview: boolean, tileCounts: number[]): Entry[] {
  const info = TYPE_INFO[s.type];
  const spp = l.bands.length;
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
  const gcps = !gt && s.latLon ? gcpGrid(s.latLon.lat, s.latLon.lon, s.width, s.height) : [];
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
function encodeIfd(entries: Entry[], at: number, next: number): Buffer {
  entries.sort((a, b) => a.tag - b.tag);
  const ifdSize = 2 + entries.length * 12 + 4;
  const ifd = Buffer.alloc(ifdSize);
  const extras: Buffer[] = [];
  let extraPos = at + ifdSize;
  ifd.writeUInt16LE(entries.length, 0);
  entries.forEach((e, i) => {
    const data = encodeValues(e);
    const o = 2 + i * 12;
    ifd.writeUInt16LE(e.tag, o);
    ifd.writeUInt16LE(e.type, o + 2);
    ifd.writeUInt32LE(data.length / fieldSize(e.type), o + 4);
    if (data.length <= 4) data.copy(ifd, o + 8);
    else {
      ifd.writeUInt32LE(extraPos, o + 8);
      const padded = data.length % 2 ? Buffer.concat([data, Buffer.alloc(1)]) : data;
      extras.push(padded);
      extraPos += padded.length;
    }
  });
  ifd.writeUInt32LE(next, ifdSize - 4);
  return Buffer.concat([ifd, ...extras]);
}

const GHOST =
  'LAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nBLOCK_LEADER=SIZE_AS_UINT4\n' +
  'BLOCK_TRAILER=LAST_4_BYTES_REPEATED\nKNOWN_INCOMPATIBLE_EDITION=NO\n ';

/** Writes a cloud-optimized GeoTIFF (see the file comment). Used by writeGeoTiff and the overlay writer. */
export function writeTiff(path: string, s: TiffSpec): void {
  const { width, height, bands, tileSize: T } = s;
  if (T % 16 !== 0 || T <= 0) throw new Error(`internal: tile size ${T} must be a positive multiple of 16`);
  const nodata = s.nodata ?? (s.type === 'float32' ? NaN : undefined);
  const fill = nodata === undefined || Number.isNaN(nodata) ? (s.type === 'float32' ? NaN : 0) : nodata;
  // values that overviews leave out: NaN and the nodata value of integer types
  const missing = (v: number) => v !== v || (nodata !== undefined && !Number.isNaN(nodata) && v === nodata);

  const levels: Level[] = [{ width, height, bands }];
  for (let l = levels[0]; l && (l.width > T || l.height > T); ) {
    l = halve(l, missing);
    levels.push(l);
  }
  const tiles = levels.map((l) => encodeTiles(l, s, fill));

  // IFDs first (their sizes do not depend on the offsets they hold), then the data, smallest overview first
  const ghost = `GDAL_STRUCTURAL_METADATA_SIZE=${String(GHOST.length).padStart(6, '0')} bytes\n${GHOST}`;
  const entries = levels.map((l, k) =>
    imageEntries(
      s,
      l,
      k > 0,
      (tiles[k] ?? []).map((t) => t.length),
    ),
  );
  const ifdStart = 8 + ghost.length + ((8 + ghost.length) % 2);
  const ifdSizes = entries.map((e) => encodeIfd(e, 0, 0).length);
  const ifdAt: number[] = [];
  let pos = ifdStart;
  for (const size of ifdSizes) {
    ifdAt.push(pos);
    pos += size;
  }
  // tile k of level l: 4-byte leader, the bytes, the last 4 bytes again
  const offsets = levels.map(() => [] as number[]);
  for (let l = levels.length - 1; l >= 0; l--) {
    for (const t of tiles[l] ?? []) {
      offsets[l]?.push(pos + 4);
      pos += 4 + t.length + 4;
    }
  }
  if (pos > 0xffffffff) throw new DpmError(`${path}: output would exceed 4 GiB (BigTIFF not supported)`);
  const ifds = entries.map((e, l) => {
    const tileOffsets = e.find((x) => x.tag === 324);
    if (tileOffsets) tileOffsets.values = offsets[l] ?? [];
    return encodeIfd(e, ifdAt[l] ?? 0, ifdAt[l + 1] ?? 0);
  });

  const header = Buffer.alloc(8);
  header.write('II', 0, 'latin1');
  header.writeUInt16LE(42, 2);
  header.writeUInt32LE(ifdStart, 4);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, header);
    writeSync(fd, Buffer.from(ghost, 'latin1'));
    if ((8 + ghost.length) % 2) writeSync(fd, Buffer.alloc(1));
    for (const ifd of ifds) writeSync(fd, ifd);
    const leader = Buffer.alloc(4);
    for (let l = levels.length - 1; l >= 0; l--) {
      for (const t of tiles[l] ?? []) {
        leader.writeUInt32LE(t.length, 0);
        writeSync(fd, leader);
        writeSync(fd, t);
        writeSync(fd, t.subarray(Math.max(0, t.length - 4)));
        if (t.length < 4) writeSync(fd, Buffer.alloc(4 - t.length));
      }
    }
  } finally {
    closeSync(fd);
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
