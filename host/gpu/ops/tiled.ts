// The hardware plan's matrix products: the decoder (forward and backward) and the weight gradients over all T·B
// rows at once, each one dispatch of shaders/matmul.wgsl (64 × 64 tiles of the result per workgroup) behind the
// loader piece that says what A, B and C are.
import type { Gpu } from '../device.js';
import { Program, type PassLike, type ProgramSpec } from '../program.js';
import type { DenseShape, ModelLayers } from './layers.js';
import { weightGradOperands, type WorkBuffers } from './work.js';

const TILE = 64; // matmul.wgsl's result tile
const MATMUL_WG = 256;

const forwardSpec: ProgramSpec = {
  shader: ['layer_shape.wgsl', 'mm_dense_forward.wgsl', 'matmul.wgsl'],
  bindings: ['ro', 'ro', 'rw', 'step'],
  names: ['params', 'inp', 'outp', 'step'],
};

const backwardSpec: ProgramSpec = {
  shader: ['layer_shape.wgsl', 'mm_dense_backward.wgsl', 'matmul.wgsl'],
  bindings: ['ro', 'ro', 'ro', 'rw', 'step'],
  names: ['params', 'dout', 'act', 'din', 'step'],
};

const weightGradSpec: ProgramSpec = {
  shader: ['layer_shape.wgsl', 'mm_weight_grad.wgsl', 'matmul.wgsl'],
  bindings: ['ro', 'ro', 'rw', 'step'],
  names: ['dout', 'inp', 'grad', 'step'],
};

/** one matrix product: its program, its bind group once bound, and the result's columns (rows vary per call) */
class Product {
  group: GPUBindGroup | undefined;
  constructor(
    readonly program: Program,
    readonly columns: number,
    readonly fixedRows?: number,
  ) {}

  encode(pass: PassLike, rows: number, slot: number): void {
    if (!this.group) throw new Error(`${this.program.label} used before bind()`);
    const m = this.fixedRows ?? rows;
    this.program.dispatchGrid(pass, this.group, Math.ceil(this.columns / TILE), Math.ceil(m / TILE), slot);
  }
}

const shapeOf = (d: DenseShape) => ({ ...d, WG: MATMUL_WG });

/** the decoder's four layers forward (h → a1 → a2 → a3 → dec) and backward (dout → d3 → d2 → d1 → dhdec) */
export class TiledDecoder {
  private constructor(
    private readonly forward: Product[],
    private readonly backward: Product[],
  ) {}

  static async create(gpu: Gpu, layers: ModelLayers): Promise<TiledDecoder> {
    const all = [...layers.mlp, layers.heads];
    const names = ['mlp.0', 'mlp.2', 'mlp.4', 'heads'];
    const forward = await Promise.all(
      all.map((d, j) =>
        Program.get(gpu, forwardSpec, { ...shapeOf(d), RELU: j < 3 ? 1 : 0 }, `dense ${names[j]} (${d.IN}→${d.OUT})`),
      ),
    );
    // backward from the heads down; the mask is the ReLU of each layer's input (none for mlp.0, whose input is h)
    const backward = await Promise.all(
      [3, 2, 1, 0].map((j) => {
        const d = all[j]!;
        return Program.get(
          gpu,
          backwardSpec,
          { IN: d.IN, OUT: d.OUT, WOFF: d.WOFF, WSTRIDE: d.WSTRIDE, MASK: j > 0 ? 1 : 0, WG: MATMUL_WG },
          `dense backward ${names[j]} (${d.OUT}→${d.IN})`,
        );
      }),
    );
    return new TiledDecoder(
      forward.map((p, j) => new Product(p, all[j]!.OUT)),
      backward.map((p, i) => new Product(p, all[3 - i]!.IN)),
    );
  }

  bind(w: WorkBuffers, params: GPUBuffer, step: GPUBuffer): void {
    const io: [GPUBuffer, GPUBuffer][] = [
      [w.h, w.a1],
      [w.a1, w.a2],
      [w.a2, w.a3],
      [w.a3, w.dec],
    ];
    this.forward.forEach((p, j) => (p.group = p.program.bind({ params, step, inp: io[j]![0], outp: io[j]![1] })));
    const back: [GPUBuffer, GPUBuffer, GPUBuffer][] = [
      [w.dout, w.a3, w.d3],
      [w.d3, w.a2, w.d2],
      [w.d2, w.a1, w.d1],
      [w.d1, w.h, w.dhdec],
    ];
    this.backward.forEach(
      (p, j) => (p.group = p.program.bind({ params, step, dout: back[j]![0], act: back[j]![1], din: back[j]![2] })),
    );
  }

  /** all four layers on `rows` rows (the step record in `slot` says which) */
  encodeForward(pass: PassLike, rows: number, slot: number): void {
    for (const p of this.forward) p.encode(pass, rows, slot);
  }

  encodeBackward(pass: PassLike, rows: number, slot: number): void {
    for (const p of this.backward) p.encode(pass, rows, slot);
  }
}

/** the gradients of all six weight matrices (and biases) from the saved activations and backward gradients */
export class TiledWeightGrads {
  private constructor(private readonly products: Product[]) {}

  static async create(gpu: Gpu, layers: ModelLayers): Promise<TiledWeightGrads> {
    const list: [string, DenseShape][] = [
      ['heads', layers.heads],
      ['mlp.4', layers.mlp[2]],
      ['mlp.2', layers.mlp[1]],
      ['mlp.0', layers.mlp[0]],
      ['gru.hh', layers.hh],
      ['gru.ih', layers.ih],
    ];
    const programs = await Promise.all(
      list.map(([name, d]) =>
        Program.get(gpu, weightGradSpec, { ...shapeOf(d), HAS_BIAS: 1 }, `weight grad ${name} (${d.OUT}×${d.IN})`),
      ),
    );
    return new TiledWeightGrads(programs.map((p, j) => new Product(p, list[j]![1].IN + 1, list[j]![1].OUT)));
  }

  bind(w: WorkBuffers, grad: GPUBuffer, step: GPUBuffer): void {
    const io = weightGradOperands(w);
    this.products.forEach((p, j) => (p.group = p.program.bind({ grad, step, dout: io[j]![0], inp: io[j]![1] })));
  }

  /** over the rows of the step record in `slot` (its flag: add to the gradient, for batch chunks after the first) */
  encode(pass: PassLike, slot: number): void {
    for (const p of this.products) p.encode(pass, 0, slot);
  }
}
