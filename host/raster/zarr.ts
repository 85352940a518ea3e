// Zarr datacubes (papers/003: an xarray Dataset saved to Zarr, phase products on dimensions (timepair, y, x)),
// read with zarrita. What we look for, as xarray writes it (Zarr v2 `_ARRAY_DIMENSIONS`, or v3 dimension_names):
// - the coherence: a 3-D variable named coherence/coh/cor/corr; its first dimension is the pair dimension;
// - the dates of each pair: either one 1-D variable on that dimension holding strings with a date pair
//   ('20180704_20180716', '2018-07-04_2018-07-16') — typically the dimension's own coordinate — or two 1-D variables
//   on it named like start/end (first/second, reference/secondary, date1/date2) holding dates as strings or as CF
//   numbers ('days since 2018-01-01', also hours … nanoseconds);
// - georeferencing: 1-D x and y coordinates (pixel centres) → geotransform; the CRS from the grid_mapping variable's
//   crs_wkt/spatial_ref (EPSG id), or an `epsg`/`crs` attribute;
// - nodata: _FillValue (and --nodata) → NaN; CF scale_factor/add_offset applied.
// openDatacube reads every variable of such a cube (the landslide cubes of papers/003: vv, vh on (timestep, y, x),
// coherence/interferogram on (timepair, y, x), dem*, landslides on (y, x), sat:orbit_state per timestep): names,
// dimensions, types, fill values, the timestep dates and orbit states, the pairs, the grid and one (y, x) slice at a
// time as float32 with fill → NaN.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, inflateSync } from 'node:zlib';
import * as zarr from 'zarrita';
import FileSystemStore from '@zarrita/storage/fs';
import { DpmError, shortText } from '../core/errors.js';
import { memoryBudget } from '../io/files.js';
import { type Pair, type PairReader, parsePair } from './pairs.js';
import type { GeoTransform, Georef } from './types.js';

type ZArray = zarr.Array<zarr.DataType, FileSystemStore>;

/** Bytes one element of a Zarr data type takes decoded; undefined for variable-length types. */
function elementBytes(dataType: string): number | undefined {
  if (dataType === 'bool') return 1;
  const fixed = /^(?:u?int|float)(\d+)$/.exec(dataType) ?? /^complex(\d+)$/.exec(dataType);
  if (fixed) return Number(fixed[1]) / 8;
  const text = /^v2:([US])(\d+)$/.exec(dataType);
  if (text) return Number(text[2]) * (text[1] === 'U' ? 4 : 1);
  return undefined;
}

/**
 * The bytes one chunk decodes to: its declared shape × element size, `exact` for fixed-size types (a chunk of another
 * size is corrupt); the memory budget as the most for variable-length types.
 */
function chunkLimit(meta: { shape?: number[]; dataType?: string } | undefined): { limit: number; exact: boolean } {
  const per = elementBytes(String(meta?.dataType ?? ''));
  const bytes = (meta?.shape ?? []).reduce((a, b) => a * b, per ?? NaN);
  return Number.isFinite(bytes) && bytes <= memoryBudget()
    ? { limit: Math.max(1, bytes), exact: true }
    : { limit: memoryBudget(), exact: false };
}

type BytesCodec = { kind: string; decode(bytes: Uint8Array): Promise<Uint8Array> | Uint8Array };
type CodecClass = { fromConfig(config: unknown, meta: unknown): BytesCodec };

/**
 * Chunk decompression never past the chunk's declared size. Why: zarrita inflates zlib/gzip chunks without a limit
 * (a 1 MB chunk of zeros inflates to 1 GiB), and a chunk that decodes to another size than its shape is corrupt.
 * zlib/gzip stop at the cap (node:zlib maxOutputLength); blosc and lz4 are refused from the size in their header
 * before decoding; any other bytes→bytes codec is checked after it ran.
 */
