// ARIA GUNW products (Sentinel-1 Geocoded Unwrapped Interferograms, NetCDF-4 = HDF5) as coherence input
// (PairReader, see ../pairs.ts): /science/grids/data/coherence [lat, lon] on the 1-D pixel-centre axes
// /science/grids/data/latitude and /longitude (WGS84, EPSG:4326); _FillValue (0 in ARIA products) → NaN. The pair
// comes from the product name, S1-GUNW-A-R-064-tops-<reference>_<secondary>-<time>-<lon>_<lat>-PP-<id>-v2_0_4.nc
// (reference is the later date). Input: one product, or a folder of them (links followed). Read with h5wasm, loaded
// only when a GUNW input is seen.
import { basename } from 'node:path';
import { DpmError } from '../../core/errors.js';
import { throwIfCanceled } from '../../core/feedback.js';
import { entryKind, listEntries } from '../entries.js';
import { type PairReader, type PairSource, parsePair } from '../pairs.js';
import type { GeoTransform, Georef } from '../types.js';
import type { Window } from '../window.js';

const GUNW_NAME = /^S1-GUNW-.*\.(nc|h5)$/i;
const COH = '/science/grids/data/coherence';
const LAT = '/science/grids/data/latitude';
const LON = '/science/grids/data/longitude';

async function h5() {
  const { default: h5wasm } = await import('h5wasm/node');
  await h5wasm.ready;
  return h5wasm;
}

/** Opens a product and hands its coherence dataset and geotransform to `use`. */
async function withProduct<T>(
  file: string,
  use: (coh: { shape: number[]; read: (window?: Window) => Float32Array; fill?: number }, georef: Georef) => T,
): Promise<T> {
  const h5wasm = await h5();
  let f: InstanceType<typeof h5wasm.File>;
  try {
    f = new h5wasm.File(file, 'r');
  } catch (err) {
    throw new DpmError(`${file}: not a readable NetCDF-4/HDF5 file (${(err as Error).message})`);
  }
  try {
    const get = (p: string) => {
      const d = f.get(p);
      if (!(d instanceof h5wasm.Dataset)) throw new DpmError(`${file}: ARIA GUNW without the dataset ${p}`);
      return d;
    };
    const coh = get(COH);
    const lat = Float64Array.from(get(LAT).value as ArrayLike<number>);
    const lon = Float64Array.from(get(LON).value as ArrayLike<number>);
    const [h = 0, w = 0] = coh.shape ?? [];
    if (coh.shape?.length !== 2 || lat.length !== h || lon.length !== w || w < 2 || h < 2)
      throw new DpmError(
        `${file}: ${COH} is ${coh.shape?.join('×')}, its axes ${lat.length} latitudes × ${lon.length} longitudes`,
      );
    const [lon0 = NaN, lon1 = NaN] = lon;
    const [lat0 = NaN, lat1 = NaN] = lat;
    const dx = lon1 - lon0,
      dy = lat1 - lat0;
    const gt: GeoTransform = [lon0 - dx / 2, dx, 0, lat0 - dy / 2, 0, dy];
    const fillAttr = coh.attrs._FillValue?.value;
    const fill =
      typeof fillAttr === 'number'
        ? fillAttr
        : ArrayBuffer.isView(fillAttr)
          ? Number((fillAttr as Float32Array)[0])
          : undefined;
    return use(
      {
        shape: [h, w],
        // h5wasm reads only the hyperslab of a window
        read: (w) =>
          Float32Array.from(
            (w
              ? coh.slice([
                  [w.r0, w.r1],
                  [w.c0, w.c1],
                ])
              : coh.value) as ArrayLike<number>,
          ),
        ...(fill !== undefined ? { fill } : {}),
      },
      { geoTransform: gt, epsg: 4326 },
    );
  } finally {
    f.close();
  }
}

function productPair(file: string) {
  const pair = parsePair(basename(file), file);
  if (!pair) throw new DpmError(`${file}: no date pair <reference>_<secondary> in the ARIA GUNW product name`);
  return pair;
}

export const gunwReader: PairReader = {
  name: 'ARIA GUNW products',
  accepts: (input) => {
    const kind = entryKind(input);
    if (kind === 'file') return GUNW_NAME.test(basename(input));
    return kind === 'folder' && listEntries(input).some((e) => e.kind === 'file' && GUNW_NAME.test(e.name));
  },
  async findPairs(input, fb) {
    const files =
      entryKind(input) === 'folder'
        ? listEntries(input)
            .filter((e) => e.kind === 'file' && GUNW_NAME.test(e.name))
            .map((e) => e.path)
        : [input];
    const out: PairSource[] = [];
    for (const file of files) {
      throwIfCanceled(fb);
      const pair = productPair(file);
      const info = await withProduct(file, (coh, georef) => ({
        width: coh.shape[1] ?? 0,
        height: coh.shape[0] ?? 0,
        bandCount: 1,
        georef,
        metadata: {},
        source: file,
      }));
      fb.log('info', `ARIA GUNW ${basename(file)}: pair ${pair.first}_${pair.second}`);
      out.push({ file, band: 0, pair, info, reader: gunwReader });
    }
    return out;
  },
  async readBands(file, bands, nodata, window) {
    return withProduct(file, (coh, georef) => {
      const band = coh.read(window);
      const missing = nodata ?? coh.fill;
      if (missing !== undefined) band.forEach((v, k) => void (v === Math.fround(missing) && (band[k] = NaN)));
      return { bands: bands.map(() => band), georef };
    });
  },
};
