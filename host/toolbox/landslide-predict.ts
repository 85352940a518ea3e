// `dpm landslide-predict --cube C --model M --out prob.tif`: the landslide probability of a trained U-Net over the
// whole cube (the model's inputs and standardisation from its metadata; overlapping tiles blended by
// host/model/unet/predict.ts), a single-band float32 COG on the cube grid with a QGIS style beside it.
import type { Algorithm, AlgorithmParams, Outputs } from './algorithm.js';
import { DpmError } from '../core/errors.js';
import { stage, type Feedback } from '../core/feedback.js';
import { withOutputs } from '../io/outputs.js';
import { qmlPath } from '../io/qml.js';
import { writeFileSync } from 'node:fs';
import { writeGeoTiff } from '../raster/geotiff.js';
import { createUNetEngine } from '../engines/unet.js';
import { loadLandslideCube } from '../landslide/cube.js';
import { ROLE_TEST } from '../landslide/chips.js';
import { decodeInputs, INPUTS_METADATA_KEY, modelSplit, predictionStack, scoreOnRole } from '../landslide/unet.js';
import { loadUNetModel } from '../model/unet/model-file.js';
import { describeInputs, predictProbability, probabilityStyleQml } from './landslide-unet.js';

async function run(p: AlgorithmParams['landslide-predict'], fb: Feedback): Promise<Outputs> {
  const model = loadUNetModel(p.model);
  const inputs = decodeInputs(model.metadata[INPUTS_METADATA_KEY], p.model);
  const loaded = await loadLandslideCube(p.cube, { dem: p.dem });
  const eventDate = p['event-date'] ?? loaded.eventDate;
  if (!eventDate) throw new DpmError(`${p.cube}: no event_date attribute; give --event-date YYYYMMDD`);
  if (model.config.inChannels !== inputs.stats.channels.length)
    throw new DpmError(
      `${p.model}: ${model.config.inChannels} input channels but ${inputs.stats.channels.length} named`,
    );
  const stack = predictionStack(loaded, eventDate, { ...inputs, eventDate });
  fb.log('info', `${p.model}: ${describeInputs({ ...inputs, eventDate })}`);
  const { engine } = await createUNetEngine(model.config, { device: p.device, threads: p.threads, feedback: fb });
  let probability: Float32Array;
  try {
    await engine.setParams(model.params);
    await engine.setBuffers(model.buffers);
    probability = await predictProbability(engine, stack, inputs.chip, stage(fb, 0, 95, 'prediction'));
  } finally {
    engine.destroy();
  }
  let testAuprc = NaN;
  const truth = loaded.cube.landslides;
  if (truth) {
    const t = scoreOnRole(probability, truth, modelSplit(loaded, inputs), ROLE_TEST);
    testAuprc = t.auprc;
    fb.log('info', `the model's test blocks: AUPRC ${t.auprc.toFixed(3)} (landslide share ${t.prevalence.toFixed(3)})`);
  }
  await withOutputs(async (outs) => {
    await writeGeoTiff(outs.path(p.out), {
      width: loaded.cube.width,
      height: loaded.cube.height,
      bands: [probability],
      descriptions: ['landslide probability (U-Net)'],
      georef: loaded.cube.georef,
      metadata: {
        DPM_METHOD: 'unet',
        DPM_EVENT_DATE: eventDate,
        DPM_INPUTS: inputs.sources.join(','),
        DPM_PASSES: String(inputs.passes),
      },
    });
    writeFileSync(outs.path(qmlPath(p.out)), probabilityStyleQml());
  }, fb);
  return { out: p.out, 'test-auprc': testAuprc };
}

export const algorithm: Algorithm<'landslide-predict'> = { id: 'landslide-predict', run };
