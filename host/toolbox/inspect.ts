// `dpm inspect`: the paper's Fig. 6 for chosen pixels (--pixel ROW,COL or --lonlat LON,LAT): observed logit
// coherence, the one-step forecast μ ± σ and the z-score through time (host/model/forecast.ts forecastPixels), one
// SVG + PNG per pixel and a JSON of the series. The QGIS pixel time-series tool plots this JSON.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Algorithm, AlgorithmParams } from './algorithm.js';
import { stage, throwIfCanceled, type Feedback } from '../core/feedback.js';
import { DpmError } from '../core/errors.js';
import { withOutputs } from '../io/outputs.js';
import { readCoherenceStack } from '../raster/stack.js';
import { modelTimeFeatures, splitBands } from '../model/series.js';
import { forecastPixels, modelSigmaScale, type PixelForecast } from '../model/forecast.js';
import { createEngine, engineOptions } from '../engines/select.js';
import { loadModel } from '../model/safetensors.js';
import { inspectChartSpec } from '../eval/inspect-chart.js';
import { renderVegaLiteBoth } from '../eval/plots.js';
import { transformer } from '../vector/crs.js';
import { packageVersion } from '../paths.js';
import type { Georef } from '../raster/types.js';

/** `--pixel 3,4 --pixel 10,2` (or "3,4;10,2") arrives as a flat list of numbers: consecutive (row, col) pairs. */
export function parsePixels(values: unknown[]): { row: number; col: number }[] {
  const nums = values.flatMap((v) => String(v).split(/[,;\s]+/)).filter((s) => s.length > 0);
  if (nums.length === 0 || nums.length % 2 !== 0) {
    throw new DpmError(`--pixel takes ROW,COL pairs (e.g. --pixel 12,40 --pixel 3,7), got '${values.join(',')}'`);
  }
  const out: { row: number; col: number }[] = [];
  for (let k = 0; k < nums.length; k += 2) {
    const row = Number(nums[k]),
      col = Number(nums[k + 1]);
    if (!Number.isInteger(row) || !Number.isInteger(col) || row < 0 || col < 0) {
      throw new DpmError(`--pixel ${nums[k]},${nums[k + 1]}: row and column must be whole numbers ≥ 0 (0-based)`);
    }
    out.push({ row, col });
  }
  return out;
}

/** `--lonlat 45.8,34.4` pairs (same list rules as --pixel). */
export function parseLonLats(values: unknown[]): { lon: number; lat: number }[] {
  const nums = values.flatMap((v) => String(v).split(/[,;\s]+/)).filter((s) => s.length > 0);
  const out: { lon: number; lat: number }[] = [];
  for (let k = 0; k + 1 < nums.length; k += 2) {
    const lon = Number(nums[k]),
      lat = Number(nums[k + 1]);
    if (!(Math.abs(lon) <= 180 && Math.abs(lat) <= 90)) {
      throw new DpmError(`--lonlat ${nums[k]},${nums[k + 1]}: longitude in [-180, 180] and latitude in [-90, 90]`);
    }
    out.push({ lon, lat });
  }
  if (out.length === 0 || nums.length % 2 !== 0) {
    throw new DpmError(
      `--lonlat takes LON,LAT pairs in degrees (e.g. --lonlat 45.86,34.46), got '${values.join(',')}'`,
    );
  }
  return out;
}

/** Where a pixel of the grid lies: the WGS84 longitude and latitude of its centre (undefined without georeferencing). */
export function lonLatOfPixel(
  g: Georef,
  width: number,
  row: number,
  col: number,
): { lon: number; lat: number } | undefined {
  if (g.lat && g.lon) {
    const lat = g.lat[row * width + col],
      lon = g.lon[row * width + col];
    return lat !== undefined && lon !== undefined && Number.isFinite(lat + lon) ? { lon, lat } : undefined;
  }
  const gt = g.geoTransform;
  if (!gt || g.epsg === undefined) return undefined;
  const [c, r] = [col + 0.5, row + 0.5];
  const [lon, lat] = transformer(
    `EPSG:${g.epsg}`,
    'EPSG:4326',
  )([gt[0] + c * gt[1] + r * gt[2], gt[3] + c * gt[4] + r * gt[5]]);
  return { lon, lat };
}

/**
 * The pixel at a WGS84 place: on a map grid the pixel whose footprint holds it; in radar geometry (lat/lon lookups)
 * the pixel whose centre is nearest, if within two pixel spacings (else the place is outside the scene).
 */
export function pixelOfLonLat(
  g: Georef,
  width: number,
  height: number,
  lon: number,
  lat: number,
): { row: number; col: number } | undefined {
  const { lat: lats, lon: lons } = g;
  if (lats && lons) {
    const kx = Math.cos((lat * Math.PI) / 180); // degrees of longitude shrink with latitude
    // squared distance (degrees of latitude) between pixel centre i and a place
    const dist2 = (i: number, x: number, y: number) => (((lons[i] ?? NaN) - x) * kx) ** 2 + ((lats[i] ?? NaN) - y) ** 2;
    const d2 = (i: number) => dist2(i, lon, lat);
    let best = -1;
    for (let i = 0; i < width * height; i++) if (Number.isFinite(d2(i)) && (best < 0 || d2(i) < d2(best))) best = i;
    if (best < 0) return undefined;
    const row = Math.floor(best / width),
      col = best % width;
    const next = col + 1 < width ? best + 1 : best - 1;
    const below = row + 1 < height ? best + width : best - width;
    const neighbours = [next, below].filter((i) => i >= 0 && i < width * height);
    // squared distance to a neighbouring centre: one pixel spacing
    const step2 = Math.max(...neighbours.map((i) => dist2(i, lons[best] ?? NaN, lats[best] ?? NaN)));
    return d2(best) <= 4 * step2 ? { row, col } : undefined;
  }
  const gt = g.geoTransform;
  if (!gt || g.epsg === undefined) return undefined;
  const [x, y] = transformer('EPSG:4326', `EPSG:${g.epsg}`)([lon, lat]);
  const det = gt[1] * gt[5] - gt[2] * gt[4];
  const col = Math.floor(((x - gt[0]) * gt[5] - (y - gt[3]) * gt[2]) / det);
  const row = Math.floor(((y - gt[3]) * gt[1] - (x - gt[0]) * gt[4]) / det);
  return row >= 0 && col >= 0 && row < height && col < width ? { row, col } : undefined;
}

