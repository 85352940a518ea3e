// SLCs in HDF5 products, read with h5wasm (HDF5 compiled to WebAssembly), as `dpm coherence` inputs (issue 14):
// - OPERA CSLC-S1 (geocoded burst SLC; product specification v1): /data/<pol> complex64 [y, x], /data/x_coordinates,
//   /data/y_coordinates (pixel centres), /data/projection (EPSG code), /identification/zero_doppler_start_time; the
//   beta layout under /science/SENTINEL1/CSLC/grids/ and /science/SENTINEL1/identification/ is read too;
// - NISAR GSLC: /science/LSAR/GSLC/grids/frequencyA/<pol>, xCoordinates, yCoordinates, projection;
// - NISAR RSLC (radar geometry): /science/LSAR/RSLC/swaths/frequencyA/<pol> [zeroDopplerTime, slantRange], with
//   swaths/zeroDopplerTime and swaths/frequencyA/slantRange, and the geolocation grid metadata/geolocationGrid/
//   coordinateX/coordinateY [height, time, range] over its zeroDopplerTime, slantRange and heightAboveEllipsoid
//   axes; older products name the group /science/LSAR/SLC. Latitude/longitude of a pixel: bilinear in (time, range)
//   on the grid layer nearest the ellipsoid (height 0), from the first (reference) acquisition, as ISCE's
//   geom_reference; `<file>#lat` / `<file>#lon` name these lookups.
// The acquisition date is the product's zero-Doppler start time (metadata, never the file name). Polarisation: the
// first of VV, HH, VH, HV the first file holds, then the same in every file. The SLC is a compound {r, i} of two
// float32 (complex64) or, in NISAR products, of two float16 ("complex32"); it is read by row block as raw bytes
// (an HDF5 hyperslab: HDF5 itself undoes chunking, shuffle and deflate) and decoded here, since h5wasm converts no
// float16 and one JS array per pixel would be slow. A missing or unexpected dataset is a DpmError naming the file
// and the dataset.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import h5wasm, { Module } from 'h5wasm/node';
import { DpmError } from '../core/errors.js';
import type { Feedback } from '../core/feedback.js';
import { halfTable } from '../core/float16.js';
import type { GeoTransform } from '../raster/types.js';
import { type DiscoveredStack, HDF5_NAME, HDF5_PATH, type RasterSource, type StackEntry } from './readers.js';

await h5wasm.ready;

type H5File = InstanceType<typeof h5wasm.File>;
type H5Dataset = InstanceType<typeof h5wasm.Dataset>;

const POLARISATIONS = ['VV', 'HH', 'VH', 'HV'];

interface Layout {
  kind: string;
  /** group holding the polarisation datasets */
  data: string;
  /** zero-Doppler start time dataset */
  start: string;
  /** geocoded grids: x/y coordinate datasets and the EPSG dataset */
  grid?: { x: string; y: string; projection: string };
  /** radar geometry (RSLC): the group holding swaths/ and metadata/ */
  swath?: string;
}

const LAYOUTS: Layout[] = [
  {
    kind: 'OPERA CSLC-S1',
    data: '/data',
    start: '/identification/zero_doppler_start_time',
    grid: { x: '/data/x_coordinates', y: '/data/y_coordinates', projection: '/data/projection' },
  },
  {
    kind: 'OPERA CSLC-S1 (beta layout)',
    data: '/science/SENTINEL1/CSLC/grids',
    start: '/science/SENTINEL1/identification/zero_doppler_start_time',
    grid: {
      x: '/science/SENTINEL1/CSLC/grids/x_coordinates',
      y: '/science/SENTINEL1/CSLC/grids/y_coordinates',
      projection: '/science/SENTINEL1/CSLC/grids/projection',
    },
  },
  {
    kind: 'NISAR GSLC',
    data: '/science/LSAR/GSLC/grids/frequencyA',
    start: '/science/LSAR/identification/zeroDopplerStartTime',
    grid: {
      x: '/science/LSAR/GSLC/grids/frequencyA/xCoordinates',
      y: '/science/LSAR/GSLC/grids/frequencyA/yCoordinates',
      projection: '/science/LSAR/GSLC/grids/frequencyA/projection',
    },
  },
  {
    kind: 'NISAR RSLC',
    data: '/science/LSAR/RSLC/swaths/frequencyA',
    start: '/science/LSAR/identification/zeroDopplerStartTime',
    swath: '/science/LSAR/RSLC',
  },
  {
    kind: 'NISAR SLC (older layout)',
    data: '/science/LSAR/SLC/swaths/frequencyA',
    start: '/science/LSAR/identification/zeroDopplerStartTime',
    swath: '/science/LSAR/SLC',
  },
];

