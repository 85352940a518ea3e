// Table I of papers/001 (optimum F_β threshold, precision, recall, PR AUC) as Markdown and JSON, plus the plots.
import { EXACT_SCORES, type ScoreEvaluation } from './metrics.js';
import { fbetaChartSpec, prChartSpec, thin } from './charts.js';
import { renderVegaLiteBoth } from './plots.js';
import { packageVersion } from '../paths.js';
import { thresholdMarkdown, thresholdTable } from './thresholds.js';

export interface EvaluationMeta {
  truth: string;
  /** chip-fraction threshold for "truly damaged" */
  fraction: number;
  damaged: number;
  undamaged: number;
  unlabelled: number;
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const thr = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(4)).toString() : 'n/a');

export function tableMarkdown(evals: ScoreEvaluation[], meta: EvaluationMeta): string {
  const beta = evals[0]?.fbeta.beta ?? 0.5;
  const lines = [
    `# Damage proxy evaluation`,
    '',
    `insar-dpm ${packageVersion}; engine: none (scores are read from files)`,
    '',
    `Truth: ${meta.truth}. A pixel is truly damaged when at least ${f3(meta.fraction)} of its chip is covered by damaged ` +
      `buildings: ${meta.damaged} damaged, ${meta.undamaged} undamaged, ${meta.unlabelled} without truth.`,
    '',
    `| Method | Optimum threshold (max F${beta}) | Optimum precision | Optimum recall | F${beta} | PR AUC (trapezoid) | Average precision | Random PR AUC | Pixels scored | NaN scores |`,
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const e of evals) {
    const b = e.fbeta.best;
    const c = e.curve;
    lines.push(
      `| ${e.name}${c.binned ? ' (binned)' : ''} | ${thr(b.threshold)} | ${f3(b.precision)} | ${f3(b.recall)} | ${f3(b.fbeta)} | ${f3(e.prAucTrapezoid)} | ` +
        `${f3(e.averagePrecision)} | ${f3(e.prevalence)} | ${c.positives + c.negatives} | ${c.nanScores} |`,
    );
  }
  lines.push(
    '',
    'PR AUC (trapezoid): trapezoid rule over recall, the curve extended flat from its first point to recall 0. ' +
      'Average precision: Σ (R_k − R_{k−1}) P_k. A pixel is flagged when its score ≥ the threshold; tied scores form one threshold. ' +
      'Random PR AUC: the damaged fraction, what a scorer without skill gets.',
    ...(evals.some((e) => e.curve.binned)
      ? [
          '',
          `Curves marked binned scored more than ${EXACT_SCORES} pixels: their points lie at the lower edges of ` +
            '2^20 score bins (1/2048 of the value wide) rather than at every distinct score. Each point is exact; ' +
            'PR AUC, AP and the optimum are taken over these points.',
        ]
      : []),
    '',
    '## Threshold tables (pixels)',
    '',
    ...thresholdMarkdown(evals.map((e) => ({ name: e.name, rows: thresholdTable(e.curve, e.fbeta) }))),
  );
  return lines.join('\n');
}

export function reportJson(evals: ScoreEvaluation[], meta: EvaluationMeta): Record<string, unknown> {
  return {
    software: 'insar-dpm',
    version: packageVersion,
    ...meta,
    methods: evals.map((e) => ({
      name: e.name,
      prAucTrapezoid: e.prAucTrapezoid,
      averagePrecision: e.averagePrecision,
      randomPrAuc: e.prevalence,
      beta: e.fbeta.beta,
      optimum: e.fbeta.best,
      positives: e.curve.positives,
      negatives: e.curve.negatives,
      nanScores: e.curve.nanScores,
      thresholds: e.curve.thresholds.length,
      // points at score-bin edges rather than at every distinct score (more than EXACT_SCORES pixels scored)
      binned: e.curve.binned,
      thresholdTable: thresholdTable(e.curve, e.fbeta),
      // the curve itself, at most 500 points (evenly thinned, the optimum kept) for re-plotting elsewhere
      curve: thin(e.curve.thresholds.length, 500, e.fbeta.best.index).map((k) => ({
        threshold: e.curve.thresholds[k],
        precision: e.curve.precision[k],
        recall: e.curve.recall[k],
        fbeta: e.fbeta.fbeta[k],
      })),
    })),
  };
}

export async function evaluationPlots(
  evals: ScoreEvaluation[],
): Promise<{ pr: { svg: string; png: Uint8Array }; fbeta: { svg: string; png: Uint8Array } }> {
  return { pr: await renderVegaLiteBoth(prChartSpec(evals)), fbeta: await renderVegaLiteBoth(fbetaChartSpec(evals)) };
}
