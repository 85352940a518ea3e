// Runs one algorithm by id with raw parameter values: the single entry point of the CLI, the worker and the API.
import type { Feedback } from '../core/feedback.js';
import type { Outputs } from './algorithm.js';
import { runRaw } from './invoke.js';
import { checkedAlgorithmId, loadAlgorithm } from './registry.js';

export async function execute(id: string, raw: Record<string, unknown>, feedback: Feedback): Promise<Outputs> {
  return runRaw(await loadAlgorithm(checkedAlgorithmId(id)), raw, feedback);
}
