// The U-Net's tensors and kernels on the GPU for one chip size (H × W) and batch capacity: every activation and
// gradient buffer, and the op modules of host/gpu/ops/ bound to them, in the order of docs/unet.md's network
// (scripts/unet-fixtures.py). The skip concatenation is one buffer per level: the encoder block's last ReLU writes
// channels [0, w), the transposed convolution [w, 2w); its gradient likewise, the max-pool's backward adding into the
// skip half in place. host/gpu/unet-engine.ts records the lists in command buffers.
import type { TensorSlot } from '../model/params.js';
import { levelWidths, unetBufferLayout, unetParamLayout, type UNetConfig } from '../model/unet/config.js';
import type { Gpu } from './device.js';
import {
  batchNormBackward,
  batchNormForward,
  batchNormPartFloats,
  batchNormStats,
  type BatchNormShape,
} from './ops/batchnorm.js';
import { conv2dBackwardData, conv2dForward, conv2dPartialFloats, conv2dWeightGrad } from './ops/conv2d.js';
import type { Conv2dShape } from './ops/conv2d.js';
import {
  convTransposeBackwardData,
  convTransposeForward,
  convTransposePartialFloats,
  convTransposeWeightGrad,
  type ConvTransposeShape,
} from './ops/conv-transpose.js';
import { maxSplitsOf, type UNetGpuTuning } from './ops/gemm.js';
import { maxPoolBackward, maxPoolForward } from './ops/maxpool.js';
import { SoftmaxXentOp, xentPartialFloats } from './ops/softmax-xent.js';
import { dimsUniform, storage, whole, writeDims, type Encodable, type View } from './ops/unet-kernel.js';

/** The buffers that live as long as the engine (parameters, gradient, BatchNorm buffers). */
export interface FixedBuffers {
  params: GPUBuffer;
  grad: GPUBuffer;
  running: GPUBuffer;
}

/** A node of the forward pass as the fixtures name it (`down.0.conv1`, `pool.0`, `cat.1`, `head` …): where its value
 *  and its gradient lie. */
export interface NodeViews {
  C: number;
  H: number;
  W: number;
  act: View;
  /** absent where the engine does not keep it (the network input's gradient, the concatenation's own) */
  dact?: View;
}

const offsetsOf = (layout: TensorSlot[]) => {
  const map = new Map(layout.map((s) => [s.name, s.offset]));
  return (name: string): number => {
    const o = map.get(name);
    if (o === undefined) throw new Error(`U-Net layout: no tensor ${name}`);
    return o;
  };
};

/** floats per chip of every per-batch tensor of the net at H × W (what UNetGraph allocates, times its capacity) */
export function unetTensorFloats(c: UNetConfig, H: number, W: number): Map<string, number> {
  const w = levelWidths(c);
  const px = (i: number) => (H >> i) * (W >> i);
  const t = new Map<string, number>([
    ['x', c.inChannels * H * W],
    ['labels', H * W],
    ['logits', c.classes * H * W],
    ['dlogits', c.classes * H * W],
  ]);
  const block = (name: string, cout: number, level: number) => {
    for (const k of ['x1', 'a1', 'x2', 'dx1', 'da1', 'dx2']) t.set(`${name}.${k}`, cout * px(level));
  };
  for (let i = 0; i < c.depth; i++) {
    block(`down.${i}`, w[i]!, i);
    t.set(`cat.${i}`, 2 * w[i]! * px(i)).set(`dcat.${i}`, 2 * w[i]! * px(i));
    t.set(`pool.${i}`, w[i]! * px(i + 1))
      .set(`dpool.${i}`, w[i]! * px(i + 1))
      .set(`arg.${i}`, w[i]! * px(i + 1));
  }
  block('bottom', w[c.depth]!, c.depth);
  t.set('bottom.a2', w[c.depth]! * px(c.depth)).set('bottom.da2', w[c.depth]! * px(c.depth));
  for (let j = 0; j < c.depth; j++) {
    const i = c.depth - 1 - j;
    block(`dec.${j}`, w[i]!, i);
    t.set(`dec.${j}.a2`, w[i]! * px(i)).set(`dec.${j}.da2`, w[i]! * px(i));
  }
  return t;
}

export class UNetGraph {
  /** training forward (BatchNorm on batch statistics, running statistics updated) */
  readonly trainForward: Encodable[] = [];
  /** eval forward (running statistics) */
  readonly evalForward: Encodable[] = [];
  /** the loss's partial sums and total (the training-mode logits' loss, or eval's) */
  lossOnly!: SoftmaxXentOp;
  /** the loss and dlogits */
  lossAndGradient!: SoftmaxXentOp;
  /** softmax probabilities into `dlogits` */
  softmax!: SoftmaxXentOp;
  /** the backward pass from dlogits: every parameter's gradient */
  readonly backward: Encodable[] = [];
  readonly nodes = new Map<string, NodeViews>();
  readonly buf = new Map<string, GPUBuffer>();
  readonly dims: GPUBuffer;
  /** (loss, Σ w) */
  readonly total: GPUBuffer;
  readonly classWeights: GPUBuffer;
  private readonly owned: { destroy(): void }[] = [];