function cappedCodec(name: string, load: () => Promise<CodecClass> | CodecClass): () => Promise<CodecClass> {
  return async () => {
    const Inner = await load();
    return {
      fromConfig(config: unknown, meta: unknown): BytesCodec {
        const inner = Inner.fromConfig(config, meta);
        if (inner.kind !== 'bytes_to_bytes') return inner;
        const { limit, exact } = chunkLimit(meta as Parameters<typeof chunkLimit>[0]);
        const tooBig = (size: number | string) =>
          new Error(`a ${name} chunk expands to ${size} bytes, past its declared ${limit} (bomb or corrupt data)`);
        const checked = (out: Uint8Array): Uint8Array => {
          if (out.length > limit) throw tooBig(out.length);
          if (exact && out.length !== limit)
            throw new Error(`a ${name} chunk decodes to ${out.length} bytes, its shape holds ${limit} (corrupt data)`);
          return out;
        };
        const decode = async (bytes: Uint8Array): Promise<Uint8Array> => checked(await unpack(bytes));
        const unpack = async (bytes: Uint8Array): Promise<Uint8Array> => {
          if (/zlib|gzip/.test(name)) {
            try {
              const inflate = name.includes('gzip') ? gunzipSync : inflateSync;
              return new Uint8Array(inflate(bytes, { maxOutputLength: limit }));
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooBig('more');
              throw err;
            }
          }
          const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          // blosc: uncompressed size at byte 4 of its 16-byte header; numcodecs lz4: a 4-byte size prefix
          const declared = /blosc/.test(name) && bytes.length >= 16 ? view.getUint32(4, true) : undefined;
          const prefixed = /lz4/.test(name) && bytes.length >= 4 ? view.getUint32(0, true) : undefined;
          const headerSize = declared ?? prefixed;
          if (headerSize !== undefined && headerSize > limit) throw tooBig(headerSize);
          return inner.decode(bytes);
        };
        return { kind: inner.kind, decode };
      },
    };
  };
}
for (const [name, load] of [...zarr.registry]) {
  if (!/blosc|lz4|zstd|gzip|zlib/.test(name)) continue;
  const capped = cappedCodec(name, load as unknown as () => Promise<CodecClass>);
  zarr.registry.set(name, capped as unknown as typeof load);
}

/** Declared array and chunk sizes against memory, before any chunk is read (a missing chunk is filled in memory). */
function checkDeclaredSizes(arr: ZArray, where: string): void {
  const per = elementBytes(String(arr.dtype)) ?? 8;
  for (const [what, dims] of [
    ['chunk shape', arr.chunks],
    ['shape', arr.shape],
  ] as const) {
    if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new DpmError(`${where}: Zarr ${what} [${dims.join(', ')}] is not a list of sizes`);
  }
  const chunkBytes = arr.chunks.reduce((a, b) => a * b, per);
  if (chunkBytes > memoryBudget())
    throw new DpmError(`${where}: Zarr chunk shape [${arr.chunks.join(', ')}] is more than this machine can hold`);
}

export function isZarr(dir: string): boolean {
  return ['.zgroup', '.zarray', '.zmetadata', 'zarr.json'].some((f) => existsSync(join(dir, f)));
}

interface Cube {
  root: zarr.Location<FileSystemStore>;
  arrays: Map<string, { arr: ZArray; dims: string[] }>;
}

async function openCube(dir: string): Promise<Cube> {
  const root = zarr.root(new FileSystemStore(dir));
  const arrays = new Map<string, { arr: ZArray; dims: string[] }>();
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const p = join(dir, e.name);
    const v3 =
      existsSync(join(p, 'zarr.json')) && JSON.parse(readFileSync(join(p, 'zarr.json'), 'utf8')).node_type === 'array';
    if (!v3 && !existsSync(join(p, '.zarray'))) continue;
    // a Location, not root.resolve: a name like 'sat:orbit_state' would parse as a URL scheme
    const arr = await zarr.open(new zarr.Location(root.store, `/${e.name}`), { kind: 'array' });
    checkDeclaredSizes(arr, p);
    const dims = arr.dimensionNames ?? (arr.attrs._ARRAY_DIMENSIONS as string[] | undefined) ?? [];
    arrays.set(e.name, { arr, dims });
  }
  return { root, arrays };
}

