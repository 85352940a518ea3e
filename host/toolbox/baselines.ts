// The baseline damage proxies (host/baselines/baselines.ts) as toolbox algorithms: one float32 GeoTIFF each, on the
// coherence stack's grid with its georeferencing (lat/lon companions in radar geometry), NaN = nodata.
import type { Algorithm, AlgorithmParams } from './algorithm.js';
import { stage, type Feedback } from '../core/feedback.js';
import { withOutputs } from '../io/outputs.js';
import { chipLayoutMetadata, readCoherenceStack } from '../raster/stack.js';
import { writeRaster } from '../raster/geotiff.js';
import { divergingQml, writeStyle } from '../io/qml.js';
import { splitBands } from '../model/series.js';
import { computeBaseline, describeBaseline, DEFAULT_SIGMA_MIN, type BaselineMethod } from '../baselines/baselines.js';

/** The parameters every baseline takes (baseline-zscore adds sigma-min). */
type BaselineParams = AlgorithmParams['baseline-ccd'] & { readonly 'sigma-min'?: number };

/** Reads the stack, splits it at the event, computes `method` and writes `output`. */
export async function runBaseline(
  method: BaselineMethod,
  p: BaselineParams,
  fb: Feedback,
): Promise<{ output: string }> {
  const stack = await readCoherenceStack(p.coherence, {
    nodata: p.nodata,
    align: p['align-grids'],
    feedback: stage(fb, 0, 60, 'reading the coherence stack'),
  });
  const split = splitBands(stack, { preEventBands: p['pre-event-bands'], eventDate: p['event-date'] }, true);
  fb.log('info', split.describe);
  const sigmaMin = p['sigma-min'] ?? DEFAULT_SIGMA_MIN;
  const band = await computeBaseline(method, stack, split, { sigmaMin, feedback: stage(fb, 60, 90, method) });
  let valid = 0;
  for (const v of band) if (!Number.isNaN(v)) valid++;
  fb.log('info', `${method}: ${valid} of ${band.length} pixels have a value`);
  const { output } = p;
  await withOutputs(async (outs) => {
    await writeRaster(outs, output, {
      width: stack.width,
      height: stack.height,
      bands: [band],
      descriptions: [describeBaseline(method, stack, split, sigmaMin)],
      georef: stack.georef,
      metadata: { DPM_METHOD: method, ...chipLayoutMetadata(stack.metadata) },
    });
    // coherence differences diverge around 0 (red = loss); CCD rarely leaves ±0.5, ND spans ±1
    if (method === 'ccd' || method === 'nd') writeStyle(outs, output, divergingQml(method === 'ccd' ? 0.5 : 1));
  }, fb);
  fb.progress(100, 'done');
  return { output };
}

type BaselineId = 'baseline-ccd' | 'baseline-nd' | 'baseline-zscore' | 'baseline-percentile';
const make = <Id extends BaselineId>(id: Id, method: BaselineMethod): Algorithm<Id> => ({
  id,
  run: (p, fb) => runBaseline(method, p, fb),
});

export const ccdAlgorithm = make('baseline-ccd', 'ccd');
export const ndAlgorithm = make('baseline-nd', 'nd');
export const zscoreAlgorithm = make('baseline-zscore', 'zscore');
export const percentileAlgorithm = make('baseline-percentile', 'percentile');
