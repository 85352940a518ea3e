// What any implementation of the forecaster provides: the WGSL engine on WebGPU (host/gpu) and the float64
// TypeScript reference (host/model/reference.ts). The training loop and forecasting are written against this.
//
// Sequences: x is [B, T, F] row-major float32; feature 0 is the logit coherence that is forecast and scored.
// A NaN in feature 0 marks a missing step: it is left out of the loss, and the GRU is fed the model's own forecast
// mean μ_k there (treated as a constant: no gradient flows through that substitution).
import { PAPER_ADAM as PAPER_ADAM_DEFAULTS } from '../core/defaults.js';
import { DpmError } from '../core/errors.js';
import type { ModelConfig } from './params.js';

export interface AdamOptions {
  lr: number; // 5e-4
  beta1: number; // 0.9
  beta2: number; // 0.999
  eps: number; // 1e-8
  /** global gradient L2-norm clip (10); Infinity = no clipping */
  clipNorm: number;
}

export const PAPER_ADAM: AdamOptions = { ...PAPER_ADAM_DEFAULTS };

/** Adam's step count and moments, one of each per parameter (both models: the U-Net's UNetOptimizerState) */
export interface OptimizerState {
  step: number;
  m: Float32Array;
  v: Float32Array;
}

/** A restored Adam state (resume) for `n` parameters: a whole step count ≥ 0 and moments m, v of n values. One check
 *  and one message for every engine of both models. */
export function checkOptimizerState(state: OptimizerState, n: number): void {
  const { step, m, v } = state;
  if (!Number.isInteger(step) || step < 0 || m.length !== n || v.length !== n) {
    throw new DpmError(
      `optimizer state: expected a whole step count ≥ 0 and Adam moments m, v of ${n} values each, ` +
        `got step ${step}, m of ${m.length} and v of ${v.length} values`,
    );
  }
}

export interface ForecasterEngine {
  readonly config: ModelConfig;
  /** e.g. "webgpu: llvmpipe (opengles)" or "reference float64" */
  readonly description: string;
  /** the largest batch one call handles in one pass at sequence length T (bounded by buffer bindings); callers chunk
   *  above it for progress and cancellation (the GPU engine also accepts larger batches and chunks internally) */
  maxBatch(T: number): number;

  setParams(packed: Float32Array): Promise<void>;
  getParams(): Promise<Float32Array>;
  getOptimizerState(): Promise<OptimizerState>;
  /** restores Adam moments and step count (resume); pass undefined to reset them to zero */
  setOptimizerState(state: OptimizerState | undefined): Promise<void>;

  /** Σ over batch and valid steps of ½(log 2π + logvar + (x − μ)² e^(−logvar)) and its raw gradient (no clipping). */
  lossAndGrad(x: Float32Array, B: number, T: number): Promise<{ loss: number; grad: Float32Array; gradNorm: number }>;
  /** One step: forward, backward, clip the global gradient norm, Adam. Returns the loss before the step. */
  trainStep(x: Float32Array, B: number, T: number, opt: AdamOptions): Promise<{ loss: number; gradNorm: number }>;
  /** The loss alone (validation). */
  loss(x: Float32Array, B: number, T: number): Promise<number>;
  /** Decodes [h_0 … h_T]: mu and logvar [B, T+1]; column T forecasts the next, unseen value. */
  forecast(x: Float32Array, B: number, T: number): Promise<{ mu: Float32Array; logvar: Float32Array }>;

  destroy(): void;
}
