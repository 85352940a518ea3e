// Nothing half-written, no input destroyed, one writer per folder.
// - Every output goes to a temporary name beside its final path and is renamed into place only when the whole job
//   succeeded. On error, cancel or exit the temporaries are removed; stale ones (a killed process) are removed by the
//   next job that writes the same output.
// - Inputs are sacred: an output that is, or lies inside, an input (links resolved) is refused; an existing output
//   is replaced only with --overwrite (GDAL's habit). The policy (inputs, overwrite) is set by the toolbox for the
//   duration of one algorithm (withOutputPolicy) and read by every OutputSet made under it.
// - One writer per output folder: lockOutputFolder() takes `<folder>/.dpm-lock`; a second process is refused with a
//   message naming the holder; a lock whose process has gone is taken over.
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { asUserError, DpmError } from '../core/errors.js';
import { throwIfCanceled, type Feedback } from '../core/feedback.js';

/** What the algorithm being run may write. */
export interface OutputPolicy {
  /** input paths (files or folders) that no output may replace or lie inside */
  inputs: string[];
  /** replace existing outputs (--overwrite); default false */
  overwrite: boolean;
}

const policyStore = new AsyncLocalStorage<OutputPolicy>();

/** Runs `work` with `policy` merged over the current one (inputs add up; overwrite is replaced when given). */
export function withOutputPolicy<T>(policy: Partial<OutputPolicy>, work: () => T): T {
  const outer = policyStore.getStore();
  return policyStore.run(
    {
      inputs: [...(outer?.inputs ?? []), ...(policy.inputs ?? [])],
      overwrite: policy.overwrite ?? outer?.overwrite ?? false,
    },
    work,
  );
}

/** The policy in force (none outside the toolbox: no inputs known, no overwrite). */
export function currentOutputPolicy(): OutputPolicy {
  return policyStore.getStore() ?? { inputs: [], overwrite: false };
}

/** `p` with every symbolic link resolved, also when `p` itself (or its last parts) do not exist yet. */
export function resolvedPath(p: string): string {
  const abs = resolve(p);
  const rest: string[] = [];
  let head = abs;
  for (;;) {
    try {
      return join(realpathSync(head), ...rest.reverse());
    } catch {
      const parent = dirname(head);
      if (parent === head) return abs;
      rest.push(basename(head));
      head = parent;
    }
  }
}

/** Throws when writing `finalPath` would replace an input or land inside an input folder. */
export function checkNotInput(finalPath: string, inputs: string[]): void {
  const out = resolvedPath(finalPath);
  for (const input of inputs) {
    const inp = resolvedPath(input);
    if (out === inp) throw new DpmError(`${finalPath}: this output is an input (${input}); refusing to replace it`);
    if (out.startsWith(inp.endsWith(sep) ? inp : inp + sep)) {
      let isDir = false;
      try {
        isDir = statSync(inp).isDirectory();
      } catch {
        /* gone */
      }
      if (isDir)
        throw new DpmError(`${finalPath}: this output lies inside the input folder ${input}; write it elsewhere`);
    }
  }
}

// Temporaries of every live OutputSet, removed when the process exits (a second Ctrl-C quits at once).
const live = new Set<OutputSet>();
let exitHook = false;
function watchExit(set?: OutputSet): void {
  if (set) live.add(set);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const s of live) s.abort();
    releaseAllLocks();
  });
}

const TMP_PREFIX = '.dpm-tmp-';

/** A file of ours that is not an output: a temporary or the folder lock (folder listings skip them). */
export function isBookkeeping(name: string): boolean {
  return name.startsWith(TMP_PREFIX) || name === LOCK_NAME;
}

/**
 * Whether `dir` is a command's own folder: it holds the command's `marker` file (an earlier run of it), or it does not
 * exist yet or is empty, so everything in it will be the command's. Such a folder is updated in place without
 * --overwrite; any other existing file there still needs it.
 */
export function ownFolder(dir: string, marker: string): boolean {
  const d = resolve(dir);
  if (!existsSync(d)) return true;
  if (!statSync(d).isDirectory()) return false;
  if (existsSync(join(d, marker))) return true;
  return readdirSync(d).every(isBookkeeping);
}

