// Toolbox algorithm `export-model`: a trained model as a PyTorch state_dict file (host/model/torch-pth.ts).
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Algorithm } from './algorithm.js';
import { withOutputs } from '../io/outputs.js';
import { loadModel } from '../model/safetensors.js';
import { encodeStateDict } from '../model/torch-pth.js';

export const algorithm: Algorithm<'export-model'> = {
  id: 'export-model',
  async run(p, feedback) {
    const model = loadModel(p.model);
    const stem = basename(p.out).replace(/\.[^.]*$/, '') || 'archive';
    await withOutputs(async (outs) => {
      writeFileSync(outs.path(p.out), encodeStateDict(model.config, model.params, stem));
    }, feedback);
    feedback.log(
      'info',
      `${p.out}: ${model.params.length} parameters (hidden ${model.config.hidden}, mlp ${model.config.mlp})`,
    );
    return { out: p.out, parameters: model.params.length };
  },
};
