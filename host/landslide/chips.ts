// The U-Net's inputs from a landslide datacube (papers/003 §2.3; docs/landslide.md "Supervised U-Net"):
//
//   channels   per polarisation the pixel-wise mean of the n passes nearest the event on each side (linear γ0, NaN
//              passes left out), in dB (10·log10, floored at −50 dB): `vv_before`, `vv_after`, `vh_before`,
//              `vh_after`; with `dem` also the terrain: `dem`, `slope`, `aspect`, `curvature`
//   standardise (v − mean) / sd per channel with the statistics of the TRAINING blocks only (stored in the model file,
//              so prediction standardises the same way); NaN → 0 afterwards. A pixel whose backscatter or DEM is
//              missing is masked (label 255, probability NaN); NaN slope/aspect/curvature alone (the DEM's border row,
//              flat ground) becomes 0 = the training mean and does not mask
//   split      spatial: blocks of the block split of the unsupervised scores (evaluate.ts blockSplit: the same test
//              blocks for the same block size and seed), the rest divided into training and validation blocks. A chip
//              of one role zeroes the inputs and ignores the labels of every pixel of another role, so training,
//              validation and test never share a pixel (with block = chip, the default, each chip is one block).
//              papers/003 cut its chips at random, so a landslide's neighbouring pixels sat on both sides.
//   chips      chip × chip tiles on a grid aligned at (0, 0) (the edges padded as missing); training and validation
//              keep only chips holding landslide pixels (the paper's selection).
import { DpmError } from '../core/errors.js';
import { Rng } from '../model/rng.js';
import { IGNORE_LABEL } from '../model/unet/config.js';
import type { SegmentationBatch } from '../model/unet/engine.js';
import type { LoadedCube } from './cube.js';
import { blockSplit, type BlockSplit } from './evaluate.js';
import { splitEvent } from './scores.js';

export const INPUT_SOURCES = ['vv', 'vh', 'dem'] as const;
export type InputSource = (typeof INPUT_SOURCES)[number];

/** papers/003 Fig. 4's input sets, in its order. */
export const ABLATION_SETS: readonly { name: string; sources: readonly InputSource[] }[] = [
  { name: 'VV', sources: ['vv'] },
  { name: 'VH', sources: ['vh'] },
  { name: 'VV+VH', sources: ['vv', 'vh'] },
  { name: 'VV+VH+DEM', sources: ['vv', 'vh', 'dem'] },
];

/** The passes papers/003 averages on each side of the event. */
export const MAX_PASSES = 4;

/** Linear γ0 below this (−50 dB; zeros included) is taken as this before the log. */
export const DB_FLOOR = 1e-5;

const TERRAIN_CHANNELS = ['dem', 'slope', 'aspect', 'curvature'] as const;

/** `vv,vh,dem` → the sources in canonical order; unknown or repeated names are refused. */
export function parseInputs(text: string): InputSource[] {
  const names = text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  const known = new Set<string>(INPUT_SOURCES);
  const bad = names.filter((n) => !known.has(n));
  if (bad.length > 0 || names.length === 0)
    throw new DpmError(`--inputs '${text}': give a comma-separated list of ${INPUT_SOURCES.join(', ')}`);
  if (new Set(names).size !== names.length) throw new DpmError(`--inputs '${text}': a source is named twice`);
  if (!names.includes('vv') && !names.includes('vh'))
    throw new DpmError(`--inputs '${text}': at least one of vv, vh (the DEM alone does not see the event)`);
  return INPUT_SOURCES.filter((s) => names.includes(s));
}

export function channelNames(sources: readonly InputSource[]): string[] {
  return sources.flatMap((s) => (s === 'dem' ? [...TERRAIN_CHANNELS] : [`${s}_before`, `${s}_after`]));
}

/** Pixel-wise mean of the finite linear values of `bands[k]` for k in `indices`, in floored dB; NaN where none. */
export function meanDb(bands: readonly Float32Array[], indices: readonly number[]): Float32Array {
  const N = bands[0]?.length ?? 0;
  const out = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    let s = 0,
      n = 0;
    for (const k of indices) {
      const v = bands[k]![i]!;
      if (!Number.isFinite(v)) continue;
      s += v;
      n++;
    }
    out[i] = n === 0 ? NaN : 10 * Math.log10(Math.max(s / n, DB_FLOOR));
  }
  return out;
}

export interface RawChannels {
  names: string[];
  bands: Float32Array[];
  /** whether a NaN in the channel masks the pixel (backscatter, DEM) or becomes the mean (slope, aspect, curvature) */
  masks: boolean[];
  width: number;
  height: number;
  /** timestep indices averaged before and after the event */
  before: number[];
  after: number[];
}

