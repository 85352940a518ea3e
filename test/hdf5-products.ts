// Small HDF5 products in the published layouts, written with h5wasm for the reader tests (issue 14):
// OPERA CSLC-S1 (v1 and beta), NISAR RSLC (and the older /science/LSAR/SLC group), NISAR GSLC, ARIA GUNW.
// Only the datasets the readers use are written, at their specified paths, with complex64 as HDF5 compounds {r, i}
// (what h5py writes for numpy complex64). NISAR's complex32 (two float16) is written by h5py (Debian's python3-h5py):
// h5wasm cannot write float16.
import { spawnSync } from 'node:child_process';
import h5wasm from 'h5wasm/node';

await h5wasm.ready;

type Value = Float32Array | Float64Array | Int32Array | string | { complex: Float32Array; shape: [number, number] };

/** Writes `datasets` (absolute paths → values; a typed array with a shape: [array, shape]) into a new file. */
export function writeHdf5(path: string, datasets: Record<string, Value | [Float32Array | Float64Array, number[]]>) {
  const f = new h5wasm.File(path, 'w');
  try {
    for (const [p, v] of Object.entries(datasets)) {
      const parts = p.split('/').filter(Boolean);
      const name = parts.pop() ?? '';
      let g: InstanceType<typeof h5wasm.Group> = f;
      for (const part of parts) {
        const next = g.get(part);
        g = next instanceof h5wasm.Group ? next : g.create_group(part);
      }
      if (Array.isArray(v)) g.create_dataset({ name, data: v[0], shape: v[1] });
      else if (typeof v === 'string') g.create_dataset({ name, data: v });
      else if (v instanceof Int32Array && v.length === 1) g.create_dataset({ name, data: v, shape: [] });
      else if ('complex' in v) {
        const n = v.shape[0] * v.shape[1];
        const re = new Float32Array(n),
          im = new Float32Array(n);
        for (let k = 0; k < n; k++) {
          re[k] = v.complex[2 * k] ?? NaN;
          im[k] = v.complex[2 * k + 1] ?? NaN;
        }
        g.create_dataset({
          name,
          data: new Map([
            ['r', re],
            ['i', im],
          ]) as never,
          shape: v.shape,
          dtype: [
            ['r', '<f'],
            ['i', '<f'],
          ],
        });
      } else g.create_dataset({ name, data: v });
    }
  } finally {
    f.close();
  }
}

const axis = (n: number, start: number, step: number) => Float64Array.from({ length: n }, (_, k) => start + k * step);

/** OPERA CSLC-S1 burst: UTM grid with pixel centres x0 + k·dx, y0 + k·dy. */
export function writeCslc(
  path: string,
  o: { start: string; slc: Float32Array; width: number; height: number; x0: number; y0: number; beta?: boolean },
) {
  const root = o.beta ? '/science/SENTINEL1/CSLC/grids' : '/data';
  const ident = o.beta ? '/science/SENTINEL1/identification' : '/identification';
  writeHdf5(path, {
    [`${root}/VV`]: { complex: o.slc, shape: [o.height, o.width] },
    [`${root}/x_coordinates`]: axis(o.width, o.x0, 5),
    [`${root}/y_coordinates`]: axis(o.height, o.y0, -10),
    [`${root}/projection`]: Int32Array.of(32611),
    [`${ident}/zero_doppler_start_time`]: o.start,
    [`${ident}/burst_id`]: 't071_151200_iw2',
  });
}

/** NISAR RSLC (or the older SLC group) with a geolocation grid whose lon/lat are linear in time and range:
 *  lon = 45 + 1e-3·(t − t0) + 2e-6·(r − r0), lat = 34 − 2e-3·(t − t0) + 1e-6·(r − r0), at every height. */
