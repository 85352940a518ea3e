// `dpm evaluate`: PR curves, PR AUC (trapezoid and average precision) and the F_β optimum of one or more damage
// proxy rasters against building-footprint truth (vector) or a truth mask (raster): papers/001 §V-A, Table I.
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Algorithm } from './algorithm.js';
import { checkpoint, stage, throwIfCanceled, type Feedback } from '../core/feedback.js';
import { DpmError } from '../core/errors.js';
import { type OutputSet, withOutputs } from '../io/outputs.js';
import { openRasterRows, type RasterRows, RasterRowWriter } from '../raster/geotiff.js';
import { evaluateCurve, ScoreCounts, type ScoreEvaluation } from '../eval/metrics.js';
import { evaluationPlots, reportJson, tableMarkdown, type EvaluationMeta } from '../eval/report.js';
import { TABLE_THRESHOLDS } from '../eval/thresholds.js';
import { type BlockLabeller, type LabelCounts, type MaskSource, maskLabeller } from '../eval/truth-raster.js';
import { readTruthVector, truthAccount } from '../vector/read.js';
import { type ChipLayout, chipLayoutFromMetadata, formatChipSize, parseChipLayout } from '../core/chip.js';
import { ChipLabeller, gridPlacement } from '../vector/labels.js';

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
  /** rows per block (default ROWS; tests use a few to cross block edges) */
  rows?: number;
  /** scored pixels past which a curve is binned (default EXACT_SCORES; tests use a few) */
  exactScores?: number;
}

export interface EvaluationResult {
  evals: ScoreEvaluation[];
  labels: LabelCounts;
  meta: EvaluationMeta;
}

/** Rows per block: scores, lookups and labels are read, made and counted a block at a time (a frame's grid is
 *  ~10^8 pixels; memory is a block's and the truth's, issue 16). */
const ROWS = 256;

/** Opens every score for row reads (the first with its lat/lon lookups), checking they share one grid. */
async function openScores(paths: string[], fb: Feedback): Promise<RasterRows[]> {
  const readers: RasterRows[] = [];
  try {
    for (const [k, path] of paths.entries()) {
      throwIfCanceled(fb);
      const r = await openRasterRows(path, { companions: k === 0 });
      readers.push(r);
      if (r.bandCount !== 1) fb.log('warning', `${path}: ${r.bandCount} bands; band 1 is the score`);
      const r0 = readers[0];
      if (!r0 || r0 === r) continue;
      if (r.width !== r0.width || r.height !== r0.height) {
        throw new DpmError(
          `--score ${path}: ${r.width}×${r.height} pixels, but ${paths[0]} has ${r0.width}×${r0.height}; scores must share one grid`,
        );
      }
      const g0 = r0.georef.geoTransform,
        g1 = r.georef.geoTransform;
      if (g0 && g1 && g0.some((v, i) => Math.abs(v - (g1[i] ?? NaN)) > 1e-9 * Math.max(1, Math.abs(v)))) {
        throw new DpmError(`--score ${path}: its geotransform differs from ${paths[0]}'s; scores must share one grid`);
      }
    }
    return readers;
  } catch (err) {
    for (const r of readers) await r.close();
    throw err;
  }
}

/**
 * Reads the scores and the truth a block of rows at a time and computes every metric. With `fractionOut`, the
 * truth fraction raster is written there as the rows go (through the caller's OutputSet: all or nothing).
 */
export async function evaluateFiles(
  o: EvaluateOptions,
  fb: Feedback,
  fractionOut?: { outs: OutputSet; path: string },
): Promise<EvaluationResult> {
  const [firstScore] = o.scores;
  if (firstScore === undefined) throw new DpmError('--score: give at least one score raster');
  const names = o.names?.length ? o.names : o.scores.map((p) => basename(p).replace(/\.tiff?$/i, ''));
  if (names.length !== o.scores.length)
    throw new DpmError(`--names gives ${names.length} names for ${o.scores.length} score rasters`);
  if (new Set(names).size !== names.length)
    throw new DpmError(`--names: method names must differ (${names.join(', ')})`);
  if (!!o.truth === !!o.truthRaster)
    throw new DpmError('give exactly one of --truth (vector footprints) or --truth-raster (mask)');
  if (!(o.fraction > 0 && o.fraction <= 1)) throw new DpmError(`--fraction must be in (0, 1], got ${o.fraction}`);
  const readers = await openScores(o.scores, fb);
  const opened = [...readers]; // and the truth mask's, closed together
  try {
    return await evaluateRows(o, names, readers, opened, fb, fractionOut);
  } finally {
    for (const r of opened) await r.close();
  }
}