function findCoherence(cube: Cube, dir: string): { name: string; arr: ZArray; dims: string[] } {
  const hits = [...cube.arrays].filter(([n, a]) => /^(coherence|coh|cor|corr)$/i.test(n) && a.arr.shape.length === 3);
  const [hit] = hits;
  if (!hit || hits.length !== 1) {
    throw new DpmError(
      `${dir}: Zarr store without a 3-D 'coherence' variable (dimensions pair, y, x); it holds ${[...cube.arrays.keys()].join(', ') || 'no arrays'}`,
    );
  }
  const [name, { arr, dims }] = hit;
  return { name, arr, dims: dims.length === 3 ? dims : ['pair', 'y', 'x'] };
}

async function values1d(a: ZArray): Promise<unknown[]> {
  const got = await zarr.get(a, [null]);
  const d = got.data as ArrayLike<unknown> & Iterable<unknown>;
  return Array.from(d as Iterable<unknown>, (v) => (typeof v === 'bigint' ? Number(v) : v));
}

const UNIT_MS: Record<string, number> = {
  days: 86_400_000,
  day: 86_400_000,
  hours: 3_600_000,
  hour: 3_600_000,
  minutes: 60_000,
  minute: 60_000,
  seconds: 1000,
  second: 1000,
  milliseconds: 1,
  microseconds: 1e-3,
  nanoseconds: 1e-6,
};

