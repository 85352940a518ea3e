// Dated coherence pairs and the one interface every coherence-input reader implements (GeoTIFF stack, dated
// folder, Zarr datacube …). host/raster/stack.ts dispatches over the readers; the readers import only this file,
// never the dispatcher.
import { DpmError } from '../core/errors.js';
import type { Feedback } from '../core/feedback.js';
import type { Georef } from './types.js';
import type { Window } from './window.js';

export interface Pair {
  first: string;
  second: string;
}

export const pairKey = (p: Pair): string => `${p.first}_${p.second}`;

/** Days between two YYYYMMDD dates. */
export function daysBetween(a: string, b: string): number {
  return (toDate(b).getTime() - toDate(a).getTime()) / 86_400_000;
}

function toDate(s: string): Date {
  return new Date(Date.UTC(Number(s.slice(0, 4)), Number(s.slice(4, 6)) - 1, Number(s.slice(6, 8))));
}

function validDate(s: string): boolean {
  const d = toDate(s);
  const y = Number(s.slice(0, 4));
  return (
    y >= 1978 &&
    y <= 2100 &&
    d.getUTCFullYear() === y &&
    d.getUTCMonth() + 1 === Number(s.slice(4, 6)) &&
    d.getUTCDate() === Number(s.slice(6, 8))
  );
}

/** The date pair in a file name or band description: YYYYMMDD[Thhmmss][-_]YYYYMMDD[Thhmmss]; undefined when none.
 *  Throws a DpmError naming `what` for an impossible date or equal dates. Reversed dates are put in order. */
export function parsePair(text: string, what: string): Pair | undefined {
  const last = [...text.matchAll(/(?<!\d)(\d{8})(?:T\d{6})?[-_](\d{8})(?:T\d{6})?(?!\d)/g)].at(-1);
  if (!last) return undefined;
  const [, a = '', b = ''] = last;
  for (const d of [a, b]) {
    if (!validDate(d)) throw new DpmError(`${what}: '${d}' in '${text}' is not a valid date (YYYYMMDD)`);
  }
  if (a === b) throw new DpmError(`${what}: pair ${a}_${b} has the same date twice`);
  return a < b ? { first: a, second: b } : { first: b, second: a };
}

/** What a reader knows about a file (or store) before reading its pixels. */
export interface PairFileInfo {
  width: number;
  height: number;
  bandCount: number;
  georef: Georef;
  metadata: Record<string, string>;
  source: string;
}

/** One dated pair found in the inputs: band `band` (0-based) of `file`, read back by `reader`. */
export interface PairSource {
  file: string;
  band: number;
  pair: Pair;
  info: PairFileInfo;
  reader: PairReader;
}

/** A coherence-input format. stack.ts asks each reader in turn whether it `accepts` an input. */
export interface PairReader {
  readonly name: string;
  /** whether this reader handles `input` (an existing file or folder) */
  accepts(input: string): boolean;
  /** every dated pair in `input`; logs skipped files on `fb` */
  findPairs(input: string, fb: Feedback): Promise<PairSource[]>;
  /** the given bands of one `file` of this reader's sources, float32 with nodata → NaN; with `window` (in the
   *  file's pixels, checked by the caller) only its pixels are decoded, and the georef's lat/lon are its window's
   *  (its geotransform is not used: stack.ts shifts the common grid's). No bands: only the georef. */
  readBands(
    file: string,
    bands: number[],
    nodata: number | undefined,
    window?: Window,
  ): Promise<{ bands: Float32Array[]; georef: Georef }>;
}
