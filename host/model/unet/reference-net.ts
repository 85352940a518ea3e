// The whole U-Net in float64, composed from reference-layers.ts: the network as a list of layers (each named like
// PyTorch's recorded node in scripts/unet-fixtures.py, so every act.<node> / dact.<node> of the fixtures lines up),
// a forward that keeps what the backward needs, and a backward that walks the list in reverse.
import type { TensorSlot } from '../params.js';
import { unetBufferLayout, unetParamLayout, type UNetConfig } from './config.js';
import {
  type Act,
  type BatchNormCache,
  batchNormEvalForward,
  batchNormTrainBackward,
  batchNormTrainForward,
  concatBackward,
  concatForward,
  convBackward,
  convForward,
  maxPoolBackward,
  maxPoolForward,
  reluBackward,
  reluForward,
  upBackward,
  upForward,
  updateRunningStats,
} from './reference-layers.js';

export type LayerKind = 'conv' | 'bn' | 'relu' | 'pool' | 'up' | 'cat' | 'head';

/** One node of the network; a layer with parameters finds them under `${node}.weight` / `.bias` (PyTorch's names). */
export interface Layer {
  node: string;
  kind: LayerKind;
  /** the nodes it reads ('input' is the network's input); cat reads [skip, up] */
  inputs: string[];
  /** output channels (conv, head) */
  channels?: number;
}

/** The network in execution order (scripts/unet-fixtures.py's forward). */
export function unetLayers(c: UNetConfig): Layer[] {
  const layers: Layer[] = [];
  let last = 'input';
  const add = (node: string, kind: LayerKind, inputs: string[] = [last], channels?: number) => {
    layers.push(channels === undefined ? { node, kind, inputs } : { node, kind, inputs, channels });
    last = node;
  };
  const block = (name: string, cout: number) => {
    for (const n of [1, 2]) {
      add(`${name}.conv${n}`, 'conv', [last], cout);
      add(`${name}.bn${n}`, 'bn');
      add(`${name}.relu${n}`, 'relu');
    }
  };
  const widths = Array.from({ length: c.depth + 1 }, (_, i) => c.width * 2 ** i);
  for (let i = 0; i < c.depth; i++) {
    block(`down.${i}`, widths[i]!);
    add(`pool.${i}`, 'pool');
  }
  block('bottom', widths[c.depth]!);
  for (let j = 0; j < c.depth; j++) {
    const i = c.depth - 1 - j;
    add(`up.${j}`, 'up');
    add(`cat.${j}`, 'cat', [`down.${i}.relu2`, `up.${j}`]);
    block(`dec.${j}`, widths[i]!);
  }
  add('head', 'head', [last], c.classes);
  return layers;
}

/** Named views into a packed vector (parameters, their gradient, or buffers). */
export type Views = Map<string, Float64Array>;

export function viewsOf(layout: TensorSlot[], packed: Float64Array): Views {
  return new Map(layout.map((s) => [s.name, packed.subarray(s.offset, s.offset + s.size)]));
}

function view(v: Views, name: string): Float64Array {
  const t = v.get(name);
  if (!t) throw new Error(`internal: no tensor ${name}`);
  return t;
}

export type Mode = 'train' | 'eval';

/** What a layer's backward needs from its forward (BatchNorm's normalised input, max-pool's choices). */
export type LayerCache = BatchNormCache | Int32Array | undefined;

export function layerForward(
  layer: Layer,
  inputs: Act[],
  params: Views,
  mode: Mode,
  buffers?: Views,
): { y: Act; cache: LayerCache } {
  const x = inputs[0]!;
  const p = (suffix: string) => view(params, `${layer.node}.${suffix}`);
  switch (layer.kind) {
    case 'conv':
      return { y: convForward(x, p('weight'), layer.channels!, 3), cache: undefined };
    case 'head':
      return { y: convForward(x, p('weight'), layer.channels!, 1, p('bias')), cache: undefined };
    case 'bn': {
      if (mode === 'train') {
        const { y, cache } = batchNormTrainForward(x, p('weight'), p('bias'));
        return { y, cache };
      }
      const b = (suffix: string) => view(buffers!, `${layer.node}.${suffix}`);
      return {
        y: batchNormEvalForward(x, p('weight'), p('bias'), b('running_mean'), b('running_var')),
        cache: undefined,
      };
    }
    case 'relu':
      return { y: reluForward(x), cache: undefined };
    case 'pool': {
      const { y, argmax } = maxPoolForward(x);
      return { y, cache: argmax };
    }
    case 'up':
      return { y: upForward(x, p('weight'), p('bias')), cache: undefined };
    case 'cat':
      return { y: concatForward(x, inputs[1]!), cache: undefined };
  }
}

