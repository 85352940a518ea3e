// `dpm evaluate`: PR curves, PR AUC (trapezoid and average precision) and the F_β optimum of one or more damage
// proxy rasters against building-footprint truth (vector) or a truth mask (raster): papers/001 §V-A, Table I.
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Algorithm } from './algorithm.js';
import { silentFeedback, stage, throwIfCanceled, type Feedback } from '../core/feedback.js';
import { DpmError } from '../core/errors.js';
import { withOutputs, type OutputSet } from '../io/outputs.js';
import { readRaster, writeRaster } from '../raster/geotiff.js';
import type { Raster } from '../raster/types.js';
import { evaluateScore, type ScoreEvaluation } from '../eval/metrics.js';
import { evaluationPlots, reportJson, tableMarkdown, type EvaluationMeta } from '../eval/report.js';
import { labelsFromMask } from '../eval/truth-raster.js';
import { readTruthVector, truthAccount } from '../vector/read.js';
import { type ChipLayout, chipLayoutFromMetadata, formatChipSize, parseChipLayout } from '../core/chip.js';
import { footprintGrid, labelChips, type ChipLabels } from '../vector/labels.js';

export interface EvaluateOptions {
  scores: string[];
  names?: string[];
  truth?: string;
  damageField?: string;
  damagedValues?: string[];
  truthRaster?: string;
  fraction: number;
  beta: number;
  layout?: ChipLayout;
}

export interface EvaluationResult {
  evals: ScoreEvaluation[];
  labels: ChipLabels;
  meta: EvaluationMeta;
  grid: Raster;
}

/** Reads the scores and the truth and computes every metric; writes nothing. */
export async function evaluateFiles(o: EvaluateOptions, fb: Feedback): Promise<EvaluationResult> {
  if (o.scores.length === 0) throw new DpmError('--score: give at least one score raster');
  const names = o.names?.length ? o.names : o.scores.map((p) => basename(p).replace(/\.tiff?$/i, ''));
  if (names.length !== o.scores.length)
    throw new DpmError(`--names gives ${names.length} names for ${o.scores.length} score rasters`);
  if (new Set(names).size !== names.length)
    throw new DpmError(`--names: method names must differ (${names.join(', ')})`);
  if (!!o.truth === !!o.truthRaster)
    throw new DpmError('give exactly one of --truth (vector footprints) or --truth-raster (mask)');

  const rasters: { name: string; raster: Raster; values: Float32Array }[] = [];
  const [firstScore] = o.scores;
  if (firstScore === undefined) throw new DpmError('--score: give at least one score raster');
  for (const [k, path] of o.scores.entries()) {
    throwIfCanceled(fb);
    fb.progress((20 * k) / o.scores.length, `reading ${path}`);
    const r = await readRaster(path);
    const values = r.bands[0];
    if (!values) throw new DpmError(`--score ${path}: no band`);
    if (r.bands.length !== 1) fb.log('warning', `${path}: ${r.bands.length} bands; band 1 is the score`);
    const r0 = rasters[0]?.raster;
    if (r0 && (r.width !== r0.width || r.height !== r0.height)) {
      throw new DpmError(
        `--score ${path}: ${r.width}×${r.height} pixels, but ${firstScore} has ${r0.width}×${r0.height}; scores must share one grid`,
      );
    }
    const g0 = r0?.georef.geoTransform,
      g1 = r.georef.geoTransform;
    if (r0 && g0 && g1 && g0.some((v, i) => Math.abs(v - (g1[i] ?? NaN)) > 1e-9 * Math.max(1, Math.abs(v)))) {
      throw new DpmError(`--score ${path}: its geotransform differs from ${firstScore}'s; scores must share one grid`);
    }
    rasters.push({ name: names[k] ?? path, raster: r, values });
  }
  const grid = rasters[0]?.raster;
  if (!grid) throw new DpmError('--score: give at least one score raster');
  // `dpm coherence` records its chip and stride; every product on that grid carries them (host/raster/stack.ts)
  let layout = o.layout;
  const md = grid.metadata;
  const recorded = layout ? undefined : chipLayoutFromMetadata(md);
  if (recorded) {
    layout = recorded;
    const { chip, stride } = recorded;
    fb.log(
      'info',
      `chip footprints from ${firstScore}: chip ${formatChipSize(chip)}, stride ${formatChipSize(stride)} (override with --chip/--stride)`,
    );
  }

  let labels: ChipLabels;
  let truthName: string;
  if (o.truth) {
    if (!o.damageField) throw new DpmError('--truth needs --damage-field (the attribute holding the damage grade)');
    if (!o.damagedValues || o.damagedValues.length === 0)
      throw new DpmError('--truth needs --damaged-values (the grades that count as damaged, e.g. "Destroyed,Damaged")');
    fb.progress(20, 'reading the truth footprints');
    const truth = await readTruthVector(o.truth, o.damageField, o.damagedValues);
    const fg = footprintGrid(grid.georef, grid.width, grid.height, layout, `--score ${firstScore}`);
    labels = await labelChips(truth, fg, o.fraction, stage(fb, 25, 70, 'labelling chips'), `truth ${o.truth}`);
    const account = truthAccount(truth, o.damageField);
    fb.log(truth.skipped > 0 || truth.withoutField ? 'warning' : 'info', `truth ${o.truth}: ${account}`);
    truthName =
      `${o.truth} (field ${o.damageField} ∈ {${o.damagedValues.join(', ')}}; ${labels.polygonsInScene} of its ${truth.polygons.length} footprints (all grades) on the score grid; ${account}; ` +
      'chips without damaged footprints count as undamaged, also outside the surveyed area)';
  } else {
    fb.progress(20, 'reading the truth mask');
    const mask = await readRaster(o.truthRaster!);
    labels = labelsFromMask(mask, grid, o.fraction, layout);
    truthName = `${o.truthRaster} (raster mask)`;
  }
  const { evals, meta } = evaluateLabelled(
    rasters.map(({ name, values }) => ({ name, values })),
    labels,
    { truth: truthName, fraction: o.fraction, beta: o.beta },
    stage(fb, 70, 85, 'metrics'),
  );
  return { evals, labels, meta, grid };
}

