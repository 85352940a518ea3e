// Runs an algorithm object with its parameters checked and completed by the manifest, as a CLI call would. Composed
// algorithms (run, demo) call their stages through invoke() with typed inputs; it never goes through the registry,
// so the registry can load them without an import cycle.
//
// Every run is guarded: its input paths (raster, vector, file and folder parameters) are protected from its outputs,
// and each output folder (folderDestination) is locked for the run (host/io/outputs.ts).
import type { Feedback } from '../core/feedback.js';
import { checkNotInput, lockOutputFolder, withOutputPolicy } from '../io/outputs.js';
import type { Algorithm, AlgorithmId, AlgorithmInputs, Outputs } from './algorithm.js';
import { algorithmSpec, resolveAlgorithmParams } from './manifest.js';

/** How a front end (CLI, worker, API) runs an algorithm. */
export interface RunOptions {
  /** replace existing outputs (the CLI's --overwrite; the QGIS bridge passes it since QGIS asked the user) */
  overwrite?: boolean;
}

/** A stage of a composed algorithm: typed inputs (defaults may be left out). */
export function invoke<Id extends AlgorithmId>(
  alg: Algorithm<Id>,
  input: AlgorithmInputs[Id],
  feedback: Feedback,
): Promise<Outputs> {
  return runRaw(alg, { ...input }, feedback);
}

const INPUT_TYPES = new Set(['raster', 'vector', 'file', 'folder']);

/** Raw values (CLI strings, JSON from QGIS) for `alg`. */
export async function runRaw<Id extends AlgorithmId>(
  alg: Algorithm<Id>,
  raw: Record<string, unknown>,
  feedback: Feedback,
  options: RunOptions = {},
): Promise<Outputs> {
  const params = resolveAlgorithmParams(alg.id, raw);
  const values = params as unknown as Record<string, unknown>;
  const spec = algorithmSpec(alg.id);
  const inputs: string[] = [];
  const outDirs: string[] = [];
  for (const p of spec.parameters) {
    const v = values[p.name];
    const paths = (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string' && x !== '');
    if (INPUT_TYPES.has(p.type) && !p.updatedInPlace) inputs.push(...paths);
    if (p.type === 'folderDestination') outDirs.push(...paths);
  }
  // before anything is created: an output folder that is an input would get the lock file and a run's state
  for (const p of spec.parameters) {
    const v = values[p.name];
    if (p.type.endsWith('Destination') && typeof v === 'string' && v !== '') checkNotInput(v, inputs);
  }
  return withOutputPolicy({ inputs, overwrite: options.overwrite }, async () => {
    const releases: (() => void)[] = [];
    try {
      for (const dir of outDirs) releases.push(lockOutputFolder(dir, alg.id));
      return await alg.run(params, feedback);
    } finally {
      for (const r of releases.reverse()) r();
    }
  });
}
