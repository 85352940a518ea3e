// `dpm validate-points`: point measurements against one or more DPM rasters (papers/002), end to end.
import { valueAt } from '../../core/arrays.js';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DpmError } from '../../core/errors.js';
import { withOutputs } from '../../io/outputs.js';
import { readRaster } from '../../raster/geotiff.js';
import { throwIfCanceled, type Feedback } from '../../core/feedback.js';
import { analyse, displacementPercentiles, type Analysis, type NonPositivePolicy } from './analyse.js';
import { bufferMeans, type BufferResult } from './buffers.js';
import { readPoints, type MissingPolicy } from './read-points.js';
import {
  boxPlotSvg,
  fragilitySvg,
  histogramSvg,
  jsonReport,
  markdownReport,
  metricsSvg,
  type ReportContext,
} from './report.js';

export interface ValidateOptions {
  points: string;
  columns: string[];
  dpms: string[];
  /** buffer diameter, metres */
  buffer: number;
  outDir: string;
  /** 1-based band of each DPM */
  band?: number;
  nodata?: number;
  missing?: MissingPolicy;
  nonPositive?: NonPositivePolicy;
  shift?: number;
  thresholds?: number[];
}

export interface ValidateResult {
  report: string;
  json: string;
  buffers: string;
  analyses: Analysis[];
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');

export async function validatePoints(o: ValidateOptions, fb: Feedback): Promise<ValidateResult> {
  const started = new Date().toISOString();
  const band = o.band ?? 1;
  if (o.columns.length === 0) throw new DpmError('--displacement: name at least one column');
  if (o.dpms.length === 0) throw new DpmError('--dpm: give at least one raster');
  const pts = readPoints(o.points, o.columns, o.missing ?? 'drop');
  fb.log('info', `${pts.lon.length} points from ${o.points}`);

  // unique short names for the rasters (file stem, numbered when two share one)
  const stems = o.dpms.map((p) => basename(p).replace(/\.tiff?$/i, ''));
  const names = stems.map((s, i) => (stems.filter((t) => t === s).length > 1 ? `${s}_${i + 1}` : s));

  const buffers: BufferResult[] = [];
  const rasterInfo: ReportContext['rasters'] = [];
  // one entry per --dpm raster: its path and short name
  const dpms = o.dpms.map((path, r) => ({ path, name: names[r] ?? path }));
  for (const [r, { path, name }] of dpms.entries()) {
    throwIfCanceled(fb);
    fb.progress((40 * r) / o.dpms.length, `buffers: ${name}`);
    const raster = await readRaster(path, o.nodata !== undefined ? { nodata: o.nodata } : {});
    if (band > raster.bands.length) throw new DpmError(`--band ${band}: ${path} has ${raster.bands.length} band(s)`);
    const b = bufferMeans(raster, band - 1, pts.lon, pts.lat, o.buffer);
    let outside = 0,
      fallback = 0,
      noData = 0;
    for (let i = 0; i < b.mean.length; i++) {
      if (b.outside[i]) outside++;
      else if (Number.isNaN(b.mean[i])) noData++;
      if (b.fallback[i]) fallback++;
    }
    if (outside === b.mean.length) {
      throw new DpmError(
        `--dpm ${path}: all ${outside} points lie outside the raster (check that the points are WGS84 lon/lat and that the raster covers them)`,
      );
    }
    if (outside > 0)
      fb.log('warning', `${name}: ${outside} of ${b.mean.length} points lie outside the raster and are left out`);
    if (fallback > 0)
      fb.log(
        'warning',
        `${name}: ${fallback} buffer(s) contain no pixel centre; the pixel containing the point is used`,
      );
    buffers.push(b);
    rasterInfo.push({ path, name, outside, fallback, noData });
  }

  const analyses: Analysis[] = [];
  let done = 0;
  for (const col of o.columns) {
    const disp = pts.columns.get(col)!;
    const pct = displacementPercentiles(disp);
    for (const [r, b] of buffers.entries()) {
      const name = dpms[r]?.name ?? '';
      throwIfCanceled(fb);
      fb.progress(40 + (40 * done++) / (o.columns.length * o.dpms.length), `statistics: ${col} vs ${name}`);
      analyses.push(
        analyse(col, name, disp, b.mean, pct, {
          nonPositive: o.nonPositive ?? 'shift',
          shift: o.shift,
          thresholds: o.thresholds,
        }),
      );
    }
  }

  return withOutputs(async (outs) => {
    const plots = new Map<string, string[]>();
    const write = (name: string, text: string) => writeFileSync(outs.path(join(o.outDir, name)), text);
    for (const a of analyses) {
      throwIfCanceled(fb);
      fb.progress(80 + (15 * analyses.indexOf(a)) / analyses.length, `plots: ${a.column} vs ${a.raster}`);
      const stem = `${safe(a.column)}__${safe(a.raster)}`;
      write(`plots/${stem}_box.svg`, await boxPlotSvg(a));
      write(`plots/${stem}_fragility.svg`, await fragilitySvg(a));
      write(`plots/${stem}_histograms.svg`, await histogramSvg(a));
      plots.set(`${a.column}\u0000${a.raster}`, [
        `plots/${stem}_box.svg`,
        `plots/${stem}_fragility.svg`,
        `plots/${stem}_histograms.svg`,
      ]);
    }
    for (const col of o.columns) {
      const name = `plots/${safe(col)}_precision_recall.svg`;
      write(
        name,
        await metricsSvg(
          col,
          analyses.filter((a) => a.column === col),
        ),
      );
      plots.set(`${col}\u0000`, [name]);
    }
    // per-point table: the buffer means behind every statistic
    const header = [
      'id',
      'lon',
      'lat',
      ...o.columns,
      ...names.flatMap((n) => [`${n}_mean`, `${n}_pixels`, `${n}_valid`, `${n}_status`]),
    ];
    const lines = [header.join(',')];
    for (let i = 0; i < pts.lon.length; i++) {
      const row: (string | number)[] = [
        JSON.stringify(pts.ids[i]),
        valueAt(pts.lon, i),
        valueAt(pts.lat, i),
        ...o.columns.map((c) => fmt(valueAt(pts.columns.get(c) ?? [], i))),
      ];
      for (const b of buffers) {
        const mean = valueAt(b.mean, i);
        const status = b.outside[i]
          ? 'outside'
          : Number.isNaN(mean)
            ? 'nodata'
            : b.fallback[i]
              ? 'containing-pixel'
              : 'ok';
        row.push(fmt(mean), valueAt(b.inside, i), valueAt(b.valid, i), status);
      }
      lines.push(row.join(','));
    }
    write('buffers.csv', `${lines.join('\n')}\n`);
    const ctx: ReportContext = {
      points: o.points,
      pointCount: pts.lon.length,
      buffer: o.buffer,
      band,
      rasters: rasterInfo,
      columns: o.columns.map((c) => ({
        name: c,
        empty: pts.empty.get(c)!,
        negative: pts.negative.get(c)!,
        missing: o.missing ?? 'drop',
      })),
      analyses,
      plots,
      started,
    };
    write('report.md', markdownReport(ctx));
    write('report.json', `${JSON.stringify(jsonReport(ctx), null, 1)}\n`);
    fb.progress(100, 'done');
    return {
      report: join(o.outDir, 'report.md'),
      json: join(o.outDir, 'report.json'),
      buffers: join(o.outDir, 'buffers.csv'),
      analyses,
    };
  }, fb);
}

const fmt = (v: number) => (Number.isNaN(v) ? '' : String(v));
