// Picks the forecaster implementation: the WGSL engine on a WebGPU device (auto | hardware | software, env
// DPM_DEVICE), or `cpu` = the float64 TypeScript reference (slow; rounds its state to float32 after every step
// so that checkpoints resume exactly).
import { DpmError } from '../errors.js';
import type { Feedback } from '../toolbox/feedback.js';
import type { ForecasterEngine } from './engine.js';
import type { ModelConfig } from './params.js';
import { ReferenceEngine } from './reference.js';

export type EngineChoice = 'auto' | 'hardware' | 'software' | 'cpu';
export const ENGINE_CHOICES: readonly EngineChoice[] = ['auto', 'hardware', 'software', 'cpu'];

/** `choice` undefined → env DPM_DEVICE → auto */
export function resolveEngineChoice(choice: string | undefined): EngineChoice {
  const c = choice ?? process.env.DPM_DEVICE ?? 'auto';
  if (!(ENGINE_CHOICES as readonly string[]).includes(c)) {
    throw new DpmError(`--device: '${c}' is not one of ${ENGINE_CHOICES.join(', ')} (option --device or env DPM_DEVICE)`);
  }
  return c as EngineChoice;
}

export async function createEngine(config: ModelConfig, choice: string | undefined, feedback?: Feedback): Promise<ForecasterEngine> {
  const c = resolveEngineChoice(choice);
  let engine: ForecasterEngine;
  if (c === 'cpu') {
    engine = new ReferenceEngine(config, { storeFloat32: true });
  } else {
    // loaded lazily: Dawn starts only when a GPU engine is wanted
    const { createGpuEngine } = await import('../gpu/forecaster.js');
    engine = await createGpuEngine(config, { device: c });
  }
  feedback?.log('info', `forecaster engine: ${engine.description}`);
  return engine;
}
