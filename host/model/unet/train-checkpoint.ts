// U-Net training checkpoints: one safetensors file written atomically after every epoch (a crash or cancel leaves the
// previous complete one): current and best parameters and buffers, Adam's moments; __metadata__ `state` holds the
// epoch, Adam's step, the scheduler, the shuffling RNG, the class weights, the history and a fingerprint of the data
// and settings that must match on resume.
import { existsSync } from 'node:fs';
import { DpmError } from '../../core/errors.js';
import { readSafetensors, type Tensor, writeSafetensors } from '../safetensors.js';
import { unetBufferCount, unetParamCount, type UNetConfig } from './config.js';
import type { UNetOptimizerState } from './engine.js';
import type { PlateauState } from './plateau.js';

export const UNET_CHECKPOINT_KIND = 'insar-dpm U-Net training checkpoint';

export interface UNetEpochLog {
  epoch: number;
  /** mean training loss of the epoch's batches (before each step), weighted by chips */
  trainLoss: number;
  /** eval-mode weighted cross-entropy over the validation pixels (NaN without validation) */
  valLoss: number;
  /** area under the validation PR curve (NaN without validation or score function) */
  valAuprc: number;
  /** the learning rate this epoch trained with */
  lr: number;
  seconds: number;
  /** the best validation loss so far (strictly lower than every earlier one) */
  best: boolean;
}

export interface Weights {
  params: Float32Array;
  buffers: Float32Array;
}

export interface UNetCheckpoint {
  config: UNetConfig;
  /** epochs completed */
  epoch: number;
  current: Weights;
  best: Weights;
  bestEpoch: number;
  bestValLoss: number;
  adam: UNetOptimizerState;
  plateau: PlateauState;
  rng: number[];
  classWeights: number[];
  history: UNetEpochLog[];
  fingerprint: Record<string, unknown>;
}

/** JSON without losing NaN and ±Infinity (they travel as strings and come back as numbers) */
function stringify(value: unknown): string {
  return JSON.stringify(value, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
}

function parse(text: string): unknown {
  const special: Record<string, number> = { NaN: Number.NaN, Infinity: Infinity, '-Infinity': -Infinity };
  return JSON.parse(text, (_, v) => (typeof v === 'string' && v in special ? special[v] : v));
}

export function writeUNetCheckpoint(path: string, ck: UNetCheckpoint): void {
  const vector = (name: string, data: Float32Array): Tensor => ({ name, shape: [data.length], data });
  const { current, best, adam, ...rest } = ck;
  writeSafetensors(
    path,
    [
      vector('params', current.params),
      vector('buffers', current.buffers),
      vector('best.params', best.params),
      vector('best.buffers', best.buffers),
      vector('adam.exp_avg', adam.m),
      vector('adam.exp_avg_sq', adam.v),
    ],
    { kind: UNET_CHECKPOINT_KIND, state: stringify({ ...rest, adamStep: adam.step }) },
  );
}

export function readUNetCheckpoint(path: string): UNetCheckpoint {
  const { tensors, metadata } = readSafetensors(path);
  if (metadata.kind !== UNET_CHECKPOINT_KIND || metadata.state === undefined)
    throw new DpmError(`${path}: not an insar-dpm U-Net training checkpoint`);
  let state: Omit<UNetCheckpoint, 'current' | 'best' | 'adam'> & { adamStep: number };
  try {
    state = parse(metadata.state) as typeof state;
  } catch {
    throw new DpmError(`${path}: the checkpoint's state is not JSON`);
  }
  const P = unetParamCount(state.config);
  const S = unetBufferCount(state.config);
  const get = (name: string, n: number) => {
    const t = tensors.get(name);
    if (!t || t.data.length !== n)
      throw new DpmError(`${path}: checkpoint tensor ${name} is missing or has the wrong size`);
    return t.data;
  };
  const { adamStep, ...rest } = state;
  return {
    ...rest,
    current: { params: get('params', P), buffers: get('buffers', S) },
    best: { params: get('best.params', P), buffers: get('best.buffers', S) },
    adam: { step: adamStep, m: get('adam.exp_avg', P), v: get('adam.exp_avg_sq', P) },
  };
}

export function unetCheckpointExists(path: string): boolean {
  return existsSync(path);
}

export const UNET_HISTORY_CSV_HEADER = 'epoch,train_loss,val_loss,val_auprc,lr,seconds,best';

/** One history row as CSV (NaN left empty: no validation) */
export function historyCsvRow(e: UNetEpochLog): string {
  const num = (v: number) => (Number.isNaN(v) ? '' : String(v));
  return [e.epoch, num(e.trainLoss), num(e.valLoss), num(e.valAuprc), e.lr, e.seconds.toFixed(3), e.best ? 1 : 0].join(
    ',',
  );
}
