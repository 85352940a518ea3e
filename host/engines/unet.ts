// Picks the U-Net engine, as select.ts picks the forecaster's: device auto|gpu|cpu|software|reference. The WebAssembly
// (host/cpu/unet-engine.ts) and WGSL (host/gpu/unet-engine.ts) engines are wired in here at merge; until then every
// choice opens the float64 reference and says so in `reason`.
import type { UNetConfig } from '../model/unet/config.js';
import type { UNetEngine } from '../model/unet/engine.js';
import { createReferenceUNetEngine } from '../model/unet/reference-engine.js';
import { type EngineKind, type EngineLog, parseDevice } from './select.js';

export interface UNetEngineOptions {
  /** auto (default), gpu, cpu, software, reference */
  device?: string;
  /** CPU engine threads (default: os.availableParallelism()) */
  threads?: number;
  feedback?: EngineLog;
}

export interface UNetEngineSelection {
  engine: UNetEngine;
  kind: EngineKind;
  /** why this engine: "--device reference (float64, slow)" … */
  reason: string;
}

/** Opens the U-Net engine the options ask for and logs which one runs and why. */
export async function createUNetEngine(config: UNetConfig, opts: UNetEngineOptions = {}): Promise<UNetEngineSelection> {
  const choice = parseDevice(opts.device);
  const sel: UNetEngineSelection =
    choice === 'reference'
      ? { engine: createReferenceUNetEngine(config), kind: 'reference', reason: '--device reference (float64, slow)' }
      : {
          engine: createReferenceUNetEngine(config),
          kind: 'reference',
          reason: `--device ${choice}: no ${choice} U-Net engine in this build, the float64 reference runs (slow)`,
        };
  opts.feedback?.log('info', `U-Net engine: ${sel.engine.description} — ${sel.reason}`);
  return sel;
}
