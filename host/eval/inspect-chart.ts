// The paper's Fig. 6 for one pixel: observed logit coherence with the one-step forecast μ ± σ through time (top)
// and the z-score of every step (bottom); the co-event step is marked. Dates on the x axis (the later acquisition
// of each pair) when the band labels carry them, the band number otherwise.
import { valueAt } from '../core/arrays.js';

/** What the chart needs of host/model/forecast.ts PixelForecast (T pre-event steps, then the co-event one). */
export interface PixelSeriesView {
  row: number;
  col: number;
  /** band labels YYYYMMDD_YYYYMMDD (or "band k") */
  pairs: string[];
  x: number[];
  mu: number[];
  sigma: number[];
  z: number[];
  /** index of the co-event step in the arrays (default: the last one) */
  coEvent?: number;
}

const isoOf = (label: string): string | undefined => {
  const d = /(\d{8})\D*$/.exec(label)?.[1];
  if (!d || !/_\d{8}$/.test(label)) return undefined;
  return `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;
};

const num = (v: number) => (Number.isFinite(v) ? v : null);

export function inspectChartSpec(p: PixelSeriesView, title?: string): Record<string, unknown> {
  const n = p.pairs.length;
  const co = p.coEvent ?? n - 1;
  const dates = p.pairs.map(isoOf);
  const temporal = dates.every((d) => d !== undefined);
  const xField = temporal
    ? {
        field: 't',
        type: 'temporal',
        title: 'date (second acquisition of the pair)',
        scale: { padding: 12 },
        axis: { format: '%Y-%m-%d', labelAngle: -30 },
      }
    : {
        field: 't',
        type: 'quantitative',
        title: 'band',
        scale: { padding: 12, zero: false },
        axis: { tickMinStep: 1 },
      };
  const rows = p.pairs.map((pair, k) => {
    // the series are one value per pair; a missing one is NaN (shown as a gap)
    const mu = valueAt(p.mu, k),
      sigma = valueAt(p.sigma, k);
    return {
      t: temporal ? dates[k] : k + 1,
      pair,
      step: k === co ? 'co-event' : 'pre-event',
      x: num(valueAt(p.x, k)),
      mu: num(mu),
      lo: num(mu - sigma),
      hi: num(mu + sigma),
      lo2: num(mu - 2 * sigma),
      hi2: num(mu + 2 * sigma),
      z: num(valueAt(p.z, k)),
    };
  });
  const zCo = valueAt(p.z, co);
  const head =
    title ?? `pixel (row ${p.row}, col ${p.col}): co-event z = ${Number.isFinite(zCo) ? zCo.toFixed(2) : 'n/a'}`;
  const colors = {
    domain: ['observed', 'forecast μ', 'μ ± σ', 'μ ± 2σ'],
    range: ['black', '#d62728', '#d62728', '#d62728'],
  };
  const top = {
    width: 560,
    height: 220,
    layer: [
      {
        mark: { type: 'area', opacity: 0.12, color: '#d62728' },
        encoding: {
          x: xField,
          y: { field: 'lo2', type: 'quantitative', title: 'logit coherence log(γ²/(1−γ²))' },
          y2: { field: 'hi2' },
        },
      },
      {
        mark: { type: 'area', opacity: 0.25, color: '#d62728' },
        encoding: { x: xField, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
      },
      {
        mark: { type: 'line', color: '#d62728', strokeDash: [5, 3] },
        encoding: { x: xField, y: { field: 'mu', type: 'quantitative' } },
      },
      {
        mark: { type: 'line', point: { filled: true, size: 30, color: 'black' }, color: 'black' },
        encoding: {
          x: xField,
          y: { field: 'x', type: 'quantitative' },
          tooltip: [{ field: 'pair' }, { field: 'x' }, { field: 'mu' }, { field: 'z' }],
        },
      },
      {
        transform: [{ filter: "datum.step === 'co-event'" }],
        mark: { type: 'point', shape: 'diamond', size: 140, filled: true, color: '#1f77b4' },
        encoding: { x: xField, y: { field: 'x', type: 'quantitative' } },
      },
      {
        data: { values: [{ k: 'observed' }, { k: 'forecast μ' }, { k: 'μ ± σ' }, { k: 'μ ± 2σ' }] },
        mark: { type: 'square', filled: true, opacity: 0 },
        encoding: {
          color: {
            field: 'k',
            type: 'nominal',
            title: null,
            scale: colors,
            legend: { orient: 'top', direction: 'horizontal', symbolOpacity: 1 },
          },
        },
      },
    ],
  };
  const bottom = {
    width: 560,
    height: 120,
    layer: [
      {
        mark: { type: 'bar', size: 8 },
        encoding: {
          x: xField,
          y: { field: 'z', type: 'quantitative', title: 'z = (μ − x)/σ' },
          color: {
            field: 'step',
            type: 'nominal',
            title: null,
            scale: { domain: ['pre-event', 'co-event'], range: ['#7f7f7f', '#1f77b4'] },
            legend: { orient: 'top' },
          },
        },
      },
      {
        data: { values: [{ y: 0 }] },
        mark: { type: 'rule', color: 'black' },
        encoding: { y: { field: 'y', type: 'quantitative' } },
      },
    ],
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: head,
    data: { values: rows },
    vconcat: [top, bottom],
    resolve: { scale: { color: 'independent' } },
  };
}
