// Coherence lies in [0, 1]. A value outside it (or infinite) is not clipped without a word: it is counted, set to
// NaN (missing) and reported; past a small share the input is refused as not a coherence stack. A stack with no
// usable pixel at all is an error (it once gave an all-NaN map with exit 0).
import { DpmError } from '../core/errors.js';
import type { Feedback } from '../core/feedback.js';

/** values this far outside [0, 1] are float rounding of 0 or 1 (GDAL's and ISCE's float32 outputs): clipped */
const ROUNDING = 1e-5;
/** share of the finite values that may be out of range before the stack is refused */
export const MAX_OUT_OF_RANGE = 0.01;

export interface RangeReport {
  outOfRange: number;
  infinite: number;
  usable: number;
}

/**
 * The range check over a stack read in windows (e.g. training's row blocks): add() cleans each window's bands in
 * place and counts; check() then judges the whole as checkCoherenceRange judges one read.
 */
export class RangeTally {
  private outOfRange = 0;
  private infinite = 0;
  private usable = 0;
  /** usable values per band */
  private perBand: number[] = [];
  private firstBad: { value: number; band: string } | undefined;

  /** usable values counted so far */
  get usableValues(): number {
    return this.usable;
  }

  add(bands: Float32Array[], labels: string[]): void {
    for (const [b, band] of bands.entries()) {
      let usableHere = 0;
      for (let i = 0; i < band.length; i++) {
        const v = band[i]!;
        if (Number.isNaN(v)) continue;
        if (v === Infinity || v === -Infinity) {
          this.infinite++;
          band[i] = NaN;
          this.firstBad ??= { value: v, band: labels[b] ?? `band ${b + 1}` };
          continue;
        }
        if (v < 0 || v > 1) {
          if (v >= -ROUNDING && v <= 1 + ROUNDING) band[i] = v < 0 ? 0 : 1;
          else {
            this.outOfRange++;
            band[i] = NaN;
            this.firstBad ??= { value: v, band: labels[b] ?? `band ${b + 1}` };
            continue;
          }
        }
        usableHere++;
      }
      this.usable += usableHere;
      this.perBand[b] = (this.perBand[b] ?? 0) + usableHere;
    }
  }

  check(labels: string[], what: string, fb?: Feedback): RangeReport {
    const { outOfRange, infinite, usable, firstBad } = this;
    if (usable === 0) throw new DpmError(`${what}: no usable pixel (every value is nodata, NaN or outside [0, 1])`);
    const bad = outOfRange + infinite;
    if (bad > 0) {
      const share = bad / (bad + usable);
      const detail =
        `${outOfRange} values outside [0, 1] and ${infinite} infinite ` +
        `(${(100 * share).toPrecision(2)} % of the valid values; first ${firstBad?.value} in ${firstBad?.band})`;
      if (share > MAX_OUT_OF_RANGE)
        throw new DpmError(
          `${what}: not a coherence stack: ${detail}; coherence lies in [0, 1] (give --nodata if a value means missing)`,
        );
      fb?.log('warning', `${what}: ${detail} are treated as missing`);
    }
    const emptyBands = this.perBand.flatMap((n, b) => (n === 0 ? [labels[b] ?? `band ${b + 1}`] : []));
    if (emptyBands.length > 0)
      fb?.log(
        'warning',
        `${what}: no usable pixel in ${emptyBands.length} band(s): ${emptyBands.slice(0, 5).join(', ')}`,
      );
    return { outOfRange, infinite, usable };
  }
}

/** Checks (and cleans, in place) the bands of a coherence stack read from `what`. */
export function checkCoherenceRange(bands: Float32Array[], labels: string[], what: string, fb?: Feedback): RangeReport {
  const tally = new RangeTally();
  tally.add(bands, labels);
  return tally.check(labels, what, fb);
}