/** A date from a string (YYYY-MM-DD…, YYYYMMDD…) or a CF number ('<unit> since <date>'). */
function toYmd(v: unknown, units: string | undefined, what: string): string {
  if (typeof v === 'string') {
    const m = /^(\d{4})-?(\d{2})-?(\d{2})/.exec(v.trim());
    if (m) return m.slice(1, 4).join('');
  } else if (typeof v === 'number' && units) {
    const m = /^\s*(\w+)\s+since\s+(\d{4}-\d{1,2}-\d{1,2})(?:[ T](\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?/.exec(units);
    const [, unit = '', day = '', time] = m ?? [];
    const unitMs = UNIT_MS[unit];
    if (m && unitMs) {
      const [y = NaN, mo = NaN, d = NaN] = day.split('-').map(Number);
      const t = Date.UTC(y, mo - 1, d) + (time ? Date.parse(`1970-01-01T${time.padStart(5, '0')}Z`) : 0) + v * unitMs;
      return new Date(t).toISOString().slice(0, 10).replace(/-/g, '');
    }
  }
  throw new DpmError(`${what}: cannot read a date from ${JSON.stringify(v)}${units ? ` (units '${units}')` : ''}`);
}

async function readPairs(cube: Cube, pairDim: string, n: number, dir: string): Promise<Pair[]> {
  const onDim = [...cube.arrays].filter(
    ([, a]) => a.dims.length === 1 && a.dims[0] === pairDim && a.arr.shape[0] === n,
  );
  // one variable of date-pair strings
  for (const [name, a] of onDim) {
    const vals = await values1d(a.arr);
    if (!vals.every((v) => typeof v === 'string')) continue;
    const pairs = vals.map((v) => parsePair(String(v).replace(/(\d{4})-(\d{2})-(\d{2})/g, '$1$2$3'), `${dir}/${name}`));
    if (pairs.every((p): p is Pair => !!p)) return pairs;
  }
  // two variables: start and end
  const start = onDim.find(([nm]) => /(start|first|ref|date1|primary|master)/i.test(nm));
  const end = onDim.find(([nm]) => /(end|second|sec|date2|slave)/i.test(nm) && nm !== start?.[0]);
  if (start && end) {
    const conv = async ([name, a]: [string, { arr: ZArray }]) => {
      const units = a.arr.attrs.units as string | undefined;
      return (await values1d(a.arr)).map((v) => toYmd(v, units, `${dir}/${name}`));
    };
    const [s, e] = [await conv(start), await conv(end)];
    return s.map((first, k) => {
      const p = parsePair(`${first}_${e[k]}`, `${dir} ${pairDim} ${k}`);
      if (!p) throw new DpmError(`${dir}: bad dates ${first}, ${e[k]} for ${pairDim} ${k}`);
      return p;
    });
  }
  throw new DpmError(
    `${dir}: no dates for dimension '${pairDim}': expected a variable of date pairs ('YYYYMMDD_YYYYMMDD') ` +
      `or start/end date variables on it (found ${onDim.map(([nm]) => nm).join(', ') || 'none'})`,
  );
}

async function readGeoref(cube: Cube, coh: { arr: ZArray; dims: string[] }): Promise<Georef> {
  const georef: Georef = {};
  const [yDim = 'y', xDim = 'x'] = coh.dims.slice(-2);
  const xs = cube.arrays.get(xDim),
    ys = cube.arrays.get(yDim);
  const isAxis = (a: ZArray | undefined) => a !== undefined && a.shape.length === 1 && (a.shape[0] ?? 0) >= 2;
  if (xs && ys && isAxis(xs.arr) && isAxis(ys.arr)) {
    // pixel-centre coordinates, evenly spaced: the first, the last and their count give the grid
    const axis = async (a: ZArray) => {
      const v = (await values1d(a)).map(Number);
      const first = v[0] ?? NaN,
        step = ((v.at(-1) ?? NaN) - first) / (v.length - 1);
      return { first, step };
    };
    const x = await axis(xs.arr),
      y = await axis(ys.arr);
    const gt: GeoTransform = [x.first - x.step / 2, x.step, 0, y.first - y.step / 2, 0, y.step];
    if (gt.every(Number.isFinite)) georef.geoTransform = gt;
  }
  const gm = coh.arr.attrs.grid_mapping as string | undefined;
  const sources = [
    gm && cube.arrays.get(gm)?.arr.attrs,
    cube.arrays.get('spatial_ref')?.arr.attrs,
    coh.arr.attrs,
  ].filter(Boolean) as Record<string, unknown>[];
  for (const attrs of sources) {
    for (const key of ['crs_wkt', 'spatial_ref', 'crs', 'epsg']) {
      const v = attrs[key];
      if (typeof v === 'number' && Number.isInteger(v)) {
        georef.epsg = v;
        return georef;
      }
      if (typeof v !== 'string') continue;
      const ids = [...v.matchAll(/(?:AUTHORITY\["EPSG",\s*"(\d+)"\]|ID\["EPSG",\s*(\d+)\]|^EPSG:(\d+)$)/g)];
      if (ids.length) {
        const last = ids.at(-1); // the CRS's own id comes last in WKT
        georef.epsg = Number(last?.[1] ?? last?.[2] ?? last?.[3]);
        return georef;
      }
    }
  }
  return georef;
}

/** A Zarr datacube: one pair per index along its pair dimension. */
export const zarrPairReader: PairReader = {
  name: 'Zarr datacube',
  accepts: isZarr,
  findPairs: (dir) =>
    wrap(dir, async () => {
      const cube = await openCube(dir);
      const coh = findCoherence(cube, dir);
      const [n = 0, height = 0, width = 0] = coh.arr.shape;
      // declared sizes are checked before any chunk is read: missing chunks would be filled in memory
      if (![n, height, width].every((d) => Number.isSafeInteger(d) && d > 0))
        throw new DpmError(`${dir}: coherence array shape [${coh.arr.shape.join(', ')}] is not a stack`);
      if (height * width * 4 * Math.min(n, 2) > memoryBudget())
        throw new DpmError(`${dir}: coherence array of ${n} × ${height} × ${width} is more than this machine can hold`);
      const pairs = await readPairs(cube, coh.dims[0] ?? 'pair', n, dir);
      const georef = await readGeoref(cube, coh);
      const info = { width, height, bandCount: n, georef, metadata: {}, source: dir };
      return pairs.map((pair, band) => ({ file: dir, band, pair, info, reader: zarrPairReader }));
    }),
  readBands: (dir, bands, nodata, window) =>
    wrap(dir, async () => {
      const cube = await openCube(dir);
      const coh = findCoherence(cube, dir);
      // zarrita reads only the chunks a slice touches
      const rows = window ? zarr.slice(window.r0, window.r1) : null;
      const cols = window ? zarr.slice(window.c0, window.c1) : null;
      const out: Float32Array[] = [];
      for (const k of bands) out.push(await readSlice(coh.arr, [k, rows, cols], nodata));
      return { bands: out, georef: await readGeoref(cube, coh) };
    }),
};

/** One slice of a variable as float32: _FillValue (and `nodata`) → NaN, CF scale_factor/add_offset applied. */
async function readSlice(
  arr: ZArray,
  selection: (number | zarr.Slice | null)[],
  nodata?: number,
): Promise<Float32Array> {
  const fill = arr.attrs._FillValue ?? arr.fillValue;
  const fillNum = typeof fill === 'number' ? fill : typeof fill === 'bigint' ? Number(fill) : undefined;
  const scale = Number(arr.attrs.scale_factor ?? 1);
  const offset = Number(arr.attrs.add_offset ?? 0);
  const got = await zarr.get(arr, selection);
  const src = got.data as ArrayLike<number | bigint | boolean> & Iterable<number | bigint | boolean>;
  return Float32Array.from(src, (raw) => {
    const v = Number(raw);
    return v === fillNum || v === nodata || v !== v ? NaN : v * scale + offset;
  });
}

/** One variable of a datacube as `dpm cube-info` lists it. */
export interface CubeVariable {
  name: string;
  dims: string[];
  shape: number[];
  dtype: string;
  /** the value that means missing (_FillValue or the Zarr fill_value), when numeric */
  fill?: number;
  attrs: Record<string, unknown>;
}

/** A Zarr datacube opened for reading (papers/003 layout; ARCHITECTURE.md contracts). */
export interface Datacube {
  source: string;
  /** Zarr format version of the store (2 or 3) */
  zarrFormat: 2 | 3;
  variables: CubeVariable[];
  /** the group's own attributes (e.g. event_date) */
  attrs: Record<string, unknown>;
  width: number;
  height: number;
  georef: Georef;
  /** acquisition dates YYYYMMDD of the time dimension (`timestep`/`time`), when the cube has one */
  timesteps: string[];
  /** orbit state per timestep ('ascending'/'descending'; from `sat:orbit_state` or any *orbit* variable on time) */
  orbits: string[];
  /** the pairs of the pair dimension (`timepair`), when the cube has one */
  pairs: Pair[];
  /** one (y, x) grid of a variable: `index` selects along its first dimension for 3-D variables */
  readGrid(name: string, index?: number): Promise<Float32Array>;
  has(name: string): boolean;
}

const TIME_DIMS = /^(timestep|time|t|date|acquisition)s?$/i;
const PAIR_DIMS = /^(timepair|pair|pairs|ifg)$/i;

/** Opens a Zarr datacube (v2, consolidated or not, and v3) and reads its coordinates. */
export function openDatacube(dir: string): Promise<Datacube> {
  return wrap(dir, async () => {
    if (!isZarr(dir)) throw new DpmError(`${dir}: not a Zarr store (no .zgroup, .zmetadata or zarr.json)`);
    const cube = await openCube(dir);
    const zarrFormat = existsSync(join(dir, 'zarr.json')) ? 3 : 2;
    const group = await zarr.open(cube.root, { kind: 'group' }).catch(() => undefined);
    const variables: CubeVariable[] = [...cube.arrays].map(([name, { arr, dims }]) => {
      const fill = arr.attrs._FillValue ?? arr.fillValue;
      return {
        name,
        dims: dims.length === arr.shape.length ? dims : arr.shape.map((_, k) => `dim_${k}`),
        shape: [...arr.shape],
        dtype: String(arr.dtype),
        ...(typeof fill === 'number' || typeof fill === 'bigint' ? { fill: Number(fill) } : {}),
        attrs: { ...arr.attrs },
      };
    });
    const grids = variables.filter((v) => v.shape.length >= 2 && v.shape.length <= 3);
    const [grid] = grids.sort((a, b) => b.shape.length - a.shape.length);
    if (!grid) throw new DpmError(`${dir}: no 2-D or 3-D variable on a (y, x) grid`);
    const [height = 0, width = 0] = grid.shape.slice(-2);
    const georef = await readGeoref(cube, { arr: cube.arrays.get(grid.name)!.arr, dims: grid.dims });

    const timeDim = variables.find((v) => v.shape.length === 3 && TIME_DIMS.test(v.dims[0] ?? ''))?.dims[0];
    const nTime = timeDim ? (variables.find((v) => v.dims[0] === timeDim)?.shape[0] ?? 0) : 0;
    let timesteps: string[] = [];
    let orbits: string[] = [];
    if (timeDim) {
      const coord = cube.arrays.get(timeDim);
      if (!coord) throw new DpmError(`${dir}: no coordinate variable '${timeDim}' with the acquisition dates`);
      const units = coord.arr.attrs.units as string | undefined;
      timesteps = (await values1d(coord.arr)).map((v) => toYmd(v, units, `${dir}/${timeDim}`));
      const orbit = [...cube.arrays].find(
        ([n, a]) => /orbit/i.test(n) && a.dims.length === 1 && a.dims[0] === timeDim && a.arr.shape[0] === nTime,
      );
      if (orbit) orbits = (await values1d(orbit[1].arr)).map((v) => String(v).trim().toLowerCase());
    }
    const pairDim = variables.find((v) => v.shape.length === 3 && PAIR_DIMS.test(v.dims[0] ?? ''))?.dims[0];
    const nPairs = pairDim ? (variables.find((v) => v.dims[0] === pairDim)?.shape[0] ?? 0) : 0;
    const pairs = pairDim ? await readPairs(cube, pairDim, nPairs, dir) : [];

    const readGrid = (name: string, index?: number) =>
      wrap(dir, async () => {
        const v = cube.arrays.get(name);
        if (!v) throw new DpmError(`${dir}: no variable '${name}' (it holds ${[...cube.arrays.keys()].join(', ')})`);
        const s = v.arr.shape;
        if (s.length < 2 || s.length > 3 || s.at(-1) !== width || s.at(-2) !== height)
          throw new DpmError(`${dir}/${name}: shape [${s.join(', ')}] is not a (y, x) grid of ${height} × ${width}`);
        if (s.length === 3 && !(index !== undefined && Number.isInteger(index) && index >= 0 && index < (s[0] ?? 0)))
          throw new DpmError(`${dir}/${name}: index ${index} outside its first dimension (${s[0]})`);
        return readSlice(v.arr, s.length === 3 ? [index ?? 0, null, null] : [null, null]);
      });
    return {
      source: dir,
      zarrFormat,
      variables,
      attrs: { ...(group?.attrs ?? {}) },
      width,
      height,
      georef,
      timesteps,
      orbits,
      pairs,
      readGrid,
      has: (name) => cube.arrays.has(name),
    };
  });
}

async function wrap<T>(dir: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof DpmError) throw err;
    // zarrita's codec errors name the codec; the cause says what is wrong with the chunk
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    throw new DpmError(`${dir}: unreadable Zarr datacube (${shortText(`${shortText(err)}${cause}`)})`);
  }
}
