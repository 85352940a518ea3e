// Per-building damage (issue 14, `dpm buildings`): score rasters (z-score, CCD …) aggregated to building footprints,
// as PWTT and responders' EMS-graded footprints work. For each footprint and score: pixels, mean, median, max, 90th
// percentile (linear interpolation, as numpy) and the share of pixels at or above the threshold; NaN pixels are
// skipped, a footprint with no finite pixel keeps null statistics. Membership and the centroid fallback: see
// host/vector/zones.ts. The damage class is the first score's --statistic against --threshold. With a damage field,
// the building-level PR curve, PR AUC and threshold table of every score go to a JSON report beside the output.
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Feature, FeatureCollection } from 'geojson';
import { valueAt } from '../core/arrays.js';
import { DpmError } from '../core/errors.js';
import { type Feedback, silentFeedback, throwIfCanceled } from '../core/feedback.js';
import { withOutputs } from '../io/outputs.js';
import { readRaster } from '../raster/geotiff.js';
import type { Raster } from '../raster/types.js';
import { featuresCrs, polygonsOf, readFeatures } from '../vector/read.js';
import { encodeFlatGeobuf, encodeGeoJson } from '../vector/write.js';
import { footprintZones } from '../vector/zones.js';
import { evaluateScore } from './metrics.js';
import { percentileSorted } from './points/stats.js';
import { thresholdTable } from './thresholds.js';

export const BUILDING_STATISTICS = ['mean', 'median', 'max', 'p90', 'share'] as const;
export type BuildingStatistic = (typeof BUILDING_STATISTICS)[number];

export interface BuildingOptions {
  scores: string[];
  /** attribute prefix per score (default: file stems) */
  names?: string[];
  footprints: string;
  /** .fgb or .geojson */
  out: string;
  threshold: number;
  statistic: BuildingStatistic;
  damageField?: string;
  damagedValues?: string[];
  beta?: number;
}

export interface ScoreStats {
  /** pixels of the footprint with a finite score */
  valid: number;
  mean: number | null;
  median: number | null;
  max: number | null;
  p90: number | null;
  share: number | null;
}

/** The statistics of one footprint's pixel values (NaN skipped; all null without a finite value). */
export function scoreStats(values: number[], threshold: number): ScoreStats {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return { valid: 0, mean: null, median: null, max: null, p90: null, share: null };
  return {
    valid: v.length,
    mean: v.reduce((s, x) => s + x, 0) / v.length,
    median: percentileSorted(v, 50),
    max: valueAt(v, v.length - 1),
    p90: percentileSorted(v, 90),
    share: v.filter((x) => x >= threshold).length / v.length,
  };
}

/** Whether an attribute value is one of the damaged values: numbers compare as numbers ("3" = 3 = 3.0), text
 *  trimmed and case-insensitively. */
export function matchesDamaged(value: unknown, damaged: string[]): boolean {
  if (value === null || value === undefined) return false;
  const text = String(value).trim().toLowerCase();
  const num = typeof value === 'number' ? value : text === '' ? NaN : Number(text);
  return damaged.some((d) => {
    const t = d.trim().toLowerCase();
    const n = t === '' ? NaN : Number(t);
    return t === text || (Number.isFinite(num) && Number.isFinite(n) && n === num);
  });
}

async function readScores(paths: string[], fb: Feedback): Promise<Raster[]> {
  const out: Raster[] = [];
  for (const path of paths) {
    throwIfCanceled(fb);
    const r = await readRaster(path);
    const first = out[0];
    if (first && (r.width !== first.width || r.height !== first.height))
      throw new DpmError(`--score ${path}: ${r.width}×${r.height}, but ${paths[0]} is ${first.width}×${first.height}`);
    if (r.bands.length !== 1) fb.log('warning', `${path}: ${r.bands.length} bands; band 1 is the score`);
    out.push(r);
  }
  return out;
}

const OUR_FIELDS = ['dpm_pixels', 'dpm_centroid_pixel', 'dpm_class'];

export interface BuildingsResult {
  out: string;
  report: string;
  buildings: number;
  damaged: number;
  centroidPixel: number;
  noFinitePixel: number;
  offGrid: number;
  notPolygon: number;
}

