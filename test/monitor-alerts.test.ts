// The alert rules of host/monitor/alerts.ts on a simulated scene: quiet background, an event at pass 2 that persists
// for three passes, a one-pass false alarm, a missing pass, and a second, later event at pass 9 that hits a new area
// and the first event's area again.
import test from 'node:test';
import assert from 'node:assert/strict';
import { ALERT, alertCounts, applyPass, emptyAlerts } from '../host/monitor/alerts.js';
import { Rng } from '../host/model/rng.js';
import { MONITOR_RULES } from '../host/core/defaults.js';

const rules = { ...MONITOR_RULES };
const W = 20,
  N = W * W;
const area = (r0: number, c0: number, size: number) => {
  const ids: number[] = [];
  for (let r = r0; r < r0 + size; r++) for (let c = c0; c < c0 + size; c++) ids.push(r * W + c);
  return ids;
};
const A = area(2, 2, 4); // first event: passes 2–4, again in the second event at passes 9–11
const B = area(12, 12, 5); // second event only: passes 9–11
const C = area(2, 14, 3); // a false alarm at pass 5 only
const M = area(15, 2, 3); // first event too, but pass 3 is missing (NaN) there

/** z of every pixel at pass p (1-based): N(0, 1) background, 8 where an event is visible */
function zMap(p: number, rng: Rng): Float32Array {
  const z = new Float32Array(N).map(() => Math.min(3, rng.normal())); // background never reaches 4.93
  const hit = (ids: number[]) => ids.forEach((i) => (z[i] = 8));
  if (p >= 2 && p <= 4) hit([...A, ...M]);
  if (p === 3) M.forEach((i) => (z[i] = NaN));
  if (p === 5) hit(C);
  if (p >= 9 && p <= 11) hit([...A, ...B]);
  return z;
}

test('alert states follow the documented rules through two events', () => {
  const a = emptyAlerts(N);
  const rng = new Rng(17);
  const S: Record<keyof typeof ALERT, number> = ALERT;
  // expected state after each pass 1..13 in each area
  const expected: Record<string, number[]> = {
    A: [S.none, S.first, S.provisional, S.confirmed, S.confirmed, S.finished, S.finished, S.finished, S.first].concat([
      S.provisional,
      S.confirmed,
      S.confirmed,
      S.finished,
    ]),
    // pass 3 missing: no change; pass 4 is its second anomalous pass; then 2 quiet passes drop it (never confirmed)
    M: [S.none, S.first, S.first, S.provisional, S.provisional, S.none, S.none, S.none, S.none].concat([
      S.none,
      S.none,
      S.none,
      S.none,
    ]),
    B: [S.none, S.none, S.none, S.none, S.none, S.none, S.none, S.none, S.first].concat([
      S.provisional,
      S.confirmed,
      S.confirmed,
      S.finished,
    ]),
    C: [S.none, S.none, S.none, S.none, S.first, S.first, S.none, S.none, S.none].concat([
      S.none,
      S.none,
      S.none,
      S.none,
    ]),
  };
  const areas: Record<string, number[]> = { A, M, B, C };
  const alerted = new Set([...A, ...B, ...C, ...M]);
  for (let p = 1; p <= 13; p++) {
    applyPass(a, zMap(p, rng), p, rules);
    for (const [name, ids] of Object.entries(areas)) {
      for (const i of ids) assert.equal(a.state[i], expected[name]![p - 1], `area ${name}, pass ${p}`);
    }
    for (let i = 0; i < N; i++) if (!alerted.has(i)) assert.equal(a.state[i], S.none, `background pixel ${i}`);
    if (p === 6) {
      // the first event's alert: three anomalous passes 2–4, finished after passes 5 and 6 were quiet
      assert.deepEqual([a.count[A[0]!], a.first[A[0]!], a.last[A[0]!]], [3, 2, 4]);
    }
  }
  // the second event is a new alert in area A (count and first pass start again), dates kept after it finished
  assert.deepEqual([a.count[A[0]!], a.first[A[0]!], a.last[A[0]!]], [3, 9, 11]);
  assert.deepEqual([a.count[B[0]!], a.first[B[0]!], a.last[B[0]!]], [3, 9, 11]);
  // a dropped alert forgets its count and dates
  assert.deepEqual([a.count[C[0]!], a.first[C[0]!], a.last[C[0]!]], [0, 0, 0]);
  assert.deepEqual(alertCounts(a), {
    none: N - A.length - B.length,
    first: 0,
    provisional: 0,
    confirmed: 0,
    finished: 41,
  });
});

test('confirm 1 confirms at once; finish counts only consecutive quiet passes', () => {
  const a = emptyAlerts(1);
  const one = { ...rules, confirm: 1, finish: 2 };
  applyPass(a, [6], 1, one);
  assert.equal(a.state[0], ALERT.confirmed);
  applyPass(a, [0], 2, one);
  applyPass(a, [7], 3, one); // an anomalous pass resets the quiet run
  applyPass(a, [0], 4, one);
  assert.equal(a.state[0], ALERT.confirmed);
  applyPass(a, [NaN], 5, one); // missing: neither quiet nor anomalous
  assert.equal(a.state[0], ALERT.confirmed);
  applyPass(a, [4.92], 6, one);
  assert.equal(a.state[0], ALERT.finished);
  assert.deepEqual([a.count[0], a.first[0], a.last[0]], [2, 1, 3]);
});
