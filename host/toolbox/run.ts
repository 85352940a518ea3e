// `dpm run`: from an SLC (or coherence) stack and an event date to a damage proxy map, its baselines, maps, and
// (with ground truth) the paper's comparison. Each stage is a toolbox algorithm run through invoke() with typed inputs
// (checked and completed by the manifest exactly as a Model Builder chain would run them), with its outputs in the run folder:
//
//   coherence_train.tif  D_t: training window, stride = chip, every consecutive pair (papers/000 S.III, Fig. S2a)
//   coherence_aoi.tif    D_f: area of interest, stride 1 (Fig. S2b)
//   model.safetensors    trained on the pre-event bands of D_t
//   forecast/            zscore, mu, sigma, expected coherence (dpm forecast)
//   baselines/           ccd, nd, zscore, percentile (dpm baseline-*), coevent_coherence.tif
//   geocoded/            the same on a map grid (when lat/lon lookups exist), dpm_overlay.tif (RGBA)
//   dpm.png              the damage proxy map figure
//   evaluation/          with --truth/--truth-raster: PR curves, PR AUC, F_β (dpm evaluate)
//   report.md, report.json  what was made (only what exists), the package version, the engine, the one threshold
//
// Re-running into the same folder reuses every stage whose inputs and settings are unchanged (run-state.json);
// --force recomputes everything. An interrupted training resumes from its checkpoint.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import type { Algorithm, AlgorithmParams, Outputs } from './algorithm.js';
import { stage, throwIfCanceled, type Feedback } from '../core/feedback.js';
import { invoke } from './invoke.js';
import { algorithm as coherenceAlgorithm } from './coherence.js';
import { algorithm as trainAlgorithm, checkpointPath } from './train.js';
import { algorithm as forecastAlgorithm } from './forecast.js';
import { ccdAlgorithm, ndAlgorithm, percentileAlgorithm, zscoreAlgorithm } from './baselines.js';
import { algorithm as evaluateAlgorithm } from './evaluate.js';
import { parseChipSize } from '../core/chip.js';
import { DAMAGE_Z, DAMAGE_Z_SOURCE, type Preset, PRESETS } from '../core/defaults.js';
import { packageVersion } from '../paths.js';
import { loadModel } from '../model/safetensors.js';
import { DpmError } from '../core/errors.js';
import { ownFolder, withOutputPolicy, withOutputs } from '../io/outputs.js';
import { openCoherenceStack, readCoherenceStack, writeCoherenceWindowOutputs } from '../raster/stack.js';
import { dpmStyleQml } from '../raster/png-map.js';
import { countAbove, writeMaps } from './maps.js';
import { divergingQml, greyQml, writeStyle } from '../io/qml.js';
import { splitPairs } from '../model/series.js';
import { coEventPair, writeCoEventCoherence } from './coevent.js';
import { discoverStack, openRaster } from '../sar/readers.js';
import { parseWindow } from '../sar/coherence-stack.js';
import { readTruthVector } from '../vector/read.js';
import { transformer } from '../vector/crs.js';
import { readAoiPolygons, windowOfPolygons, type LatLonGrid } from '../vector/aoi.js';
import { parseTileSpec } from '../tiles/plan.js';
import { planGrid, runTiledAoi, tiledAoiInput } from '../tiles/tiled-run.js';

/** The scores the run compares, with the file each stage writes (relative to the run folder). */
const SCORES = [
  { name: 'RNN z-score', file: 'forecast/zscore.tif' },
  { name: 'CCD (γ_pre − γ_co)', file: 'baselines/ccd.tif', baseline: ccdAlgorithm },
  { name: 'normalised difference', file: 'baselines/nd.tif', baseline: ndAlgorithm },
  { name: 'multi-temporal z-score', file: 'baselines/zscore_mt.tif', baseline: zscoreAlgorithm },
  { name: 'percentile rank', file: 'baselines/percentile.tif', baseline: percentileAlgorithm },
] as const;

