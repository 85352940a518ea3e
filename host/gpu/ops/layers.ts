// Where each weight matrix of the model sits in the packed parameter vector (host/model/params.ts order), in the
// form the dense kernels take: W[o, i] at WOFF + o·WSTRIDE + i, b[o] at BOFF + o·BSTRIDE.
import { paramLayout, type ModelConfig } from '../../model/params.js';

export interface DenseShape {
  IN: number;
  OUT: number;
  WOFF: number;
  WSTRIDE: number;
  BOFF: number;
  BSTRIDE: number;
}

export interface ModelLayers {
  /** gru.weight_ih_l0 [3H, F] and its bias */
  ih: DenseShape;
  /** gru.weight_hh_l0 [3H, H] and its bias */
  hh: DenseShape;
  /** decoder: mlp.0 (H → M), mlp.2, mlp.4 (M → M), then the μ / logvar heads as one M → 2 layer (their weight and
   *  bias are consecutive: WSTRIDE = BSTRIDE = M + 1) */
  mlp: readonly [DenseShape, DenseShape, DenseShape];
  heads: DenseShape;
}

export function modelLayers(c: ModelConfig): ModelLayers {
  const off = new Map(paramLayout(c).map((s) => [s.fixtureName, s.offset]));
  const at = (name: string): number => {
    const o = off.get(name);
    if (o === undefined) throw new Error(`parameter ${name} missing from the layout`);
    return o;
  };
  const { hidden: H, mlp: M, features: F } = c;
  const lin = (name: string, IN: number, OUT: number): DenseShape => ({
    IN,
    OUT,
    WOFF: at(`${name}.weight`),
    WSTRIDE: IN,
    BOFF: at(`${name}.bias`),
    BSTRIDE: 1,
  });
  const head = at('mu_head.weight');
  return {
    ih: { IN: F, OUT: 3 * H, WOFF: at('gru.weight_ih_l0'), WSTRIDE: F, BOFF: at('gru.bias_ih_l0'), BSTRIDE: 1 },
    hh: { IN: H, OUT: 3 * H, WOFF: at('gru.weight_hh_l0'), WSTRIDE: H, BOFF: at('gru.bias_hh_l0'), BSTRIDE: 1 },
    mlp: [lin('mlp.0', H, M), lin('mlp.2', M, M), lin('mlp.4', M, M)],
    heads: { IN: M, OUT: 2, WOFF: head, WSTRIDE: M + 1, BOFF: head + M, BSTRIDE: M + 1 },
  };
}
