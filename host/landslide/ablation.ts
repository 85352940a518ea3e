// The ablation of papers/003 Fig. 4 as files: AUPRC on the test blocks of the U-Net per input set and number of passes
// averaged on each side of the event, beside the unsupervised maps of `dpm landslide` after as many post-event passes
// (scored on the same blocks) and the landslide share of those blocks (a random map's AUPRC).
import type { MethodScore } from './evaluate.js';

export interface AblationRow {
  /** 'unet' (an input set) or 'unsupervised' (a METHODS entry) */
  kind: 'unet' | 'unsupervised';
  /** input set (VV, VH, VV+VH, VV+VH+DEM) or method name */
  name: string;
  passes: number;
  auprcTest: number;
  prAucTest: number;
  prevalenceTest: number;
  /** U-Net only: epoch of the kept weights, its validation loss and the training chips */
  bestEpoch?: number;
  validationLoss?: number;
  trainChips?: number;
}

/** An unsupervised method's score as an ablation row. */
export function unsupervisedRow(s: MethodScore, passes: number): AblationRow {
  return {
    kind: 'unsupervised',
    name: s.name,
    passes,
    auprcTest: s.auprcTest,
    prAucTest: s.prAucTest,
    prevalenceTest: s.prevalenceTest,
  };
}

const num = (v: number | undefined, digits = 4) =>
  v === undefined || !Number.isFinite(v) ? '' : String(Number(v.toFixed(digits)));

export function ablationCsv(rows: readonly AblationRow[]): string {
  const head = 'kind,name,passes,auprc_test,pr_auc_test,prevalence_test,best_epoch,validation_loss,train_chips';
  const lines = rows.map((r) =>
    [
      r.kind,
      r.name,
      r.passes,
      num(r.auprcTest),
      num(r.prAucTest),
      num(r.prevalenceTest),
      r.bestEpoch ?? '',
      num(r.validationLoss, 5),
      r.trainChips ?? '',
    ].join(','),
  );
  return `${[head, ...lines].join('\n')}\n`;
}

/** The table as papers/003 Fig. 4 reads: one row per input set or method, one column per number of passes. */
export function ablationMarkdown(rows: readonly AblationRow[], intro: readonly string[]): string {
  const passes = [...new Set(rows.map((r) => r.passes))].sort((a, b) => a - b);
  const f = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(3));
  const cell = (kind: AblationRow['kind'], name: string, n: number) =>
    f(rows.find((r) => r.kind === kind && r.name === name && r.passes === n)?.auprcTest);
  const table = (kind: AblationRow['kind'], title: string) => {
    const names = [...new Set(rows.filter((r) => r.kind === kind).map((r) => r.name))];
    if (names.length === 0) return [];
    return [
      `| ${title} | ${passes.join(' | ')} |`,
      `|---|${passes.map(() => '---:').join('|')}|`,
      ...names.map((name) => `| ${name} | ${passes.map((n) => cell(kind, name, n)).join(' | ')} |`),
      '',
    ];
  };
  const prevalence = rows.find((r) => Number.isFinite(r.prevalenceTest))?.prevalenceTest;
  return [
    ...intro,
    '',
    `AUPRC (average precision) on the test blocks; a random map scores the landslide share, ${f(prevalence)}.`,
    '',
    '## U-Net: input set × passes averaged on each side of the event',
    '',
    ...table('unet', 'inputs'),
    '## Unsupervised maps (dpm landslide) after as many post-event passes',
    '',
    ...(rows.some((r) => r.kind === 'unsupervised') ? table('unsupervised', 'method') : ['Not computed.', '']),
    'Files: ablation.csv (every number), ablation.png/.svg (the plot), models/ (one model per cell).',
    '',
  ].join('\n');
}

/** Vega-Lite: AUPRC against passes, the U-Net input sets as solid lines, the unsupervised maps dashed. */
export function ablationChartSpec(rows: readonly AblationRow[], title: string): Record<string, unknown> {
  const values = rows
    .filter((r) => Number.isFinite(r.auprcTest))
    .map((r) => ({
      name: r.kind === 'unet' ? `U-Net ${r.name}` : r.name,
      kind: r.kind === 'unet' ? 'U-Net' : 'unsupervised',
      passes: r.passes,
      auprc: r.auprcTest,
    }));
  const prevalence = rows.find((r) => Number.isFinite(r.prevalenceTest))?.prevalenceTest ?? NaN;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: 'solid: U-Net per input set; dashed: unsupervised maps; dotted: landslide share' },
    width: 420,
    height: 320,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'passes', type: 'ordinal', title: 'passes averaged on each side', axis: { labelAngle: 0 } },
          y: { field: 'auprc', type: 'quantitative', scale: { domain: [0, 1] }, title: 'AUPRC (test blocks)' },
          color: {
            field: 'name',
            type: 'nominal',
            title: 'Inputs / method',
            sort: null,
            scale: { scheme: 'tableau20' },
            legend: { labelLimit: 0 },
          },
          strokeDash: {
            field: 'kind',
            type: 'nominal',
            title: null,
            sort: ['U-Net', 'unsupervised'],
            legend: null, // said in the subtitle: a dash legend of line-and-point marks draws no dash
          },
        },
      },
      ...(Number.isFinite(prevalence)
        ? [
            {
              data: { values: [{ y: prevalence, label: 'landslide share' }] },
              mark: { type: 'rule', color: 'gray', strokeDash: [2, 2] },
              encoding: { y: { field: 'y', type: 'quantitative' } },
            },
          ]
        : []),
    ],
  };
}
