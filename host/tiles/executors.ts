// Executors run the unfinished tiles of a plan, each as its own process (`job-main.js <plan> <index>`):
//   local  a pool of N child processes on this machine;
//   slurm  one job array (sbatch --array) followed with squeue (and sacct where accounting is on), scancel on cancel.
// Either way a tile counts as finished only by its done.json (job.ts): a failed or killed tile is simply redone by the
// next run, and a failure is reported with the end of that tile's log.
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { CanceledError, DpmError } from '../core/errors.js';
import type { Feedback } from '../core/feedback.js';
import { finishedTile, planPath, type TilePlan, tileDir } from './job.js';

const jobMain = fileURLToPath(new URL('./job-main.js', import.meta.url));

export interface SlurmOptions {
  partition?: string;
  time?: string;
  mem?: string;
  gpus?: number;
  /** further sbatch options, space-separated */
  extra?: string;
}

export type ExecutorChoice = { kind: 'local'; workers?: number } | ({ kind: 'slurm' } & SlurmOptions);

/** Runs every tile of the plan that has not finished yet; throws naming the failed tiles and their logs. */
export async function runTiles(plan: TilePlan, executor: ExecutorChoice, fb: Feedback): Promise<void> {
  const todo = plan.tiles.map((t) => t.index).filter((k) => !finishedTile(plan, k));
  const done = plan.tiles.length - todo.length;
  if (done) fb.log('info', `tiles: ${done} of ${plan.tiles.length} already finished (reused)`);
  if (todo.length === 0) return;
  fb.log('info', `tiles: running ${todo.length} of ${plan.tiles.length} (${executor.kind})`);
  const logs =
    executor.kind === 'local'
      ? await runLocal(plan, todo, executor.workers, fb)
      : await runSlurm(plan, todo, executor, fb);
  const failed = todo.filter((k) => !finishedTile(plan, k));
  if (failed.length) {
    const tail = (f: string) =>
      existsSync(f) ? readFileSync(f, 'utf8').trimEnd().split('\n').slice(-8).join('\n') : '(no log)';
    const details = failed.map((k) => `tile ${k} (log ${logs(k)}):\n${tail(logs(k))}`).join('\n');
    throw new DpmError(
      `${failed.length} of ${plan.tiles.length} tiles failed; run the same command again to redo only those\n` +
        details,
    );
  }
}

/** Progress as the share of finished tiles (each tile's own progress stays in its log). */
function tileProgress(plan: TilePlan, fb: Feedback): void {
  const n = plan.tiles.filter((t) => finishedTile(plan, t.index)).length;
  fb.progress((100 * n) / plan.tiles.length, `${n}/${plan.tiles.length} tiles`);
}

async function runLocal(
  plan: TilePlan,
  todo: number[],
  workers: number | undefined,
  fb: Feedback,
): Promise<(k: number) => string> {
  const logOf = (k: number) => join(tileDir(plan, k), 'tile.log');
  const pool = Math.max(1, Math.min(todo.length, workers ?? Math.floor(availableParallelism() / 2)));
  const queue = [...todo];
  const running = new Set<ReturnType<typeof spawn>>();
  let canceled = false;
  const watch = setInterval(() => {
    if (!canceled && fb.isCanceled()) {
      canceled = true;
      for (const child of running) child.kill('SIGTERM');
    }
  }, 200);
  const worker = async () => {
    for (let k = queue.shift(); k !== undefined && !canceled; k = queue.shift()) {
      const index = k;
      mkdirSync(tileDir(plan, index), { recursive: true });
      const log = createWriteStream(logOf(index));
      const child = spawn(process.execPath, [jobMain, planPath(plan.dir), String(index)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      running.add(child);
      child.stdout.pipe(log, { end: false });
      child.stderr.pipe(log, { end: false });
      await new Promise<void>((resolve) => child.on('close', () => resolve()));
      running.delete(child);
      await new Promise<void>((resolve) => log.end(resolve));
      tileProgress(plan, fb);
    }
  };
  try {
    await Promise.all([...Array(pool)].map(worker));
  } finally {
    clearInterval(watch);
  }
  if (canceled) throw new CanceledError();
  return logOf;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Options for sbatch: the array of unfinished tiles, one log per task, the pass-through settings. */
export function sbatchArgs(runDir: string, todo: number[], o: SlurmOptions): string[] {
  const args = [
    '--parsable',
    `--array=${todo.join(',')}`,
    '--job-name=dpm-tiles',
    `--output=${join(runDir, 'tiles', 'slurm-%A_%a.out')}`,
    `--chdir=${runDir}`,
  ];
  if (o.partition) args.push(`--partition=${o.partition}`);
  if (o.time) args.push(`--time=${o.time}`);
  if (o.mem) args.push(`--mem=${o.mem}`);
  if (o.gpus !== undefined && o.gpus > 0) args.push(`--gpus=${o.gpus}`);
  if (o.extra) args.push(...o.extra.split(/\s+/).filter(Boolean));
  return args;
}

function slurm(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT')
      throw new DpmError(`--executor slurm: '${command}' is not on PATH (is Slurm installed?)`);
    throw new DpmError(`${command} ${args.join(' ')} failed: ${String(err.stderr ?? err.message).trim()}`);
  }
}

async function runSlurm(plan: TilePlan, todo: number[], o: SlurmOptions, fb: Feedback): Promise<(k: number) => string> {
  // the job runs this very node and build: the run folder and the package must be on a shared file system
  const script = join(plan.dir, 'tiles', 'tile-job.sh');
  writeFileSync(script, `#!/bin/sh\nexec '${process.execPath}' '${jobMain}' '${planPath(plan.dir)}'\n`);
  chmodSync(script, 0o755);
  const id =
    slurm('sbatch', [...sbatchArgs(plan.dir, todo, o), script])
      .trim()
      .split(';')[0] ?? '';
  if (!/^\d+$/.test(id)) throw new DpmError(`sbatch gave no job id: '${id}'`);
  fb.log('info', `tiles: Slurm job array ${id} (${todo.length} tasks)`);
  writeFileSync(join(plan.dir, 'tiles', 'slurm-job'), `${id}\n`);
  const logOf = (k: number) => join(plan.dir, 'tiles', `slurm-${id}_${k}.out`);
  for (;;) {
    if (fb.isCanceled()) {
      slurm('scancel', [id]);
      throw new CanceledError();
    }
    tileProgress(plan, fb);
    // squeue lists pending and running tasks; an empty answer (or a job id already purged) = the array is over
    let left = '';
    try {
      left = execFileSync('squeue', ['-h', '-j', id, '-o', '%i %T'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    } catch {
      left = '';
    }
    if (left.trim() === '') break;
    await sleep(1000);
  }
  // sacct gives each task's end state where accounting is configured; without it the done markers decide alone
  try {
    const states = execFileSync('sacct', ['-n', '-P', '-X', '-j', id, '--format=JobID,State,ExitCode'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    for (const line of states.trim().split('\n').filter(Boolean)) fb.log('debug', `sacct ${line}`);
  } catch {
    fb.log('debug', 'sacct unavailable (no Slurm accounting): tile results come from their done markers');
  }
  return logOf;
}