/** d loss / d each input of the layer; parameter gradients are added into `grads`. */
export function layerBackward(
  layer: Layer,
  inputs: Act[],
  cache: LayerCache,
  dy: Act,
  params: Views,
  grads: Views,
): Act[] {
  const x = inputs[0]!;
  const p = (suffix: string) => view(params, `${layer.node}.${suffix}`);
  const addTo = (suffix: string, g: Float64Array) => {
    const target = view(grads, `${layer.node}.${suffix}`);
    for (let i = 0; i < g.length; i++) target[i]! += g[i]!;
  };
  switch (layer.kind) {
    case 'conv':
    case 'head': {
      const g = convBackward(x, p('weight'), dy, layer.kind === 'conv' ? 3 : 1);
      addTo('weight', g.dweight);
      if (layer.kind === 'head') addTo('bias', g.dbias);
      return [g.dx];
    }
    case 'bn': {
      const g = batchNormTrainBackward(dy, p('weight'), cache as BatchNormCache);
      addTo('weight', g.dgamma);
      addTo('bias', g.dbeta);
      return [g.dx];
    }
    case 'relu':
      return [reluBackward(x, dy)];
    case 'pool':
      return [maxPoolBackward(x, cache as Int32Array, dy)];
    case 'up': {
      const g = upBackward(x, p('weight'), dy);
      addTo('weight', g.dweight);
      addTo('bias', g.dbias);
      return [g.dx];
    }
    case 'cat': {
      const { da, db } = concatBackward(dy, x.c);
      return [da, db];
    }
  }
}

/** The packed float64 state of one network: parameters, their gradient, BatchNorm running statistics. */
export interface UNetState {
  config: UNetConfig;
  layers: Layer[];
  params: Float64Array;
  grad: Float64Array;
  buffers: Float64Array;
  paramViews: Views;
  gradViews: Views;
  bufferViews: Views;
}

export function createUNetState(config: UNetConfig): UNetState {
  const pl = unetParamLayout(config);
  const bl = unetBufferLayout(config);
  const params = new Float64Array(pl.reduce((s, t) => s + t.size, 0));
  const grad = new Float64Array(params.length);
  const buffers = new Float64Array(bl.reduce((s, t) => s + t.size, 0));
  return {
    config,
    layers: unetLayers(config),
    params,
    grad,
    buffers,
    paramViews: viewsOf(pl, params),
    gradViews: viewsOf(pl, grad),
    bufferViews: viewsOf(bl, buffers),
  };
}

export interface ForwardResult {
  acts: Map<string, Act>;
  caches: Map<string, LayerCache>;
  logits: Act;
}

/**
 * The network's forward. Training mode also moves the running statistics (as PyTorch's forward in train()) unless
 * `updateStats` is false (finite differences evaluate the loss many times).
 */
export function forwardNet(state: UNetState, x: Act, mode: Mode, updateStats = mode === 'train'): ForwardResult {
  const acts = new Map<string, Act>([['input', x]]);
  const caches = new Map<string, LayerCache>();
  for (const layer of state.layers) {
    const inputs = layer.inputs.map((n) => acts.get(n)!);
    const { y, cache } = layerForward(layer, inputs, state.paramViews, mode, state.bufferViews);
    if (mode === 'train' && updateStats && layer.kind === 'bn') {
      const b = (suffix: string) => view(state.bufferViews, `${layer.node}.${suffix}`);
      updateRunningStats(cache as BatchNormCache, y.n * y.h * y.w, b('running_mean'), b('running_var'));
    }
    acts.set(layer.node, y);
    caches.set(layer.node, cache);
  }
  return { acts, caches, logits: acts.get('head')! };
}

/**
 * The backward of a training-mode forward from d loss / d logits: state.grad is overwritten with the parameter
 * gradient; returns d loss / d every node (and 'input'), the gradients of a node read twice (a skip) summed.
 */
export function backwardNet(state: UNetState, fwd: ForwardResult, dlogits: Act): Map<string, Act> {
  state.grad.fill(0);
  const dacts = new Map<string, Act>([['head', dlogits]]);
  for (let l = state.layers.length - 1; l >= 0; l--) {
    const layer = state.layers[l]!;
    const dy = dacts.get(layer.node)!;
    const inputs = layer.inputs.map((n) => fwd.acts.get(n)!);
    const dxs = layerBackward(layer, inputs, fwd.caches.get(layer.node), dy, state.paramViews, state.gradViews);
    layer.inputs.forEach((name, k) => accumulate(dacts, name, dxs[k]!));
  }
  return dacts;
}

/** dacts[name] += d (a new map entry when it is the first contribution) */
export function accumulate(dacts: Map<string, Act>, name: string, d: Act): void {
  const prev = dacts.get(name);
  if (!prev) {
    dacts.set(name, d);
    return;
  }
  for (let i = 0; i < d.data.length; i++) prev.data[i]! += d.data[i]!;
}
