// Runs one algorithm by id with raw parameter values: the single entry point of the CLI, the worker and the API.
import type { Feedback } from '../core/feedback.js';
import type { Outputs } from './algorithm.js';
import { runRaw, type RunOptions } from './invoke.js';
import { checkedAlgorithmId, loadAlgorithm } from './registry.js';

export type { RunOptions } from './invoke.js';

export async function execute(
  id: string,
  raw: Record<string, unknown>,
  feedback: Feedback,
  options: RunOptions = {},
): Promise<Outputs> {
  return runRaw(await loadAlgorithm(checkedAlgorithmId(id)), raw, feedback, options);
}
