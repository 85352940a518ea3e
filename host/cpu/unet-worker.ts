// A worker thread of the U-Net CPU engine (host/cpu/unet-threads.ts): instantiates the module it was sent on the
// shared memory, then takes tasks of each layer the main thread starts, until told to stop.
import { parentPort, workerData } from 'node:worker_threads';
import { type UNetWorkerInit, workerLoop } from './unet-threads.js';
import { instantiateUNet } from './unet-wasm.js';

const init = workerData as UNetWorkerInit;
workerLoop(instantiateUNet(init.module, init.memory), init, () => parentPort!.postMessage('ready'));
