// Fresh weights as PyTorch initialises them: nn.GRU draws every tensor from U(−1/√H, 1/√H); nn.Linear draws the
// weight (kaiming_uniform, a = √5) and the bias from U(−1/√fan_in, 1/√fan_in). Seeded, float32.
import { paramCount, paramLayout, type ModelConfig } from './params.js';
import type { Rng } from './rng.js';

export function initParams(config: ModelConfig, rng: Rng): Float32Array {
  const out = new Float32Array(paramCount(config));
  for (const s of paramLayout(config)) {
    let fanIn: number;
    if (s.name.startsWith('rnn.')) fanIn = config.hidden;
    else if (s.name.startsWith('dec_fc.0')) fanIn = config.hidden;
    else fanIn = config.mlp; // dec_fc.2, dec_fc.4, dec_mean, dec_logvar
    const bound = 1 / Math.sqrt(fanIn);
    for (let i = 0; i < s.size; i++) out[s.offset + i] = rng.uniform(-bound, bound);
  }
  return out;
}
