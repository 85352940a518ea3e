// `dpm monitor-init` and `dpm monitor-update`: map each new acquisition within minutes of its arrival
// (host/monitor/state.ts: one GRU step per pixel from the kept state; host/monitor/alerts.ts: the alert rules).
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseChipLayout } from '../core/chip.js';
import { DpmError } from '../core/errors.js';
import { stage, type Feedback } from '../core/feedback.js';
import { withOutputs } from '../io/outputs.js';
import { writeStyle } from '../io/qml.js';
import { modelSigmaScale } from '../model/forecast.js';
import { GruStepper } from '../model/step.js';
import { modelTimeFeatures } from '../model/series.js';
import { loadModel } from '../model/safetensors.js';
import { ALERT_NAMES, alertCounts, applyPass } from '../monitor/alerts.js';
import {
  advanceMonitor,
  initMonitor,
  readMonitorState,
  writeMonitorState,
  type MonitorState,
  type SlcSource,
} from '../monitor/state.js';
import { writeRaster } from '../raster/geotiff.js';
import { dpmStyleQml } from '../raster/png-map.js';
import { readCoherenceStack } from '../raster/stack.js';
import type { CoherenceStack } from '../raster/types.js';
import { coherenceStackFromSlc, discoverSlcStack } from '../sar/coherence-job.js';
import type { Algorithm, AlgorithmParams } from './algorithm.js';

async function init(params: AlgorithmParams['monitor-init'], fb: Feedback) {
  const model = loadModel(params.model);
  const timeFeatures = modelTimeFeatures(model.config.features, model.training, `--model ${params.model}`);
  const { stack, slc } = await initInput(params, stage(fb, 0, 10, 'reading'));
  const rules = { z: params['alert-z'], confirm: params.confirm, drop: params.drop, finish: params.finish };
  const stepper = new GruStepper(model.config, model.params);
  const scale = modelSigmaScale(model.training, `--model ${params.model}`);
  const state = await initMonitor(stepper, model.params, stack, timeFeatures, rules, scale, stage(fb, 10, 95, 'state'));
  if (slc) state.slc = slc;
  await withOutputs(async (outs) => writeMonitorState(outs.path(params.state), state, false, fb), fb);
  const last = state.pairs[state.pairs.length - 1]!;
  fb.log(
    'info',
    `monitoring ${state.width} × ${state.height} pixels after ${state.pairs.length} pairs (last ${last.first}_${last.second}); ` +
      `the next pair must start on ${last.second}`,
  );
  fb.progress(100);
  return { state: params.state, pixels: state.width * state.height };
}

async function update(params: AlgorithmParams['monitor-update'], fb: Feedback) {
  const statePath = params.state;
  const state = await readMonitorState(statePath, fb);
  const t0 = performance.now();
  const { stack, source, newSlc } = await newPair(params, state, statePath, stage(fb, 0, 10, 'reading'));
  if (stack.bands.length !== 1 || stack.pairs.length !== 1)
    throw new DpmError(`${source}: give one pair (found ${stack.bands.length} bands)`);
  if (stack.width !== state.width || stack.height !== state.height) {
    throw new DpmError(
      `${source}: ${stack.width} × ${stack.height} pixels, but the monitor state ${statePath} ` +
        `has ${state.width} × ${state.height}`,
    );
  }
  const gt = stack.georef.geoTransform,
    stateGt = state.georef.geoTransform;
  if (gt && stateGt && gt.some((v, k) => Math.abs(v - stateGt[k]!) > 1e-9 * Math.max(1, Math.abs(v)))) {
    throw new DpmError(
      `${source}: its geotransform [${gt.join(', ')}] is not the monitor state's [${stateGt.join(', ')}]`,
    );
  }
  const pair = stack.pairs[0]!;
  const t1 = performance.now();
  // the state carries the model: no model file needed
  const r = await advanceMonitor(state, stack.bands[0]!, pair, stage(fb, 10, 85, 'one GRU step'), params.threads);
  if (newSlc && state.slc) state.slc.last = newSlc;
  fb.log(
    'info',
    `${newSlc ? 'coherence of the new pair' : 'reading the new pair'} ${((t1 - t0) / 1000).toFixed(2)} s, ` +
      `one GRU step for ${state.width * state.height} pixels ${((performance.now() - t1) / 1000).toFixed(2)} s`,
  );
  applyPass(state.alerts, r.z, r.pass, state.rules);
  const counts = alertCounts(state.alerts);
  const dir = params['out-dir'];
  const outState = params['out-state'] ?? statePath;
  const label = `${pair.first}_${pair.second}`;
  // the state advances in place (temporary name, then rename) unless --out-state names another file
  const inPlace = resolve(outState) === resolve(statePath);
  const written = await withOutputs(async (outs) => {
    const raster = (bands: Float32Array[], descriptions: string[]) => ({
      width: state.width,
      height: state.height,
      bands,
      descriptions,
      georef: stack.georef,
    });
    const zPath = join(dir, 'zscore.tif');
    await writeRaster(outs, zPath, raster([r.z], [`z-score (mu - x)/sigma of ${label}, pass ${r.pass}`]), {
      nodata: NaN,
    });
    writeStyle(outs, zPath, dpmStyleQml(state.rules.z));
    const a = state.alerts;
    const alertsPath = join(dir, 'alerts.tif');
    await writeRaster(
      outs,
      alertsPath,
      raster(
        [Float32Array.from(a.state), Float32Array.from(a.count), Float32Array.from(a.first), Float32Array.from(a.last)],
        [
          `alert state after pass ${r.pass} (${ALERT_NAMES.map((n, k) => `${k} ${n}`).join(', ')})`,
          'anomalous passes of the alert',
          'pass number of the first anomalous pass (0 none)',
          'pass number of the latest anomalous pass (0 none)',
        ],
      ),
      {},
    );
    await writeMonitorState(outs.path(outState, { advances: inPlace }), state, false, fb);
    return { zscore: zPath, alerts: alertsPath };
  }, fb);
  fb.log(
    'info',
    `pass ${r.pass} = ${label}: ` +
      ALERT_NAMES.map((n) => `${counts[n]} ${n}`).join(', ') +
      ` (anomalous: z ≥ ${state.rules.z}; confirmed after ${state.rules.confirm} anomalous passes)`,
  );
  fb.progress(100);
  return { ...written, state: outState, pass: r.pass, confirmed: counts.confirmed };
}

