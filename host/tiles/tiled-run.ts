// The tiled part of `dpm run` (--tile-size/--tiles): after the one training, the area of interest is cut into tiles
// (plan.ts), each tile computes its coherence, forecast and baselines in its own process (job.ts, executors.ts), and
// the products are mosaicked (mosaic.ts) into the files an untiled run writes, plus a VRT of the tiles beside each.
import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import type { AlgorithmParams, Outputs } from '../toolbox/algorithm.js';
import { stage, throwIfCanceled, type Feedback } from '../core/feedback.js';
import { parseChipSize } from '../core/chip.js';
import { discoverStack, openRaster } from '../sar/readers.js';
import { parseWindow } from '../sar/coherence-stack.js';
import { openCoherenceStack } from '../raster/stack.js';
import { planTiles, type Tile, type TileSpec, type Window } from './plan.js';
import { BASELINES, COEVENT_FILE, finishedTile, isEmptyTile, planPath, type TilePlan, tileDir } from './job.js';
import { DpmError } from '../core/errors.js';
import { type ExecutorChoice, runTiles } from './executors.js';
import { mosaicProduct } from './mosaic.js';

export interface TiledAoiInput {
  dir: string;
  input: TilePlan['input'];
  chip: string;
  /** the area of interest in input pixels (r0:r1,c0:c1; SLC or coherence stack), default the whole scene */
  aoiWindow?: string;
  eventDate: string;
  model: string;
  device?: TilePlan['device'];
  threads?: number;
  backend?: TilePlan['backend'];
  spec: TileSpec;
  executor: ExecutorChoice;
  /** identity of the inputs and the model (file paths, sizes, times): a changed one redoes every tile */
  inputKey: unknown;
}

/** The tiled part's input from `dpm run`'s parameters (the executor and its pass-through options). */
export function tiledAoiInput(
  p: AlgorithmParams['run'],
  spec: TileSpec,
  aoiWindow: string | undefined,
  model: string,
  inputKey: unknown,
): TiledAoiInput {
  const executor: ExecutorChoice =
    p.executor === 'slurm'
      ? {
          kind: 'slurm',
          partition: p['slurm-partition'],
          time: p['slurm-time'],
          mem: p['slurm-mem'],
          gpus: p['slurm-gpus'],
          extra: p['slurm-options'],
        }
      : { kind: 'local', workers: p.workers };
  const { chip, device, threads, backend } = p;
  const eventDate = p['event-date'];
  return {
    dir: resolve(p['out-dir']),
    input: p.slc ? { slc: p.slc } : { coherence: p.coherence ?? [], nodata: p.nodata, align: p['align-grids'] },
    chip,
    aoiWindow,
    eventDate,
    model,
    device,
    threads,
    backend,
    spec,
    executor,
    inputKey,
  };
}

/** The area of interest's output grid and its tiles (DpmError when the tiling does not fit it): the run checks
 *  this before training, and the tiled stage plans with it. */
export async function planGrid(
  source: TilePlan['input'],
  chip: string,
  aoiWindow: string | undefined,
  spec: TileSpec,
): Promise<{ window: Window; outW: number; outH: number; tiles: Tile[] }> {
  let width: number, height: number;
  if ('slc' in source) {
    const first = await openRaster(discoverStack(source.slc).entries[0]!.path);
    [width, height] = [first.width, first.height];
    await first.close();
  } else {
    const { header } = await openCoherenceStack(source.coherence, { nodata: source.nodata, align: source.align });
    [width, height] = [header.width, header.height];
  }
  const window = parseWindow(aoiWindow, width, height);
  // SLCs: stride-1 chips, a halo of chip − 1; a coherence stack is already one value per pixel
  const c = 'slc' in source ? parseChipSize(chip, 'chip') : { range: 1, azimuth: 1 };
  const outW = window.c1 - window.c0 - c.range + 1,
    outH = window.r1 - window.r0 - c.azimuth + 1;
  const tiles = planTiles(outW, outH, window, { range: c.range - 1, azimuth: c.azimuth - 1 }, spec);
  return { window, outW, outH, tiles };
}

/** Plans, runs (only unfinished tiles) and mosaics; returns the forecast's summary over all tiles. */
export async function runTiledAoi(input: TiledAoiInput, fb: Feedback): Promise<Outputs> {
  const { dir, chip } = input;
  const source = input.input;
  const { window: w, outW, outH, tiles } = await planGrid(source, chip, input.aoiWindow, input.spec);
  const key = createHash('sha256')
    .update(JSON.stringify([input.inputKey, chip, w, input.eventDate, tiles]))
    .digest('hex');
  const { device, threads, backend } = input;
  const plan: TilePlan = {
    key,
    dir,
    input: source,
    chip,
    eventDate: input.eventDate,
    model: input.model,
    device,
    threads,
    backend,
    outW,
    outH,
    tiles,
  };
  mkdirSync(join(dir, 'tiles'), { recursive: true });
  const tmp = `${planPath(dir)}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(plan, null, 2)}\n`);
  renameSync(tmp, planPath(dir));
  fb.log('info', `tiles: ${tiles.length} tiles over the ${outW} × ${outH} area of interest (plan ${planPath(dir)})`);

  await runTiles(plan, input.executor, stage(fb, 0, 85, 'tiles'));
  throwIfCanceled(fb);

  // the forecast's files as a tile with data wrote them (an empty tile writes none)
  const full = tiles.find((t) => !isEmptyTile(plan, t.index));
  if (!full) throw new DpmError('no usable pixel in the area of interest (every tile window is empty)');
  const forecastFiles = readdirSync(join(tileDir(plan, full.index), 'forecast'))
    .filter((f) => f.endsWith('.tif') && !/\.(lat|lon)\.tif$/.test(f))
    .map((f) => `forecast/${f}`);
  const products = ['coherence_aoi.tif', ...forecastFiles, ...BASELINES.map((b) => b.file), COEVENT_FILE];
  for (const [k, file] of products.entries()) {
    const from = 85 + (15 * k) / products.length;
    await mosaicProduct(plan, file, stage(fb, from, from + 15 / products.length, `mosaic ${file}`));
  }
  // the forecast's summary over all tiles: counts add up, the anomalous share is weighted by valid pixels
  let pixels = 0,
    unusable = 0,
    anomalous = 0,
    peakRss = 0;
  for (const t of tiles) {
    const o = finishedTile(plan, t.index) ?? {};
    const n = Number(o.pixels ?? 0);
    pixels += n;
    unusable += Number(o['unusable-pixels'] ?? 0);
    anomalous += n * Number(o['anomalous-fraction'] ?? 0);
    peakRss = Math.max(peakRss, Number(o['peak-rss-mib'] ?? 0));
  }
  fb.log('info', `tiles: peak resident memory of a tile process ${peakRss} MiB`);
  return {
    'out-dir': join(dir, 'forecast'),
    pixels,
    'unusable-pixels': unusable,
    'anomalous-fraction': pixels ? anomalous / pixels : null,
    tiles: tiles.length,
    'tile-peak-rss-mib': peakRss,
  };
}
