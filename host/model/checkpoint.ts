// Training checkpoints: one safetensors file (params, Adam moments, best weights) whose __metadata__ holds the
// epoch, the shuffling RNG state, the history and a fingerprint of data and settings. Written atomically after
// every epoch so that a crash or cancel leaves the previous complete checkpoint.
import { existsSync } from 'node:fs';
import { DpmError } from '../core/errors.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';
import { paramCount, type ModelConfig } from './params.js';

export interface EpochLog {
  epoch: number;
  /** loss per sequence, training batches (before each step) */
  trainLoss: number;
  /** loss per sequence on the validation pixels (NaN without validation) */
  valLoss: number;
  seconds: number;
  best: boolean;
}

export interface CheckpointState {
  config: ModelConfig;
  /** epochs completed */
  epoch: number;
  params: Float32Array;
  best: Float32Array;
  bestEpoch: number;
  bestValLoss: number;
  adam: { step: number; m: Float32Array; v: Float32Array };
  rng: number[];
  history: EpochLog[];
  /** data and settings that must match on resume */
  fingerprint: Record<string, unknown>;
}

export function writeCheckpoint(path: string, s: CheckpointState): void {
  const P = s.params.length;
  writeSafetensors(
    path,
    [
      { name: 'params', shape: [P], data: s.params },
      { name: 'best', shape: [P], data: s.best },
      { name: 'adam.exp_avg', shape: [P], data: s.adam.m },
      { name: 'adam.exp_avg_sq', shape: [P], data: s.adam.v },
    ],
    {
      kind: 'insar-dpm training checkpoint',
      state: JSON.stringify({
        config: s.config,
        epoch: s.epoch,
        bestEpoch: s.bestEpoch,
        // JSON has no NaN/Infinity: keep them as strings
        bestValLoss: String(s.bestValLoss),
        adamStep: s.adam.step,
        rng: s.rng,
        history: s.history.map((h) => ({ ...h, valLoss: String(h.valLoss), trainLoss: String(h.trainLoss) })),
        fingerprint: s.fingerprint,
      }),
    },
  );
}

export function readCheckpoint(path: string): CheckpointState {
  const { tensors, metadata } = readSafetensors(path);
  if (metadata.kind !== 'insar-dpm training checkpoint' || !metadata.state)
    throw new DpmError(`${path}: not an insar-dpm training checkpoint`);
  // the JSON written by writeCheckpoint: the scalar fields of CheckpointState; JSON has no Infinity, hence Number()
  let st: Omit<CheckpointState, 'params' | 'best' | 'adam'> & { adamStep: number };
  try {
    st = JSON.parse(metadata.state);
  } catch {
    throw new DpmError(`${path}: checkpoint state is not JSON`);
  }
  const P = paramCount(st.config);
  const get = (n: string) => {
    const t = tensors.get(n);
    if (!t || t.data.length !== P)
      throw new DpmError(`${path}: checkpoint tensor ${n} is missing or has the wrong size`);
    return t.data;
  };
  return {
    config: st.config,
    epoch: st.epoch,
    params: get('params'),
    best: get('best'),
    bestEpoch: st.bestEpoch,
    bestValLoss: Number(st.bestValLoss),
    adam: { step: st.adamStep, m: get('adam.exp_avg'), v: get('adam.exp_avg_sq') },
    rng: st.rng,
    history: st.history.map((h) => ({ ...h, valLoss: Number(h.valLoss), trainLoss: Number(h.trainLoss) })),
    fingerprint: st.fingerprint,
  };
}

export function checkpointExists(path: string): boolean {
  return existsSync(path);
}