export function writeRslc(
  path: string,
  o: { start: string; slc: Float32Array; width: number; height: number; older?: boolean; pol?: string },
) {
  const g = o.older ? '/science/LSAR/SLC' : '/science/LSAR/RSLC';
  const t0 = 22000,
    r0 = 800000;
  const time = axis(o.height, t0, 0.5),
    range = axis(o.width, r0, 7);
  const gTime = axis(6, t0 - 1, (o.height * 0.5 + 2) / 5),
    gRange = axis(5, r0 - 20, (o.width * 7 + 40) / 4);
  const heights = Float64Array.of(-500, 0, 500, 1000);
  const cube = (f: (t: number, r: number) => number) => {
    const out = new Float64Array(heights.length * gTime.length * gRange.length);
    let k = 0;
    for (const h of heights) for (const t of gTime) for (const r of gRange) out[k++] = f(t, r) + (h === 0 ? 0 : 1); // other layers: off
    return [out, [heights.length, gTime.length, gRange.length]] as [Float64Array, number[]];
  };
  writeHdf5(path, {
    [`${g}/swaths/frequencyA/${o.pol ?? 'HH'}`]: { complex: o.slc, shape: [o.height, o.width] },
    [`${g}/swaths/zeroDopplerTime`]: time,
    [`${g}/swaths/frequencyA/slantRange`]: range,
    [`${g}/metadata/geolocationGrid/zeroDopplerTime`]: gTime,
    [`${g}/metadata/geolocationGrid/slantRange`]: gRange,
    [`${g}/metadata/geolocationGrid/heightAboveEllipsoid`]: heights,
    [`${g}/metadata/geolocationGrid/coordinateX`]: cube((t, r) => 45 + 1e-3 * (t - t0) + 2e-6 * (r - r0)),
    [`${g}/metadata/geolocationGrid/coordinateY`]: cube((t, r) => 34 - 2e-3 * (t - t0) + 1e-6 * (r - r0)),
    [`${g}/metadata/geolocationGrid/epsg`]: Int32Array.of(4326),
    '/science/LSAR/identification/zeroDopplerStartTime': o.start,
  });
}

/** NISAR GSLC on a UTM grid. */
export function writeGslc(path: string, o: { start: string; slc: Float32Array; width: number; height: number }) {
  const g = '/science/LSAR/GSLC/grids/frequencyA';
  writeHdf5(path, {
    [`${g}/HH`]: { complex: o.slc, shape: [o.height, o.width] },
    [`${g}/xCoordinates`]: axis(o.width, 300002.5, 5),
    [`${g}/yCoordinates`]: axis(o.height, 4000002.5, -5),
    [`${g}/projection`]: Int32Array.of(32611),
    '/science/LSAR/identification/zeroDopplerStartTime': o.start,
  });
}

/** ARIA GUNW (NetCDF-4): coherence [lat, lon] with _FillValue 0 on 1-D pixel-centre axes, named by its pair. */
export function writeGunw(path: string, o: { coherence: Float32Array; width: number; height: number }) {
  writeHdf5(path, {
    '/science/grids/data/coherence': [o.coherence, [o.height, o.width]],
    '/science/grids/data/latitude': axis(o.height, 34.5 - 0.000416666 / 2, -0.000416666),
    '/science/grids/data/longitude': axis(o.width, -118 + 0.000416666 / 2, 0.000416666),
  });
  const f = new h5wasm.File(path, 'a');
  try {
    const d = f.get('/science/grids/data/coherence');
    if (d instanceof h5wasm.Dataset) d.create_attribute('_FillValue', Float32Array.of(0), []);
  } finally {
    f.close();
  }
}

/** The Python with h5py (Debian's python3-h5py) that writes complex32 SLCs; null (with the reason) when absent. */
export const H5PY_PYTHON = '/usr/bin/python3';
export const h5pyMissing =
  spawnSync(H5PY_PYTHON, ['-c', 'import h5py']).status === 0
    ? null
    : `${H5PY_PYTHON} has no h5py (apt-get install python3-h5py): complex32 SLCs cannot be written`;

/** Rewrites `dataset` of each `complex32` file as NISAR stores its SLCs: a compound {r, i} of two little-endian
 *  float16, chunked, shuffled and deflated as h5py writes it; the same dataset of its `complex64` twin becomes the
 *  float16-rounded SLC (NumPy's rounding) as complex64, the value a correct reader must return. */
export function toComplex32(files: { complex32: string; complex64: string }[], dataset: string): void {
  const script = `
import json, sys
import h5py, numpy as np
c32 = np.dtype([('r', '<f2'), ('i', '<f2')])
for pair in json.loads(sys.argv[2]):
    with h5py.File(pair['complex32'], 'a') as f:
        z = f[sys.argv[1]][...]
        del f[sys.argv[1]]
        half = np.empty(z.shape, c32)
        half['r'], half['i'] = z.real, z.imag
        f.create_dataset(sys.argv[1], data=half, chunks=(8, 16), compression='gzip', shuffle=True)
    with h5py.File(pair['complex64'], 'a') as f:
        f[sys.argv[1]][...] = half['r'].astype(np.float32) + 1j * half['i'].astype(np.float32)
`;
  const r = spawnSync(H5PY_PYTHON, ['-c', script, dataset, JSON.stringify(files)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`h5py could not write complex32: ${r.stderr}`);
}