  private constructor(
    readonly gpu: Gpu,
    readonly config: UNetConfig,
    readonly H: number,
    readonly W: number,
    readonly capacity: number,
    private readonly fixed: FixedBuffers,
    private readonly tuning: UNetGpuTuning,
  ) {
    for (const [name, floats] of unetTensorFloats(config, H, W))
      this.buf.set(name, storage(gpu, name, floats * capacity));
    this.dims = dimsUniform(gpu, 'unet dims');
    this.total = storage(gpu, 'loss total', 2);
    this.classWeights = storage(gpu, 'class weights', config.classes);
    this.owned.push(...this.buf.values(), this.dims, this.total, this.classWeights);
  }

  static async create(
    gpu: Gpu,
    config: UNetConfig,
    size: { H: number; W: number; capacity: number },
    fixed: FixedBuffers,
    tuning: UNetGpuTuning,
  ): Promise<UNetGraph> {
    const g = await gpu.checked(
      'U-Net buffers',
      () => new UNetGraph(gpu, config, size.H, size.W, size.capacity, fixed, tuning),
    );
    try {
      await g.build();
    } catch (err) {
      g.destroy();
      throw err;
    }
    return g;
  }

  private b(name: string): GPUBuffer {
    const b = this.buf.get(name);
    if (!b) throw new Error(`U-Net graph: no buffer ${name}`);
    return b;
  }

