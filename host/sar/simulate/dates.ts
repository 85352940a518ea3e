// Acquisition calendars: Sentinel-1 style, every 12 days with some 24-day gaps (a missed acquisition).
import type { SimRng } from './rng.js';

const DAY_MS = 86_400_000;

/** Days since 1970-01-01 of a YYYYMMDD string (UTC). */
export function dayNumber(yyyymmdd: string): number {
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  return Math.round(Date.UTC(y, m - 1, d) / DAY_MS);
}

/** YYYYMMDD of a day number. */
export function formatDay(day: number): string {
  const t = new Date(day * DAY_MS);
  const mm = String(t.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(t.getUTCDate()).padStart(2, '0');
  return `${t.getUTCFullYear()}${mm}${dd}`;
}

/** Day of the year (0-based, 0 = 1 January) of a day number. */
export function dayOfYear(day: number): number {
  const t = new Date(day * DAY_MS);
  return Math.round((day * DAY_MS - Date.UTC(t.getUTCFullYear(), 0, 1)) / DAY_MS);
}

/**
 * `count` acquisition days from `start`: 12-day steps, each step a 24-day gap with probability `gapProbability`,
 * except the pairs in `keep12` (indices of pairs k = (date k, date k+1)), which stay at 12 days.
 */
export function acquisitionDays(
  start: string,
  count: number,
  rng: SimRng,
  gapProbability: number,
  keep12: Set<number>,
): number[] {
  let day = dayNumber(start);
  const days = [day];
  for (let k = 0; k + 1 < count; k++) {
    const gap = rng.uniform() < gapProbability && !keep12.has(k);
    day += gap ? 24 : 12;
    days.push(day);
  }
  return days;
}
