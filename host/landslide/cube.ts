// Loading a landslide datacube into memory (scores.ts LandslideCube): a papers/003 Zarr cube (openDatacube: vv, vh,
// coherence, dem*, landslides, sat:orbit_state) or a folder of dated single-band backscatter GeoTIFFs named as OPERA
// RTC-S1 products (OPERA_L2_RTC-S1_T069-147170-IW1_20231004T015623Z_…_VV.tif; the track, T069, is the orbit) or any
// name with a YYYYMMDD date and a _VV/_VH polarisation. Slope comes from the cube's dem_slope_radians, else its dem
// or --dem through terrain.ts.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DpmError } from '../core/errors.js';
import { readRaster } from '../raster/geotiff.js';
import { terrain, type Terrain } from '../raster/terrain.js';
import type { Raster } from '../raster/types.js';
import { isZarr, openDatacube } from '../raster/zarr.js';
import type { LandslideCube } from './scores.js';

/** YYYY-MM-DD… or YYYYMMDD… of a cube attribute → YYYYMMDD (undefined when absent or unreadable). */
export function attrDate(v: unknown): string | undefined {
  const m = typeof v === 'string' ? /^(\d{4})-?(\d{2})-?(\d{2})/.exec(v.trim()) : null;
  return m ? m.slice(1, 4).join('') : undefined;
}

export interface LoadedCube {
  cube: LandslideCube;
  /** the cube's own event_date attribute, when it has one */
  eventDate?: string;
  /** the DEM on the grid (for terrain outputs), when there is one */
  dem?: Float32Array;
  /** aspect (degrees, downslope, clockwise from north) and curvature (1/m, positive = convex) on the grid: the cube's
   *  dem_aspect / dem_curvature, else derived from the DEM (the U-Net's DEM inputs) */
  aspect?: Float32Array;
  curvature?: Float32Array;
}

export async function loadLandslideCube(
  path: string,
  opts: { dem?: string; truth?: string } = {},
): Promise<LoadedCube> {
  const loaded = isZarr(path) ? await fromZarr(path) : await fromGeoTiffFolder(path);
  const { cube } = loaded;
  const onGrid = async (file: string, what: string): Promise<Raster> => {
    const r = await readRaster(file);
    if (r.width !== cube.width || r.height !== cube.height)
      throw new DpmError(`${file}: ${what} is ${r.width}×${r.height}, the cube ${cube.width}×${cube.height}`);
    return r;
  };
  if (opts.dem) {
    const r = await onGrid(opts.dem, 'the DEM');
    loaded.dem = r.bands[0];
    const t = terrain({ ...r, source: opts.dem });
    cube.slope = t.slope;
    loaded.aspect = t.aspect;
    loaded.curvature = t.curvature;
  }
  if (opts.truth) cube.landslides = (await onGrid(opts.truth, 'the truth mask')).bands[0];
  return loaded;
}

