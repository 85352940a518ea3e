// `dpm forecast`: the trained model's forecast of the co-event coherence per pixel and its z-score.
// Writes zscore.tif, mu.tif, sigma.tif (logit space), expected_coherence.tif, and with --series the one-step
// forecasts of every band (mu_series.tif, sigma_series.tif, zscore_series.tif; last band = the co-event pair).
import { join } from 'node:path';
import { DAMAGE_Z, DAMAGE_Z_SOURCE } from '../core/defaults.js';
import { greyQml, writeStyle } from '../io/qml.js';
import { dpmStyleQml } from '../raster/png-map.js';
import type { Algorithm, AlgorithmParams } from './algorithm.js';
import { stage, type Feedback } from '../core/feedback.js';
import { withOutputs } from '../io/outputs.js';
import { chipLayoutMetadata, readCoherenceStack } from '../raster/stack.js';
import { writeRaster } from '../raster/geotiff.js';
import type { Raster } from '../raster/types.js';
import { buildSeries, logitToCoherence, modelTimeFeatures, splitBands } from '../model/series.js';
import { forecastSequences, modelSigmaScale } from '../model/forecast.js';
import { createEngine, engineOptions } from '../engines/select.js';
import { loadModel } from '../model/safetensors.js';

async function run(params: AlgorithmParams['forecast'], fb: Feedback) {
  const modelPath = params.model;
  const model = loadModel(modelPath);
  const timeFeatures = modelTimeFeatures(model.config.features, model.training, `--model ${modelPath}`);
  const stack = await readCoherenceStack(params.coherence, {
    nodata: params.nodata,
    align: params['align-grids'],
    feedback: stage(fb, 0, 5, 'reading'),
  });
  const split = splitBands(stack, { preEventBands: params['pre-event-bands'], eventDate: params['event-date'] }, true);
  const series = buildSeries(stack, split, fb, timeFeatures);
  const trainedT = model.training?.T;
  if (typeof trainedT === 'number' && trainedT !== series.T) {
    fb.log('warning', `the model was trained on ${trainedT} pre-event steps; forecasting from ${series.T}`);
  }
  const engine = await createEngine(model.config, engineOptions(params, fb));
  const dir = params['out-dir'];
  try {
    await engine.setParams(model.params);
    return await withOutputs(async (outs) => {
      const r = await forecastSequences(engine, series.x, series.N, series.T, {
        obs: series.obs,
        series: params.series,
        sigmaScale: modelSigmaScale(model.training, `--model ${modelPath}`),
        feedback: stage(fb, 5, 90, 'forecast'),
      });
      const co = stack.descriptions[split.coEvent!] ?? `band ${split.coEvent! + 1}`;
      const raster = (bands: Float32Array[], descriptions: string[]): Raster => ({
        width: stack.width,
        height: stack.height,
        bands,
        descriptions,
        georef: stack.georef,
        metadata: chipLayoutMetadata(stack.metadata),
      });
      const expected = r.mu.map(logitToCoherence);
      const written: Record<string, string> = {};
      // band units (GDAL unit type): x = log(γ²/(1−γ²)) for mu and sigma, standard deviations for z
      const put = async (key: string, file: string, bands: Float32Array[], descriptions: string[], unit: string) => {
        const path = join(dir, file);
        await writeRaster(outs, path, raster(bands, descriptions), { nodata: NaN, units: [unit] });
        written[key] = path;
      };
      await put('zscore', 'zscore.tif', [r.z], [`z-score (mu - x)/sigma of ${co}`], 'sigma');
      await put('mu', 'mu.tif', [r.mu], [`forecast mean of logit coherence, ${co}`], 'logit coherence');
      await put(
        'sigma',
        'sigma.tif',
        [r.sigma],
        [`forecast standard deviation of logit coherence, ${co}`],
        'logit coherence',
      );
      await put('expected-coherence', 'expected_coherence.tif', [expected], [`expected coherence, ${co}`], 'coherence');
      // styles QGIS applies by itself: the z-score as dpm.png at the default threshold, coherence in grey
      writeStyle(outs, join(dir, 'zscore.tif'), dpmStyleQml(DAMAGE_Z));
      writeStyle(outs, join(dir, 'expected_coherence.tif'), greyQml(0, 1));
      if (r.series) {
        const T1 = series.T + 1,
          N = series.N;
        const labels = [...split.pre, split.coEvent!].map((k) => stack.descriptions[k] ?? `band ${k + 1}`);
        const unpack = (a: Float32Array) =>
          Array.from({ length: T1 }, (_, k) => {
            const b = new Float32Array(N);
            for (let i = 0; i < N; i++) b[i] = a[i * T1 + k]!;
            return b;
          });
        await put('mu-series', 'mu_series.tif', unpack(r.series.mu), labels, 'logit coherence');
        await put('sigma-series', 'sigma_series.tif', unpack(r.series.sigma), labels, 'logit coherence');
        await put('zscore-series', 'zscore_series.tif', unpack(r.series.z), labels, 'sigma');
      }
      let valid = 0,
        above = 0;
      for (const z of r.z) {
        if (Number.isNaN(z)) continue;
        valid++;
        if (z >= DAMAGE_Z) above++;
      }
      fb.log(
        'info',
        `${series.N - r.nUnusable} pixels forecast, ${valid} of them with a co-event value (z-score); ` +
          `${r.nUnusable} left out (fewer than 2 valid pre-event values); ` +
          `${above} (${valid ? ((100 * above) / valid).toFixed(3) : '0'} %) with z ≥ ${DAMAGE_Z}, ${DAMAGE_Z_SOURCE}`,
      );
      fb.progress(100);
      return {
        ...written,
        pixels: valid,
        'unusable-pixels': r.nUnusable,
        'anomalous-fraction': valid ? above / valid : null,
      };
    }, fb);
  } finally {
    engine.destroy();
  }
}

export const algorithm: Algorithm<'forecast'> = { id: 'forecast', run };
