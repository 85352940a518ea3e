// Picks the U-Net engine as select.ts picks the forecaster's (device auto|gpu|cpu|software|reference): the WGSL engine
// (host/gpu/unet-engine.ts) on a hardware adapter, the WebAssembly engine (host/cpu/unet-engine.ts) without one.
import type { UNetConfig } from '../model/unet/config.js';
import type { UNetEngine } from '../model/unet/engine.js';
import { createReferenceUNetEngine } from '../model/unet/reference-engine.js';
import type { BackendChoice } from '../gpu/backends.js';
import { type EngineOptions, openChoice, parseDevice, type Selection } from './select.js';

export type UNetEngineOptions = Pick<EngineOptions, 'device' | 'threads' | 'simd' | 'feedback'> & {
  /** the GPU engine's backend on a software adapter (opengles, vulkan …) */
  backend?: BackendChoice;
};

export type UNetEngineSelection = Selection<UNetEngine>;

/** Opens the U-Net engine the options ask for and logs which one runs and why. */
export async function createUNetEngine(config: UNetConfig, opts: UNetEngineOptions = {}): Promise<UNetEngineSelection> {
  const sel = await openChoice<UNetEngine>(parseDevice(opts.device), {
    reference: () => createReferenceUNetEngine(config),
    cpu: async () => {
      // loaded lazily: only the engine that runs is loaded (Dawn starts only for a GPU engine)
      const { createCpuUNetEngine } = await import('../cpu/unet-engine.js');
      return createCpuUNetEngine(config, { threads: opts.threads, simd: opts.simd });
    },
    gpu: async (device) => {
      const { createGpuUNetEngine } = await import('../gpu/unet-engine.js');
      return createGpuUNetEngine(config, { device, backend: opts.backend });
    },
  });
  opts.feedback?.log('info', `U-Net engine: ${sel.engine.description} — ${sel.reason}`);
  return sel;
}
