// The simulator's seeded random numbers: xoshiro128** seeded through splitmix32, plus normal deviates.
// Every part of a scene (layout, fields, weather, speckle …) draws from its own stream, keyed by (seed, stream name),
// so changing how many numbers one part uses never shifts another part. Same seed → same scene on every machine:
// only 32-bit integer arithmetic and IEEE float64 operations, no Math.random. The generator itself is the one the
// training loop uses (host/model/rng.ts); this class adds named streams and the simulator's helpers.
import { Rng, splitmix32 } from '../../model/rng.js';

/** FNV-1a of a stream name: turns 'speckle' or 'field:12' into a 32-bit key. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class SimRng {
  private readonly rng: Rng;
  private spare = NaN; // second Box–Muller deviate, kept for the next call

  /** A stream for one part of the scene; `seed` is the user's seed (uint32). */
  constructor(seed: number, stream: string) {
    const sm = splitmix32((seed >>> 0) ^ hashName(stream));
    sm(); // two mixing rounds so seeds 1 and 2 with one stream are far apart
    this.rng = Rng.fromState([sm(), sm(), sm(), sm()]);
  }

  /** Next uint32 (xoshiro128**). */
  nextU32(): number {
    return this.rng.nextU32();
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    return this.rng.next();
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.uniform() * (hi - lo + 1));
  }

  /** Standard normal deviate (Box–Muller; the pair's second value is returned by the next call). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = NaN;
      return v;
    }
    // 1 − u ∈ (0, 1] keeps the logarithm finite
    const r = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const th = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }

  /** Picks an index with the given (unnormalised, non-negative) weights. */
  pick(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let u = this.uniform() * total;
    for (const [i, w] of weights.entries()) {
      u -= w;
      if (u < 0) return i;
    }
    return weights.length - 1;
  }
}
