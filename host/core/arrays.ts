// Small array helpers that keep index arithmetic out of the callers (noUncheckedIndexedAccess: a read by index may
// be undefined; these walk the array instead).

/** Neighbours in order: [a, b, c] → [[a, b], [b, c]]. */
export function consecutivePairs<T>(xs: readonly T[]): [T, T][] {
  const it = xs[Symbol.iterator]();
  const head = it.next();
  if (head.done) return [];
  const out: [T, T][] = [];
  let prev = head.value;
  for (const x of { [Symbol.iterator]: () => it }) {
    out.push([prev, x]);
    prev = x;
  }
  return out;
}

/** The first and last element, or undefined for an empty array. */
export function ends<T>(xs: readonly T[]): { first: T; last: T } | undefined {
  const first = xs[0];
  const last = xs.at(-1);
  return first === undefined || last === undefined ? undefined : { first, last };
}

/** a[i] of a numeric array, NaN outside it: the raster convention (NaN = no data) for a pixel or sample read. */
export function valueAt(a: ArrayLike<number>, i: number): number {
  return a[i] ?? NaN;
}

/** a[i] += v for a numeric array (the compound form reads a[i], which may lie past the end: NaN then). */
export function addAt(a: { [i: number]: number; length: number }, i: number, v: number): void {
  a[i] = (a[i] ?? NaN) + v;
}
