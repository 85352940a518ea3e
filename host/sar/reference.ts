// Slow, obvious float64 reference of the chipped coherence (the rule of assembly/index.ts), for tests and the
// benchmark's "straightforward typed-array TypeScript" column. Sums every chip from scratch: cost ∝ chip size.
import { valueAt } from '../core/arrays.js';
import { outputSize, type ChipSpec } from './kernel.js';

/** s1, s2: height × width complex64 interleaved (re, im). Returns outH × outW coherence (whole chips only). */
export function coherenceReference(
  s1: Float32Array,
  s2: Float32Array,
  width: number,
  height: number,
  c: ChipSpec,
): { data: Float32Array; outW: number; outH: number } {
  const { outW, outH } = outputSize(width, height, c);
  const data = new Float32Array(outW * outH);
  for (let i = 0; i < outH; i++) {
    for (let j = 0; j < outW; j++) {
      let re = 0,
        im = 0,
        p1 = 0,
        p2 = 0,
        n = 0;
      for (let r = i * c.sa; r < i * c.sa + c.ca; r++) {
        for (let q = j * c.sr; q < j * c.sr + c.cr; q++) {
          const k = 2 * (r * width + q);
          // a read past the end is NaN: it fails the power test below like a NaN sample
          const ar = valueAt(s1, k),
            ai = valueAt(s1, k + 1),
            br = valueAt(s2, k),
            bi = valueAt(s2, k + 1);
          const a2 = ar * ar + ai * ai;
          const b2 = br * br + bi * bi;
          // a sample counts only if both powers are finite and non-zero (NaN fails every comparison)
          if (!(a2 > 0 && a2 < Infinity && b2 > 0 && b2 < Infinity)) continue;
          re += ar * br + ai * bi; // s1 · conj(s2)
          im += ai * br - ar * bi;
          p1 += a2;
          p2 += b2;
          n++;
        }
      }
      data[i * outW + j] = n === 0 ? NaN : Math.min(1, Math.hypot(re, im) / Math.sqrt(p1 * p2));
    }
  }
  return { data, outW, outH };
}
