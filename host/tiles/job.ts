// One tile of a tiled run: coherence of its SLC window (chip halo included) at stride 1, the forecast with the one
// trained model, the baselines and the co-event coherence, in <run>/tiles/tile-NNN/. A tile is finished when its
// done.json carries the plan's key: re-running a plan skips finished tiles and redoes missing or failed ones
// (outputs are written under temporary names, so a killed tile leaves no file that looks finished).
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { AlgorithmParams, Outputs } from '../toolbox/algorithm.js';
import { stage, throwIfCanceled, type Feedback } from '../core/feedback.js';
import { invoke } from '../toolbox/invoke.js';
import { algorithm as coherenceAlgorithm } from '../toolbox/coherence.js';
import { algorithm as forecastAlgorithm } from '../toolbox/forecast.js';
import { ccdAlgorithm, ndAlgorithm, percentileAlgorithm, zscoreAlgorithm } from '../toolbox/baselines.js';
import { withOutputPolicy, withOutputs } from '../io/outputs.js';
import { openCoherenceStack, writeCoherenceStackOutputs } from '../raster/stack.js';
import { RangeTally } from '../raster/range.js';
import type { CoherenceStack } from '../raster/types.js';
import { peakRssMiB } from '../core/memory.js';
import { coEventPair, writeCoEventCoherence } from '../toolbox/coevent.js';
import { type Tile, windowText } from './plan.js';

/** Everything a tile process needs, written once by the run as <run>/tiles/plan.json. */
export interface TilePlan {
  /** hash of everything that decides the tiles' results (inputs, chip, window, model, event date) */
  key: string;
  dir: string;
  /** an SLC stack (coherence per tile, chip halo included) or a coherence stack (each tile reads its window) */
  input: { slc: string[] } | { coherence: string[]; nodata?: number; align?: boolean };
  chip: string;
  eventDate: string;
  model: string;
  device?: AlgorithmParams['run']['device'];
  threads?: number;
  backend?: AlgorithmParams['run']['backend'];
  outW: number;
  outH: number;
  tiles: Tile[];
}

/** The per-tile products (relative to a tile folder and to the run folder alike), mosaicked after the tiles. */
export const BASELINES = [
  { algorithm: ccdAlgorithm, file: 'baselines/ccd.tif' },
  { algorithm: ndAlgorithm, file: 'baselines/nd.tif' },
  { algorithm: zscoreAlgorithm, file: 'baselines/zscore_mt.tif' },
  { algorithm: percentileAlgorithm, file: 'baselines/percentile.tif' },
] as const;
export const COEVENT_FILE = 'baselines/coevent_coherence.tif';

export const planPath = (runDir: string) => join(runDir, 'tiles', 'plan.json');
export const tileDir = (plan: Pick<TilePlan, 'dir'>, index: number) =>
  join(plan.dir, 'tiles', `tile-${String(index).padStart(4, '0')}`);
const donePath = (plan: TilePlan, index: number) => join(tileDir(plan, index), 'done.json');

export function readPlan(path: string): TilePlan {
  return JSON.parse(readFileSync(path, 'utf8')) as TilePlan;
}

/** The tile's recorded outputs when it finished under this plan's key, else undefined. */
export function finishedTile(plan: TilePlan, index: number): Outputs | undefined {
  const f = donePath(plan, index);
  if (!existsSync(f)) return undefined;
  const done = JSON.parse(readFileSync(f, 'utf8')) as { key: string; outputs: Outputs };
  return done.key === plan.key ? done.outputs : undefined;
}

/** Runs one tile unless it already finished under this plan. */
export async function runTile(plan: TilePlan, index: number, fb: Feedback): Promise<Outputs> {
  const tile = plan.tiles[index];
  if (!tile) throw new Error(`internal: tile ${index} outside the plan's ${plan.tiles.length} tiles`);
  const before = finishedTile(plan, index);
  if (before) return before;
  // a tile folder is the run's own: a tile redone after a failure or a kill replaces what its last attempt left
  return withOutputPolicy({ overwrite: true }, () => computeTile(plan, index, tile, fb));
}