function openFile(path: string): H5File {
  if (!existsSync(path)) throw new DpmError(`${path}: no such file`);
  try {
    return new h5wasm.File(resolve(path), 'r');
  } catch (err) {
    throw new DpmError(`${path}: not a readable HDF5 file (${(err as Error).message})`);
  }
}

function dataset(f: H5File, path: string, file: string, kind: string): H5Dataset {
  const d = f.get(path);
  if (!(d instanceof h5wasm.Dataset)) throw new DpmError(`${file}: ${kind} without the dataset ${path}`);
  return d;
}

function numbers(d: H5Dataset, file: string): Float64Array {
  const v = d.value;
  if (typeof v === 'number' || typeof v === 'bigint') return Float64Array.of(Number(v));
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Float64Array.from(v as ArrayLike<number>, Number);
  throw new DpmError(`${file}: ${d.path} is not numeric`);
}

function text(d: H5Dataset): string {
  const v = d.value;
  return Array.isArray(v) ? String(v[0]) : String(v);
}

export interface SlcProduct {
  kind: string;
  path: string;
  /** YYYYMMDD of the zero-Doppler start time */
  date: string;
  polarisation: string;
  dataset: string;
  layout: Layout;
}

/** What an HDF5 file is: its layout, acquisition date and SLC dataset (`polarisation`: the one to use). */
export function describeProduct(path: string, polarisation?: string): SlcProduct {
  const f = openFile(path);
  try {
    const layout = LAYOUTS.find((l) => f.get(l.data) instanceof h5wasm.Group);
    if (!layout) {
      throw new DpmError(
        `${path}: not an OPERA CSLC-S1 or NISAR RSLC/GSLC product (no ${LAYOUTS.map((l) => l.data).join(', ')})`,
      );
    }
    const start = text(dataset(f, layout.start, path, layout.kind));
    const m = /^(\d{4})-?(\d{2})-?(\d{2})/.exec(start.trim());
    if (!m) throw new DpmError(`${path}: ${layout.start} '${start}' is not a date-time`);
    const date = `${m[1]}${m[2]}${m[3]}`;
    const pols = polarisation ? [polarisation] : POLARISATIONS;
    const pol = pols.find((p) => f.get(`${layout.data}/${p}`) instanceof h5wasm.Dataset);
    if (!pol) throw new DpmError(`${path}: ${layout.kind} without the dataset ${layout.data}/${pols.join('|')}`);
    return { kind: layout.kind, path, date, polarisation: pol, dataset: `${layout.data}/${pol}`, layout };
  } finally {
    f.close();
  }
}

/** A geotransform from 1-D pixel-centre coordinates. */
function gridTransform(x: Float64Array, y: Float64Array, file: string): GeoTransform {
  const [x0 = NaN, x1 = NaN] = x;
  const [y0 = NaN, y1 = NaN] = y;
  const dx = x.length > 1 ? x1 - x0 : NaN,
    dy = y.length > 1 ? y1 - y0 : NaN;
  if (!Number.isFinite(dx) || !Number.isFinite(dy) || dx === 0 || dy === 0)
    throw new DpmError(`${file}: x/y coordinates do not define a regular grid`);
  return [x0 - dx / 2, dx, 0, y0 - dy / 2, 0, dy];
}

/** Where a sample's real and imaginary parts lie in the compound, and their width (4: float32, 2: float16). */
interface ComplexCell {
  size: number;
  re: number;
  im: number;
  partBytes: 2 | 4;
}

/** The layout of a 2-D complex64 or complex32 compound {r, i}, or undefined for anything else. */
function complexCell(d: H5Dataset): ComplexCell | undefined {
  const meta = d.metadata;
  const [re, im] = meta.compound_type?.members ?? [];
  if (d.shape?.length !== 2 || meta.compound_type?.members.length !== 2 || !re || !im) return undefined;
  const float = (m: typeof re) => m.type === 1 && m.littleEndian && (m.size === 2 || m.size === 4);
  if (!float(re) || !float(im) || re.size !== im.size) return undefined;
  return { size: meta.size, re: re.offset, im: im.offset, partBytes: re.size === 2 ? 2 : 4 };
}

/** The raw bytes of rows [row0, row0 + nRows) × columns [col0, col0 + nCols) of a 2-D dataset, in memory order. */
function readHyperslab(d: H5Dataset, row0: number, nRows: number, col0: number, nCols: number, file: string): DataView {
  const nbytes = d.metadata.size * nRows * nCols;
  const ptr = Module._malloc(nbytes);
  if (!ptr) throw new DpmError(`${file}: cannot allocate ${nbytes} bytes to read ${d.path}`);
  try {
    const count = [BigInt(nRows), BigInt(nCols)];
    const status = Module.get_dataset_data(
      d.file_id,
      d.path,
      count,
      [BigInt(row0), BigInt(col0)],
      [1n, 1n],
      BigInt(ptr),
    );
    if (status < 0) throw new DpmError(`${file}: reading rows ${row0}–${row0 + nRows} of ${d.path} failed`);
    const bytes = Module.HEAPU8.slice(ptr, ptr + nbytes); // HEAPU8 after the read: the heap may have grown
    return new DataView(bytes.buffer);
  } finally {
    Module._free(ptr);
  }
}