async function fromZarr(dir: string): Promise<LoadedCube> {
  const dc = await openDatacube(dir);
  const all = async (name: string, count: number) => {
    const out: Float32Array[] = [];
    for (let k = 0; k < count; k++) out.push(await dc.readGrid(name, k));
    return out;
  };
  const T = dc.timesteps.length;
  const cube: LandslideCube = {
    source: dir,
    width: dc.width,
    height: dc.height,
    georef: dc.georef,
    dates: dc.timesteps,
    orbits: dc.orbits,
  };
  for (const p of ['vv', 'vh'] as const) if (dc.has(p) && T > 0) cube[p] = await all(p, T);
  if (dc.has('coherence') && dc.pairs.length > 0)
    cube.coherence = { pairs: dc.pairs, bands: await all('coherence', dc.pairs.length) };
  const dem = dc.has('dem') ? await dc.readGrid('dem') : undefined;
  // derived from the DEM only for what the cube lacks (terrain() refuses rotated grids the cube may still have)
  let derived: Terrain | undefined;
  const fromDem = (pick: (t: Terrain) => Float32Array) => {
    if (!dem || !dc.georef.geoTransform) return undefined;
    derived ??= terrain({ width: dc.width, height: dc.height, bands: [dem], descriptions: ['dem'], georef: dc.georef });
    return pick(derived);
  };
  if (dc.has('dem_slope_radians'))
    cube.slope = Float32Array.from(await dc.readGrid('dem_slope_radians'), (v) => (v * 180) / Math.PI);
  else cube.slope = fromDem((t) => t.slope);
  // aspect and curvature feed only the U-Net's DEM inputs: a grid terrain() refuses leaves them out, not the cube
  const optional = (pick: (t: Terrain) => Float32Array) => {
    try {
      return fromDem(pick);
    } catch (err) {
      if (err instanceof DpmError) return undefined;
      throw err;
    }
  };
  const aspect = dc.has('dem_aspect') ? await dc.readGrid('dem_aspect') : optional((t) => t.aspect);
  const curvature = dc.has('dem_curvature') ? await dc.readGrid('dem_curvature') : optional((t) => t.curvature);
  if (dc.has('landslides')) cube.landslides = await dc.readGrid('landslides');
  if (!cube.vv && !cube.vh) throw new DpmError(`${dir}: no vv or vh variable on (timestep, y, x) with dates`);
  return { cube, eventDate: attrDate(dc.attrs.event_date), dem, aspect, curvature };
}

const OPERA = /^OPERA_L2_RTC-S1_(T\d{3})-\d+-IW\d_(\d{8})T\d{6}Z_.*_(VV|VH)\.tiff?$/i;
const GENERIC = /(\d{8}).*[_-](VV|VH)\.tiff?$/i;

/** A folder of dated single-band backscatter GeoTIFFs, one per date and polarisation, all on one grid. */
async function fromGeoTiffFolder(dir: string): Promise<LoadedCube> {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a folder');
    names = readdirSync(dir).sort();
  } catch {
    throw new DpmError(`${dir}: neither a Zarr datacube nor a folder of backscatter GeoTIFFs`);
  }
  const files = names.flatMap((name) => {
    const o = OPERA.exec(name);
    if (o) return [{ name, orbit: o[1]!.toUpperCase(), date: o[2]!, pol: o[3]!.toLowerCase() as 'vv' | 'vh' }];
    const g = GENERIC.exec(name);
    return g ? [{ name, orbit: '', date: g[1]!, pol: g[2]!.toLowerCase() as 'vv' | 'vh' }] : [];
  });
  if (files.length === 0)
    throw new DpmError(`${dir}: no backscatter GeoTIFFs named like OPERA RTC-S1 products or *YYYYMMDD*_VV.tif`);
  const keys = [...new Set(files.map((f) => `${f.date}|${f.orbit}`))].sort();
  let grid: Raster | undefined;
  const cube: LandslideCube = { source: dir, width: 0, height: 0, georef: {}, dates: [], orbits: [] };
  for (const key of keys) {
    const [date = '', orbit = ''] = key.split('|');
    cube.dates.push(date);
    cube.orbits.push(orbit);
  }
  for (const f of files) {
    const r = await readRaster(join(dir, f.name));
    grid ??= r;
    if (r.width !== grid.width || r.height !== grid.height)
      throw new DpmError(
        `${join(dir, f.name)}: ${r.width}×${r.height}, but ${files[0]!.name} is ${grid.width}×${grid.height}`,
      );
    const band = r.bands[0]!;
    const list = (cube[f.pol] ??= keys.map(() => new Float32Array(band.length).fill(NaN)));
    list[keys.indexOf(`${f.date}|${f.orbit}`)] = band;
  }
  cube.width = grid!.width;
  cube.height = grid!.height;
  cube.georef = grid!.georef;
  if (cube.orbits.every((o) => o === '')) cube.orbits = [];
  return { cube };
}