/**
 * In-memory evaluation (for `dpm run` and the demo): every score against labels already on its grid (from
 * labelChips, labelsFromMask, or 1/0/NaN made by hand). Degenerate truth → DpmError.
 */
export function evaluateLabelled(
  scores: { name: string; values: ArrayLike<number> }[],
  labels: ChipLabels,
  o: { truth: string; fraction: number; beta?: number },
  fb: Feedback = silentFeedback,
): { evals: ScoreEvaluation[]; meta: EvaluationMeta } {
  let unlabelled = 0;
  for (const v of labels.labels) if (Number.isNaN(v)) unlabelled++;
  const f = Number(o.fraction.toPrecision(3));
  if (labels.damaged === 0) {
    throw new DpmError(
      `truth ${o.truth}: no pixel is damaged (none has ≥ ${f} of its chip covered by damaged buildings); ` +
        'check --damaged-values and --fraction: precision and recall are undefined without damaged pixels',
    );
  }
  if (labels.undamaged === 0) {
    throw new DpmError(
      `truth ${o.truth}: every one of the ${labels.damaged} labelled pixels is damaged; precision–recall needs undamaged pixels too`,
    );
  }
  const meta: EvaluationMeta = {
    truth: o.truth,
    fraction: o.fraction,
    damaged: labels.damaged,
    undamaged: labels.undamaged,
    unlabelled,
  };
  const evals: ScoreEvaluation[] = [];
  for (const [k, s] of scores.entries()) {
    throwIfCanceled(fb);
    fb.progress((100 * k) / scores.length, `evaluating ${s.name}`);
    const evaluation = evaluateScore(s.name, s.values, labels.labels, o.beta ?? 0.5);
    evals.push(evaluation);
    const c = evaluation.curve;
    if (c.nanScores > 0) fb.log('info', `${s.name}: ${c.nanScores} pixels with truth but no score (NaN) left out`);
  }
  return { evals, meta };
}