async function computeTile(plan: TilePlan, index: number, tile: Tile, fb: Feedback): Promise<Outputs> {
  const started = performance.now();
  const dir = tileDir(plan, index);
  const at = (f: string) => join(dir, f);
  const engine = { device: plan.device, threads: plan.threads, backend: plan.backend };
  const coherence = at('coherence_aoi.tif');
  const input = plan.input;
  // the tile's coherence stack (kept for the co-event band) and its count of usable values
  let s: CoherenceStack;
  const tally = new RangeTally();
  if ('slc' in input) {
    await invoke(
      coherenceAlgorithm,
      { slc: input.slc, out: coherence, chip: plan.chip, stride: '1x1', window: windowText(tile.input) },
      stage(fb, 0, 40, 'coherence'),
    );
    s = await (await openCoherenceStack(coherence)).read(undefined, tally);
  } else {
    // only the tile's window is decoded: a tile's memory does not grow with the scene
    const stack = await openCoherenceStack(input.coherence, {
      nodata: input.nodata,
      align: input.align,
      feedback: stage(fb, 0, 40, 'reading'),
    });
    s = await stack.read(tile.input, tally);
    // out-of-range values judged in the tile's window; a window without one usable value is an empty tile (below)
    if (tally.usableValues > 0) tally.check(stack.header.descriptions, stack.header.source ?? 'coherence stack', fb);
    await withOutputs((outs) => writeCoherenceStackOutputs(outs, coherence, s), fb);
  }
  // a window without one usable value (a frame's sea, a no-data border) has nothing to forecast: the tile is done
  // with only its coherence, and the mosaic puts NaN there, as an untiled run does
  if (tally.usableValues === 0) {
    const h = tile.out.r1 - tile.out.r0,
      w = tile.out.c1 - tile.out.c0;
    return finishTile(plan, index, started, fb, {
      pixels: 0,
      'unusable-pixels': w * h,
      'anomalous-fraction': null,
      empty: true,
    });
  }
  const fc = await invoke(
    forecastAlgorithm,
    { coherence: [coherence], model: plan.model, 'out-dir': at('forecast'), 'event-date': plan.eventDate, ...engine },
    stage(fb, 40, 85, 'forecast'),
  );
  for (const b of BASELINES) {
    throwIfCanceled(fb);
    await invoke(
      b.algorithm,
      { coherence: [coherence], 'event-date': plan.eventDate, output: at(b.file) },
      stage(fb, 85, 95, b.algorithm.id),
    );
  }
  await writeCoEventCoherence(at(COEVENT_FILE), s, coEventPair(s, plan.eventDate), fb);
  return finishTile(plan, index, started, fb, {
    pixels: fc.pixels ?? 0,
    'unusable-pixels': fc['unusable-pixels'] ?? 0,
    'anomalous-fraction': fc['anomalous-fraction'] ?? null,
  });
}

/** Whether a finished tile had no usable value in its window (only its coherence was written). */
export const isEmptyTile = (plan: TilePlan, index: number) => finishedTile(plan, index)?.empty === true;

/** Writes the tile's done.json, the only sign of a finished tile, last. */
function finishTile(plan: TilePlan, index: number, started: number, fb: Feedback, summary: Outputs): Outputs {
  const outputs: Outputs = {
    ...summary,
    // this tile process's peak resident memory and time: the bound a scheduler's --mem must cover
    'peak-rss-mib': peakRssMiB(),
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
  const tmp = `${donePath(plan, index)}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ key: plan.key, outputs }, null, 2)}\n`);
  renameSync(tmp, donePath(plan, index)); // the marker appears only once every file is in place
  fb.progress(100, `tile ${index} done`);
  return outputs;
}
