// Small products in the published layouts, written by us for the reader tests (issue 14).
// HyP3 (ASF HyP3 docs, "InSAR product guide"): a product `<name>` is a folder or ZIP `<name>/` holding
// `<name>_corr.tif`, `<name>_unw_phase.tif`, `<name>_amp.tif` … and the parameter file `<name>.txt`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { zipSync } from 'fflate';
import { writeGeoTiff } from '../host/raster/geotiff.js';
import type { GeoTransform, Raster } from '../host/raster/types.js';

export const UTM_GT: GeoTransform = [500000, 80, 0, 4000000, 0, -80];

/** A one-band UTM 33N raster filled with `value` (or the given band). */
export function oneBand(w: number, h: number, fill: number | Float32Array, gt: GeoTransform = UTM_GT): Raster {
  return {
    width: w,
    height: h,
    bands: [typeof fill === 'number' ? new Float32Array(w * h).fill(fill) : fill],
    descriptions: [''],
    georef: { geoTransform: gt, epsg: 32633 },
  };
}

/** INSAR_GAMMA product name for a pair of YYYYMMDD dates. */
export const gammaName = (a: string, b: string, id = '1A2B') => `S1AA_${a}T023456_${b}T023501_VVP012_INT80_G_ueF_${id}`;
/** INSAR_ISCE_BURST product name. */
export const burstName = (a: string, b: string, id = '10EB') => `S1_136231_IW2_${a}_${b}_VV_INT80_${id}`;

/** The HyP3 parameter file (the lines we read, among others HyP3 writes). */
export function hyp3Parameters(a: string, b: string): string {
  return [
    `Reference Granule: S1A_IW_SLC__1SDV_${a}T023456_${a}T023523_026331_02F1B1_0A5D`,
    `Secondary Granule: S1A_IW_SLC__1SDV_${b}T023501_${b}T023528_026506_02F76B_7E2C`,
    'Reference Pass Direction: DESCENDING',
    'Baseline: 57.3',
    'Range looks: 20',
    'Azimuth looks: 4',
  ].join('\n');
}

/** Writes the product folder `<dir>/<name>/` (corr, unw_phase, txt); returns the folder. */
export async function hyp3Folder(dir: string, name: string, corr: Raster, txt?: string): Promise<string> {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  await writeGeoTiff(join(folder, `${name}_corr.tif`), corr);
  await writeGeoTiff(join(folder, `${name}_unw_phase.tif`), { ...corr, bands: [corr.bands[0]!.map((v) => v * 3)] });
  if (txt !== undefined) writeFileSync(join(folder, `${name}.txt`), txt);
  return folder;
}

/** Zips a product folder as HyP3 ships it (`<name>.zip` holding `<name>/…`) into `dir`. */
export function zipProduct(folder: string, dir: string, files: string[]): string {
  const name = basename(folder);
  const entries: Record<string, Uint8Array> = {};
  for (const f of files) entries[`${name}/${f}`] = readFileSync(join(folder, f));
  const zip = join(dir, `${name}.zip`);
  writeFileSync(zip, zipSync(entries));
  return zip;
}

/** float16 bits of a value representable as a normal half (test data only). */
function halfBits(v: number): number {
  if (v === 0) return 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  const frac = Math.round((a / 2 ** e - 1) * 1024);
  return sign | ((e + 15) << 10) | frac;
}

/** A .npy file (format 1.0) of `values` given in C order for `shape`, stored as `dtype` in C or Fortran order. */
export function writeNpy(
  path: string,
  shape: number[],
  values: ArrayLike<number>,
  dtype: '<f2' | '<f4' | '<f8' | '>f4' = '<f4',
  fortran = false,
): void {
  const size = Number(dtype.slice(2));
  const dims = `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
  let header = `{'descr': '${dtype}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${dims}, }`;
  header += `${' '.repeat(63 - ((10 + header.length) % 64))}\n`; // total header a multiple of 64, as NumPy pads it
  const n = shape.reduce((a, b) => a * b, 1);
  const out = Buffer.alloc(10 + header.length + n * size);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0]);
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  const strides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1));
  for (let i = 0; i < n; i++) {
    // file position i → C index of the same element
    let c = i;
    if (fortran) {
      let rest = i;
      c = 0;
      for (const [k, s] of shape.entries()) {
        c += (rest % s) * (strides[k] ?? 1);
        rest = Math.floor(rest / s);
      }
    }
    const v = Number(values[c]);
    const at = 10 + header.length + i * size;
    if (dtype === '<f2') out.writeUInt16LE(Number.isNaN(v) ? 0x7e00 : halfBits(v), at);
    else if (dtype === '<f4') out.writeFloatLE(v, at);
    else if (dtype === '>f4') out.writeFloatBE(v, at);
    else out.writeDoubleLE(v, at);
  }
  writeFileSync(path, out);
}