/** Reads, aggregates, evaluates and writes; returns the counts the report holds. */
export async function buildingDamage(o: BuildingOptions, fb: Feedback = silentFeedback): Promise<BuildingsResult> {
  if (o.scores.length === 0) throw new DpmError('--score: give at least one score raster');
  if (!/\.(fgb|geojson|json)$/i.test(o.out)) throw new DpmError(`--out ${o.out}: use a .fgb or .geojson file name`);
  const names = o.names?.length ? o.names : o.scores.map((p) => basename(p).replace(/\.tiff?$/i, ''));
  if (names.length !== o.scores.length || new Set(names).size !== names.length)
    throw new DpmError(`--names: ${o.scores.length} different names needed, got ${names.join(', ')}`);
  if (!!o.damageField !== !!o.damagedValues?.length)
    throw new DpmError('--damage-field and --damaged-values go together');
  const rasters = await readScores(o.scores, fb);
  const [grid] = rasters;
  if (!grid) throw new DpmError('--score: give at least one score raster');
  const raw = await readFeatures(o.footprints, 'footprints');
  // every footprint goes to the output with its attributes: a list entry that is no feature cannot
  const notFeature = raw.features.findIndex((f) => typeof f !== 'object' || f === null || Array.isArray(f));
  if (notFeature >= 0)
    throw new DpmError(
      `footprints ${o.footprints}: entry ${notFeature} of its features is not a GeoJSON Feature object`,
    );
  // each feature's polygons, or null when it has none (kept, with null statistics)
  const shapes = raw.features.map((f) => {
    const polys = polygonsOf(f.geometry);
    return typeof polys === 'string' ? null : polys;
  });
  const crs = featuresCrs(
    raw,
    shapes.flatMap((p) => p ?? []),
    o.footprints,
    'footprints',
  );
  const taken = new Set(raw.features.flatMap((f) => Object.keys(f.properties ?? {})));
  const fields = [...OUR_FIELDS, ...names.flatMap((n) => ['valid', ...BUILDING_STATISTICS].map((s) => `${n}_${s}`))];
  const clash = fields.find((f) => taken.has(f));
  if (clash)
    throw new DpmError(`footprints ${o.footprints}: already has an attribute '${clash}' (rename it or pass --names)`);
  if (o.damageField && !raw.features.some((f) => Object.hasOwn(f.properties ?? {}, o.damageField ?? '')))
    throw new DpmError(`footprints ${o.footprints}: no feature has the damage field '${o.damageField}'`);

  const zones = await footprintZones(shapes, crs, grid.georef, grid.width, grid.height, fb, `--score ${o.scores[0]}`);
  const primary: (number | null)[] = [];
  const stats = names.map(() => [] as (ScoreStats | null)[]);
  const features: Feature[] = raw.features.map((f, k) => {
    const zone = zones[k] ?? null;
    const props: Record<string, unknown> = { ...(f.properties ?? {}) };
    props.dpm_pixels = zone ? zone.pixels.length : null;
    props.dpm_centroid_pixel = zone ? zone.centroidPixel : null;
    rasters.forEach((r, s) => {
      const band = r.bands[0] ?? new Float32Array(0);
      const st = zone
        ? scoreStats(
            zone.pixels.map((p) => valueAt(band, p)),
            o.threshold,
          )
        : null;
      stats[s]?.push(st);
      const n = names[s] ?? '';
      props[`${n}_valid`] = st ? st.valid : null;
      for (const key of BUILDING_STATISTICS) props[`${n}_${key}`] = st ? st[key] : null;
    });
    const value = stats[0]?.[k]?.[o.statistic] ?? null;
    primary.push(value);
    props.dpm_class = value === null ? null : value >= o.threshold ? 'damaged' : 'undamaged';
    return { type: 'Feature', geometry: f.geometry, properties: props };
  });

  const result: BuildingsResult = {
    out: o.out,
    report: o.out.replace(/\.(fgb|geojson|json)$/i, '.evaluation.json'),
    buildings: zones.filter((z) => z !== null).length,
    damaged: primary.filter((v) => v !== null && v >= o.threshold).length,
    centroidPixel: zones.filter((z) => z?.centroidPixel).length,
    noFinitePixel: zones.filter((z, k) => z !== null && primary[k] === null).length,
    offGrid: zones.filter((z) => z !== null && z.pixels.length === 0).length,
    notPolygon: zones.filter((z) => z === null).length,
  };
  fb.log(
    'info',
    `${result.buildings} footprints: ${result.damaged} damaged (${o.statistic} of ${names[0]} ≥ ${o.threshold}), ` +
      `${result.centroidPixel} took the pixel holding their centroid, ${result.noFinitePixel} without a finite pixel ` +
      `(${result.offGrid} off the grid), ${result.notPolygon} features without polygons kept with null statistics`,
  );

  const damaged = o.damagedValues ?? [];
  const evaluation = o.damageField
    ? names.map((n, s) => {
        const scores = Float64Array.from(stats[s] ?? [], (st) => st?.[o.statistic] ?? NaN);
        const labels = Float64Array.from(raw.features, (f, k) =>
          zones[k] ? (matchesDamaged(f.properties?.[o.damageField ?? ''], damaged) ? 1 : 0) : -1,
        );
        const e = evaluateScore(`${n} (${o.statistic} per building)`, scores, labels, o.beta ?? 0.5);
        return {
          name: e.name,
          prAucTrapezoid: e.prAucTrapezoid,
          averagePrecision: e.averagePrecision,
          randomPrAuc: e.prevalence,
          optimum: e.fbeta.best,
          damagedBuildings: e.curve.positives,
          undamagedBuildings: e.curve.negatives,
          buildingsWithoutScore: e.curve.nanScores,
          thresholdTable: thresholdTable(e.curve, e.fbeta),
          curve: Array.from(e.curve.thresholds, (t, k) => ({
            threshold: t,
            precision: e.curve.precision[k],
            recall: e.curve.recall[k],
          })),
        };
      })
    : undefined;
  const report = {
    footprints: o.footprints,
    scores: o.scores.map((path, s) => ({ path, name: names[s] })),
    statistic: o.statistic,
    threshold: o.threshold,
    membership: 'pixel centre inside the footprint; else the pixel holding its area centroid',
    ...result,
    ...(evaluation ? { damageField: o.damageField, damagedValues: damaged, evaluation } : {}),
  };
  const collection: FeatureCollection = { type: 'FeatureCollection', features };
  await withOutputs(async (outs) => {
    writeFileSync(
      outs.path(o.out),
      /\.fgb$/i.test(o.out) ? encodeFlatGeobuf(collection, crs, o.out) : encodeGeoJson(collection, crs),
    );
    writeFileSync(outs.path(result.report), `${JSON.stringify(report, null, 2)}\n`);
  }, fb);
  return result;
}
