import type { Feedback } from './feedback.js';

/** Parameter values after resolveParams: keys are the manifest's parameter names. */
export type Params = Record<string, unknown>;
/** Output values keyed by the manifest's output names (paths, numbers, strings). */
export type Outputs = Record<string, unknown>;

/** One toolbox algorithm. Its parameters and outputs are declared in plugin-manifest.json under the same id. */
export interface Algorithm {
  id: string;
  run(params: Params, feedback: Feedback): Promise<Outputs>;
}
