// A worker thread of the CPU engine (host/cpu/threads.ts): instantiates the module it was sent on the shared memory,
// then runs its share of each phase the main thread starts, until told to stop.
import { parentPort, workerData } from 'node:worker_threads';
import {
  CTL_CTX,
  CTL_DONE,
  CTL_FAILED,
  CTL_GENERATION,
  CTL_INTS,
  CTL_PHASE,
  PHASES,
  STOP,
  waitForChange,
  type WorkerInit,
} from './threads.js';
import { instantiate } from './wasm.js';

const init = workerData as WorkerInit;
const ex = instantiate(init.module, init.memory);
const c = new Int32Array(init.memory.buffer, init.control, CTL_INTS);
// read before saying ready: the first phase can start as soon as the main thread hears it
let seen = Atomics.load(c, CTL_GENERATION);
parentPort!.postMessage('ready');
for (;;) {
  seen = waitForChange(c, CTL_GENERATION, seen);
  const phase = c[CTL_PHASE]!;
  if (phase === STOP) break;
  try {
    ex[PHASES[phase]!](c[CTL_CTX]!, init.thread, init.threads);
  } catch (err) {
    console.error(`CPU engine worker ${init.thread}:`, err);
    Atomics.add(c, CTL_FAILED, 1);
  }
  Atomics.add(c, CTL_DONE, 1);
  Atomics.notify(c, CTL_DONE);
}
