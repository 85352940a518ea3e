// What every U-Net engine provides (float64 reference in this folder, WebAssembly in host/cpu, WGSL in host/gpu); the
// training loop, prediction and the ablation are written against it. Numerics: docs/unet.md (PyTorch's
// nn.Conv2d / BatchNorm2d / ConvTranspose2d / cross_entropy / Adam with weight decay, checked by the fixtures of
// scripts/unet-fixtures.py).
//
// Layouts: x is [B, C, H, W] row-major float32 (NCHW, as PyTorch); labels are [B, H, W] with 0 … K−1 and IGNORE_LABEL
// for pixels left out of the loss; probabilities are [B, K, H, W]. H and W are divisible by 2^depth.
import { DpmError } from '../../core/errors.js';
import type { OptimizerState } from '../engine.js';
import type { UNetConfig } from './config.js';

export interface SegmentationBatch {
  x: Float32Array;
  labels: Uint8Array;
  B: number;
  H: number;
  W: number;
}

export interface UNetAdamOptions {
  /** papers/003: 0.01 at the start (ReduceLROnPlateau lowers it) */
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** L2 added to the gradient before the moments, as torch.optim.Adam(weight_decay=…) (papers/003: 1e-4) */
  weightDecay: number;
}

export const PAPER_UNET_ADAM: UNetAdamOptions = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4 };

/** the forecaster's: Adam's step count and moments (checked by checkOptimizerState of model/engine.ts) */
export type UNetOptimizerState = OptimizerState;

export interface UNetEngine {
  readonly config: UNetConfig;
  /** e.g. "WebAssembly SIMD, 2 threads" or "reference float64" */
  readonly description: string;
  /** the largest batch of H × W chips one call takes; callers split larger batches */
  maxBatch(H: number, W: number): number;

  /** packed parameters in unetParamLayout order */
  setParams(packed: Float32Array): Promise<void>;
  getParams(): Promise<Float32Array>;
  /** BatchNorm running statistics in unetBufferLayout order */
  setBuffers(packed: Float32Array): Promise<void>;
  getBuffers(): Promise<Float32Array>;
  getOptimizerState(): Promise<UNetOptimizerState>;
  /** restores Adam moments and step count (resume); undefined resets them to zero */
  setOptimizerState(state: UNetOptimizerState | undefined): Promise<void>;

  /** Training-mode forward (BatchNorm on batch statistics, running statistics updated with momentum 0.1 and the
   *  unbiased variance, as PyTorch's forward in train()) and backward: the weighted mean cross-entropy
   *  Σ w_y·(−log p_y) / Σ w_y over pixels not ignored (0 when none), and its gradient (no weight decay). */
  lossAndGrad(batch: SegmentationBatch, classWeights: Float32Array): Promise<{ loss: number; grad: Float32Array }>;
  /** lossAndGrad, then one Adam step with weight decay; returns the loss before the step. */
  trainStep(batch: SegmentationBatch, classWeights: Float32Array, opt: UNetAdamOptions): Promise<{ loss: number }>;
  /** Eval-mode (running statistics) loss, for validation; running statistics unchanged. */
  loss(batch: SegmentationBatch, classWeights: Float32Array): Promise<number>;
  /** Eval-mode softmax probabilities [B, K, H, W]. */
  predict(x: Float32Array, B: number, H: number, W: number): Promise<Float32Array>;

  destroy(): void;
}

/**
 * The engines' check of a packed vector handed in (parameters, BatchNorm buffers, input, labels, class weights):
 * one message whichever engine refuses it (Adam moments: checkOptimizerState of model/engine.ts).
 */
export function checkLength(what: string, values: ArrayLike<number>, expected: number): void {
  if (values.length !== expected) {
    throw new DpmError(`U-Net engine: ${what} has ${values.length} values, expected ${expected}`);
  }
}
