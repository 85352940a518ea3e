// Plots (Vega-Lite → SVG), the Markdown report and the JSON report of `dpm validate-points`.
import { valueAt } from '../../core/arrays.js';
import { packageVersion } from '../../paths.js';
import { renderVegaLite } from '../plots.js';
import type { Analysis } from './analyse.js';
import { fragilityProbability } from './stats.js';

const num = (v: number, digits = 3): string =>
  Number.isNaN(v)
    ? 'n/a'
    : !Number.isFinite(v)
      ? v > 0
        ? '∞'
        : '−∞'
      : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0)
        ? v.toExponential(2)
        : v.toFixed(digits);

/** p-values: exact zero means below what the F distribution evaluates in float64. */
const pval = (p: number): string => (p === 0 ? '< 1e-16' : num(p, 4));

/** Box-and-whisker plots of the three criteria side by side (papers/002 Figs. 3–5): box 25–75th, median line,
 *  whiskers 5th–95th, outliers as circles. */
export async function boxPlotSvg(a: Analysis): Promise<string> {
  const panels = a.criteria.map((c) => {
    const rows = c.bins.map((b) => ({ bin: b.label, ...b.stats, outliers: undefined }));
    const outliers = c.bins.flatMap((b) => b.stats.outliers.map((v) => ({ bin: b.label, value: v })));
    const x = { field: 'bin', type: 'nominal', sort: null, title: 'displacement bin', axis: { labelAngle: -30 } };
    return {
      title: {
        text: `Criterion ${c.id}`,
        subtitle: `F = ${num(c.anova.f, 2)}, p ${c.anova.p === 0 ? '' : '= '}${pval(c.anova.p)}`,
      },
      width: 60 * c.bins.length + 60,
      height: 220,
      layer: [
        {
          data: { values: rows },
          mark: 'rule',
          encoding: {
            x,
            y: { field: 'p5', type: 'quantitative', title: `mean DPM index (${a.raster})` },
            y2: { field: 'p95' },
          },
        },
        {
          data: { values: rows },
          mark: { type: 'bar', size: 24, color: '#9ecae1', stroke: 'black' },
          encoding: { x, y: { field: 'p25', type: 'quantitative' }, y2: { field: 'p75' } },
        },
        {
          data: { values: rows },
          mark: { type: 'tick', color: 'black', size: 24, thickness: 2 },
          encoding: { x, y: { field: 'p50', type: 'quantitative' } },
        },
        {
          data: { values: outliers },
          mark: { type: 'point', color: 'black', size: 12 },
          encoding: { x, y: { field: 'value', type: 'quantitative' } },
        },
      ],
    };
  });
  return renderVegaLite({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `${a.column}: DPM index per displacement bin (${a.buffers} buffers)`,
    hconcat: panels,
    resolve: { scale: { y: 'shared' } },
  });
}

/** Fitted lognormal fragility curves with the empirical exceedance fractions (papers/002 Figs. 6–8). */
export async function fragilitySvg(a: Analysis): Promise<string> {
  let lo = Infinity,
    hi = -Infinity;
  for (const f of a.fragility)
    for (const e of f.empirical) {
      lo = Math.min(lo, e.index);
      hi = Math.max(hi, e.index);
    }
  const pad = (hi - lo) * 0.1 || 0.1;
  lo -= pad;
  hi += pad;
  const curve: { index: number; p: number; threshold: string }[] = [];
  const points: { index: number; p: number; n: number; threshold: string }[] = [];
  for (const f of a.fragility) {
    const label = `> ${f.threshold.label}: θ=${num(f.medianIndex)}, β=${num(f.fit.beta)}`;
    for (let k = 0; k <= 100; k++) {
      const xi = lo + ((hi - lo) * k) / 100;
      curve.push({ index: xi, p: fragilityProbability(f.fit, xi + a.nonPositive.shift), threshold: label });
    }
    for (const e of f.empirical) points.push({ index: e.index, p: e.fraction, n: e.n, threshold: label });
  }
  const color = {
    field: 'threshold',
    type: 'nominal',
    sort: null,
    title: 'displacement threshold',
    legend: { orient: 'bottom', columns: 1, labelLimit: 480, titleLimit: 480 },
  };
  return renderVegaLite({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `${a.column} vs ${a.raster}: P(displacement > d | index)`,
    width: 420,
    height: 260,
    layer: [
      {
        data: { values: curve },
        mark: 'line',
        encoding: {
          x: { field: 'index', type: 'quantitative', title: 'mean DPM index in buffer' },
          y: { field: 'p', type: 'quantitative', title: 'probability of exceedance', scale: { domain: [0, 1] } },
          color,
        },
      },
      {
        data: { values: points },
        mark: { type: 'point', filled: true },
        encoding: { x: { field: 'index', type: 'quantitative' }, y: { field: 'p', type: 'quantitative' }, color },
      },
    ],
  });
}