/** The init stack: a coherence stack as given, or the consecutive-pair coherence of an SLC stack (then what
 *  monitor-update --slc needs is kept in the state). */
async function initInput(
  params: AlgorithmParams['monitor-init'],
  fb: Feedback,
): Promise<{ stack: CoherenceStack; slc?: SlcSource }> {
  const { coherence, slc, chip, stride, window } = params;
  if (coherence && !slc) {
    if (stride !== undefined || window !== undefined)
      throw new DpmError('--stride and --window are used only with --slc (the coherence stack has its own grid)');
    return { stack: await readCoherenceStack(coherence, { nodata: params.nodata, feedback: fb }) };
  }
  if (!slc || coherence)
    throw new DpmError('give exactly one of --coherence (a coherence stack) or --slc (an SLC stack)');
  if (params.nodata !== undefined) throw new DpmError('--nodata is for coherence files, not with --slc');
  const layout = parseChipLayout(chip, stride);
  const { stack, acquisitions } = await coherenceStackFromSlc({ slc, layout, window }, fb);
  const last = acquisitions.at(-1)!;
  return { stack, slc: { last: { path: resolve(last.path), date: last.date }, chip, stride, window } };
}

/** The new pair: a coherence file as given, or the coherence of (the state's last SLC, the new SLC) computed over
 *  the state's window with its chip and stride. */
async function newPair(
  params: AlgorithmParams['monitor-update'],
  state: MonitorState,
  statePath: string,
  fb: Feedback,
): Promise<{ stack: CoherenceStack; source: string; newSlc?: SlcSource['last'] }> {
  const { coherence, slc } = params;
  if (coherence && !slc) {
    const stack = await readCoherenceStack(coherence, { nodata: params.nodata, feedback: fb });
    return { stack, source: `--coherence ${coherence.join(', ')}` };
  }
  if (!slc || coherence)
    throw new DpmError('give exactly one of --coherence (the new pair) or --slc (the new acquisition)');
  const source = `--slc ${slc.join(', ')}`;
  const from = state.slc;
  if (!from)
    throw new DpmError(
      `${source}: the monitor state ${statePath} was not made from SLCs (monitor-init --slc); give --coherence`,
    );
  const prev = state.pairs[state.pairs.length - 1]!;
  if (prev.second !== from.last.date) {
    throw new DpmError(
      `${source}: the state's last pair ${prev.first}_${prev.second} was given with --coherence, so its last SLC ` +
        `${from.last.path} is not the first acquisition of the next pair; continue with --coherence`,
    );
  }
  if (params.nodata !== undefined) throw new DpmError('--nodata is for coherence files, not with --slc');
  const [only] = slc;
  const folder = slc.length === 1 && only !== undefined && existsSync(only) && statSync(only).isDirectory();
  if (!folder && slc.length !== 1) throw new DpmError(`${source}: give one new SLC file, or a stack folder`);
  // a single file is dated against the state's last SLC; a folder's newest acquisition is the new one
  const { found } = await discoverSlcStack(folder ? slc : [from.last.path, ...slc], fb);
  const newest = found.entries.at(-1)!;
  if (newest.date <= from.last.date) {
    throw new DpmError(
      `${source}: the newest acquisition ${newest.date} does not follow the state's last SLC ` +
        `${from.last.date} (${from.last.path})`,
    );
  }
  const skipped = found.entries.filter((e) => e.date > from.last.date && e.date < newest.date).length;
  if (skipped)
    fb.log('warning', `${source}: ${skipped} acquisition(s) between ${from.last.date} and ${newest.date} left out`);
  const { stack } = await coherenceStackFromSlc(
    { slc: [from.last.path, newest.path], layout: parseChipLayout(from.chip, from.stride), window: from.window },
    fb,
  );
  return { stack, source, newSlc: { path: resolve(newest.path), date: newest.date } };
}

export const initAlgorithm: Algorithm<'monitor-init'> = { id: 'monitor-init', run: init };
export const updateAlgorithm: Algorithm<'monitor-update'> = { id: 'monitor-update', run: update };