/** The unstandardised channels of `sources` with the `passes` passes nearest the event on each side. */
export function inputChannels(
  loaded: LoadedCube,
  eventDate: string,
  sources: readonly InputSource[],
  passes: number,
): RawChannels {
  const { cube } = loaded;
  if (!Number.isInteger(passes) || passes < 1) throw new DpmError(`--passes must be a whole number ≥ 1, got ${passes}`);
  const split = splitEvent(cube, eventDate);
  if (split.post.length < passes || split.pre.length < passes)
    throw new DpmError(
      `${cube.source}: --passes ${passes} needs ${passes} passes on each side of ${eventDate}; ` +
        `the cube has ${split.pre.length} before and ${split.post.length} after`,
    );
  const before = split.pre.slice(-passes),
    after = split.post.slice(0, passes);
  const out: RawChannels = {
    names: [],
    bands: [],
    masks: [],
    width: cube.width,
    height: cube.height,
    before,
    after,
  };
  const add = (name: string, band: Float32Array | undefined, masks: boolean, missing: string) => {
    if (!band) throw new DpmError(`${cube.source}: --inputs needs ${missing}, which the cube does not have`);
    out.names.push(name);
    out.bands.push(band);
    out.masks.push(masks);
  };
  for (const s of sources) {
    if (s === 'dem') {
      add('dem', loaded.dem, true, 'a dem variable (or --dem)');
      add('slope', cube.slope, false, 'the slope (dem_slope_radians or a dem)');
      add('aspect', loaded.aspect, false, 'the aspect (dem_aspect or a geocoded dem)');
      add('curvature', loaded.curvature, false, 'the curvature (dem_curvature or a geocoded dem)');
      continue;
    }
    const bands = cube[s];
    add(`${s}_before`, bands && meanDb(bands, before), true, `${s} backscatter`);
    add(`${s}_after`, bands && meanDb(bands, after), true, `${s} backscatter`);
  }
  return out;
}

/** Per-channel standardisation, stored in the model file. */
export interface ChannelStats {
  channels: string[];
  mean: number[];
  std: number[];
}

/** Mean and population standard deviation (float64) of each channel's finite values where `include` is 1. */
export function channelStats(raw: RawChannels, include: Uint8Array): ChannelStats {
  const mean: number[] = [],
    std: number[] = [];
  raw.bands.forEach((band, c) => {
    let s = 0,
      n = 0;
    for (let i = 0; i < band.length; i++) {
      const v = band[i]!;
      if (include[i] && Number.isFinite(v)) {
        s += v;
        n++;
      }
    }
    if (n === 0) throw new DpmError(`channel ${raw.names[c]}: no finite value in the training blocks`);
    const m = s / n;
    let ss = 0;
    for (let i = 0; i < band.length; i++) {
      const v = band[i]!;
      if (include[i] && Number.isFinite(v)) ss += (v - m) ** 2;
    }
    const sd = Math.sqrt(ss / n);
    mean.push(m);
    std.push(sd > 0 ? sd : 1); // a constant channel carries no information: leave it at 0 after centring
  });
  return { channels: [...raw.names], mean, std };
}

/** Standardised channels [C, H, W] (NaN → 0) and the pixels every masking channel has. */
export interface InputStack {
  C: number;
  width: number;
  height: number;
  x: Float32Array;
  /** 1 = every backscatter / DEM channel is finite */
  valid: Uint8Array;
}

export function standardise(raw: RawChannels, stats: ChannelStats): InputStack {
  if (stats.channels.join(',') !== raw.names.join(','))
    throw new DpmError(`the model was trained on channels ${stats.channels.join(', ')}, not ${raw.names.join(', ')}`);
  const N = raw.width * raw.height,
    C = raw.bands.length;
  const x = new Float32Array(C * N);
  const valid = new Uint8Array(N).fill(1);
  raw.bands.forEach((band, c) => {
    const m = stats.mean[c]!,
      sd = stats.std[c]!;
    for (let i = 0; i < N; i++) {
      const v = band[i]!;
      if (Number.isFinite(v)) x[c * N + i] = (v - m) / sd;
      else if (raw.masks[c]) valid[i] = 0;
    }
  });
  return { C, width: raw.width, height: raw.height, x, valid };
}