/** Removes temporaries of `finalPath` left by processes that no longer run (SIGKILL, power loss). */
function removeStaleTemporaries(finalPath: string): void {
  const dir = dirname(finalPath);
  const name = basename(finalPath);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    // a temporary, or the scratch file a streaming COG writer keeps beside it (raster/cog.ts: `<tmp>.tiles`)
    const m = /^\.dpm-tmp-(\d+)-\d+-(.*?)(\.tiles)?$/.exec(e);
    if (!m || m[2] !== name) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    rmSync(join(dir, e), { force: true, recursive: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class OutputSet {
  private pending = new Map<string, string>(); // final path → temporary path
  private madeDirs: string[] = []; // folders this set created (removed again by abort when left empty)
  private readonly policy = currentOutputPolicy();

  /** The temporary path to write instead of `finalPath` (its folder is created). `folder`: the output is itself a
   *  folder (a Zarr store), which an existing folder of that name may be (with --overwrite, as for files).
   *  `advances`: the file is a state the command advances in place (monitor-update), replaced without --overwrite. */
  path(finalPath: string, opts: { folder?: boolean; advances?: boolean } = {}): string {
    const existing = this.pending.get(finalPath);
    if (existing) return existing;
    if (finalPath.includes('\0')) throw new DpmError(`output path ${JSON.stringify(finalPath)} contains a NUL byte`);
    checkNotInput(finalPath, this.policy.inputs);
    let present: ReturnType<typeof lstatSync> | undefined;
    try {
      present = lstatSync(finalPath);
    } catch {
      /* new output */
    }
    if (present && !opts.folder && existsSync(finalPath) && statSync(finalPath).isDirectory()) {
      throw new DpmError(`${finalPath} is a folder; give a file name for this output`);
    }
    if (present && !this.policy.overwrite && !opts.advances)
      throw new DpmError(`${finalPath} exists; pass --overwrite to replace it (or choose another output)`);
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
    removeStaleTemporaries(finalPath);
    const tmp = join(dirname(finalPath), `${TMP_PREFIX}${process.pid}-${this.pending.size}-${basename(finalPath)}`);
    this.pending.set(finalPath, tmp);
    watchExit(this);
    return tmp;
  }

  /** Folders of the outputs not yet committed (for messages). */
  folders(): string[] {
    return [...new Set([...this.pending.keys()].map((f) => dirname(f)))];
  }

  /** Renames every temporary into place. */
  commit(): string[] {
    const done: string[] = [];
    for (const [final, tmp] of this.pending) {
      if (!existsSync(tmp)) throw new Error(`internal: output ${final} was never written`);
      // a folder output (a Zarr store) replacing an earlier one: rename cannot replace a non-empty folder, and path()
      // already refused an existing output unless the policy allows replacing it
      if (statSync(tmp).isDirectory() && existsSync(final) && statSync(final).isDirectory())
        rmSync(final, { recursive: true, force: true });
      renameSync(tmp, final);
      done.push(final);
    }
    this.pending.clear();
    this.madeDirs = [];
    live.delete(this);
    return done;
  }

  /** Removes every temporary (after an error or a cancel). */
  abort(): void {
    for (const tmp of this.pending.values()) rmSync(tmp, { force: true, recursive: true });
    this.pending.clear();
    live.delete(this);
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
    const where = outs.folders()[0];
    outs.abort();
    // ENOSPC and friends from a write name no path: name the output folder
    throw asUserError(err, where);
  }
}

// ───────────────────────────────────────── output folder lock ─────────────────────────────────────────

const LOCK_NAME = '.dpm-lock';
const held = new Map<string, { count: number; made?: string }>(); // folder → reentrant count (this process)

interface LockHolder {
  pid: number;
  host: string;
  since: string;
  command: string;
}

/**
 * Takes the lock of output folder `dir` for this process (reentrant: stages of `dpm run` share it). Returns the
 * release function. A live holder on this machine refuses with its pid, start time and command; a dead one's lock is
 * taken over.
 */
export function lockOutputFolder(dir: string, command: string): () => void {
  const key = resolvedPath(dir);
  const mine = held.get(key);
  if (mine) {
    mine.count++;
    return () => release(key);
  }
  let made: string | undefined;
  try {
    made = mkdirSync(key, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new DpmError(`${dir} exists and is not a folder`);
    throw asUserError(err, dir);
  }
  const file = join(key, LOCK_NAME);
  const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), command };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      try {
        writeSync(fd, `${JSON.stringify(me)}\n`);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw busy(dir, file);
        throw asUserError(err, file);
      }
      const holder = readHolder(file);
      if (holder && holder.host === me.host && !processAlive(holder.pid)) {
        rmSync(file, { force: true }); // its process has gone: stale
        continue;
      }
      throw busy(dir, file, holder);
    }
  }
  held.set(key, { count: 1, made: made ? resolve(made) : undefined });
  watchExit(); // a process that quits at once still gives the folder back
  return () => release(key);
}

function busy(dir: string, file: string, holder = readHolder(file)): DpmError {
  const who = holder
    ? `dpm ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.since})`
    : 'another dpm process';
  return new DpmError(
    `${dir}: another run is writing this folder: ${who}; wait for it to finish, choose another folder, ` +
      `or remove ${file} if that process is gone`,
  );
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8').slice(0, 4096)) as Partial<LockHolder>;
    if (typeof h.pid === 'number' && typeof h.host === 'string')
      return { pid: h.pid, host: h.host, since: String(h.since ?? '?'), command: String(h.command ?? '?') };
  } catch {
    /* unreadable or half-written */
  }
  return undefined;
}

function release(key: string): void {
  const h = held.get(key);
  if (!h) return;
  if (--h.count > 0) return;
  held.delete(key);
  const file = join(key, LOCK_NAME);
  const holder = readHolder(file);
  if (holder?.pid === process.pid) rmSync(file, { force: true });
  // folders made only for the lock (`made` is the topmost), left empty by a failed job
  for (let d = key; h.made && d.startsWith(h.made); d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      break; // holds outputs
    }
    if (d === h.made) break;
  }
}

function releaseAllLocks(): void {
  for (const key of [...held.keys()]) {
    const h = held.get(key);
    if (h) h.count = 1;
    release(key);
  }
}
