// Runs an algorithm object with its parameters checked and completed by the manifest, as a CLI call would. Composed
// algorithms (run, demo) call their stages through invoke() with typed inputs; it never goes through the registry,
// so the registry can load them without an import cycle.
import type { Feedback } from '../core/feedback.js';
import type { Algorithm, AlgorithmId, AlgorithmInputs, Outputs } from './algorithm.js';
import { resolveAlgorithmParams } from './manifest.js';

/** A stage of a composed algorithm: typed inputs (defaults may be left out). */
export function invoke<Id extends AlgorithmId>(
  alg: Algorithm<Id>,
  input: AlgorithmInputs[Id],
  feedback: Feedback,
): Promise<Outputs> {
  return runRaw(alg, { ...input }, feedback);
}

/** Raw values (CLI strings, JSON from QGIS) for `alg`. */
export function runRaw<Id extends AlgorithmId>(
  alg: Algorithm<Id>,
  raw: Record<string, unknown>,
  feedback: Feedback,
): Promise<Outputs> {
  return alg.run(resolveAlgorithmParams(alg.id, raw), feedback);
}