/** An SLC dataset of an HDF5 product, read by row block. */
export class Hdf5SlcSource implements RasterSource {
  readonly dataType = 'CFloat32' as const;
  readonly complex = true;
  readonly width: number;
  readonly height: number;
  readonly geoTransform?: GeoTransform;
  readonly epsg?: number;
  private constructor(
    readonly path: string,
    private readonly file: H5File,
    private readonly data: H5Dataset,
    private readonly cell: ComplexCell,
    geo: { geoTransform?: GeoTransform; epsg?: number },
  ) {
    const [h = 0, w = 0] = data.shape ?? [];
    this.height = h;
    this.width = w;
    if (geo.geoTransform) this.geoTransform = geo.geoTransform;
    if (geo.epsg !== undefined) this.epsg = geo.epsg;
  }

  static open(product: SlcProduct): Hdf5SlcSource {
    const { path, layout, kind } = product;
    const f = openFile(path);
    try {
      const d = dataset(f, product.dataset, path, kind);
      const cell = complexCell(d);
      if (!cell)
        throw new DpmError(
          `${path}: ${product.dataset} is not a 2-D complex64 or complex32 (two float16) dataset (dtype ${JSON.stringify(d.dtype)}, shape ${JSON.stringify(d.shape)})`,
        );
      let geo: { geoTransform?: GeoTransform; epsg?: number } = {};
      if (layout.grid) {
        const x = numbers(dataset(f, layout.grid.x, path, kind), path);
        const y = numbers(dataset(f, layout.grid.y, path, kind), path);
        const [epsg] = numbers(dataset(f, layout.grid.projection, path, kind), path);
        const [h = 0, w = 0] = d.shape ?? [];
        if (x.length !== w || y.length !== h)
          throw new DpmError(`${path}: ${x.length} x and ${y.length} y coordinates for a ${w} × ${h} SLC`);
        geo = { geoTransform: gridTransform(x, y, path), ...(epsg ? { epsg } : {}) };
      }
      return new Hdf5SlcSource(path, f, d, cell, geo);
    } catch (err) {
      f.close();
      throw err;
    }
  }

  async read(row0: number, nRows: number, col0: number, nCols: number, out: Float32Array | Float64Array) {
    if (nRows === 0 || nCols === 0) return;
    const view = readHyperslab(this.data, row0, nRows, col0, nCols, this.path);
    const { size, re, im, partBytes } = this.cell;
    const n = nRows * nCols;
    if (partBytes === 2) {
      const half = halfTable();
      for (let k = 0, at = 0; k < n; k++, at += size) {
        out[2 * k] = half[view.getUint16(at + re, true)] ?? NaN;
        out[2 * k + 1] = half[view.getUint16(at + im, true)] ?? NaN;
      }
    } else {
      for (let k = 0, at = 0; k < n; k++, at += size) {
        out[2 * k] = view.getFloat32(at + re, true);
        out[2 * k + 1] = view.getFloat32(at + im, true);
      }
    }
  }

  async close() {
    this.file.close();
  }
}

/** Latitude or longitude of every RSLC pixel, from the geolocation grid (see the file comment). */
export class GeolocationSource implements RasterSource {
  readonly dataType = 'Float64' as const;
  readonly complex = false;
  private constructor(
    readonly path: string,
    readonly width: number,
    readonly height: number,
    /** swath axes of the pixels */
    private readonly time: Float64Array,
    private readonly range: Float64Array,
    /** the grid: axes and one height layer, [time][range] */
    private readonly gTime: Float64Array,
    private readonly gRange: Float64Array,
    private readonly values: Float64Array,
  ) {}

