// Vega-Lite specs for the evaluation plots (papers/001 Fig. 4): every method's PR curve on one chart with the
// random-classifier line and the F_β optima, and F_β against threshold (one panel per method: thresholds of a
// z-score and of a coherence difference live on different scales).
import type { ScoreEvaluation } from './metrics.js';

/** At most `max` indices of a curve, evenly spaced, always keeping the first, the last and `keep`. */
export function thin(n: number, max: number, keep: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, k) => k);
  const out = new Set<number>([0, n - 1, keep]);
  for (let s = 0; s < max; s++) out.add(Math.round((s * (n - 1)) / (max - 1)));
  return [...out].sort((a, b) => a - b);
}

const MAX_POINTS = 1500;

export function prChartSpec(evals: ScoreEvaluation[], title = 'Precision–recall'): Record<string, unknown> {
  const curve: Record<string, unknown>[] = [];
  const best: Record<string, unknown>[] = [];
  for (const e of evals) {
    const c = e.curve;
    const label = `${e.name} (PR AUC ${e.prAucTrapezoid.toFixed(3)})`;
    curve.push({ method: label, recall: 0, precision: c.precision[0], order: -1 });
    for (const k of thin(c.recall.length, MAX_POINTS, e.fbeta.best.index)) {
      curve.push({ method: label, recall: c.recall[k], precision: c.precision[k], order: k });
    }
    best.push({ method: label, recall: e.fbeta.best.recall, precision: e.fbeta.best.precision });
  }
  const prevalence = evals[0]?.prevalence ?? 0;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 420,
    height: 360,
    layer: [
      {
        data: { values: curve },
        mark: { type: 'line', interpolate: 'linear' },
        encoding: {
          x: { field: 'recall', type: 'quantitative', scale: { domain: [0, 1] }, title: 'Recall' },
          y: { field: 'precision', type: 'quantitative', scale: { domain: [0, 1] }, title: 'Precision' },
          color: {
            field: 'method',
            type: 'nominal',
            title: 'Method',
            sort: null,
            legend: { labelLimit: 0, orient: 'bottom', direction: 'vertical' },
          },
          order: { field: 'order', type: 'quantitative' },
        },
      },
      {
        data: { values: [{ y: prevalence, label: `random (${prevalence.toFixed(3)})` }] },
        mark: { type: 'rule', color: 'gray', strokeDash: [4, 4] },
        encoding: { y: { field: 'y', type: 'quantitative' } },
      },
      {
        data: { values: best },
        mark: { type: 'point', shape: 'cross', color: 'black', size: 120, filled: true },
        encoding: { x: { field: 'recall', type: 'quantitative' }, y: { field: 'precision', type: 'quantitative' } },
      },
    ],
  };
}

export function fbetaChartSpec(evals: ScoreEvaluation[]): Record<string, unknown> {
  const beta = evals[0]?.fbeta.beta ?? 0.5;
  const fname = `F${beta}`;
  const panels = evals.map((e) => {
    const c = e.curve;
    const pts = thin(c.thresholds.length, MAX_POINTS, e.fbeta.best.index).map((k) => ({
      threshold: c.thresholds[k],
      f: e.fbeta.fbeta[k],
    }));
    const b = e.fbeta.best;
    return {
      title: `${e.name}: max ${fname} = ${b.fbeta.toFixed(3)} at ${b.threshold.toPrecision(4)}`,
      width: 420,
      height: 160,
      layer: [
        {
          data: { values: pts },
          mark: 'line',
          encoding: {
            x: { field: 'threshold', type: 'quantitative', title: `${e.name} threshold`, scale: { zero: false } },
            y: { field: 'f', type: 'quantitative', title: `${fname} score`, scale: { domain: [0, 1] } },
          },
        },
        {
          data: { values: [{ threshold: b.threshold, f: b.fbeta }] },
          mark: { type: 'point', shape: 'cross', color: 'black', size: 120, filled: true },
          encoding: { x: { field: 'threshold', type: 'quantitative' }, y: { field: 'f', type: 'quantitative' } },
        },
      ],
    };
  });
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', vconcat: panels };
}

/** One epoch of a training history, as host/model/train.ts logs it (loss per sequence). */
export interface EpochPoint {
  epoch: number;
  trainLoss: number;
  valLoss: number;
  best: boolean;
}

/** Training and validation loss per epoch, the kept (best validation) epoch marked. */
export function historyChartSpec(
  history: EpochPoint[],
  title = 'Training history',
  lossTitle = 'loss per sequence (Gaussian NLL)',
): Record<string, unknown> {
  const values = history.flatMap((h) => [
    { epoch: h.epoch, loss: h.trainLoss, set: 'training' },
    ...(Number.isFinite(h.valLoss) ? [{ epoch: h.epoch, loss: h.valLoss, set: 'validation' }] : []),
  ]);
  const kept = history.filter((h) => h.best).at(-1);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 420,
    height: 260,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
          y: { field: 'loss', type: 'quantitative', title: lossTitle, scale: { zero: false } },
          color: { field: 'set', type: 'nominal', title: null },
        },
      },
      ...(kept
        ? [
            {
              data: { values: [{ epoch: kept.epoch, label: `kept: epoch ${kept.epoch}` }] },
              mark: { type: 'rule', strokeDash: [4, 3], color: '#555' },
              encoding: { x: { field: 'epoch', type: 'quantitative' } },
            },
          ]
        : []),
    ],
  };
}
