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

/** Seconds as the terminal shows them: 42s, 3m05s, 1h02m. */
export function formatSeconds(s: number): string {
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * What the terminal shows of a job's progress, independent of how it is drawn: the job's percent never goes back
 * (a stage that restarts its own count does not move the bar back), the remaining time never grows, a stage is the
 * text before the first ': ' (stage() joins nested stage names that way), and each log line is shown once.
 */
export class ProgressModel {
  percent = 0;
  stage = '';
  detail = '';
  private readonly started: number;
  private etaShown = Number.POSITIVE_INFINITY;
  private etaAt: number;
  private readonly seen = new Set<string>();

  constructor(private readonly now: () => number = () => performance.now() / 1000) {
    this.started = now();
    this.etaAt = this.started;
  }

  /** Applies one progress report; returns the stage that just ended when a new one begins. */
  update(percent: number, text?: string): { ended?: string } {
    this.percent = Math.max(this.percent, Math.min(100, Number.isFinite(percent) ? percent : 0));
    const [stage = '', ...rest] = (text ?? '').split(': ');
    const ended = stage && stage !== this.stage && this.stage ? this.stage : undefined;
    if (stage) this.stage = stage;
    this.detail = rest.join(': ');
    return ended ? { ended } : {};
  }

  /** Remaining seconds from the job's mean rate so far, never more than shown before (undefined: not known yet). */
  eta(): number | undefined {
    const t = this.now();
    const elapsed = t - this.started;
    if (this.percent <= 0.5 || elapsed < 1) return undefined;
    const raw = (elapsed * (100 - this.percent)) / this.percent;
    this.etaShown = Math.max(0, Math.min(raw, this.etaShown - (t - this.etaAt)));
    this.etaAt = t;
    return this.etaShown;
  }

  elapsed(): number {
    return this.now() - this.started;
  }

  /** True the first time a log line is seen: a message repeated by several stages is shown once. */
  firstTime(line: string): boolean {
    if (this.seen.has(line)) return false;
    this.seen.add(line);
    return true;
  }
}

export function terminalFeedback(verbose = false): RenderedFeedback {
  let canceled = false;
  const model = new ProgressModel();
  const tty = Boolean(process.stderr.isTTY);
  // one bar per stage: a finished stage leaves one line (its name, the job's percent, the time it took)
  const bars = tty
    ? new cliProgress.MultiBar(
        {
          format: ' {stage} {bar} {percentage}% | {eta_text} {detail}',
          hideCursor: true,
          clearOnComplete: true,
          stream: process.stderr,
          barsize: 30,
          autopadding: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let bar: cliProgress.SingleBar | undefined;
  let drawn = false;
  let stageStarted = 0;
  let lastDecile = -1;
  // above a bar, a line goes through the bar's redraw; without one, straight out (not held until the next bar)
  const write = (line: string) => (bars && bar ? bars.log(`${line}\n`) : process.stderr.write(`${line}\n`));
  const payload = () => {
    const eta = model.eta();
    return {
      stage: model.stage.padEnd(22),
      detail: model.detail,
      eta_text: eta === undefined ? 'ETA …' : `ETA ${formatSeconds(eta)}`,
    };
  };
  const endStage = (name: string) => {
    if (!bars || !bar) return;
    write(
      ` ${name.padEnd(22)} done at ${Math.round(model.percent)}% (${formatSeconds(model.elapsed() - stageStarted)})`,
    );
    bars.remove(bar); // redraws: the line above replaces the bar
    bar = undefined;
  };
  return {
    progress(percent, text) {
      if (text === 'done') {
        // the job's last report ends the current stage; it is not a stage of its own
        model.update(percent);
        endStage(model.stage);
        return;
      }
      const { ended } = model.update(percent, text);
      if (ended) endStage(ended);
      if (bars) {
        if (!bar) {
          stageStarted = model.elapsed();
          bar = bars.create(100, Math.round(model.percent), payload());
          drawn = true;
          bars.update(); // draw every stage at once, however short it is
        } else bar.update(Math.round(model.percent), payload());
      } else {
        const decile = Math.floor(model.percent / 10);
        if (decile !== lastDecile) {
          lastDecile = decile;
          process.stderr.write(`[${Math.round(model.percent)}%]${model.stage ? ` ${model.stage}` : ''}\n`);
        }
      }
    },
    log(level: LogLevel, message: string) {
      if (level === 'debug' && !verbose) return;
      const line = level === 'info' ? message : `${level}: ${message}`;
      if (model.firstTime(line)) write(line);
    },
    isCanceled: () => canceled,
    cancel: () => void (canceled = true),
    close() {
      if (bars && drawn) {
        endStage(model.stage); // its redraw flushes the lines written above the bar
        bars.stop();
      }
    },
  };
}
