// A worker thread of host/monitor/parallel.ts: advances and decodes the pixel ranges it is sent, on arrays shared
// with the main thread (SharedArrayBuffer), and answers each range with its start.
import { parentPort, workerData } from 'node:worker_threads';
import { GruStepper } from '../model/step.js';
import type { StepWorkerData } from './parallel.js';

const d = workerData as StepWorkerData;
const stepper = new GruStepper(d.config, d.params);
const hidden = new Float32Array(d.hidden);
const u = new Float32Array(d.u);
const mu = new Float64Array(d.mu);
const logvar = new Float64Array(d.logvar);
parentPort!.on('message', ({ from, to }: { from: number; to: number }) => {
  stepper.advanceAll(hidden, u, from, to);
  stepper.decodeAll(hidden, from, to, mu.subarray(from, to), logvar.subarray(from, to));
  parentPort!.postMessage(from);
});
