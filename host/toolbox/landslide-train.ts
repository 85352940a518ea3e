// `dpm landslide-train --cube C --out model.safetensors`: papers/003's supervised U-Net on chips of a landslide
// datacube (inputs, spatial split and chips: host/landslide/chips.ts; training loop: host/model/unet/train.ts).
// Writes the best-validation weights with the inputs' description and standardisation in the model's metadata, and
// the per-epoch history beside it (<stem>.history.csv/.svg/.png).
import { existsSync, rmSync } from 'node:fs';
import type { Algorithm, AlgorithmParams, Outputs } from './algorithm.js';
import { CanceledError, DpmError } from '../core/errors.js';
import { stage, type Feedback } from '../core/feedback.js';
import { withOutputs } from '../io/outputs.js';
import { packageVersion } from '../paths.js';
import { createUNetEngine } from '../engines/unet.js';
import { loadLandslideCube } from '../landslide/cube.js';
import { parseInputs, ROLE_VALIDATION } from '../landslide/chips.js';
import { encodeInputs, INPUTS_METADATA_KEY, prepareLandslideData, scoreOnRole } from '../landslide/unet.js';
import { saveUNetModel } from '../model/unet/model-file.js';
import { checkpointPath } from './train.js';
import { describeInputs, fitUNet, predictProbability, unetConfig, writeUNetHistory } from './landslide-unet.js';

async function run(p: AlgorithmParams['landslide-train'], fb: Feedback): Promise<Outputs> {
  const { out } = p;
  if (!/\.safetensors$/i.test(out)) throw new DpmError(`--out ${out}: the model file must end in .safetensors`);
  const loaded = await loadLandslideCube(p.cube, { dem: p.dem, truth: p.truth });
  const eventDate = p['event-date'] ?? loaded.eventDate;
  if (!eventDate) throw new DpmError(`${p.cube}: no event_date attribute; give --event-date YYYYMMDD`);
  const data = prepareLandslideData(loaded, eventDate, {
    sources: parseInputs(p.inputs.join(',')),
    passes: p.passes,
    chip: p.chip,
    block: p.block ?? p.chip,
    testFraction: p['test-fraction'],
    valFraction: p['val-fraction'],
    seed: p.seed,
  });
  const config = unetConfig(p, data.stack.C);
  fb.log('info', `inputs: ${describeInputs(data.inputs)}; U-Net width ${config.width}, depth ${config.depth}`);
  const { engine } = await createUNetEngine(config, { device: p.device, threads: p.threads, feedback: fb });
  const checkpoint = p.checkpoint ?? checkpointPath(out);
  if (!p.resume && existsSync(checkpoint))
    fb.log('warning', `${checkpoint} exists and will be overwritten (use --resume to continue from it)`);
  try {
    const r = await fitUNet(
      engine,
      data,
      { epochs: p.epochs, batchSize: p['batch-size'], lr: p.lr, seed: p.seed, checkpoint, resume: p.resume },
      stage(fb, 0, 90, 'training'),
    );
    const probability = await predictProbability(engine, data.stack, p.chip, stage(fb, 90, 99, 'validation map'));
    const val = scoreOnRole(probability, loaded.cube.landslides!, data.split, ROLE_VALIDATION);
    fb.log('info', `validation blocks: AUPRC ${val.auprc.toFixed(3)} (landslide share ${val.prevalence.toFixed(3)})`);
    const history = await withOutputs(async (outs) => {
      const training = {
        software: 'insar-dpm',
        version: packageVersion,
        engine: engine.description,
        epochs: p.epochs,
        batchSize: p['batch-size'],
        lr: p.lr,
        bestEpoch: r.bestEpoch,
        bestValLoss: r.bestValLoss,
        validationAuprc: val.auprc,
        trainChips: data.train.B,
        validationChips: data.validation.B,
        blocks: { train: data.split.trainBlocks, validation: data.split.validationBlocks, test: data.split.testBlocks },
      };
      saveUNetModel(
        outs.path(out),
        {
          config,
          ...r.best,
          training,
          metadata: { [INPUTS_METADATA_KEY]: encodeInputs(data.inputs) },
        },
        false,
      );
      return writeUNetHistory(outs, out, r.history);
    }, fb);
    rmSync(checkpoint, { force: true }); // finished: nothing left to resume
    return {
      model: out,
      history,
      'best-epoch': r.bestEpoch,
      'validation-loss': r.bestValLoss,
      'validation-auprc': val.auprc,
    };
  } catch (err) {
    if (err instanceof CanceledError && existsSync(checkpoint))
      fb.log('info', `checkpoint of the last finished epoch kept at ${checkpoint}: continue with --resume`);
    throw err;
  } finally {
    engine.destroy();
  }
}

export const algorithm: Algorithm<'landslide-train'> = { id: 'landslide-train', run };