  static open(product: SlcProduct, which: 'lat' | 'lon'): GeolocationSource {
    const { path, layout, kind } = product;
    const swath = layout.swath;
    if (!swath) throw new DpmError(`${path}: ${kind} is geocoded; it has no latitude/longitude lookups`);
    const f = openFile(path);
    try {
      const get = (p: string) => numbers(dataset(f, `${swath}/${p}`, path, kind), path);
      const time = get('swaths/zeroDopplerTime');
      const range = get('swaths/frequencyA/slantRange');
      const grid = `metadata/geolocationGrid`;
      const gTime = get(`${grid}/zeroDopplerTime`);
      const gRange = get(`${grid}/slantRange`);
      const heights = get(`${grid}/heightAboveEllipsoid`);
      const cube = dataset(f, `${swath}/${grid}/${which === 'lon' ? 'coordinateX' : 'coordinateY'}`, path, kind);
      const [nh = 0, nt = 0, nr = 0] = cube.shape ?? [];
      if (nh !== heights.length || nt !== gTime.length || nr !== gRange.length || nt < 2 || nr < 2)
        throw new DpmError(`${path}: ${cube.path} is ${cube.shape?.join('×')}, its axes ${heights.length}×${nt}×${nr}`);
      const [epsg] = numbers(dataset(f, `${swath}/${grid}/epsg`, path, kind), path);
      if (epsg !== 4326) throw new DpmError(`${path}: geolocation grid in EPSG:${epsg}; only EPSG:4326 is read`);
      let layer = 0;
      heights.forEach((h, k) => {
        if (Math.abs(h) < Math.abs(heights[layer] ?? Infinity)) layer = k;
      });
      const values = numbers(cube, path).subarray(layer * nt * nr, (layer + 1) * nt * nr);
      const d = dataset(f, product.dataset, path, kind);
      const [h = 0, w = 0] = d.shape ?? [];
      if (time.length !== h || range.length !== w)
        throw new DpmError(`${path}: ${time.length} times and ${range.length} ranges for a ${w} × ${h} SLC`);
      return new GeolocationSource(`${path}#${which}`, w, h, time, range, gTime, gRange, values);
    } finally {
      f.close();
    }
  }

  async read(row0: number, nRows: number, col0: number, nCols: number, out: Float32Array | Float64Array) {
    const nr = this.gRange.length;
    const locate = (axis: Float64Array, v: number) => {
      // regular, ascending axis: the cell [k, k+1] holding v (extrapolated at the ends) and the fraction in it
      const a0 = axis[0] ?? 0,
        step = ((axis[axis.length - 1] ?? 0) - a0) / (axis.length - 1);
      const t = (v - a0) / step;
      const k = Math.min(axis.length - 2, Math.max(0, Math.floor(t)));
      return { k, f: t - k };
    };
    for (let i = 0; i < nRows; i++) {
      const { k: ti, f: tf } = locate(this.gTime, this.time[row0 + i] ?? NaN);
      for (let j = 0; j < nCols; j++) {
        const { k: ri, f: rf } = locate(this.gRange, this.range[col0 + j] ?? NaN);
        const v = (a: number, b: number) => this.values[(ti + a) * nr + ri + b] ?? NaN;
        out[i * nCols + j] = (1 - tf) * ((1 - rf) * v(0, 0) + rf * v(0, 1)) + tf * ((1 - rf) * v(1, 0) + rf * v(1, 1));
      }
    }
  }

  async close() {}
}

/** Opens `file.h5` (its SLC) or `file.h5#lat` / `#lon` (an RSLC's lookups). */
export function openHdf5(path: string): RasterSource {
  const m = HDF5_PATH.exec(path);
  const file = m?.[1] ?? path;
  const product = describeProduct(file);
  const which = m?.[2]?.toLowerCase();
  if (which === 'lat' || which === 'lon') return GeolocationSource.open(product, which);
  return Hdf5SlcSource.open(product);
}

/** The stack of HDF5 products, dated from their metadata; an RSLC stack gets its reference's lat/lon lookups. */
export function discoverHdf5Stack(inputs: string[], fb: Feedback): DiscoveredStack {
  const [only] = inputs;
  const files =
    inputs.length === 1 && only !== undefined && statSync(only).isDirectory()
      ? readdirSync(only)
          .filter((n) => HDF5_NAME.test(n))
          .sort()
          .map((n) => join(only, n))
      : inputs;
  const first = files[0] ? describeProduct(files[0]) : undefined;
  if (!first) throw new DpmError('--slc: no HDF5 product given');
  const products = files.map((p, k) => (k === 0 ? first : describeProduct(p, first.polarisation)));
  const kinds = new Set(products.map((p) => p.kind.replace(/ \(.*\)$/, '')));
  if (kinds.size > 1) throw new DpmError(`--slc: products of different kinds (${[...kinds].join(', ')})`);
  products.sort((a, b) => a.date.localeCompare(b.date));
  for (const [k, p] of products.entries()) {
    const q = products[k + 1];
    if (q && q.date === p.date) throw new DpmError(`--slc: two products for ${p.date}: ${p.path} and ${q.path}`);
  }
  if (products.length < 2) throw new DpmError(`--slc: ${products.length} acquisition; a coherence stack needs two`);
  for (const p of products) fb.log('info', `${p.kind} ${p.date} ${p.polarisation}: ${p.path}`);
  const entries: StackEntry[] = products.map((p) => ({ date: p.date, path: p.path }));
  const ref = products[0];
  return ref?.layout.swath ? { entries, lat: `${ref.path}#lat`, lon: `${ref.path}#lon` } : { entries };
}
