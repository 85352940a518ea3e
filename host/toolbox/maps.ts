// The maps of `dpm run` (geocoded rasters, the RGBA overlay, dpm.png) and the report's threshold count, streamed:
// every raster is read by row blocks and every output written by one (geocodeBlocks, CogWriter), so the run's
// memory does not grow with the scene (issue 16). The figure is made from a max-pooled copy of at most 2000 pixels a
// side; the count of pixels above the threshold is a counter.
import { existsSync } from 'node:fs';
import type { Outputs } from './algorithm.js';
import { checkpoint, stage, type Feedback } from '../core/feedback.js';
import type { OutputSet } from '../io/outputs.js';
import { writeStyle } from '../io/qml.js';
import { GcpCollector } from '../raster/cog.js';
import { companionPaths, openRasterRows, type RasterRows, RasterRowWriter } from '../raster/geotiff.js';
import { geocodeBlocks, geocodeGrid, geocodeLog, type GeocodeTarget, type RadarRows } from '../raster/geocode.js';
import { DpmMapPool, DpmOverlayWriter, type MapGrid, writeDpmPoolPng } from '../raster/png-map.js';
import { DpmError } from '../core/errors.js';

/** Rows per block read from a raster. */
const ROWS = 256;

export interface MapsInput {
  /** the run folder's files (absolute) */
  at: (file: string) => string;
  /** 'none', or the map grid of the geocoded copies */
  target: string;
  threshold: number;
  title: string;
  /** the layers geocoded (name, file), the z-score first; styles by name */
  layers: readonly (readonly [string, string])[];
  styles: Record<string, ((threshold: number) => string) | undefined>;
}

/** Opens rasters for row reads and closes them all after `work`, whatever happens. */
async function withRows<T>(paths: string[], work: (readers: RasterRows[]) => Promise<T>): Promise<T> {
  const readers: RasterRows[] = [];
  try {
    for (const p of paths) readers.push(await openRasterRows(p));
    return await work(readers);
  } finally {
    for (const r of readers) await r.close();
  }
}

/** Band 0 of rows [r0, r1). */
const rowsOf = async (r: RasterRows, r0: number, r1: number) => (await r.read(r0, r1, 0))[0] ?? new Float32Array(0);

/**
 * Writes, through `outs`: geocoded/<layer>.tif for every layer when z is in radar geometry with lat/lon lookups and
 * a target is asked for, the overlay (geocoded/dpm_overlay.tif, else dpm_overlay.tif on z's grid) and dpm.png of the
 * geocoded z (else of z). Returns the stage's outputs (png, overlay, the geocoded files by layer name).
 */
