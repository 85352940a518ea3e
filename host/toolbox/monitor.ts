// `dpm monitor-init` and `dpm monitor-update`: map each new acquisition within minutes of its arrival
// (host/monitor/state.ts: one GRU step per pixel from the kept state; host/monitor/alerts.ts: the alert rules).
import { join, resolve } from 'node:path';
import { DpmError } from '../core/errors.js';
import { stage, type Feedback } from '../core/feedback.js';
import { withOutputs } from '../io/outputs.js';
import { writeStyle } from '../io/qml.js';
import { modelSigmaScale } from '../model/forecast.js';
import { GruStepper } from '../model/step.js';
import { modelTimeFeatures } from '../model/series.js';
import { loadModel } from '../model/safetensors.js';
import { ALERT_NAMES, alertCounts, applyPass } from '../monitor/alerts.js';
import { advanceMonitor, initMonitor, readMonitorState, writeMonitorState } from '../monitor/state.js';
import { writeRaster } from '../raster/geotiff.js';
import { dpmStyleQml } from '../raster/png-map.js';
import { readCoherenceStack } from '../raster/stack.js';
import type { Algorithm, AlgorithmParams } from './algorithm.js';

async function init(params: AlgorithmParams['monitor-init'], fb: Feedback) {
  const model = loadModel(params.model);
  const timeFeatures = modelTimeFeatures(model.config.features, model.training, `--model ${params.model}`);
  const stack = await readCoherenceStack(params.coherence, {
    nodata: params.nodata,
    feedback: stage(fb, 0, 10, 'reading'),
  });
  const rules = { z: params['alert-z'], confirm: params.confirm, drop: params.drop, finish: params.finish };
  const stepper = new GruStepper(model.config, model.params);
  const scale = modelSigmaScale(model.training, `--model ${params.model}`);
  const state = await initMonitor(stepper, model.params, stack, timeFeatures, rules, scale, stage(fb, 10, 95, 'state'));
  await withOutputs(async (outs) => writeMonitorState(outs.path(params.state), state, false), fb);
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
  const state = readMonitorState(statePath);
  const stack = await readCoherenceStack(params.coherence, {
    nodata: params.nodata,
    feedback: stage(fb, 0, 10, 'reading'),
  });
  if (stack.bands.length !== 1 || stack.pairs.length !== 1)
    throw new DpmError(`--coherence ${params.coherence.join(', ')}: give one pair (found ${stack.bands.length} bands)`);
  if (stack.width !== state.width || stack.height !== state.height) {
    throw new DpmError(
      `--coherence ${params.coherence.join(', ')}: ${stack.width} × ${stack.height} pixels, but the monitor state ${statePath} ` +
        `has ${state.width} × ${state.height}`,
    );
  }
  const pair = stack.pairs[0]!;
  // the state carries the model: no model file needed
  const r = await advanceMonitor(state, stack.bands[0]!, pair, stage(fb, 10, 85, 'one GRU step'), params.threads);
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
    writeMonitorState(outs.path(outState, { advances: inPlace }), state, false);
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

export const initAlgorithm: Algorithm<'monitor-init'> = { id: 'monitor-init', run: init };
export const updateAlgorithm: Algorithm<'monitor-update'> = { id: 'monitor-update', run: update };
