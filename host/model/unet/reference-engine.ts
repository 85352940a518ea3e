// The float64 reference U-Net engine: UNetEngine (engine.ts) on reference-net.ts. Parameters, buffers and Adam moments
// live in float64; they cross the interface as float32. Slow (plain loops, one thread): the yardstick, and the engine
// of last resort. Inputs must be finite: NaN/no-data pixels are filled before the engine (docs/unet.md).
import { checkOptimizerState } from '../engine.js';
import { unetBufferCount, unetParamCount, type UNetConfig } from './config.js';
import {
  checkLength,
  type SegmentationBatch,
  type UNetAdamOptions,
  type UNetEngine,
  type UNetOptimizerState,
} from './engine.js';
import { type AdamState, actOf, adamStep, crossEntropy, softmax } from './reference-layers.js';
import { backwardNet, createUNetState, forwardNet, type UNetState } from './reference-net.js';

/** Checks a chip size against the config: H and W divisible by 2^depth. */
export function checkChipSize(config: UNetConfig, H: number, W: number): void {
  const f = 2 ** config.depth;
  if (H % f !== 0 || W % f !== 0 || H <= 0 || W <= 0)
    throw new Error(`internal: U-Net chips of ${H} × ${W} are not multiples of 2^depth = ${f}`);
}

class ReferenceUNetEngine implements UNetEngine {
  readonly description = 'reference float64';
  private readonly state: UNetState;
  private adam: AdamState;

  constructor(readonly config: UNetConfig) {
    this.state = createUNetState(config);
    this.adam = freshAdam(this.state.params.length);
  }

  maxBatch(): number {
    // memory is not the limit of plain loops; time is, and the caller's batch size decides that
    return 64;
  }

  async setParams(packed: Float32Array): Promise<void> {
    checkLength('parameters', packed, unetParamCount(this.config));
    this.state.params.set(packed);
  }

  async getParams(): Promise<Float32Array> {
    return Float32Array.from(this.state.params);
  }

  async setBuffers(packed: Float32Array): Promise<void> {
    checkLength('BatchNorm buffers', packed, unetBufferCount(this.config));
    this.state.buffers.set(packed);
  }

  async getBuffers(): Promise<Float32Array> {
    return Float32Array.from(this.state.buffers);
  }

  async getOptimizerState(): Promise<UNetOptimizerState> {
    return { step: this.adam.step, m: Float32Array.from(this.adam.m), v: Float32Array.from(this.adam.v) };
  }

  async setOptimizerState(state: UNetOptimizerState | undefined): Promise<void> {
    const n = this.state.params.length;
    this.adam = freshAdam(n);
    if (!state) return;
    checkOptimizerState(state, n);
    this.adam.m.set(state.m);
    this.adam.v.set(state.v);
    this.adam.step = state.step;
  }

  async lossAndGrad(batch: SegmentationBatch, classWeights: Float32Array) {
    const loss = this.trainForwardBackward(batch, classWeights);
    return { loss, grad: Float32Array.from(this.state.grad) };
  }

  async trainStep(batch: SegmentationBatch, classWeights: Float32Array, opt: UNetAdamOptions) {
    const loss = this.trainForwardBackward(batch, classWeights);
    adamStep(this.state.params, this.state.grad, this.adam, opt);
    return { loss };
  }

  async loss(batch: SegmentationBatch, classWeights: Float32Array): Promise<number> {
    const fwd = forwardNet(this.state, this.input(batch.x, batch.B, batch.H, batch.W), 'eval');
    return crossEntropy(fwd.logits, batch.labels, classWeights).loss;
  }

  async predict(x: Float32Array, B: number, H: number, W: number): Promise<Float32Array> {
    const fwd = forwardNet(this.state, this.input(x, B, H, W), 'eval');
    return Float32Array.from(softmax(fwd.logits).data);
  }

  destroy(): void {}

  /** training forward (running statistics move), loss, backward into state.grad */
  private trainForwardBackward(batch: SegmentationBatch, classWeights: Float32Array): number {
    const { B, H, W } = batch;
    if (batch.labels.length !== B * H * W)
      throw new Error(`internal: ${batch.labels.length} labels for a batch of ${B} × ${H} × ${W}`);
    const fwd = forwardNet(this.state, this.input(batch.x, B, H, W), 'train');
    const { loss, dlogits } = crossEntropy(fwd.logits, batch.labels, classWeights);
    backwardNet(this.state, fwd, dlogits);
    return loss;
  }

  private input(x: Float32Array, B: number, H: number, W: number) {
    checkChipSize(this.config, H, W);
    return actOf(x, B, this.config.inChannels, H, W);
  }
}

function freshAdam(n: number): AdamState {
  return { step: 0, m: new Float64Array(n), v: new Float64Array(n) };
}

/** The float64 reference engine (slow; the yardstick of the WebAssembly and WGSL engines). */
export function createReferenceUNetEngine(config: UNetConfig): UNetEngine {
  return new ReferenceUNetEngine(config);
}