export async function writeMaps(m: MapsInput, outs: OutputSet, fb: Feedback): Promise<Outputs> {
  const [zName, zFile] = m.layers[0] ?? [];
  if (!zName || !zFile) throw new Error('internal: maps without the z-score layer');
  const zPath = m.at(zFile);
  const c = companionPaths(zPath);
  const png = m.at('dpm.png');
  const pngOpts = { threshold: m.threshold, title: m.title, units: 'z-score' };
  return withRows([zPath], async ([z]) => {
    if (!z) throw new Error('internal: no z reader');
    const radar = !z.georef.geoTransform && existsSync(c.lat) && existsSync(c.lon);
    const geocoded: Record<string, string> = {};
    if (m.target !== 'none' && radar) {
      const epsg: GeocodeTarget = m.target === 'utm' ? 'utm' : 'wgs84';
      const files = m.layers.map(([, f]) => m.at(f));
      return withRows([c.lat, c.lon, ...files], async ([lat, lon, ...layers]) => {
        if (!lat || !lon) throw new Error('internal: no lat/lon readers');
        for (const [k, l] of layers.entries())
          if (l.width !== z.width || l.height !== z.height)
            throw new DpmError(`${files[k]}: ${l.width} × ${l.height}, the z-score is ${z.width} × ${z.height}`);
        const src: RadarRows = {
          width: z.width,
          height: z.height,
          what: zPath,
          latLon: async (r0, r1) => ({ lat: await rowsOf(lat, r0, r1), lon: await rowsOf(lon, r0, r1) }),
          layers: layers.map((l) => (r0: number, r1: number) => rowsOf(l, r0, r1)),
        };
        // streamed, memory is a block of output rows whatever the grid; the limit guards disk and time only (a
        // 20,000 × 5,000 frame's grid at its ground-range spacing is ~4 × 10^8 pixels, over geocode's default)
        const opts = { epsg, method: 'bilinear' as const, maxPixels: 2e9 };
        const grid = await geocodeGrid(src, { ...opts, feedback: stage(fb, 0, 20, 'geocoding: map grid') });
        const georef = { geoTransform: grid.geoTransform, epsg: grid.epsg };
        const mapGrid: MapGrid = { width: grid.width, height: grid.height, georef, radar: false };
        const writers = layers.map((l, k) => {
          const name = m.layers[k]?.[0] ?? '';
          geocoded[name] = m.at(`geocoded/${name}.tif`);
          const shape = { ...mapGrid, bandCount: 1, descriptions: l.descriptions, metadata: l.metadata };
          return new RasterRowWriter(outs, geocoded[name], shape, false, { nodata: NaN });
        });
        const overlay = m.at('geocoded/dpm_overlay.tif');
        const overlayWriter = new DpmOverlayWriter(outs.path(overlay), mapGrid, m.threshold);
        const pool = new DpmMapPool(mapGrid, m.threshold);
        try {
          await geocodeBlocks(src, grid, { ...opts, feedback: stage(fb, 20, 95, 'geocoding') }, (rows, n) => {
            rows.forEach((r, k) => writers[k]?.write([r], n));
            const zRows = rows[0] ?? new Float32Array(0);
            pool.add(zRows, n);
            overlayWriter.write(zRows, n);
          });
          for (const w of writers) w.finish();
          overlayWriter.finish();
        } catch (err) {
          for (const w of writers) w.abort();
          overlayWriter.abort();
          throw err;
        }
        fb.log('info', `${geocodeLog(z, grid, opts)}: ${m.layers.map(([name]) => name).join(', ')}`);
        for (const [name, file] of Object.entries(geocoded)) {
          const style = m.styles[name];
          if (style) writeStyle(outs, file, style(m.threshold));
        }
        await writeDpmPoolPng(outs.path(png), pool, pngOpts);
        return { png, overlay, ...geocoded };
      });
    }
    // on z's own grid: the overlay references z's lat/lon companions (and carries GCPs from them)
    const mapGrid: MapGrid = { width: z.width, height: z.height, georef: z.georef, radar, source: zPath };
    const overlay = m.at('dpm_overlay.tif');
    const overlayWriter = new DpmOverlayWriter(outs.path(overlay), mapGrid, m.threshold, { geolocation: c });
    const pool = new DpmMapPool(mapGrid, m.threshold);
    try {
      await withRows(radar ? [c.lat, c.lon] : [], async ([lat, lon]) => {
        const gcps = new GcpCollector(z.width, z.height);
        for (let r0 = 0; r0 < z.height; r0 += ROWS) {
          await checkpoint(fb);
          fb.progress((95 * r0) / z.height, 'map');
          const r1 = Math.min(z.height, r0 + ROWS);
          const rows = await rowsOf(z, r0, r1);
          pool.add(rows, r1 - r0);
          overlayWriter.write(rows, r1 - r0);
          if (lat && lon) gcps.add(await rowsOf(lat, r0, r1), await rowsOf(lon, r0, r1), r1 - r0);
        }
        overlayWriter.finish(radar ? gcps.gcps : undefined);
      });
    } catch (err) {
      overlayWriter.abort();
      throw err;
    }
    await writeDpmPoolPng(outs.path(png), pool, pngOpts);
    return { png, overlay };
  });
}

/** Valid pixels of band 0 of `path` and those at or above `threshold`, counted by row blocks. */
export async function countAbove(
  path: string,
  threshold: number,
  fb: Feedback,
): Promise<{ valid: number; above: number }> {
  return withRows([path], async ([z]) => {
    let valid = 0,
      above = 0;
    for (let r0 = 0; z && r0 < z.height; r0 += ROWS) {
      await checkpoint(fb);
      for (const v of await rowsOf(z, r0, Math.min(z.height, r0 + ROWS))) {
        if (Number.isNaN(v)) continue;
        valid++;
        if (v >= threshold) above++;
      }
    }
    return { valid, above };
  });
}
