// The CPU engine's threads: `threads − 1` worker_threads and the calling thread, all running the same wasm module on
// one shared WebAssembly.Memory. A phase is started by bumping a generation counter in a small control block inside
// that memory (Atomics.notify); every thread (thread 0 is the caller) takes the phase's work items until none are
// left and counts itself done. Waiting spins briefly before sleeping in Atomics.wait: phases follow each other
// within microseconds during a training step (forward+BPTT, then the weight gradients); between steps workers sleep.
import { Worker } from 'node:worker_threads';
import { DpmError } from '../core/errors.js';
import type { ForecasterExports } from './wasm.js';

/** the phases a worker can run (exports with the signature (ctx, thread, threads)) */
export const PHASES = ['forwardBackward', 'weightGrads'] as const;
export type Phase = (typeof PHASES)[number];
export const STOP = -1;

// control block fields (Int32Array indices)
export const CTL_GENERATION = 0;
export const CTL_PHASE = 1;
export const CTL_CTX = 2;
export const CTL_DONE = 3;
export const CTL_FAILED = 4;
export const CTL_INTS = 8;

/** spins of Atomics.load before Atomics.wait (a few tens of microseconds) */
export const SPIN = 20000;

export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  thread: number;
  threads: number;
  /** byte offset of the control block */
  control: number;
}

/**
 * Starts workers 1 … threads − 1 of `script` (a module beside this one) with `initOf(t)` as workerData and waits until
 * each has said it is ready (its first message); on a failure all are terminated and the error names `what` and the
 * thread. Started workers never keep the process alive; a failure later is reported through the caller's shared
 * control block (their 'error' events are kept quiet). The forecaster's and the U-Net's pools.
 */
export async function startWorkers<T>(
  script: URL,
  threads: number,
  initOf: (thread: number) => T,
  what: string,
): Promise<Worker[]> {
  const workers: Worker[] = [];
  const ready: Promise<void>[] = [];
  for (let t = 1; t < threads; t++) {
    // execArgv: [] — a worker inherits the parent's Node options otherwise, and some (--input-type, --eval's)
    // stop it from loading a file; V8 flags are process-wide and reach it anyway
    const w = new Worker(script, { workerData: initOf(t), execArgv: [] });
    workers.push(w);
    ready.push(
      new Promise<void>((resolve, reject) => {
        w.once('message', () => resolve());
        w.once('error', reject);
        w.once('exit', (code) => reject(new DpmError(`${what}: worker thread ${t} exited (${code}) while starting`)));
      }),
    );
  }
  try {
    await Promise.all(ready);
  } catch (err) {
    for (const w of workers) void w.terminate();
    throw err;
  }
  for (const w of workers) {
    w.removeAllListeners('exit');
    w.removeAllListeners('error');
    w.on('error', () => {});
    w.unref();
  }
  return workers;
}

/** Spins, then sleeps in Atomics.wait, until ctl[index] ≥ target (threads counting themselves done). */
export function waitForCount(ctl: Int32Array, index: number, target: number): void {
  let spins = 0;
  for (let v = Atomics.load(ctl, index); v < target; v = Atomics.load(ctl, index)) {
    if (++spins > SPIN) Atomics.wait(ctl, index, v);
  }
}

/** Spins, then sleeps in Atomics.wait, until ctl[index] differs from `seen`; returns the new value. */
export function waitForChange(ctl: Int32Array, index: number, seen: number): number {
  let spins = 0;
  let v = Atomics.load(ctl, index);
  while (v === seen) {
    if (++spins > SPIN) Atomics.wait(ctl, index, seen);
    v = Atomics.load(ctl, index);
  }
  return v;
}

export class ThreadPool {
  private readonly ctl: Int32Array;
  private constructor(
    private readonly ex: ForecasterExports,
    private readonly workers: Worker[],
    memory: WebAssembly.Memory,
    control: number,
    readonly threads: number,
  ) {
    this.ctl = new Int32Array(memory.buffer, control, CTL_INTS);
  }

  /** Starts `threads − 1` workers and waits until each has instantiated the module. */
  static async start(
    ex: ForecasterExports,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    control: number,
    threads: number,
  ): Promise<ThreadPool> {
    new Int32Array(memory.buffer, control, CTL_INTS).fill(0);
    const workers = await startWorkers<WorkerInit>(
      new URL('./worker.js', import.meta.url),
      threads,
      (thread) => ({ module, memory, thread, threads, control }),
      'CPU engine',
    );
    return new ThreadPool(ex, workers, memory, control, threads);
  }

  /** Runs a phase on all threads and returns when every thread has finished its share. */
  run(phase: Phase, ctx: number): void {
    const c = this.ctl;
    const others = this.workers.length;
    if (others > 0) {
      c[CTL_PHASE] = PHASES.indexOf(phase);
      c[CTL_CTX] = ctx;
      Atomics.store(c, CTL_DONE, 0);
      Atomics.add(c, CTL_GENERATION, 1);
      Atomics.notify(c, CTL_GENERATION);
    }
    let failure: unknown;
    try {
      this.ex[phase](ctx, 0, this.threads);
    } catch (err) {
      failure = err;
    }
    waitForCount(c, CTL_DONE, others);
    if (failure) throw failure;
    if (Atomics.load(c, CTL_FAILED) > 0) {
      throw new DpmError(`CPU engine: a worker thread failed in ${phase} (see stderr)`);
    }
  }

  destroy(): void {
    if (this.workers.length === 0) return;
    this.ctl[CTL_PHASE] = STOP;
    Atomics.add(this.ctl, CTL_GENERATION, 1);
    Atomics.notify(this.ctl, CTL_GENERATION);
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}
