// Feedback that cancels the way the CLI does: its SIGINT handler sets the flag between event-loop turns, so code that
// never yields finishes before it sees the cancel.
import type { Feedback } from '../host/core/feedback.js';

/** Feedback whose cancel is queued on the event loop (setImmediate) at the `afterProgress`-th progress call (0: at
 *  once); `percents` records what was reported. */
export function cancelOnEventLoop(afterProgress = 0): Feedback & { percents: number[] } {
  let canceled = false;
  const percents: number[] = [];
  const cancelSoon = () => setImmediate(() => void (canceled = true));
  if (afterProgress === 0) cancelSoon();
  return {
    percents,
    progress(p) {
      percents.push(p);
      if (percents.length === afterProgress) cancelSoon();
    },
    log() {},
    isCanceled: () => canceled,
  };
}
