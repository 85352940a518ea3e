// Per-pixel alert states as acquisitions arrive (dpm monitor-update), after OPERA DIST-S1's first / provisional /
// confirmed / finished. A pass is ANOMALOUS for a pixel when its z ≥ rules.z (default the paper's damage threshold
// 4.93); a pass with z NaN (missing coherence, too few valid values) changes nothing.
//
//   none or finished  + anomalous → first        (count 1, first = last = this pass; after finished: a new alert)
//   first/provisional + anomalous → provisional  (count + 1; confirmed once count ≥ rules.confirm)
//   confirmed         + anomalous → confirmed    (count + 1)
//   first/provisional + quiet     → after rules.drop quiet passes in a row: none (a false alarm; count, dates cleared)
//   confirmed         + quiet     → after rules.finish quiet passes in a row: finished (count and dates kept)
//   none or finished  + quiet     → unchanged
// Any anomalous pass resets the quiet run. Dates are pass numbers (1 = the first pass monitored after init).

export const ALERT = { none: 0, first: 1, provisional: 2, confirmed: 3, finished: 4 } as const;
export const ALERT_NAMES = ['none', 'first', 'provisional', 'confirmed', 'finished'] as const;

export interface AlertRules {
  /** anomalous when z ≥ this */
  z: number;
  /** anomalous passes (the first included) that confirm an alert */
  confirm: number;
  /** quiet passes in a row that drop an unconfirmed alert */
  drop: number;
  /** quiet passes in a row that finish a confirmed alert */
  finish: number;
}

/** Per-pixel alert arrays [N]; pass numbers 0 = none. */
export interface AlertState {
  state: Uint8Array;
  /** anomalous passes of the current (or finished) alert */
  count: Uint16Array;
  /** quiet passes in a row since the last anomalous one */
  quiet: Uint16Array;
  /** pass number of the alert's first and most recent anomalous pass */
  first: Uint32Array;
  last: Uint32Array;
}

export function emptyAlerts(N: number): AlertState {
  return {
    state: new Uint8Array(N),
    count: new Uint16Array(N),
    quiet: new Uint16Array(N),
    first: new Uint32Array(N),
    last: new Uint32Array(N),
  };
}

/** Applies one pass (its z map and pass number ≥ 1) to every pixel, in place. */
export function applyPass(a: AlertState, z: ArrayLike<number>, pass: number, rules: AlertRules): void {
  for (let i = 0; i < z.length; i++) {
    const v = z[i]!;
    if (Number.isNaN(v)) continue;
    const s = a.state[i]!;
    if (v >= rules.z) {
      if (s === ALERT.none || s === ALERT.finished) {
        a.count[i] = 1;
        a.first[i] = pass;
      } else {
        a.count[i] = Math.min(65535, a.count[i]! + 1);
      }
      a.last[i] = pass;
      a.quiet[i] = 0;
      const c = a.count[i]!;
      a.state[i] = c >= rules.confirm ? ALERT.confirmed : c === 1 ? ALERT.first : ALERT.provisional;
    } else if (s !== ALERT.none && s !== ALERT.finished) {
      a.quiet[i] = Math.min(65535, a.quiet[i]! + 1);
      if (s === ALERT.confirmed) {
        if (a.quiet[i]! >= rules.finish) a.state[i] = ALERT.finished;
      } else if (a.quiet[i]! >= rules.drop) {
        a.state[i] = ALERT.none;
        a.count[i] = 0;
        a.first[i] = 0;
        a.last[i] = 0;
        a.quiet[i] = 0;
      }
    }
  }
}

/** pixels per state, by name */
export function alertCounts(a: AlertState): Record<(typeof ALERT_NAMES)[number], number> {
  const n = [0, 0, 0, 0, 0];
  for (const s of a.state) n[s]!++;
  return { none: n[0]!, first: n[1]!, provisional: n[2]!, confirmed: n[3]!, finished: n[4]! };
}