/** The layers geocoded when the z-score is in radar geometry (the z-score first: the maps show it). */
const GEOCODED_LAYERS = [
  ['zscore', 'forecast/zscore.tif'],
  ['mu', 'forecast/mu.tif'],
  ['sigma', 'forecast/sigma.tif'],
  ['expected_coherence', 'forecast/expected_coherence.tif'],
  ['coevent_coherence', 'baselines/coevent_coherence.tif'],
  ['ccd', 'baselines/ccd.tif'],
] as const;

/** QGIS styles of the geocoded layers (.qml beside each): as dpm.png, coherence in grey, CCD diverging. */
const STYLES: Record<string, ((threshold: number) => string) | undefined> = {
  zscore: (t) => dpmStyleQml(t),
  expected_coherence: () => greyQml(0, 1),
  coevent_coherence: () => greyQml(0, 1),
  ccd: () => divergingQml(0.5),
};

/** A stage's settings key, and its outputs once finished (none while it runs or after it was interrupted). */
interface StageRecord {
  key: string;
  outputs?: Outputs;
}
type RunState = Record<string, StageRecord>;

/** Runs a stage unless run-state.json says it already ran with the same key and its files are still there. */
class Stages {
  private state: RunState;
  private readonly file: string;
  constructor(
    dir: string,
    force: boolean,
    private readonly fb: Feedback,
  ) {
    this.file = join(dir, 'run-state.json');
    mkdirSync(dir, { recursive: true });
    this.state = !force && existsSync(this.file) ? (JSON.parse(readFileSync(this.file, 'utf8')) as RunState) : {};
  }

  /** `work` is told whether the same stage, with the same settings, was interrupted before (it may resume). */
  async run(
    name: string,
    key: unknown,
    files: string[],
    work: (interrupted: boolean) => Promise<Outputs>,
  ): Promise<Outputs> {
    const k = createHash('sha256').update(JSON.stringify(key)).digest('hex');
    const before = this.state[name];
    if (before?.outputs && before.key === k && files.every((f) => existsSync(f))) {
      this.fb.log('info', `${name}: reusing the finished stage (--force to recompute)`);
      return before.outputs;
    }
    this.state[name] = { key: k };
    this.save();
    const outputs = await work(before !== undefined && !before.outputs && before.key === k);
    this.state[name] = { key: k, outputs };
    this.save();
    return outputs;
  }

