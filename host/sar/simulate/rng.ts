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

/** One xoshiro128** state step as a 128×128 matrix over GF(2): column b (4 words) is the step's image of bit b. */
type StepMatrix = Uint32Array<ArrayBuffer>;

function applyMatrix(m: StepMatrix, v: Uint32Array): Uint32Array<ArrayBuffer> {
  const out = new Uint32Array(4);
  for (let b = 0; b < 128; b++) {
    if (((v[b >>> 5] ?? 0) >>> (b & 31)) & 1) {
      for (let w = 0; w < 4; w++) out[w] = (out[w] ?? 0) ^ (m[4 * b + w] ?? 0);
    }
  }
  return out;
}

/** STEP_POWERS[i] = the state transition to the power 2^i (built on first use). */
const STEP_POWERS: StepMatrix[] = [];

function stepPower(i: number): StepMatrix {
  if (STEP_POWERS.length === 0) {
    const m = new Uint32Array(512);
    for (let b = 0; b < 128; b++) {
      const unit = [0, 0, 0, 0];
      unit[b >>> 5] = 2 ** (b & 31);
      const r = Rng.fromState(unit);
      r.nextU32();
      m.set(r.state(), 4 * b);
    }
    STEP_POWERS.push(m);
  }
  while (STEP_POWERS.length <= i) {
    const last = STEP_POWERS[STEP_POWERS.length - 1] ?? new Uint32Array(512);
    const sq = new Uint32Array(512);
    for (let b = 0; b < 128; b++) sq.set(applyMatrix(last, last.subarray(4 * b, 4 * b + 4)), 4 * b);
    STEP_POWERS.push(sq);
  }
  return STEP_POWERS[i] ?? new Uint32Array(512);
}

/** The xoshiro128** state `n` draws (uint32) after `state`: the transition is linear over GF(2), so this is the
 *  state vector times the transition's n-th power, built from its 2^i powers (≤ 53 matrix-vector products). */
export function jumpState(state: readonly number[], n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`internal: cannot jump ${n} draws`);
  let v = Uint32Array.from(state);
  for (let i = 0, rest = n; rest > 0; i++, rest = Math.floor(rest / 2)) {
    if (rest % 2 === 1) v = applyMatrix(stepPower(i), v);
  }
  return Array.from(v);
}

export class SimRng {
  private rng: Rng;
  private spare = NaN; // second Box–Muller deviate, kept for the next call

  /** A stream for one part of the scene; `seed` is the user's seed (uint32). */
  constructor(seed: number, stream: string) {
    const sm = splitmix32((seed >>> 0) ^ hashName(stream));
    sm(); // two mixing rounds so seeds 1 and 2 with one stream are far apart
    this.rng = Rng.fromState([sm(), sm(), sm(), sm()]);
  }

  /** Skips `n` uint32 draws (a uniform is 2, a pair of normals 4) in O(log n): lets a block of a large scene start
   *  where the whole-scene loop would be, so block-by-block output equals the one-pass output. */
  skip(n: number): this {
    if (!Number.isNaN(this.spare)) throw new Error('internal: skip() between the two values of a normal pair');
    this.rng = Rng.fromState(jumpState(this.rng.state(), n));
    return this;
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
