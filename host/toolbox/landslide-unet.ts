// What landslide-train, landslide-predict and landslide-ablation share: the network's size from the preset, one
// training run on a prepared cube (host/landslide/unet.ts) through the training loop of host/model/unet/train.ts,
// the blended whole-cube prediction (host/model/unet/predict.ts), the model file and the history files.
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { DpmError } from '../core/errors.js';
import type { Feedback } from '../core/feedback.js';
import { historyChartSpec } from '../eval/charts.js';
import { renderVegaLiteBoth } from '../eval/plots.js';
import type { OutputSet } from '../io/outputs.js';
import { rampQml } from '../io/qml.js';
import type { InputStack } from '../landslide/chips.js';
import type { LandslideInputs, PreparedData } from '../landslide/unet.js';
import { UNET_PRESETS, type UNetConfig } from '../model/unet/config.js';
import { PAPER_UNET_ADAM, type UNetEngine } from '../model/unet/engine.js';
import { predictScene } from '../model/unet/predict.js';
import { PAPER_PLATEAU } from '../model/unet/plateau.js';
import {
  historyCsvRow,
  trainUNet,
  UNET_HISTORY_CSV_HEADER,
  type UNetEpochLog,
  type UNetTrainResult,
} from '../model/unet/train.js';
import { averagePrecision, prCurve } from '../eval/metrics.js';
import { historyPaths } from './train.js';

/** The network for `channels` inputs: the preset's width and depth unless given; the chip must fit the depth. */
export function unetConfig(
  p: { preset: keyof typeof UNET_PRESETS; width?: number; depth?: number; chip: number },
  channels: number,
): UNetConfig {
  const preset = UNET_PRESETS[p.preset];
  const config = { inChannels: channels, classes: 2, width: p.width ?? preset.width, depth: p.depth ?? preset.depth };
  const f = 2 ** config.depth;
  if (p.chip % f !== 0)
    throw new DpmError(`--chip ${p.chip}: the U-Net of depth ${config.depth} needs chips divisible by ${f}`);
  return config;
}

export interface FitSettings {
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  checkpoint?: string;
  resume?: boolean;
}

/** Trains on the prepared chips; the engine holds the kept (best-validation) weights afterwards. */
export async function fitUNet(
  engine: UNetEngine,
  data: PreparedData,
  s: FitSettings,
  fb: Feedback,
): Promise<UNetTrainResult> {
  fb.log(
    'info',
    `${data.train.B} training and ${data.validation.B} validation chips of ${data.train.H} px with landslide pixels ` +
      `(landslide share of the training chips ${(100 * data.trainShare).toFixed(1)} %); channels ` +
      data.inputs.stats.channels.join(', '),
  );
  const r = await trainUNet(
    engine,
    { train: data.train, validation: data.validation },
    {
      epochs: s.epochs,
      batchSize: s.batchSize,
      adam: { ...PAPER_UNET_ADAM, lr: s.lr },
      plateau: PAPER_PLATEAU,
      seed: s.seed,
      checkpoint: s.checkpoint,
      resume: s.resume,
      validationScore: chipAuprc,
    },
    fb,
  );
  await engine.setParams(r.best.params);
  await engine.setBuffers(r.best.buffers);
  return r;
}

/** Average precision of class-1 probabilities against chip labels (IGNORE_LABEL pixels left out). */
export function chipAuprc(probability: Float32Array, labels: Uint8Array): number {
  try {
    return averagePrecision(prCurve(probability, labels, 'validation chips'));
  } catch {
    return NaN; // one class only: no curve
  }
}

/** P(landslide) on the whole grid from blended overlapping chips; NaN where an input is missing. */
export async function predictProbability(
  engine: UNetEngine,
  stack: InputStack,
  chip: number,
  fb: Feedback,
): Promise<Float32Array> {
  const scene = { x: stack.x, C: stack.C, H: stack.height, W: stack.width };
  const p = await predictScene(engine, scene, { tile: chip }, fb);
  return p.map((v, i) => (stack.valid[i] ? v : NaN));
}

/** The style of a probability map: transparent below 0.2, yellow → red up to 1. */
export function probabilityStyleQml(): string {
  return rampQml([
    { value: 0.2, rgb: [255, 255, 178], alpha: 0 },
    { value: 0.35, rgb: [254, 204, 92] },
    { value: 0.5, rgb: [253, 141, 60] },
    { value: 0.75, rgb: [240, 59, 32] },
    { value: 1, rgb: [189, 0, 38] },
  ]);
}

/** Beside the model: <stem>.history.csv (one row per epoch) and its plot <stem>.history.svg/.png. */
export async function writeUNetHistory(outs: OutputSet, model: string, history: UNetEpochLog[]): Promise<string> {
  const files = historyPaths(model);
  writeFileSync(outs.path(files.csv), `${[UNET_HISTORY_CSV_HEADER, ...history.map(historyCsvRow)].join('\n')}\n`);
  const chart = await renderVegaLiteBoth(
    historyChartSpec(history, `Training history of ${basename(model)}`, 'loss per pixel (weighted cross-entropy)'),
  );
  writeFileSync(outs.path(files.svg), chart.svg);
  writeFileSync(outs.path(files.png), chart.png);
  return files.csv;
}

/** One line for logs and reports: what the model reads. */
export function describeInputs(inputs: LandslideInputs): string {
  return (
    `${inputs.sources.join('+')} (${inputs.stats.channels.length} channels), means of ${inputs.passes} pass(es) on ` +
    `each side of ${inputs.eventDate}`
  );
}
