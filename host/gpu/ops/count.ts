// A compute pass that counts its dispatches: the engine reports how many a training step recorded
// (dispatchesPerTrainStep), which on a GPU costs more than the arithmetic of a small step.
import type { PassLike } from '../program.js';

export class CountingPass implements PassLike {
  dispatches = 0;
  constructor(private readonly pass: GPUComputePassEncoder) {}

  setPipeline(pipeline: GPUComputePipeline): void {
    this.pass.setPipeline(pipeline);
  }

  setBindGroup(index: number, group: GPUBindGroup, offsets?: number[]): void {
    this.pass.setBindGroup(index, group, offsets);
  }

  dispatchWorkgroups(x: number, y?: number, z?: number): void {
    this.dispatches++;
    this.pass.dispatchWorkgroups(x, y, z);
  }

  end(): void {
    this.pass.end();
  }
}
