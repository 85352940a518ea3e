// How the CLI shows a Feedback: a progress bar on a TTY, JSON lines with --json, plain lines otherwise.
import cliProgress from 'cli-progress';
import type { Feedback, LogLevel } from '../core/feedback.js';

export interface RenderedFeedback extends Feedback {
  cancel(): void;
  /** Stops the bar (call before printing the result). */
  close(): void;
}

export function jsonLine(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

export function jsonFeedback(): RenderedFeedback {
  let canceled = false;
  let last = -1;
  return {
    progress(percent, text) {
      const p = Math.round(percent * 10) / 10;
      if (p === last) return;
      last = p;
      jsonLine({ type: 'progress', percent: p, ...(text ? { text } : {}) });
    },
    log: (level, message) => jsonLine({ type: 'log', level, message }),
    isCanceled: () => canceled,
    cancel: () => void (canceled = true),
    close() {},
  };
}

export function terminalFeedback(verbose = false): RenderedFeedback {
  let canceled = false;
  const tty = process.stderr.isTTY;
  const bar = tty
    ? new cliProgress.SingleBar(
        { format: ' {bar} {percentage}% | {stage}', hideCursor: true, clearOnComplete: true, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let started = false;
  let lastDecile = -1;
  const log = (level: LogLevel, message: string) => {
    if (level === 'debug' && !verbose) return;
    const line = level === 'info' ? message : `${level}: ${message}`;
    if (bar && started) {
      bar.stop();
      started = false;
    }
    process.stderr.write(`${line}\n`);
  };
  return {
    progress(percent, text) {
      if (bar) {
        if (!started) {
          bar.start(100, 0, { stage: text ?? '' });
          started = true;
        }
        bar.update(Math.round(percent), { stage: text ?? '' });
      } else {
        const decile = Math.floor(percent / 10);
        if (decile !== lastDecile) {
          lastDecile = decile;
          process.stderr.write(`[${Math.round(percent)}%]${text ? ` ${text}` : ''}\n`);
        }
      }
    },
    log,
    isCanceled: () => canceled,
    cancel: () => void (canceled = true),
    close: () => void (bar && started && bar.stop()),
  };
}
