// Indexed reads in tests: a[i] past the end fails the test where it happens, instead of turning into undefined/NaN
// that an assertion might then accept (noUncheckedIndexedAccess makes every such read explicit).
import { AssertionError } from 'node:assert';

/** a[i]; throws an AssertionError when i is outside a. */
export function at<T>(a: ArrayLike<T>, i: number): T {
  const v = a[i];
  if (v === undefined) throw new AssertionError({ message: `index ${i} outside an array of ${a.length}` });
  return v;
}
