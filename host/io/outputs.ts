// Nothing half-written: every output goes to a temporary name beside its final path and is renamed into place
// only when the whole job succeeded. On error or cancel the temporaries are removed.
import { mkdirSync, renameSync, rmSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export class OutputSet {
  private pending = new Map<string, string>(); // final path → temporary path

  /** The temporary path to write instead of `finalPath` (its folder is created). */
  path(finalPath: string): string {
    const existing = this.pending.get(finalPath);
    if (existing) return existing;
    mkdirSync(dirname(finalPath), { recursive: true });
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
    return done;
  }

  /** Removes every temporary (after an error or a cancel). */
  abort(): void {
    for (const tmp of this.pending.values()) rmSync(tmp, { force: true, recursive: true });
    this.pending.clear();
  }
}

/** Runs `work` with a fresh OutputSet: commits on success, removes the temporaries on any error. */
export async function withOutputs<T>(work: (outs: OutputSet) => Promise<T>): Promise<T> {
  const outs = new OutputSet();
  try {
    const result = await work(outs);
    outs.commit();
    return result;
  } catch (err) {
    outs.abort();
    throw err;
  }
}
