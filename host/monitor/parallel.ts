// One GRU step and decode for every pixel on worker threads (host/monitor/step-worker.ts): the pixels are split into
// ranges handed to the workers as they finish; each pixel is computed by one thread with the same arithmetic as
// GruStepper on the main thread, so the result does not depend on the thread count. Progress and cancellation
// between ranges.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { silentFeedback, throwIfCanceled, type Feedback } from '../core/feedback.js';
import type { ModelConfig } from '../model/params.js';

export interface StepWorkerData {
  config: ModelConfig;
  params: Float32Array;
  hidden: SharedArrayBuffer;
  u: SharedArrayBuffer;
  mu: SharedArrayBuffer;
  logvar: SharedArrayBuffer;
}

const RANGE = 32768; // pixels per message

/** h := GRU(u, h) for every pixel of hidden [N, H] (in place), then μ and logvar [N] decoded from the new states */
export async function stepAllPixels(
  config: ModelConfig,
  params: Float32Array,
  hidden: Float32Array,
  u: Float32Array,
  threads = availableParallelism(),
  feedback: Feedback = silentFeedback,
): Promise<{ mu: Float64Array; logvar: Float64Array }> {
  const N = hidden.length / config.hidden;
  const share = (a: Float32Array) => {
    const sab = new SharedArrayBuffer(a.byteLength);
    new Float32Array(sab).set(a);
    return sab;
  };
  const data: StepWorkerData = {
    config,
    params,
    hidden: share(hidden),
    u: share(u),
    mu: new SharedArrayBuffer(N * 8),
    logvar: new SharedArrayBuffer(N * 8),
  };
  const workers = Array.from(
    { length: Math.max(1, Math.min(threads, Math.ceil(N / RANGE))) },
    () => new Worker(new URL('./step-worker.js', import.meta.url), { workerData: data, execArgv: [] }),
  );
  try {
    let next = 0,
      done = 0;
    await new Promise<void>((resolve, reject) => {
      const send = (w: Worker) => {
        if (next >= N) return;
        const from = next;
        next = Math.min(N, next + RANGE);
        w.postMessage({ from, to: next });
      };
      for (const w of workers) {
        w.on('error', reject);
        w.on('message', (from: number) => {
          done += Math.min(RANGE, N - from);
          try {
            throwIfCanceled(feedback);
          } catch (e) {
            reject(e);
            return;
          }
          feedback.progress((100 * done) / N, 'monitor update');
          if (done >= N) resolve();
          else send(w);
        });
        send(w);
      }
      if (N === 0) resolve();
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  hidden.set(new Float32Array(data.hidden));
  return { mu: new Float64Array(data.mu), logvar: new Float64Array(data.logvar) };
}