/** File names written into the output folder. */
export function evaluationPaths(outDir: string) {
  return {
    report: join(outDir, 'evaluation.md'),
    json: join(outDir, 'evaluation.json'),
    pr_plot: join(outDir, 'pr_curves.svg'),
    fbeta_plot: join(outDir, 'fbeta.svg'),
    pr_png: join(outDir, 'pr_curves.png'),
    fbeta_png: join(outDir, 'fbeta.png'),
    truth_fraction: join(outDir, 'truth_fraction.tif'),
  };
}

/** Writes the report, the JSON, the plots (SVG + PNG) and the truth fraction raster through the caller's
 *  OutputSet (e.g. `dpm run`'s), so they appear together with everything else or not at all. */
export async function writeEvaluationOutputs(
  outs: OutputSet,
  outDir: string,
  r: Omit<EvaluationResult, 'grid'> & { grid: Pick<Raster, 'width' | 'height' | 'georef'> },
  fb: Feedback = silentFeedback,
): Promise<ReturnType<typeof evaluationPaths>> {
  fb.progress(0, 'plotting');
  const plots = await evaluationPlots(r.evals);
  throwIfCanceled(fb);
  const paths = evaluationPaths(outDir);
  writeFileSync(outs.path(paths.report), tableMarkdown(r.evals, r.meta));
  writeFileSync(outs.path(paths.json), `${JSON.stringify(reportJson(r.evals, r.meta), null, 2)}\n`);
  writeFileSync(outs.path(paths.pr_plot), plots.pr.svg);
  writeFileSync(outs.path(paths.fbeta_plot), plots.fbeta.svg);
  writeFileSync(outs.path(paths.pr_png), plots.pr.png);
  writeFileSync(outs.path(paths.fbeta_png), plots.fbeta.png);
  const fr: Raster = {
    width: r.grid.width,
    height: r.grid.height,
    bands: [Float32Array.from(r.labels.fraction), r.labels.labels],
    descriptions: [
      'damaged fraction of the chip',
      `truly damaged (fraction >= ${Number(r.meta.fraction.toPrecision(4))})`,
    ],
    georef: r.grid.georef,
  };
  await writeRaster(outs, paths.truth_fraction, fr);
  fb.progress(100, 'written');
  return paths;
}

/** writeEvaluationOutputs with its own OutputSet (all or nothing). */
export async function writeEvaluation(
  r: EvaluationResult,
  outDir: string,
  fb: Feedback,
): Promise<Record<string, string>> {
  return withOutputs((outs) => writeEvaluationOutputs(outs, outDir, r, stage(fb, 85, 100, 'writing')), fb);
}

export const algorithm: Algorithm<'evaluate'> = {
  id: 'evaluate',
  async run(p, fb) {
    const { chip, stride } = p;
    // --stride alone: chips side by side at that stride
    const layout: ChipLayout | undefined = chip
      ? parseChipLayout(chip, stride)
      : stride
        ? parseChipLayout(stride, stride)
        : undefined;
    const result = await evaluateFiles(
      {
        scores: p.score,
        names: p.names,
        truth: p.truth,
        damageField: p['damage-field'],
        damagedValues: p['damaged-values'],
        truthRaster: p['truth-raster'],
        fraction: p.fraction,
        beta: p.beta,
        layout,
      },
      fb,
    );
    const paths = await writeEvaluation(result, p['out-dir'], fb);
    for (const e of result.evals) {
      fb.log(
        'info',
        `${e.name}: PR AUC ${e.prAucTrapezoid.toFixed(3)} (AP ${e.averagePrecision.toFixed(3)}), ` +
          `evaluation optimum (max F${e.fbeta.beta} against this truth) ${e.fbeta.best.fbeta.toFixed(3)} ` +
          `at threshold ${e.fbeta.best.threshold.toPrecision(4)}`,
      );
    }
    return { ...paths, table: tableMarkdown(result.evals, result.meta) };
  },
};
