// The landslide U-Net's data, settings and model metadata (papers/003): what `dpm landslide-train`, `landslide-predict`
// and `landslide-ablation` share. Engines come in from the top floor (host/toolbox), as the forecaster does for the
// unsupervised scores; this file never opens one.
import { DpmError } from '../core/errors.js';
import {
  channelStats,
  cutChips,
  inputChannels,
  INPUT_SOURCES,
  type ChannelStats,
  type ChipSet,
  type InputSource,
  type InputStack,
  ROLE_TRAIN,
  ROLE_VALIDATION,
  segmentationLabels,
  spatialSplit,
  type SpatialSplit,
  standardise,
} from './chips.js';
import type { LoadedCube } from './cube.js';
import { scoreMethod } from './evaluate.js';

/** How a model's inputs were made: stored in the model file so prediction makes the same. */
export interface LandslideInputs {
  sources: InputSource[];
  /** passes averaged on each side of the event */
  passes: number;
  chip: number;
  /** the spatial split the model was trained on */
  block: number;
  testFraction: number;
  valFraction: number;
  seed: number;
  /** channel names, means and standard deviations of the training blocks */
  stats: ChannelStats;
  eventDate: string;
  cube: string;
}

/** The key of the model file's __metadata__ that holds LandslideInputs (JSON). */
export const INPUTS_METADATA_KEY = 'landslide_inputs';

export interface PreparedData {
  inputs: LandslideInputs;
  split: SpatialSplit;
  stack: InputStack;
  labels: Uint8Array;
  train: ChipSet;
  validation: ChipSet;
  /** landslide pixels / labelled pixels of the training chips */
  trainShare: number;
}

/** Channels, split, standardisation and the training and validation chips of one input set. */
export function prepareLandslideData(
  loaded: LoadedCube,
  eventDate: string,
  s: Omit<LandslideInputs, 'stats' | 'eventDate' | 'cube'>,
): PreparedData {
  const { cube } = loaded;
  const truth = cube.landslides;
  if (!truth) throw new DpmError(`${cube.source}: no landslides variable (or --truth mask) to train on`);
  const raw = inputChannels(loaded, eventDate, s.sources, s.passes);
  const split = spatialSplit(cube.width, cube.height, s.block, s.testFraction, s.valFraction, s.seed);
  const stats = channelStats(
    raw,
    Uint8Array.from(split.role, (r) => (r === ROLE_TRAIN ? 1 : 0)),
  );
  const stack = standardise(raw, stats);
  const labels = segmentationLabels(truth, stack.valid);
  const train = cutChips(stack, labels, split.role, ROLE_TRAIN, s.chip, true);
  const validation = cutChips(stack, labels, split.role, ROLE_VALIDATION, s.chip, true);
  const where = `${cube.source} (${split.trainBlocks} training, ${split.validationBlocks} validation blocks of ${s.block} px)`;
  if (train.B === 0) throw new DpmError(`${where}: no training chip holds a landslide pixel`);
  if (validation.B === 0) throw new DpmError(`${where}: no validation chip holds a landslide pixel`);
  let pos = 0,
    labelled = 0;
  for (const l of train.labels)
    if (l === 0 || l === 1) {
      pos += l;
      labelled++;
    }
  return {
    inputs: { ...s, sources: [...s.sources], stats, eventDate, cube: cube.source },
    split,
    stack,
    labels,
    train,
    validation,
    trainShare: pos / labelled,
  };
}

/** The stack a stored model predicts on: its sources and passes, standardised with its training statistics. */
export function predictionStack(loaded: LoadedCube, eventDate: string, inputs: LandslideInputs): InputStack {
  return standardise(inputChannels(loaded, eventDate, inputs.sources, inputs.passes), inputs.stats);
}

/** The split a stored model was trained on, on this cube's grid. */
export function modelSplit(loaded: LoadedCube, inputs: LandslideInputs): SpatialSplit {
  const { width, height } = loaded.cube;
  return spatialSplit(width, height, inputs.block, inputs.testFraction, inputs.valFraction, inputs.seed);
}

/** AUPRC (average precision) and PR AUC of a probability map on the pixels of one role of the split. */
export function scoreOnRole(
  probability: Float32Array,
  truth: Float32Array,
  split: SpatialSplit,
  role: number,
): { auprc: number; prAuc: number; prevalence: number } {
  const s = scoreMethod('unet', probability, truth, {
    ...split,
    test: Uint8Array.from(split.role, (r) => (r === role ? 1 : 0)),
  });
  return { auprc: s.auprcTest, prAuc: s.prAucTest, prevalence: s.prevalenceTest };
}

/** LandslideInputs → metadata text; checked on the way back, naming the file. */
export function encodeInputs(inputs: LandslideInputs): string {
  return JSON.stringify(inputs);
}

export function decodeInputs(text: string | undefined, source: string): LandslideInputs {
  let v: Partial<LandslideInputs> | undefined;
  try {
    v = text === undefined ? undefined : (JSON.parse(text) as Partial<LandslideInputs>);
  } catch {
    v = undefined;
  }
  const known = new Set<string>(INPUT_SOURCES);
  const ok =
    v !== undefined &&
    Array.isArray(v.sources) &&
    v.sources.every((s) => known.has(s)) &&
    [v.passes, v.chip, v.block, v.testFraction, v.valFraction, v.seed].every((n) => typeof n === 'number') &&
    typeof v.eventDate === 'string' &&
    v.stats !== undefined &&
    Array.isArray(v.stats.channels) &&
    Array.isArray(v.stats.mean) &&
    Array.isArray(v.stats.std) &&
    v.stats.mean.length === v.stats.channels.length &&
    v.stats.std.length === v.stats.channels.length;
  if (!ok)
    throw new DpmError(
      `${source}: not a landslide U-Net model (no valid '${INPUTS_METADATA_KEY}' in its metadata; ` +
        'write one with dpm landslide-train)',
    );
  return v as LandslideInputs;
}
