// Threshold tables (issue 14): precision, recall, F1 and F0.5 of a PR curve at fixed score thresholds and at the
// F_β optimum, the way damage-mapping tools publish them. The fixed thresholds are z values (2, 3, 4, the paper's
// 4.93, 6, 8): for a score on another scale the rows still say what flagging at that value would give.
import { valueAt } from '../core/arrays.js';
import { DAMAGE_Z } from '../core/defaults.js';
import { type FbetaResult, fbeta, type PrCurve } from './metrics.js';

export const TABLE_THRESHOLDS: readonly number[] = [2, 3, 4, DAMAGE_Z, 6, 8];

export interface ThresholdRow {
  /** 'z ≥ 4.93' or 'optimum (max F0.5)' */
  label: string;
  threshold: number;
  /** flagged as damaged (score ≥ threshold), and how many of them are damaged */
  flagged: number;
  truePositives: number;
  /** null when nothing is flagged */
  precision: number | null;
  recall: number;
  f1: number;
  f05: number;
}

function row(c: PrCurve, label: string, threshold: number): ThresholdRow {
  // thresholds descend: the last curve point whose threshold is ≥ t flags exactly the scores ≥ t
  let k = -1;
  while (k + 1 < c.thresholds.length && valueAt(c.thresholds, k + 1) >= threshold) k++;
  const tp = k < 0 ? 0 : valueAt(c.tp, k);
  const flagged = k < 0 ? 0 : tp + valueAt(c.fp, k);
  const precision = flagged > 0 ? tp / flagged : null;
  const recall = tp / c.positives;
  return {
    label,
    threshold,
    flagged,
    truePositives: tp,
    precision,
    recall,
    f1: fbeta(precision ?? 0, recall, 1),
    f05: fbeta(precision ?? 0, recall, 0.5),
  };
}

/** One row per fixed threshold, then the optimum of `best`. */
export function thresholdTable(
  c: PrCurve,
  best: FbetaResult,
  thresholds: readonly number[] = TABLE_THRESHOLDS,
): ThresholdRow[] {
  return [...thresholds.map((t) => row(c, `≥ ${t}`, t)), row(c, `optimum (max F${best.beta})`, best.best.threshold)];
}

const f3 = (x: number | null) => (x !== null && Number.isFinite(x) ? x.toFixed(3) : 'n/a');

/** One Markdown table of every method's rows (a Method column, so each line of the report is unique). */
export function thresholdMarkdown(methods: { name: string; rows: ThresholdRow[] }[]): string[] {
  return [
    '| Method | Threshold | Flagged | Precision | Recall | F1 | F0.5 |',
    '|---|---|---|---|---|---|---|',
    ...methods.flatMap(({ name, rows }) =>
      rows.map(
        (r) =>
          `| ${name} | ${r.label}${r.label.startsWith('optimum') ? ` = ${Number(r.threshold.toPrecision(4))}` : ''} | ` +
          `${r.flagged} | ${f3(r.precision)} | ${f3(r.recall)} | ${f3(r.f1)} | ${f3(r.f05)} |`,
      ),
    ),
    '',
  ];
}