/** Index histograms of the buffers at or below and above each displacement threshold, with the optimal index
 *  threshold drawn as a rule (papers/002 Fig. 10). */
export async function histogramSvg(a: Analysis): Promise<string> {
  const { index, displacement } = a.samples;
  let lo = Infinity,
    hi = -Infinity;
  for (const v of index) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const step = (hi - lo) / 20 || 1;
  const panels = a.fragility.map((f) => {
    const rows = index.map((v, i) => ({
      index: v,
      side:
        valueAt(displacement, i) > f.threshold.d
          ? `above ${num(f.threshold.d, 2)}`
          : `at or below ${num(f.threshold.d, 2)}`,
    }));
    return {
      title: `displacement threshold ${f.threshold.label}: optimal index ${num(f.optimal.threshold)} (precision ${num(f.optimal.precision, 2)}, recall ${num(f.optimal.recall, 2)})`,
      width: 420,
      height: 110,
      layer: [
        {
          data: { values: rows },
          mark: { type: 'bar', opacity: 0.6 },
          encoding: {
            x: {
              field: 'index',
              type: 'quantitative',
              bin: { extent: [lo, hi + step * 1e-9], step },
              title: 'mean DPM index in buffer',
            },
            y: { aggregate: 'count', type: 'quantitative', stack: null, title: 'buffers' },
            color: { field: 'side', type: 'nominal', title: 'displacement', sort: null },
          },
        },
        {
          data: { values: [{ t: f.optimal.threshold }] },
          mark: { type: 'rule', color: 'black', strokeDash: [4, 3] },
          encoding: { x: { field: 't', type: 'quantitative' } },
        },
      ],
    };
  });
  return renderVegaLite({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `${a.column} vs ${a.raster}: index histograms below/above each displacement threshold`,
    vconcat: panels,
    resolve: { scale: { color: 'independent' } },
  });
}

/** Precision and recall at the optimal index threshold against the displacement threshold (papers/002 Figs. 13–14). */
export async function metricsSvg(column: string, analyses: Analysis[]): Promise<string> {
  const rows = analyses.flatMap((a) =>
    a.fragility.flatMap((f) => [
      { d: f.threshold.d, value: f.optimal.precision, metric: 'precision', dpm: a.raster },
      { d: f.threshold.d, value: f.optimal.recall, metric: 'recall', dpm: a.raster },
    ]),
  );
  return renderVegaLite({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `${column}: precision and recall at the optimal index threshold`,
    width: 420,
    height: 240,
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'd', type: 'quantitative', title: 'displacement threshold d' },
      y: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, title: 'metric' },
      color: { field: 'dpm', type: 'nominal', title: 'DPM' },
      strokeDash: { field: 'metric', type: 'nominal', legend: { symbolType: 'stroke', symbolStrokeWidth: 2 } },
    },
  });
}

export interface ReportContext {
  points: string;
  pointCount: number;
  buffer: number;
  band: number;
  rasters: { path: string; name: string; outside: number; fallback: number; noData: number }[];
  columns: { name: string; empty: number; negative: number; missing: string }[];
  analyses: Analysis[];
  plots: Map<string, string[]>;
  started: string;
}

