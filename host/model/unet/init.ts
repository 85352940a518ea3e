// Fresh U-Net weights as PyTorch initialises them (seeded, our Rng instead of torch's): nn.Conv2d and
// nn.ConvTranspose2d draw weight (kaiming_uniform, a = √5) and bias from U(−1/√fan_in, 1/√fan_in), where fan_in is
// size(1) · k · k of the weight (in channels for Conv2d, OUT channels for ConvTranspose2d's [in, out, k, k] weight);
// BatchNorm starts at γ = 1, β = 0, running mean 0, running variance 1.
import type { Rng } from '../rng.js';
import { unetBufferLayout, unetBufferCount, unetParamCount, unetParamLayout, type UNetConfig } from './config.js';

export function initUNetParams(config: UNetConfig, rng: Rng): Float32Array {
  const out = new Float32Array(unetParamCount(config));
  const layout = unetParamLayout(config);
  const weightShape = new Map(
    layout.filter((s) => s.name.endsWith('.weight')).map((s) => [s.name.slice(0, -'.weight'.length), s.shape]),
  );
  for (const s of layout) {
    const owner = s.name.replace(/\.(weight|bias)$/, '');
    if (/\.bn\d$/.test(owner)) {
      out.fill(s.name.endsWith('.weight') ? 1 : 0, s.offset, s.offset + s.size);
      continue;
    }
    const [, size1 = 1, kh = 1, kw = 1] = weightShape.get(owner) ?? [];
    const bound = 1 / Math.sqrt(size1 * kh * kw);
    for (let i = 0; i < s.size; i++) out[s.offset + i] = rng.uniform(-bound, bound);
  }
  return out;
}

/** running mean 0, running variance 1 */
export function initUNetBuffers(config: UNetConfig): Float32Array {
  const out = new Float32Array(unetBufferCount(config));
  for (const s of unetBufferLayout(config))
    if (s.name.endsWith('running_var')) out.fill(1, s.offset, s.offset + s.size);
  return out;
}
