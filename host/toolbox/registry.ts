// The algorithms the code provides, by manifest id. Loaded lazily so the CLI starts fast.
// test/manifest.test.ts keeps this list equal to plugin-manifest.json.
import type { Algorithm } from './algorithm.js';
import { DpmError } from '../errors.js';

type Loader = () => Promise<Algorithm>;

export const registry: Record<string, Loader> = {
  // one line per algorithm: 'id': async () => (await import('./<module>.js')).algorithm,
};

export async function loadAlgorithm(id: string): Promise<Algorithm> {
  const load = registry[id];
  if (!load) throw new DpmError(`unknown algorithm '${id}'`);
  const alg = await load();
  if (alg.id !== id) throw new Error(`internal: registry entry '${id}' loads algorithm '${alg.id}'`);
  return alg;
}