export function markdownReport(ctx: ReportContext): string {
  const L: string[] = [];
  L.push(
    '# DPM validation against point measurements',
    '',
    `insar-dpm ${packageVersion}; engine: none (indices are read from files)`,
    '',
  );
  L.push(
    `Framework of O'Donnell et al. (papers/002): mean DPM index in ${ctx.buffer} m diameter circular buffers around each point`,
    `(pixels whose centre lies within ${ctx.buffer / 2} m of the point on the ground; when none does, the pixel containing the point),`,
    'three binning criteria with box-and-whisker statistics and a one-way ANOVA, lognormal fragility functions fitted by',
    'maximum likelihood (probit on ln index), and the index threshold that best separates buffers below and above each',
    "displacement threshold (maximum of recall − false-positive rate, Youden's J).",
    '',
  );
  L.push(`- points: \`${ctx.points}\` (${ctx.pointCount} points); band ${ctx.band} of each DPM; run ${ctx.started}`);
  for (const c of ctx.columns) {
    L.push(
      `- column \`${c.name}\`: ${c.empty} empty cell(s) (${c.missing === 'zero' ? 'taken as zero' : 'points left out'}), ${c.negative} negative value(s) taken as magnitudes`,
    );
  }
  for (const r of ctx.rasters) {
    L.push(
      `- DPM \`${r.name}\` (${r.path}): ${r.outside} point(s) outside the raster, ${r.fallback} buffer(s) with no pixel centre inside (containing pixel used), ${r.noData} buffer(s) with no valid pixel — all left out`,
    );
  }
  L.push('');
  for (const a of ctx.analyses) {
    L.push(`## ${a.column} vs ${a.raster}`, '');
    const p = a.percentiles;
    L.push(
      `${a.buffers} buffers. Non-zero displacement percentiles (all ${p.nonZero} non-zero points of the column): 25th ${num(p.p25)}, 50th ${num(p.p50)}, 75th ${num(p.p75)}; ${p.zero} zero points.`,
      '',
    );
    L.push(
      '| criterion | bin | n | mean | 5th | 25th | median | 75th | 95th | outliers |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const c of a.criteria) {
      for (const b of c.bins) {
        const s = b.stats;
        L.push(
          `| ${c.id} | ${b.label} | ${s.n} | ${num(s.mean)} | ${num(s.p5)} | ${num(s.p25)} | ${num(s.p50)} | ${num(s.p75)} | ${num(s.p95)} | ${s.outliers.length} |`,
        );
      }
    }
    L.push('', '| criterion | F | df | p |', '|---|---|---|---|');
    for (const c of a.criteria)
      L.push(`| ${c.id}: ${c.name} | ${num(c.anova.f, 2)} | ${c.anova.df1}, ${c.anova.df2} | ${pval(c.anova.p)} |`);
    const np = a.nonPositive;
    L.push(
      '',
      `Fragility P(D > d | x) = Φ((ln(x + s) − ln(θ + s))/β) with s = ${np.shift}. ${np.count} buffer(s) had a non-positive index; policy '${np.policy}'${np.policy === 'drop' ? `: ${np.dropped} dropped from the fits` : np.shift ? `: every index shifted by ${np.shift}, β is the dispersion of ln(x + ${np.shift})` : ''}.`,
      '',
    );
    L.push(
      '| d | n (exceed) | median θ | β | se(ln θ) | se(β) | optimal index | P̂ there | precision | recall | F1 | precision at θ | recall at θ |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const f of a.fragility) {
      const fit = f.fit;
      L.push(
        `| ${f.threshold.label}${fit.separated ? (fit.reversed ? ' (perfectly separated, exceedance BELOW the gap: β → 0⁻)' : ' (perfectly separated: β → 0)') : fit.beta < 0 ? ' (β < 0: exceedance falls as the index rises)' : ''} | ${fit.n} (${fit.positives}) | ${num(f.medianIndex)} | ${num(fit.beta)} | ${num(fit.seLnTheta)} | ${num(fit.seBeta)} | ${num(f.optimal.threshold)} | ${num(f.optimal.probability)} | ${num(f.optimal.precision)} | ${num(f.optimal.recall)} | ${num(f.optimal.f1)} | ${num(f.atMedian.precision)} | ${num(f.atMedian.recall)} |`,
      );
    }
    L.push('');
    for (const plot of ctx.plots.get(`${a.column}\u0000${a.raster}`) ?? []) L.push(`![${plot}](${plot})`);
    L.push('');
  }
  for (const c of ctx.columns) for (const plot of ctx.plots.get(`${c.name}\u0000`) ?? []) L.push(`![${plot}](${plot})`);
  L.push(
    '',
    'Notes: displacement bins are (lo, hi] on the magnitudes; percentiles use linear interpolation (numpy default).',
    'ANOVA as scipy.stats.f_oneway. Whiskers at the 5th and 95th percentiles as in the paper; outliers are values beyond them.',
    '',
  );
  return L.join('\n');
}

export function jsonReport(ctx: ReportContext): unknown {
  const clean = (v: unknown): unknown =>
    typeof v === 'number'
      ? Number.isFinite(v)
        ? v
        : Number.isNaN(v)
          ? null
          : v > 0
            ? 'Infinity'
            : '-Infinity'
      : Array.isArray(v)
        ? v.map(clean)
        : v && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clean(x)]))
          : v;
  return clean({
    software: 'insar-dpm',
    version: packageVersion,
    framework: "papers/002 (O'Donnell et al.) point validation",
    points: ctx.points,
    pointCount: ctx.pointCount,
    bufferDiameterMetres: ctx.buffer,
    band: ctx.band,
    started: ctx.started,
    rasters: ctx.rasters,
    columns: ctx.columns,
    analyses: ctx.analyses,
    plots: Object.fromEntries([...ctx.plots].map(([k, v]) => [k.replace('\u0000', ' | '), v])),
  });
}