  private async build(): Promise<void> {
    const { gpu, config: c, tuning: t } = this;
    const w = levelWidths(c);
    const Hs = (i: number) => this.H >> i;
    const Ws = (i: number) => this.W >> i;
    const param = offsetsOf(unetParamLayout(c));
    const running = offsetsOf(unetBufferLayout(c));
    const { params, grad } = this.fixed;
    const dims = this.dims;

    // The walk below declares each layer's shapes and a function making its kernels; the kernels are made once the
    // shared buffers sized by the walk exist (BatchNorm statistics, split partial sums). A layer's backward list is
    // in backward order; the net's backward is the layers' lists from the last layer to the first.
    type Kernels = { forward: Promise<Encodable>[]; eval: Promise<Encodable>[]; backward: Promise<Encodable>[] };
    const layers: (() => Kernels)[] = [];
    const same = (forward: Promise<Encodable>[], backward: Promise<Encodable>[]): Kernels => ({
      forward,
      eval: forward,
      backward,
    });
    let statFloats = 0;
    let partFloats = 0;
    let bnPartFloats = 0;
    const shared = {
      stats: undefined as GPUBuffer | undefined,
      part: undefined as GPUBuffer | undefined,
      bnPart: undefined as GPUBuffer | undefined,
    };
    const stats = () => shared.stats!;
    const part = () => shared.part!;
    const bnShape = (name: string, C: number, level: number): BatchNormShape => {
      const s = { C, H: Hs(level), W: Ws(level), soff: statFloats };
      statFloats += 2 * C;
      const shape = { ...s, poff: param(`${name}.weight`), roff: running(`${name}.running_mean`) };
      bnPartFloats = Math.max(bnPartFloats, batchNormPartFloats(shape, this.capacity, t));
      return shape;
    };
    const convShape = (s: Conv2dShape) => {
      partFloats = Math.max(
        partFloats,
        maxSplitsOf(s.cout, conv2dPartialFloats(s) / s.cout, t) * conv2dPartialFloats(s),
      );
      return s;
    };
    const bnIo = () => ({ params, grad, running: this.fixed.running, stats: stats(), part: shared.bnPart!, dims });

    /** [conv 3×3 → BN → ReLU] × 2 from `inp` (cin channels) to `out` (the skip half of a concatenation for the
     *  encoder); dIn: where the input's gradient goes (none for the network's input) */
    const convBlock = (
      name: string,
      inp: View,
      cin: number,
      cout: number,
      level: number,
      out: View,
      dOut: View,
      dIn?: View,
    ) => {
      const H = Hs(level);
      const W = Ws(level);
      const [x1, a1, x2, dx1, da1, dx2] = ['x1', 'a1', 'x2', 'dx1', 'da1', 'dx2'].map((k) => this.b(`${name}.${k}`));
      const conv1 = convShape({ cin, cout, H, W, ks: 3, woff: param(`${name}.conv1.weight`) });
      const conv2 = convShape({ cin: cout, cout, H, W, ks: 3, woff: param(`${name}.conv2.weight`) });
      const bn1 = bnShape(`${name}.bn1`, cout, level);
      const bn2 = bnShape(`${name}.bn2`, cout, level);
      const a1v = whole(a1!, cout);
      const da1v = whole(da1!, cout);
      const node = (n: string, act: View, dact: View) => this.nodes.set(`${name}.${n}`, { C: cout, H, W, act, dact });
      node('conv1', whole(x1!, cout), whole(dx1!, cout));
      node('relu1', a1v, da1v);
      node('conv2', whole(x2!, cout), whole(dx2!, cout));
      node('relu2', out, dOut);
      layers.push(() => {
        const f1 = conv2dForward(gpu, conv1, { params, inp, out: x1!, dims }, t);
        const f2 = conv2dForward(gpu, conv2, { params, inp: a1v, out: x2!, dims }, t);
        const relu1 = (ev: boolean) =>
          batchNormForward(gpu, bn1, { ...bnIo(), x: x1!, y: a1v }, { eval: ev, relu: true }, t);
        const relu2 = (ev: boolean) =>
          batchNormForward(gpu, bn2, { ...bnIo(), x: x2!, y: out }, { eval: ev, relu: true }, t);
        const backward: Promise<Encodable>[] = [
          ...batchNormBackward(gpu, bn2, { ...bnIo(), x: x2!, y: out, dy: dOut, dx: dx2! }, t),
          conv2dWeightGrad(gpu, conv2, { dout: dx2!, inp: a1v, part: part(), grad }, t),
          conv2dBackwardData(gpu, conv2, { params, dout: dx2!, din: da1v, dims }, t),
          ...batchNormBackward(gpu, bn1, { ...bnIo(), x: x1!, y: a1v, dy: da1v, dx: dx1! }, t),
          conv2dWeightGrad(gpu, conv1, { dout: dx1!, inp, part: part(), grad }, t),
        ];
        if (dIn) backward.push(conv2dBackwardData(gpu, conv1, { params, dout: dx1!, din: dIn, dims }, t));
        return {
          forward: [
            f1,
            ...batchNormStats(gpu, bn1, { ...bnIo(), x: x1! }, true, t),
            relu1(false),
            f2,
            ...batchNormStats(gpu, bn2, { ...bnIo(), x: x2! }, true, t),
            relu2(false),
          ],
          eval: [f1, relu1(true), f2, relu2(true)],
          backward,
        };
      });
    };

    const x = whole(this.b('x'), c.inChannels);
    this.nodes.set('input', { C: c.inChannels, H: this.H, W: this.W, act: x });
    for (let i = 0; i < c.depth; i++) {
      const skip: View = { buf: this.b(`cat.${i}`), ct: 2 * w[i]!, co: 0 };
      const dskip: View = { buf: this.b(`dcat.${i}`), ct: 2 * w[i]!, co: 0 };
      const inp = i === 0 ? x : whole(this.b(`pool.${i - 1}`), w[i - 1]!);
      const dIn = i === 0 ? undefined : whole(this.b(`dpool.${i - 1}`), w[i - 1]!);
      convBlock(`down.${i}`, inp, inp.ct, w[i]!, i, skip, dskip, dIn);
      const pool = this.b(`pool.${i}`);
      const arg = this.b(`arg.${i}`);
      const dpool = this.b(`dpool.${i}`);
      const ps = { C: w[i]!, H: Hs(i), W: Ws(i) };
      const [pv, dpv] = [whole(pool, w[i]!), whole(dpool, w[i]!)];
      this.nodes.set(`pool.${i}`, { C: w[i]!, H: Hs(i + 1), W: Ws(i + 1), act: pv, dact: dpv });
      layers.push(() =>
        same(
          [maxPoolForward(gpu, ps, { inp: skip, out: pool, arg, dims }, t)],
          [maxPoolBackward(gpu, ps, { dout: dpool, arg, din: dskip, dims }, true, t)],
        ),
      );
    }
    const d = c.depth;
    convBlock(
      'bottom',
      whole(this.b(`pool.${d - 1}`), w[d - 1]!),
      w[d - 1]!,
      w[d]!,
      d,
      whole(this.b('bottom.a2'), w[d]!),
      whole(this.b('bottom.da2'), w[d]!),
      whole(this.b(`dpool.${d - 1}`), w[d - 1]!),
    );
    for (let j = 0; j < d; j++) {
      const i = d - 1 - j;
      const cat = this.b(`cat.${i}`);
      const dcat = this.b(`dcat.${i}`);
      const prev = j === 0 ? 'bottom' : `dec.${j - 1}`;
      const inp = this.b(`${prev}.a2`);
      const dinp = this.b(`${prev}.da2`);
      const us: ConvTransposeShape = {
        cin: w[i + 1]!,
        cout: w[i]!,
        H: Hs(i + 1),
        W: Ws(i + 1),
        woff: param(`up.${j}.weight`),
        boff: param(`up.${j}.bias`),
      };
      partFloats = Math.max(partFloats, maxSplitsOf(us.cin + 1, 4 * us.cout, t) * convTransposePartialFloats(us));
      const up: View = { buf: cat, ct: 2 * w[i]!, co: w[i]! };
      const dup: View = { buf: dcat, ct: 2 * w[i]!, co: w[i]! };
      this.nodes.set(`up.${j}`, { C: w[i]!, H: Hs(i), W: Ws(i), act: up, dact: dup });
      // the skip half of dcat is added to by the pool's backward: the concatenation's own gradient is not kept
      this.nodes.set(`cat.${j}`, { C: 2 * w[i]!, H: Hs(i), W: Ws(i), act: whole(cat, 2 * w[i]!) });
      layers.push(() =>
        same(
          [convTransposeForward(gpu, us, { params, inp, up, dims }, t)],
          [
            convTransposeWeightGrad(gpu, us, { inp, dup, part: part(), grad }, t),
            convTransposeBackwardData(gpu, us, { params, dup, din: dinp, dims }, t),
          ],
        ),
      );
      const name = `dec.${j}`;
      const [out, dOut] = [whole(this.b(`${name}.a2`), w[i]!), whole(this.b(`${name}.da2`), w[i]!)];
      convBlock(name, whole(cat, 2 * w[i]!), 2 * w[i]!, w[i]!, i, out, dOut, whole(dcat, 2 * w[i]!));
    }
    const logits = this.b('logits');
    const dlogits = this.b('dlogits');
    const last = whole(this.b(`dec.${d - 1}.a2`), c.width);
    const dlast = whole(this.b(`dec.${d - 1}.da2`), c.width);
    const head = convShape({
      cin: c.width,
      cout: c.classes,
      H: this.H,
      W: this.W,
      ks: 1,
      woff: param('head.weight'),
      boff: param('head.bias'),
    });
    const [lv, dlv] = [whole(logits, c.classes), whole(dlogits, c.classes)];
    this.nodes.set('head', { C: c.classes, H: this.H, W: this.W, act: lv, dact: dlv });
    layers.push(() =>
      same(
        [conv2dForward(gpu, head, { params, inp: last, out: logits, dims }, t)],
        [
          conv2dWeightGrad(gpu, head, { dout: dlogits, inp: last, part: part(), grad }, t),
          conv2dBackwardData(gpu, head, { params, dout: dlogits, din: dlast, dims }, t),
        ],
      ),
    );

    // every shape is known: the shared buffers, then the kernels
    shared.stats = storage(gpu, 'batchnorm stats', statFloats);
    shared.part = storage(gpu, 'weight grad partial sums', partFloats);
    shared.bnPart = storage(gpu, 'batchnorm chunk statistics', bnPartFloats);
    this.owned.push(shared.bnPart);
    const xpart = storage(gpu, 'loss partial sums', xentPartialFloats(this.capacity, this.H * this.W, t));
    this.owned.push(shared.stats, shared.part, xpart);
    this.buf.set('stats', shared.stats);
    const made = layers.map((make) => make());
    const xentIo = {
      logits,
      labels: this.b('labels'),
      weights: this.classWeights,
      part: xpart,
      total: this.total,
      out: dlogits,
    };
    const shape = { K: c.classes, H: this.H, W: this.W };
    const [f, e, bw, lossOnly, lossAndGradient, softmax] = await Promise.all([
      Promise.all(made.flatMap((k) => k.forward)),
      Promise.all(made.flatMap((k) => k.eval)),
      Promise.all([...made].reverse().flatMap((k) => k.backward)),
      SoftmaxXentOp.create(gpu, shape, xentIo, [0, 1], t),
      SoftmaxXentOp.create(gpu, shape, xentIo, [0, 1, 2], t),
      SoftmaxXentOp.create(gpu, shape, xentIo, [3], t),
    ]);
    this.trainForward.push(...f);
    this.evalForward.push(...e);
    this.backward.push(...bw);
    this.lossOnly = lossOnly;
    this.lossAndGradient = lossAndGradient;
    this.softmax = softmax;
    for (const op of [...bw, lossOnly, lossAndGradient, softmax]) {
      if ('destroy' in op && typeof op.destroy === 'function') this.owned.push(op as { destroy(): void });
    }
  }

  /** the per-call uniforms for a batch of B (queued before the command buffer) */
  prepare(B: number): void {
    writeDims(this.gpu, this.dims, B);
    for (const op of [...this.trainForward, ...this.backward, this.lossOnly, this.lossAndGradient, this.softmax])
      op.prepare?.(B);
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }
}