async function evaluateRows(
  o: EvaluateOptions,
  names: string[],
  readers: RasterRows[],
  opened: RasterRows[],
  fb: Feedback,
  fractionOut: { outs: OutputSet; path: string } | undefined,
): Promise<EvaluationResult> {
  const [grid] = readers;
  if (!grid) throw new Error('internal: no score reader');
  const firstScore = grid.source;
  const { width, height } = grid;
  // `dpm coherence` records its chip and stride; every product on that grid carries them (host/raster/stack.ts)
  let layout = o.layout;
  const recorded = layout ? undefined : chipLayoutFromMetadata(grid.metadata);
  if (recorded) {
    layout = recorded;
    const { chip, stride } = recorded;
    fb.log(
      'info',
      `chip footprints from ${firstScore}: chip ${formatChipSize(chip)}, stride ${formatChipSize(stride)} (override with --chip/--stride)`,
    );
  }

  let labeller: BlockLabeller;
  let truthName: (polygonsInScene: number) => string;
  if (o.truth) {
    if (!o.damageField) throw new DpmError('--truth needs --damage-field (the attribute holding the damage grade)');
    if (!o.damagedValues || o.damagedValues.length === 0)
      throw new DpmError('--truth needs --damaged-values (the grades that count as damaged, e.g. "Destroyed,Damaged")');
    fb.progress(0, 'reading the truth footprints');
    const truth = await readTruthVector(o.truth, o.damageField, o.damagedValues);
    const account = truthAccount(truth, o.damageField);
    fb.log(truth.skipped > 0 || truth.withoutField ? 'warning' : 'info', `truth ${o.truth}: ${account}`);
    const placement = await gridPlacement(grid.georef, width, height, layout, `--score ${firstScore}`, grid.latLon);
    const chips = new ChipLabeller(truth, placement.crs, o.fraction, `truth ${o.truth}`);
    labeller = {
      rows: async (r0, r1) => chips.rows(await placement.rows(r0, r1), r0, r1, fb),
      finish: () => chips.finish(),
    };
    truthName = (inScene) =>
      `${o.truth} (field ${o.damageField} ∈ {${o.damagedValues?.join(', ')}}; ${inScene} of its ${truth.polygons.length} footprints (all grades) on the score grid; ${account}; ` +
      'chips without damaged footprints count as undamaged, also outside the surveyed area)';
  } else {
    const maskPath = o.truthRaster ?? '';
    const mask = await openRasterRows(maskPath, { companions: true });
    opened.push(mask);
    const source: MaskSource = {
      ...mask,
      path: maskPath,
      values: async (r0, r1) => (await mask.read(r0, r1, 0))[0] ?? new Float32Array(),
    };
    labeller = await maskLabeller(source, grid, o.fraction, layout);
    truthName = () => `${o.truthRaster} (raster mask)`;
  }

  const counts = names.map((n) => new ScoreCounts(n, o.exactScores, TABLE_THRESHOLDS));
  const writer =
    fractionOut &&
    new RasterRowWriter(
      fractionOut.outs,
      fractionOut.path,
      {
        width,
        height,
        bandCount: 2,
        descriptions: [
          'damaged fraction of the chip',
          `truly damaged (fraction >= ${Number(o.fraction.toPrecision(4))})`,
        ],
        georef: grid.georef,
      },
      grid.latLon !== undefined,
    );
  let unlabelled = 0;
  try {
    const step = o.rows ?? ROWS;
    for (let r0 = 0; r0 < height; r0 += step) {
      await checkpoint(fb);
      fb.progress(5 + (90 * r0) / height, 'labelling and counting');
      const r1 = Math.min(height, r0 + step);
      const { fraction, labels } = await labeller.rows(r0, r1);
      for (const v of labels) if (Number.isNaN(v)) unlabelled++;
      for (const [s, reader] of readers.entries()) {
        const [values] = await reader.read(r0, r1, 0);
        counts[s]?.add(values ?? new Float32Array(), labels);
      }
      if (writer) {
        writer.write([Float32Array.from(fraction), labels], r1 - r0);
        if (grid.latLon) {
          const { lat, lon } = await grid.latLon(r0, r1);
          writer.latLon(lat, lon, r1 - r0);
        }
      }
    }
    writer?.finish();
  } catch (err) {
    writer?.abort();
    throw err;
  }
  const labels = labeller.finish();
  const f = Number(o.fraction.toPrecision(3));
  const truth = truthName(labels.polygonsInScene);
  if (labels.damaged === 0) {
    throw new DpmError(
      `truth ${truth}: no pixel is damaged (none has ≥ ${f} of its chip covered by damaged buildings); ` +
        'check --damaged-values and --fraction: precision and recall are undefined without damaged pixels',
    );
  }
  if (labels.undamaged === 0) {
    throw new DpmError(
      `truth ${truth}: every one of the ${labels.damaged} labelled pixels is damaged; precision–recall needs undamaged pixels too`,
    );
  }
  const meta: EvaluationMeta = {
    truth,
    fraction: o.fraction,
    damaged: labels.damaged,
    undamaged: labels.undamaged,
    unlabelled,
  };
  const evals = counts.map((c) => {
    const e = evaluateCurve(c.what, c.curve(), o.beta);
    if (c.nanScores > 0) fb.log('info', `${c.what}: ${c.nanScores} pixels with truth but no score (NaN) left out`);
    return e;
  });
  return { evals, labels, meta };
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

/** Evaluates and writes the report, the JSON, the plots (SVG + PNG) and the truth fraction raster, all together or
 *  not at all. */
export async function evaluateAndWrite(o: EvaluateOptions, outDir: string, fb: Feedback) {
  const paths = evaluationPaths(outDir);
  return withOutputs(async (outs) => {
    const r = await evaluateFiles(o, stage(fb, 0, 85, 'evaluating'), { outs, path: paths.truth_fraction });
    fb.progress(85, 'plotting');
    const plots = await evaluationPlots(r.evals);
    throwIfCanceled(fb);
    writeFileSync(outs.path(paths.report), tableMarkdown(r.evals, r.meta));
    writeFileSync(outs.path(paths.json), `${JSON.stringify(reportJson(r.evals, r.meta), null, 2)}\n`);
    writeFileSync(outs.path(paths.pr_plot), plots.pr.svg);
    writeFileSync(outs.path(paths.fbeta_plot), plots.fbeta.svg);
    writeFileSync(outs.path(paths.pr_png), plots.pr.png);
    writeFileSync(outs.path(paths.fbeta_png), plots.fbeta.png);
    fb.progress(100, 'written');
    return { result: r, paths };
  }, fb);
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
    const { result, paths } = await evaluateAndWrite(
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
      p['out-dir'],
      fb,
    );
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
