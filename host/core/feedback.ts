// One Feedback object travels through every long operation: progress, log lines, cancellation.
// The CLI renders it as a progress bar or JSON lines; the QGIS bridge maps the JSON lines to QgsProcessingFeedback.
import { CanceledError } from './errors.js';

export type LogLevel = 'info' | 'warning' | 'debug' | 'error';

export interface Feedback {
  /** Percent done, 0–100, with an optional short text (the stage). */
  progress(percent: number, text?: string): void;
  log(level: LogLevel, message: string): void;
  isCanceled(): boolean;
}

/** Throws CanceledError when the job was cancelled; call it between blocks of work. */
export function throwIfCanceled(fb: Feedback): void {
  if (fb.isCanceled()) throw new CanceledError();
}

/**
 * Yields to the event loop, then throws CanceledError when the job was cancelled. Why the yield: the CLI hears
 * Ctrl-C in a signal handler that runs only between event-loop turns, so a loop that never yields (in-memory decoding,
 * pure arithmetic) would check a flag that cannot change. Call it between blocks of ~10–100 ms of work.
 */
export async function checkpoint(fb: Feedback): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  throwIfCanceled(fb);
}

/**
 * A view of `fb` whose 0–100 maps onto [from, to] of the parent: one stage of a longer job. The stage keeps its name
 * in front of what its own steps report ("training: epoch 3/20"), so a renderer shows one bar per stage.
 */
export function stage(fb: Feedback, from: number, to: number, text?: string): Feedback {
  return {
    progress: (p, t) =>
      fb.progress(
        from + ((to - from) * Math.min(100, Math.max(0, p))) / 100,
        text && t && t !== text && !t.startsWith(`${text}: `) ? `${text}: ${t}` : (t ?? text),
      ),
    log: (l, m) => fb.log(l, m),
    isCanceled: () => fb.isCanceled(),
  };
}

/** Feedback that drops everything: for library calls and tests that do not care. */
export const silentFeedback: Feedback = { progress() {}, log() {}, isCanceled: () => false };

/** Feedback that collects log lines and progress values (tests). */
export function recordingFeedback(): Feedback & {
  logs: { level: LogLevel; message: string }[];
  percents: number[];
  cancel(): void;
} {
  let canceled = false;
  const logs: { level: LogLevel; message: string }[] = [];
  const percents: number[] = [];
  return {
    logs,
    percents,
    progress: (p) => void percents.push(p),
    log: (level, message) => void logs.push({ level, message }),
    isCanceled: () => canceled,
    cancel: () => void (canceled = true),
  };
}
