// The algorithms the code provides, by manifest id. Loaded lazily so the CLI starts fast.
// test/manifest.test.ts keeps this list equal to plugin-manifest.json.
import { DpmError } from '../core/errors.js';
import type { Algorithm, AlgorithmId } from './algorithm.js';
import { isAlgorithmId } from './manifest.js';

type Registry = { [Id in AlgorithmId]: () => Promise<Algorithm<Id>> };

export const registry: Registry = {
  // one line per algorithm: 'id': async () => (await import('./<module>.js')).algorithm,
  coherence: async () => (await import('./coherence.js')).algorithm,
  simulate: async () => (await import('./simulate.js')).algorithm,
  train: async () => (await import('./train.js')).algorithm,
  forecast: async () => (await import('./forecast.js')).algorithm,
  evaluate: async () => (await import('./evaluate.js')).algorithm,
  inspect: async () => (await import('./inspect.js')).algorithm,
  'export-model': async () => (await import('./export-model.js')).algorithm,
  'baseline-ccd': async () => (await import('./baselines.js')).ccdAlgorithm,
  'baseline-nd': async () => (await import('./baselines.js')).ndAlgorithm,
  'baseline-zscore': async () => (await import('./baselines.js')).zscoreAlgorithm,
  'baseline-percentile': async () => (await import('./baselines.js')).percentileAlgorithm,
  'validate-points': async () => (await import('./validate-points.js')).algorithm,
  buildings: async () => (await import('./buildings.js')).algorithm,
  dpm2: async () => (await import('./dpm2.js')).algorithm,
  run: async () => (await import('./run.js')).algorithm,
  demo: async () => (await import('./demo.js')).algorithm,
  'cube-info': async () => (await import('./cube-info.js')).algorithm,
  terrain: async () => (await import('./terrain.js')).algorithm,
  landslide: async () => (await import('./landslide.js')).algorithm,
  'landslide-train': async () => (await import('./landslide-train.js')).algorithm,
  'landslide-predict': async () => (await import('./landslide-predict.js')).algorithm,
  'landslide-ablation': async () => (await import('./landslide-ablation.js')).algorithm,
  calibrate: async () => (await import('./calibrate.js')).algorithm,
  'monitor-init': async () => (await import('./monitor.js')).initAlgorithm,
  'monitor-update': async () => (await import('./monitor.js')).updateAlgorithm,
};

export async function loadAlgorithm<Id extends AlgorithmId>(id: Id): Promise<Algorithm<Id>> {
  const load: () => Promise<Algorithm<Id>> = registry[id];
  const alg = await load();
  if (alg.id !== id) throw new Error(`internal: registry entry '${id}' loads algorithm '${alg.id}'`);
  return alg;
}

export function checkedAlgorithmId(id: string): AlgorithmId {
  if (!isAlgorithmId(id)) throw new DpmError(`unknown algorithm '${id}'`);
  return id;
}