/** A place as a title reads it: 34.4600° N, 45.8600° E. */
export function formatPlace(p: { lon: number; lat: number }): string {
  return `${Math.abs(p.lat).toFixed(4)}° ${p.lat < 0 ? 'S' : 'N'}, ${Math.abs(p.lon).toFixed(4)}° ${p.lon < 0 ? 'W' : 'E'}`;
}

async function run(p: AlgorithmParams['inspect'], fb: Feedback) {
  if (!p.pixel && !p.lonlat) throw new DpmError('inspect: give --pixel ROW,COL or --lonlat LON,LAT (or both)');
  const pixels = p.pixel ? parsePixels(p.pixel) : [];
  const places = p.lonlat ? parseLonLats(p.lonlat) : [];
  const modelPath = p.model;
  const model = loadModel(modelPath);
  const timeFeatures = modelTimeFeatures(model.config.features, model.training, `--model ${modelPath}`);
  const stack = await readCoherenceStack(p.coherence, {
    nodata: p.nodata,
    align: p['align-grids'],
    feedback: stage(fb, 0, 20, 'reading the coherence stack'),
  });
  const split = splitBands(stack, { preEventBands: p['pre-event-bands'], eventDate: p['event-date'] }, true);
  fb.log('info', split.describe);
  for (const place of places) {
    const px = pixelOfLonLat(stack.georef, stack.width, stack.height, place.lon, place.lat);
    if (!px) {
      throw new DpmError(
        `--lonlat ${place.lon},${place.lat} is outside ${stack.source ?? 'the stack'} (or the stack has no georeferencing)`,
      );
    }
    fb.log('info', `--lonlat ${place.lon},${place.lat}: pixel ${px.row},${px.col}`);
    pixels.push(px);
  }
  for (const px of pixels) {
    if (px.row >= stack.height || px.col >= stack.width) {
      throw new DpmError(
        `--pixel ${px.row},${px.col} is outside ${stack.source ?? 'the stack'} (${stack.height} rows × ${stack.width} columns, 0-based)`,
      );
    }
  }
  const engine = await createEngine(model.config, engineOptions(p, fb));
  const engineName = engine.description;
  let series: PixelForecast[];
  try {
    await engine.setParams(model.params);
    fb.progress(30, 'forecasting');
    series = await forecastPixels(
      engine,
      stack,
      pixels,
      split,
      timeFeatures,
      modelSigmaScale(model.training, `--model ${modelPath}`),
    );
  } finally {
    engine.destroy();
  }
  const dir = p['out-dir'];
  const files: string[] = [];
  await withOutputs(async (outs) => {
    for (const [k, s] of series.entries()) {
      throwIfCanceled(fb);
      fb.progress(40 + (55 * k) / series.length, `plotting pixel ${s.row},${s.col}`);
      if (!s.usable)
        fb.log('warning', `pixel ${s.row},${s.col}: fewer than 2 valid pre-event values, no forecast (NaN)`);
      const place = lonLatOfPixel(stack.georef, stack.width, s.row, s.col);
      const zCo = s.z[s.z.length - 1] ?? NaN;
      const title =
        `pixel (row ${s.row}, col ${s.col})${place ? ` at ${formatPlace(place)}` : ''}: ` +
        `co-event z = ${Number.isFinite(zCo) ? zCo.toFixed(2) : 'n/a'}`;
      const chart = await renderVegaLiteBoth(inspectChartSpec({ ...s, coEvent: s.pairs.length - 1 }, title));
      const stem = join(dir, `inspect_r${s.row}_c${s.col}`);
      writeFileSync(outs.path(`${stem}.svg`), chart.svg);
      writeFileSync(outs.path(`${stem}.png`), chart.png);
      files.push(`${stem}.svg`, `${stem}.png`);
      fb.log('info', `pixel ${s.row},${s.col}: co-event z = ${s.z[s.z.length - 1]?.toFixed(2)} → ${stem}.svg`);
    }
    const json = join(dir, 'inspect.json');
    const clean = (a: number[]) => a.map((v) => (Number.isFinite(v) ? v : null)); // JSON has no NaN
    writeFileSync(
      outs.path(json),
      `${JSON.stringify(
        {
          software: 'insar-dpm',
          version: packageVersion,
          engine: engineName,
          model: modelPath,
          split: split.describe,
          pixels: series.map((s) => ({
            row: s.row,
            col: s.col,
            ...lonLatOfPixel(stack.georef, stack.width, s.row, s.col),
            usable: s.usable,
            pairs: s.pairs,
            coherence: clean(s.coherence),
            x: clean(s.x),
            mu: clean(s.mu),
            sigma: clean(s.sigma),
            z: clean(s.z),
            expectedCoherence: clean(s.expectedCoherence),
          })),
        },
        null,
        1,
      )}\n`,
    );
    files.push(json);
  }, fb);
  fb.progress(100, 'done');
  return { folder: dir, files: files.join(',') };
}

export const algorithm: Algorithm<'inspect'> = { id: 'inspect', run };
