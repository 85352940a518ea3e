// Nothing half-written: every output goes to a temporary name beside its final path and is renamed into place
// only when the whole job succeeded. On error or cancel the temporaries are removed.
import { mkdirSync, renameSync, rmSync, rmdirSync, existsSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { DpmError } from '../core/errors.js';
import { throwIfCanceled, type Feedback } from '../core/feedback.js';

export class OutputSet {
  private pending = new Map<string, string>(); // final path → temporary path
  private madeDirs: string[] = []; // folders this set created (removed again by abort when left empty)

  /** The temporary path to write instead of `finalPath` (its folder is created). */
  path(finalPath: string): string {
    const existing = this.pending.get(finalPath);
    if (existing) return existing;
    if (existsSync(finalPath) && statSync(finalPath).isDirectory()) {
      throw new DpmError(`${finalPath} is a folder; give a file name for this output`);
    }
    const parent = dirname(finalPath);
    let made: string | undefined;
    try {
      made = mkdirSync(parent, { recursive: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTDIR')
        throw new DpmError(`${parent} exists and is not a folder; cannot write ${finalPath}`);
      throw e;
    }
    if (made) {
      // every folder from `made` down to `parent` is new
      const parts = relative(made, parent).split(/[\\/]/).filter(Boolean);
      let d = made;
      this.madeDirs.push(d);
      for (const part of parts) this.madeDirs.push((d = join(d, part)));
    }
    const tmp = join(dirname(finalPath), `.dpm-tmp-${process.pid}-${this.pending.size}-${basename(finalPath)}`);
    this.pending.set(finalPath, tmp);
    return tmp;
  }

  /** Renames every temporary into place. */
  commit(): string[] {
    const done: string[] = [];
    for (const [final, tmp] of this.pending) {
      if (!existsSync(tmp)) throw new Error(`internal: output ${final} was never written`);
      renameSync(tmp, final);
      done.push(final);
    }
    this.pending.clear();
    this.madeDirs = [];
    return done;
  }

  /** Removes every temporary (after an error or a cancel). */
  abort(): void {
    for (const tmp of this.pending.values()) rmSync(tmp, { force: true, recursive: true });
    this.pending.clear();
    // deepest first; a folder that holds anything else (another job's files) stays
    for (const d of this.madeDirs.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        /* not empty or gone */
      }
    }
    this.madeDirs = [];
  }
}

/**
 * Runs `work` with a fresh OutputSet: commits on success, removes the temporaries on any error. With `fb`, a cancel
 * that came in during the last stretch of synchronous work (encoding, plotting: no event-loop turn, so a Ctrl-C
 * waits unseen) still counts: one turn is yielded before the commit, then the job is cancelled instead.
 */
export async function withOutputs<T>(work: (outs: OutputSet) => Promise<T>, fb?: Feedback): Promise<T> {
  const outs = new OutputSet();
  try {
    const result = await work(outs);
    if (fb) {
      // two check phases: the poll phase between them reads a signal that arrived during the synchronous stretch
      await new Promise<void>((r) => setImmediate(() => setImmediate(r)));
      throwIfCanceled(fb);
    }
    outs.commit();
    return result;
  } catch (err) {
    outs.abort();
    throw err;
  }
}
