// The U-Net engine's threads: `threads − 1` worker_threads and the calling thread, each with its own instance of the
// U-Net module on one shared WebAssembly.Memory. A layer is a list of tasks (an exported kernel and its arguments,
// each task writing outputs no other task of the list touches) in a table inside that memory; every thread takes the
// next task from an atomic counter until none are left. A task computes its outputs the same way whichever thread
// runs it, so results are bit-identical for any thread count. Per-thread scratch (padded planes, packed operands,
// the sgemm tile) is named in a task by a negative argument −(slot + 1) and resolved by the thread that runs it.
// Waiting as host/cpu/threads.ts: a short spin, then Atomics.wait.
import type { Worker } from 'node:worker_threads';
import { DpmError } from '../core/errors.js';
import { startWorkers, waitForChange, waitForCount } from './threads.js';
import type { UNetExports } from './unet-wasm.js';

/** the kernels a task can run */
export const TASK_FNS = [
  'conv3x3Items',
  'conv3x3WeightGradRows',
  'batchNorm',
  'batchNormBackward',
  'maxPool',
  'maxPoolBackward',
  'convTranspose',
  'convTransposeBackwardItem',
  'convTransposeWeightGradRows',
  'adam',
] as const satisfies readonly (keyof UNetExports)[];
export type TaskFn = (typeof TASK_FNS)[number];

/** per-thread scratch slots (a task argument −(slot + 1) is the running thread's own) */
export const Scratch = { pad: 0, grid: 1, pack: 2, tmp: 3, tile: 4, stage: 5 } as const;
export const SCRATCH_SLOTS = 6;
export const scratchArg = (slot: number): number => -(slot + 1);

export interface Task {
  fn: TaskFn;
  args: number[];
}

// control block (Int32Array indices)
const GEN = 0;
const DONE = 1;
const FAILED = 2;
const NEXT = 3;
const COUNT = 4;
const STOP = 5;
export const CONTROL_INTS = 16;
export const TASK_WORDS = 24;
export const MAX_TASKS = 256;

/** bytes of the pool's shared block: control, the scratch table and the task table */
export function poolBytes(threads: number): number {
  return CONTROL_INTS * 4 + threads * SCRATCH_SLOTS * 8 + MAX_TASKS * TASK_WORDS * 8;
}

export interface UNetWorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  thread: number;
  threads: number;
  /** byte offset of the pool's shared block (8-byte aligned) */
  block: number;
}

/** The views of the shared block (made afresh per use: a grown shared memory has a new buffer). */
export function views(memory: WebAssembly.Memory, block: number, threads: number) {
  const ctl = new Int32Array(memory.buffer, block, CONTROL_INTS);
  const scratch = new Float64Array(memory.buffer, block + CONTROL_INTS * 4, threads * SCRATCH_SLOTS);
  const table = new Float64Array(memory.buffer, block + CONTROL_INTS * 4 + threads * SCRATCH_SLOTS * 8);
  return { ctl, scratch, table: table.subarray(0, MAX_TASKS * TASK_WORDS) };
}

/** Takes tasks until none are left (every thread, the caller included). */
export function drainTasks(
  ex: UNetExports,
  memory: WebAssembly.Memory,
  block: number,
  thread: number,
  threads: number,
): void {
  const { ctl, scratch, table } = views(memory, block, threads);
  const count = Atomics.load(ctl, COUNT);
  const args: number[] = [];
  for (let i = Atomics.add(ctl, NEXT, 1); i < count; i = Atomics.add(ctl, NEXT, 1)) {
    const row = i * TASK_WORDS;
    const fn = TASK_FNS[table[row]!]!;
    const n = table[row + 1]!;
    args.length = n;
    for (let k = 0; k < n; k++) {
      const v = table[row + 2 + k]!;
      args[k] = v < 0 ? scratch[thread * SCRATCH_SLOTS - v - 1]! : v;
    }
    (ex[fn] as (...a: number[]) => void)(...args);
  }
}

export class UNetThreadPool {
  private constructor(
    private readonly ex: UNetExports,
    private readonly memory: WebAssembly.Memory,
    private readonly block: number,
    readonly threads: number,
    private readonly workers: Worker[],
  ) {}

  static async start(
    ex: UNetExports,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    block: number,
    threads: number,
  ): Promise<UNetThreadPool> {
    views(memory, block, threads).ctl.fill(0);
    const workers = await startWorkers<UNetWorkerInit>(
      new URL('./unet-worker.js', import.meta.url),
      threads,
      (thread) => ({ module, memory, thread, threads, block }),
      'U-Net CPU engine',
    );
    return new UNetThreadPool(ex, memory, block, threads, workers);
  }

  /** the per-thread scratch pointers, slot by slot: base + thread · stride */
  setScratch(slots: number[], stride: number): void {
    const { scratch } = views(this.memory, this.block, this.threads);
    for (let t = 0; t < this.threads; t++) {
      for (let s = 0; s < SCRATCH_SLOTS; s++) scratch[t * SCRATCH_SLOTS + s] = slots[s]! + t * stride;
    }
  }

  /** Runs the tasks on all threads; returns when every one is done. */
  run(tasks: Task[]): void {
    for (let from = 0; from < tasks.length; from += MAX_TASKS) this.runSome(tasks.slice(from, from + MAX_TASKS));
  }

  private runSome(tasks: Task[]): void {
    const { ctl, table } = views(this.memory, this.block, this.threads);
    tasks.forEach((t, i) => {
      if (t.args.length > TASK_WORDS - 2) throw new Error(`U-Net task ${t.fn}: too many arguments`);
      table[i * TASK_WORDS] = TASK_FNS.indexOf(t.fn);
      table[i * TASK_WORDS + 1] = t.args.length;
      table.set(t.args, i * TASK_WORDS + 2);
    });
    Atomics.store(ctl, COUNT, tasks.length);
    Atomics.store(ctl, NEXT, 0);
    const others = this.workers.length;
    if (others > 0) {
      Atomics.store(ctl, DONE, 0);
      Atomics.add(ctl, GEN, 1);
      Atomics.notify(ctl, GEN);
    }
    let failure: unknown;
    try {
      drainTasks(this.ex, this.memory, this.block, 0, this.threads);
    } catch (err) {
      failure = err;
      Atomics.store(ctl, NEXT, tasks.length); // the others stop taking tasks
    }
    waitForCount(ctl, DONE, others);
    if (failure) throw failure;
    if (Atomics.load(ctl, FAILED) > 0) throw new DpmError('U-Net CPU engine: a worker thread failed (see stderr)');
  }

  destroy(): void {
    if (this.workers.length === 0) return;
    const { ctl } = views(this.memory, this.block, this.threads);
    Atomics.store(ctl, STOP, 1);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}

/** the worker side: wait for a generation, drain its tasks, count itself done; until STOP */
export function workerLoop(ex: UNetExports, init: UNetWorkerInit, ready: () => void): void {
  const ctl = () => views(init.memory, init.block, init.threads).ctl;
  let seen = Atomics.load(ctl(), GEN);
  ready();
  for (;;) {
    seen = waitForChange(ctl(), GEN, seen);
    let c = ctl();
    if (Atomics.load(c, STOP)) break;
    try {
      drainTasks(ex, init.memory, init.block, init.thread, init.threads);
    } catch (err) {
      console.error(`U-Net CPU engine worker ${init.thread}:`, err);
      c = ctl();
      Atomics.add(c, FAILED, 1);
    }
    c = ctl();
    Atomics.add(c, DONE, 1);
    Atomics.notify(c, DONE);
  }
}
