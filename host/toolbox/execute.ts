// Runs one algorithm by id with raw parameter values: the single entry point of the CLI, the worker and the API.
import { algorithmSpec, resolveParams } from './manifest.js';
import { loadAlgorithm } from './registry.js';
import type { Feedback } from './feedback.js';
import type { Outputs } from './algorithm.js';

export async function execute(id: string, raw: Record<string, unknown>, feedback: Feedback): Promise<Outputs> {
  const spec = algorithmSpec(id);
  const params = resolveParams(spec, raw);
  const alg = await loadAlgorithm(id);
  return alg.run(params, feedback);
}