/** uint8 labels from the cube's mask (1 landslide, 0 not); IGNORE_LABEL where the truth or an input is missing. */
export function segmentationLabels(truth: Float32Array, valid: Uint8Array): Uint8Array {
  return Uint8Array.from(truth, (t, i) => (valid[i] && (t === 0 || t === 1) ? t : IGNORE_LABEL));
}

export const ROLE_TRAIN = 0;
export const ROLE_VALIDATION = 1;
export const ROLE_TEST = 2;

export interface SpatialSplit extends BlockSplit {
  /** per pixel ROLE_TRAIN, ROLE_VALIDATION or ROLE_TEST */
  role: Uint8Array;
  validationBlocks: number;
  trainBlocks: number;
}

/** blockSplit's test blocks; a seeded `valFraction` of the other blocks (at least one when > 0) for validation. */
export function spatialSplit(
  width: number,
  height: number,
  block: number,
  testFraction: number,
  valFraction: number,
  seed: number,
): SpatialSplit {
  const split = blockSplit(width, height, block, testFraction, seed);
  const bw = Math.ceil(width / block);
  const blockOf = (i: number) => Math.floor(Math.floor(i / width) / block) * bw + Math.floor((i % width) / block);
  const isTest = new Uint8Array(split.blocks);
  for (let i = 0; i < split.test.length; i++) if (split.test[i]) isTest[blockOf(i)] = 1;
  const rest = new Rng(seed, 9).shuffle(Array.from({ length: split.blocks }, (_, k) => k).filter((k) => !isTest[k]));
  const needed = valFraction > 0 ? 2 : 1;
  if (rest.length < needed)
    throw new DpmError(
      `the ${width} × ${height} grid has ${split.blocks} blocks of ${block} px and ${split.testBlocks} go to the test ` +
        `split: too few remain for training${valFraction > 0 ? ' and validation' : ''} (smaller blocks: --block, ` +
        'which defaults to --chip)',
    );
  const nVal = valFraction > 0 ? Math.min(rest.length - 1, Math.max(1, Math.round(valFraction * rest.length))) : 0;
  const roleOfBlock = Uint8Array.from(isTest, (t) => (t ? ROLE_TEST : ROLE_TRAIN));
  for (const k of rest.slice(0, nVal)) roleOfBlock[k] = ROLE_VALIDATION;
  const role = Uint8Array.from({ length: width * height }, (_, i) => roleOfBlock[blockOf(i)]!);
  return { ...split, role, validationBlocks: nVal, trainBlocks: rest.length - nVal };
}

/** Chips of one role as a SegmentationBatch [B, C, chip, chip], with each chip's top-left pixel. */
export interface ChipSet extends SegmentationBatch {
  C: number;
  origins: { row: number; col: number }[];
}

/**
 * The chip × chip tiles of the grid holding pixels of `role`; pixels of other roles and outside the grid get input 0
 * and IGNORE_LABEL. `landslidesOnly` keeps the chips with at least one landslide pixel of the role (papers/003);
 * otherwise every chip with a labelled pixel.
 */
export function cutChips(
  stack: InputStack,
  labels: Uint8Array,
  roles: Uint8Array,
  role: number,
  chip: number,
  landslidesOnly: boolean,
): ChipSet {
  const { C, width: W, height: H } = stack;
  const N = W * H;
  const kept: { row: number; col: number }[] = [];
  for (let r0 = 0; r0 < H; r0 += chip)
    for (let c0 = 0; c0 < W; c0 += chip) {
      let keep = false;
      for (let r = r0; r < Math.min(H, r0 + chip) && !keep; r++)
        for (let c = c0; c < Math.min(W, c0 + chip); c++) {
          const i = r * W + c,
            l = labels[i]!;
          if (roles[i] === role && (landslidesOnly ? l === 1 : l !== IGNORE_LABEL)) {
            keep = true;
            break;
          }
        }
      if (keep) kept.push({ row: r0, col: c0 });
    }
  const P = chip * chip;
  const x = new Float32Array(kept.length * C * P);
  const out = new Uint8Array(kept.length * P).fill(IGNORE_LABEL);
  kept.forEach(({ row, col }, b) => {
    for (let r = 0; r < chip && row + r < H; r++)
      for (let c = 0; c < chip && col + c < W; c++) {
        const i = (row + r) * W + col + c;
        if (roles[i] !== role) continue;
        out[b * P + r * chip + c] = labels[i]!;
        for (let ch = 0; ch < C; ch++) x[(b * C + ch) * P + r * chip + c] = stack.x[ch * N + i]!;
      }
  });
  return { x, labels: out, B: kept.length, H: chip, W: chip, C, origins: kept };
}