  private save(): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.state, null, 2)}\n`);
    renameSync(tmp, this.file); // atomic: a crash never leaves a half-written state file
  }
}

/** most files a stage key lists under one input folder (an SLC stack has a few per date) */
const MAX_KEY_FILES = 100_000;

/**
 * Identity of an input for stage keys: path, size, modification time, device, inode and change time of the file, or
 * of every file under a folder (an SLC rewritten in place changes its own mtime, not its folder's). Size and mtime
 * alone miss a `cp -p` copy put in place (both kept): the inode differs, and so does the ctime, which no copy can
 * set (an in-place rewrite whose mtime was put back). Links are followed, hidden files skipped.
 */
export function fileId(path: string): unknown {
  const root = resolve(path);
  const files: [string, ...number[]][] = [];
  const walk = (p: string, depth: number) => {
    let s: ReturnType<typeof statSync>;
    try {
      s = statSync(p);
    } catch {
      files.push([relative(root, p), -1, -1]);
      return;
    }
    if (s.isDirectory()) {
      if (depth > 8) return;
      for (const e of readdirSync(p).sort()) {
        if (e.startsWith('.')) continue;
        if (files.length >= MAX_KEY_FILES) throw new DpmError(`${path}: more than ${MAX_KEY_FILES} files under it`);
        walk(join(p, e), depth + 1);
      }
    } else files.push([relative(root, p), s.size, s.mtimeMs, s.dev, s.ino, s.ctimeMs]);
  };
  walk(root, 0);
  return [root, files];
}

/**
 * A run folder is the run's own (new, empty, or marked by run-state.json): a stage that recomputes replaces the files an earlier
 * run wrote there (other existing files still need --overwrite, as in every command).
 */
export function runPipeline(p: AlgorithmParams['run'], fb: Feedback): Promise<Outputs> {
  const ours = ownFolder(p['out-dir'], 'run-state.json');
  return ours ? withOutputPolicy({ overwrite: true }, () => runStages(p, fb)) : runStages(p, fb);
}

async function runStages(p: AlgorithmParams['run'], fb: Feedback): Promise<Outputs> {
  const dir = resolve(p['out-dir']);
  const { slc, coherence, chip, device, threads, backend, nodata, threshold } = p;
  const align = p['align-grids'];
  const input = slc ? { slc } : coherence ? { coherence } : undefined;
  if (!input || (slc && coherence)) {
    throw new DpmError('give exactly one of --slc (an SLC stack) or --coherence (a coherence stack)');
  }
  const eventDate = p['event-date'];
  if (!/^\d{8}$/.test(eventDate)) throw new DpmError(`--event-date must be YYYYMMDD, got '${eventDate}'`);
  const preset: Preset = PRESETS[p.preset];
  const epochs = p.epochs ?? preset.epochs;
  // --tile-size/--tiles: the AOI's coherence, forecast and baselines run per tile after training (host/tiles/)
  const tiling = parseTileSpec(p['tile-size'], p.tiles);
  if (!tiling && p.executor === 'slurm') throw new DpmError('--executor slurm runs tiles: give --tile-size or --tiles');
  const aoiWindow = await preflight(p, input, fb);
  // a tiling that does not fit the area of interest is refused now, not after training
  if (tiling) {
    const source = input.slc ? { slc: input.slc } : { coherence: input.coherence ?? [], nodata, align };
    await planGrid(source, chip, aoiWindow ?? p['aoi-window'], tiling);
  }
  // what the input files are (size, times, inode): the key of every stage that reads them, walked once
  const inputKey = (slc ?? coherence ?? []).map(fileId);
  const stages = new Stages(dir, p.force, fb);
  const at = (f: string) => join(dir, f);
  const sub = (from: number, to: number, text: string) => stage(fb, from, to, text);

  // 1–2. Coherence: D_t (training window, stride = chip) and D_f (AOI, stride 1).
  let trainStack: string, aoiStack: string;
  if (input.slc) {
    const coh = async (
      name: string,
      file: string,
      window: string | undefined,
      stride: string | undefined,
      from: number,
      to: number,
    ) => {
      await stages.run(name, { inputKey, chip, stride, window }, [at(file)], () =>
        invoke(coherenceAlgorithm, { slc: input.slc, out: at(file), chip, stride, window }, sub(from, to, name)),
      );
      return at(file);
    };
    trainStack = await coh('coherence_train', 'coherence_train.tif', p['train-window'], undefined, 0, 15);
    aoiStack = tiling
      ? at('coherence_aoi.tif') // the tiles' mosaic
      : await coh('coherence_aoi', 'coherence_aoi.tif', aoiWindow ?? p['aoi-window'], '1x1', 15, 35);
  } else {
    // A coherence stack is already on its grid (each pixel one estimate): windows are in its pixels, and training
    // uses every pixel of its window.
    const crop = async (name: string, file: string, window: string | undefined) => {
      await stages.run(name, { inputKey, window, nodata, align }, [at(file)], async () => {
        const stack = await openCoherenceStack(input.coherence, { nodata, align, feedback: sub(0, 5, 'reading') });
        // only the window's pixels are decoded (preflight has checked it), a block of rows at a time
        const w = parseWindow(window, stack.header.width, stack.header.height);
        await withOutputs((outs) => writeCoherenceWindowOutputs(outs, at(file), stack, w, sub(5, 15, name)), fb);
        return { out: at(file) };
      });
      return at(file);
    };
    trainStack = await crop('coherence_train', 'coherence_train.tif', p['train-window']);
    aoiStack = tiling
      ? at('coherence_aoi.tif') // the tiles' mosaic
      : await crop('coherence_aoi', 'coherence_aoi.tif', aoiWindow ?? p['aoi-window']);
  }
  throwIfCanceled(fb);

  // The AOI stack's bands: which are pre-event and which is the co-event pair (preflight checked the event date),
  // from its header. tiled: the AOI mosaic comes after training; the training stack has the same pairs
  const aoiHeader = (await openCoherenceStack(tiling ? trainStack : aoiStack)).header;
  const split = splitPairs(aoiHeader, { eventDate }, true);
  const coLabel = aoiHeader.descriptions[split.coEvent ?? -1] ?? '';
  fb.log('info', `event ${eventDate}: ${split.pre.length} pre-event pairs, co-event pair ${coLabel}`);

  // 3. Train on the pre-event bands of D_t.
  const modelPath = at('model.safetensors');
  const maxSequences = p['max-sequences'] ?? preset.maxSequences;
  const trainKey = {
    coherence: trainStack,
    out: modelPath,
    'event-date': eventDate,
    hidden: preset.hidden,
    mlp: preset.mlp,
    epochs,
    'batch-size': preset.batchSize,
    lr: preset.lr,
    seed: p.seed,
    ...(maxSequences ? { 'max-sequences': maxSequences } : {}),
  };
  // the device, threads and resuming do not change what is trained: they stay out of the stage key
  const trainInput = { ...trainKey, coherence: [trainStack], device, threads, backend, resume: true };
  const trained = await stages.run('train', { ...trainKey, input: fileId(trainStack) }, [modelPath], (interrupted) => {
    // resume only the very training that was interrupted; a checkpoint of other settings is stale
    if (!interrupted) rmSync(checkpointPath(modelPath), { force: true });
    return invoke(trainAlgorithm, trainInput, sub(35, 75, 'training'));
  });

  // 4. Forecast D_f and the baselines on the same grid.
  // tiled (host/tiles/): per tile coherence, forecast and baselines, mosaicked into the files below
  const tiled =
    tiling &&
    (await stages.run(
      'tiles',
      {
        tiling,
        aoi: aoiWindow ?? p['aoi-window'],
        chip,
        input: inputKey,
        nodata,
        align,
        model: fileId(modelPath),
        eventDate,
      },
      [at('forecast/zscore.tif')],
      () => {
        const key = [inputKey, nodata, align, fileId(modelPath)];
        return runTiledAoi(
          tiledAoiInput(p, tiling, aoiWindow ?? p['aoi-window'], modelPath, key),
          sub(75, 87, 'tiles'),
        );
      },
    ));
  const fc =
    tiled ||
    (await stages.run(
      'forecast',
      { model: fileId(modelPath), aoi: fileId(aoiStack), eventDate },
      [at('forecast/zscore.tif')],
      () =>
        invoke(
          forecastAlgorithm,
          {
            coherence: [aoiStack],
            model: modelPath,
            'out-dir': at('forecast'),
            'event-date': eventDate,
            device,
            threads,
            backend,
          },
          sub(75, 85, 'forecast'),
        ),
    ));
  for (const [k, s] of SCORES.entries()) {
    if (tiling || !('baseline' in s)) continue;
    const from = 85 + (2 * (k - 1)) / (SCORES.length - 1); // SCORES[0] is the RNN: one slice of 85–87 % per baseline
    const slice = sub(from, from + 2 / (SCORES.length - 1), s.name);
    const baselineInput = { coherence: [aoiStack], 'event-date': eventDate, output: at(s.file) };
    await stages.run(s.baseline.id, { aoi: fileId(aoiStack), eventDate }, [at(s.file)], () =>
      invoke(s.baseline, baselineInput, slice),
    );
  }
  if (!tiling)
    await stages.run(
      'coevent',
      { aoi: fileId(aoiStack), eventDate },
      [at('baselines/coevent_coherence.tif')],
      async () => {
        const aoi = await readCoherenceStack(aoiStack);
        await writeCoEventCoherence(at('baselines/coevent_coherence.tif'), aoi, coEventPair(aoi, eventDate), fb);
        return { output: at('baselines/coevent_coherence.tif') };
      },
    );
  throwIfCanceled(fb);

  // 5. Maps: geocoded rasters (radar geometry with lat/lon lookups), the DPM figure and the RGBA overlay (streamed).
  const target = p.geocode;
  const maps = await stages.run(
    'maps',
    { z: fileId(at('forecast/zscore.tif')), target, threshold },
    [at('dpm.png')],
    () =>
      withOutputs(async (outs) => {
        // the forecast's own z-score styled at this run's threshold too (the forecast stage styles the default)
        writeStyle(outs, at('forecast/zscore.tif'), dpmStyleQml(threshold));
        return writeMaps(
          {
            at,
            target,
            threshold,
            title: `Damage proxy map, event ${eventDate} (RNN z-score)`,
            layers: GEOCODED_LAYERS,
            styles: STYLES,
          },
          outs,
          sub(87, 95, 'maps'),
        );
      }, fb),
  );

  // 6. Evaluation against ground truth (the paper's comparison), when given.
  let evaluation: Outputs | undefined;
  const { truth } = p;
  const truthRaster = p['truth-raster'];
  if (truth || truthRaster) {
    const scores = SCORES.map((s) => at(s.file));
    evaluation = await stages.run(
      'evaluate',
      {
        // the truth files by content identity: an edited truth file is evaluated again
        scores: scores.map(fileId),
        truth: truth && fileId(truth),
        field: p['damage-field'],
        values: p['damaged-values'],
        mask: truthRaster && fileId(truthRaster),
        fraction: p.fraction,
      },
      [at('evaluation/evaluation.json')],
      () =>
        invoke(
          evaluateAlgorithm,
          {
            score: scores,
            names: SCORES.map((s) => s.name).join(','),
            truth,
            'damage-field': p['damage-field'],
            'damaged-values': p['damaged-values'],
            'truth-raster': p['truth-raster'],
            fraction: p.fraction,
            chip,
            stride: '1x1',
            'out-dir': at('evaluation'),
          },
          sub(96, 99, 'evaluation'),
        ),
    );
  }

  fb.progress(99, 'report');
  // the one threshold: the map's transparency, and the share reported here (the forecast log's share uses the
  // default; both agree unless --threshold changes it)
  const { valid, above } = await countAbove(at('forecast/zscore.tif'), threshold, fb);
  const report = {
    software: 'insar-dpm',
    version: packageVersion,
    engine: loadModel(modelPath).training?.engine ?? null,
    eventDate,
    coEventPair: coLabel,
    prePairs: split.pre.length,
    // coherence estimated here from SLCs in chips; a coherence stack given as input is used as it is
    chip: slc ? chip : null,
    preset: p.preset,
    model: { ...preset, epochs, ...trained },
    forecast: fc,
    threshold: {
      value: threshold,
      default: DAMAGE_Z,
      source: threshold === DAMAGE_Z ? DAMAGE_Z_SOURCE : 'given with --threshold',
      pixelsAbove: above,
      share: valid ? above / valid : null,
    },
    maps,
    evaluation: evaluation ? JSON.parse(readFileSync(at('evaluation/evaluation.json'), 'utf8')) : null,
  };
  const md = reportMarkdown(report, dir, typeof evaluation?.table === 'string' ? evaluation.table : undefined);
  await withOutputs(async (outs) => {
    writeFileSync(outs.path(at('report.json')), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(outs.path(at('report.md')), md);
  }, fb);
  fb.progress(100, 'done');
  return {
    'out-dir': dir,
    zscore: at('forecast/zscore.tif'),
    png: at('dpm.png'),
    report: at('report.md'),
    'anomalous-fraction': fc['anomalous-fraction'] ?? null,
  };
}

type Box = [number, number, number, number]; // lon0, lat0, lon1, lat1
const emptyBox = (): Box => [Infinity, Infinity, -Infinity, -Infinity];
function grow(b: Box, lon: number, lat: number): void {
  if (!Number.isFinite(lon) || !Number.isFinite(lat)) return;
  b[0] = Math.min(b[0], lon);
  b[1] = Math.min(b[1], lat);
  b[2] = Math.max(b[2], lon);
  b[3] = Math.max(b[3], lat);
}

/**
 * Checks what can be checked before hours of work: the event date falls inside the stack, the truth file has the
 * damage field and lies (at least partly) in the scene. Every failure is one clear error and nothing is written.
 */
async function preflight(
  p: AlgorithmParams['run'],
  input: { slc: string[] } | { coherence: string[] },
  fb: Feedback,
): Promise<string | undefined> {
  const { chip, nodata } = p;
  const eventDate = p['event-date'];
  const slc = 'slc' in input ? input.slc : undefined;
  let grid: LatLonGrid | undefined;
  let pairs: { first: string; second: string }[];
  let source: string;
  const scene = emptyBox();
  const { range: cr, azimuth: ca } = parseChipSize(chip, 'chip');
  if (slc && nodata !== undefined)
    throw new DpmError(
      '--nodata applies to a --coherence input only (SLC samples of zero amplitude are always left out)',
    );
  /** --train-window / --aoi-window: syntax, inside the scene and at least one chip (SLC) — before anything is written */
  const checkWindows = (width: number, height: number, minW: number, minH: number, unit: string) => {
    for (const name of ['train-window', 'aoi-window'] as const) {
      const text = p[name];
      if (text === undefined) continue;
      let w: ReturnType<typeof parseWindow>;
      try {
        w = parseWindow(text, width, height);
      } catch (e) {
        if (e instanceof DpmError)
          throw new DpmError(e.message.replace(/^--window/, `--${name}`).replace('SLC rows', `${unit} rows`));
        throw e;
      }
      if (w.r1 - w.r0 < minH || w.c1 - w.c0 < minW) {
        throw new DpmError(
          `--${name} ${text}: ${w.c1 - w.c0} × ${w.r1 - w.r0} ${unit} pixels (columns × rows) is smaller than one ${chip} chip`,
        );
      }
    }
  };
  if (slc) {
    const found = discoverStack(slc);
    const dates = found.entries.map((e) => e.date).sort();
    if (dates.length < 3)
      throw new DpmError(`--slc ${slc.join(',')}: ${dates.length} acquisitions; at least 3 are needed (2 pairs)`);
    pairs = dates.slice(1).map((d, k) => ({ first: dates[k]!, second: d }));
    source = `SLC stack ${slc.join(',')}`;
    const first = await openRaster(found.entries[0]!.path);
    try {
      checkWindows(first.width, first.height, cr, ca, 'SLC');
    } finally {
      await first.close();
    }
    if (found.lat && found.lon) {
      const [lat, lon] = [await openRaster(found.lat), await openRaster(found.lon)];
      try {
        if (lat.width !== lon.width || lat.height !== lon.height)
          throw new DpmError(`${found.lat}, ${found.lon}: latitude and longitude grids differ in size`);
        if (p.aoi !== undefined) {
          // a polygon is placed on the whole lat/lon grid (windowOfPolygons): only with --aoi
          const a = new Float64Array(lat.width * lat.height),
            b = new Float64Array(lon.width * lon.height);
          await lat.read(0, lat.height, 0, lat.width, a);
          await lon.read(0, lon.height, 0, lon.width, b);
          grid = { width: lat.width, height: lat.height, lat: a, lon: b };
        }
        // the scene's extent by row blocks: memory does not grow with the scene
        const rows = 256;
        const a = new Float64Array(lat.width * rows),
          b = new Float64Array(lon.width * rows);
        for (let r0 = 0; r0 < lat.height; r0 += rows) {
          const n = Math.min(rows, lat.height - r0);
          await lat.read(r0, n, 0, lat.width, a);
          await lon.read(r0, n, 0, lon.width, b);
          for (let i = 0; i < n * lat.width; i++) grow(scene, b[i]!, a[i]!);
        }
      } finally {
        await lat.close();
        await lon.close();
      }
    }
  } else {
    const coherence = 'coherence' in input ? input.coherence : [];
    // headers only: the stages read their windows' pixels (a frame's stack is never whole in memory)
    const stack = await openCoherenceStack(coherence, {
      nodata,
      align: p['align-grids'],
      feedback: stage(fb, 0, 1, 'checking'),
    });
    const s = stack.header;
    pairs = s.pairs;
    source = s.source ?? coherence.join(',');
    checkWindows(s.width, s.height, 1, 1, 'coherence-stack');
    const g = s.georef;
    if (!g.geoTransform && p.aoi !== undefined) {
      // a polygon is placed on the whole lat/lon grid (windowOfPolygons): only with --aoi
      const { lat, lon } = await stack.latLon();
      if (lat && lon) {
        for (let i = 0; i < lat.length; i++) grow(scene, lon[i]!, lat[i]!);
        grid = { width: s.width, height: s.height, lat, lon };
      }
    } else if (!g.geoTransform && p.truth !== undefined) {
      // the scene's extent (checked against the truth) by row blocks of the lat/lon companions
      const rows = Math.max(1, Math.floor(2 ** 20 / s.width));
      for (let r0 = 0; r0 < s.height; r0 += rows) {
        const { lat, lon } = await stack.latLon({ r0, r1: Math.min(s.height, r0 + rows), c0: 0, c1: s.width });
        if (!lat || !lon) break;
        for (let i = 0; i < lat.length; i++) grow(scene, lon[i]!, lat[i]!);
      }
    } else if (g.geoTransform && g.epsg) {
      const toWgs = transformer(`EPSG:${g.epsg}`, 'EPSG:4326');
      const gt = g.geoTransform;
      for (const [c, r] of [
        [0, 0],
        [s.width, 0],
        [0, s.height],
        [s.width, s.height],
      ] as const) {
        grow(scene, ...toWgs([gt[0] + c * gt[1] + r * gt[2], gt[3] + c * gt[4] + r * gt[5]]));
      }
    }
  }
  // the event date must split the stack into pre-event pairs and a co-event pair (same rule as dpm forecast)
  splitPairs({ pairs, source }, { eventDate }, true);

  if (p.truth) {
    const field = p['damage-field'];
    const values = p['damaged-values']?.split(',');
    if (!field || !values) throw new DpmError('--truth needs --damage-field and --damaged-values');
    const truth = await readTruthVector(
      p.truth,
      field,
      values.map((v) => v.trim()),
    );
    if (Number.isFinite(scene[0])) {
      const toWgs = transformer(truth.crs, 'EPSG:4326');
      const t = emptyBox();
      for (const poly of truth.polygons) for (const [x, y] of poly.rings[0] ?? []) grow(t, ...toWgs([x, y]));
      if (!(t[0] <= scene[2] && t[2] >= scene[0] && t[1] <= scene[3] && t[3] >= scene[1])) {
        throw new DpmError(
          `--truth ${p.truth}: its footprints (lon ${t[0].toFixed(4)}…${t[2].toFixed(4)}, lat ${t[1].toFixed(4)}…${t[3].toFixed(4)}) ` +
            `lie outside the scene (lon ${scene[0].toFixed(4)}…${scene[2].toFixed(4)}, lat ${scene[1].toFixed(4)}…${scene[3].toFixed(4)})`,
        );
      }
    }
  }

  const { aoi } = p;
  if (aoi === undefined) return undefined;
  if (p['aoi-window'] !== undefined) throw new DpmError('give either --aoi (a polygon) or --aoi-window, not both');
  if (!grid)
    throw new DpmError(`--aoi ${aoi}: the input has no lat/lon lookups to place a polygon on; use --aoi-window`);
  // SLC input: grow by the chip so every chip touching the polygon is complete; a coherence grid is already chips
  const window = windowOfPolygons(grid, await readAoiPolygons(aoi), slc ? [cr - 1, ca - 1] : [0, 0], `--aoi ${aoi}`);
  fb.log('info', `--aoi ${aoi}: area of interest ${window} (${slc ? 'SLC' : 'coherence-stack'} pixels)`);
  return window;
}

/** The parts of report.json that report.md shows. */
interface ReportSummary {
  version: string;
  engine: unknown;
  eventDate: string;
  coEventPair: string;
  prePairs: number;
  chip: string | null;
  preset: string;
  model: Preset & Outputs;
  forecast: Outputs;
  threshold: { value: number; default: number; source: string; share: number | null };
  maps: Outputs;
}

/** report.md: what this run made, and only that (files are named when they exist). */
function reportMarkdown(r: ReportSummary, dir: string, table: string | undefined): string {
  const rel = (f: unknown) => (typeof f === 'string' ? relative(dir, f) : undefined);
  const t = r.threshold;
  const lines = [
    `# Damage proxy map — event ${r.eventDate}`,
    '',
    `insar-dpm ${r.version}; forecaster engine: ${typeof r.engine === 'string' ? r.engine : 'not recorded'}`,
    '',
    `- co-event pair: ${r.coEventPair}; ${r.prePairs} pre-event pairs` +
      (r.chip ? `; coherence from the SLCs in ${r.chip} chips (range × azimuth)` : '; the coherence stack as given'),
    `- model: preset \`${r.preset}\` (H = ${r.model.hidden}, M = ${r.model.mlp}, ${r.model.epochs} epochs), best epoch ${r.model['best-epoch']}, ` +
      `validation loss ${Number(r.model['validation-loss']).toFixed(3)} per sequence`,
    `- forecast: ${r.forecast.pixels} pixels, ${r.forecast['unusable-pixels']} without enough history`,
    `- threshold z ≥ ${t.value} (${t.source}${t.value === t.default ? '' : `; default ${t.default}`}): ` +
      `${(100 * (t.share ?? 0)).toFixed(2)} % of the pixels; the map is transparent below it`,
    '',
  ];
  if (table)
    lines.push(
      '## Comparison against ground truth',
      '',
      "Each method's optimum threshold below is where its F-score against this ground truth peaks: a property of " +
        `the data, for comparing methods; the map uses z ≥ ${t.value} above.`,
      '',
      table,
      '',
    );
  const geocoded = Object.keys(r.maps).filter((k) => !['png', 'overlay'].includes(k));
  const zMap = rel(r.maps.zscore) ?? 'forecast/zscore.tif';
  lines.push(
    '## Outputs',
    '',
    '- `forecast/zscore.tif`: the damage proxy (z = (μ − x)/σ, positive = coherence lower than expected)',
    '- `forecast/mu.tif`, `forecast/sigma.tif`, `forecast/expected_coherence.tif`: the forecast (logit μ, σ) and ' +
      'the expected coherence',
    '- `baselines/`: CCD, normalised difference, multi-temporal z-score, percentile rank, the co-event coherence',
    ...(geocoded.length
      ? [`- \`geocoded/\`: ${geocoded.map((k) => `${k}.tif`).join(', ')} on a map grid`]
      : ['- no geocoded copies: the input is already on a map grid, or has no lat/lon lookups, or --geocode none']),
    ...(rel(r.maps.overlay) ? [`- \`${rel(r.maps.overlay)}\`: RGBA overlay (transparent below z = ${t.value})`] : []),
    ...(rel(r.maps.png) ? [`- \`${rel(r.maps.png)}\`: the map figure`] : []),
    ...(table ? ['- `evaluation/`: PR curves, F-scores, the table above'] : []),
    '- `model.history.csv`, `model.history.png`: training and validation loss per epoch',
    '',
    '## Open in QGIS',
    '',
    `Drag \`${join(dir, zMap)}\` into QGIS (Layer ▸ Add Layer ▸ Add Raster Layer): the \`.qml\` beside it styles it ` +
      `as \`dpm.png\` (transparent below z = ${t.value}). With the insar-dpm plugin, the pixel time-series tool shows ` +
      "any pixel's coherence history and forecasts.",
    '',
  );
  return lines.join('\n');
}

export const algorithm: Algorithm<'run'> = { id: 'run', run: runPipeline };
