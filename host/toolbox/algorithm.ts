import type { Feedback } from '../core/feedback.js';
import type { AlgorithmId, AlgorithmParams } from './params.generated.js';

export type { AlgorithmId, AlgorithmInputs, AlgorithmParams } from './params.generated.js';
/** Output values keyed by the manifest's output names (paths, numbers, strings). */
export type Outputs = Record<string, unknown>;

/** One toolbox algorithm. Its parameters and outputs are declared in plugin-manifest.json under the same id; it
 *  receives its parameters typed (params.generated.ts), checked and with defaults filled by resolveParams. */
export interface Algorithm<Id extends AlgorithmId = AlgorithmId> {
  id: Id;
  run(params: AlgorithmParams[Id], feedback: Feedback): Promise<Outputs>;
}
