// The forecaster's parameters as one packed float32 vector, in the order of the fixtures' named_parameters()
// (gru first). The same order is the data section of our safetensors files. ARCHITECTURE.md "Model file".
import { PAPER_MODEL } from '../core/defaults.js';

export interface ModelConfig {
  /** GRU hidden size H (paper: 256) */
  hidden: number;
  /** decoder MLP width M (paper: 128) */
  mlp: number;
  /** input features per step F (1 = logit coherence, as in the paper) */
  features: number;
}

export const PAPER_CONFIG: ModelConfig = { ...PAPER_MODEL };

export interface TensorSlot {
  /** the authors' PyTorch name (safetensors) */
  name: string;
  /** the fixtures' JSON name (generator/model.py) */
  fixtureName: string;
  shape: number[];
  /** offset in the packed vector, in elements */
  offset: number;
  size: number;
}

/** Layout of the packed parameter vector for a config. */
export function paramLayout(c: ModelConfig): TensorSlot[] {
  const H = c.hidden,
    M = c.mlp,
    F = c.features;
  const spec: [string, string, number[]][] = [
    ['rnn.weight_ih_l0', 'gru.weight_ih_l0', [3 * H, F]],
    ['rnn.weight_hh_l0', 'gru.weight_hh_l0', [3 * H, H]],
    ['rnn.bias_ih_l0', 'gru.bias_ih_l0', [3 * H]],
    ['rnn.bias_hh_l0', 'gru.bias_hh_l0', [3 * H]],
    ['dec_fc.0.weight', 'mlp.0.weight', [M, H]],
    ['dec_fc.0.bias', 'mlp.0.bias', [M]],
    ['dec_fc.2.weight', 'mlp.2.weight', [M, M]],
    ['dec_fc.2.bias', 'mlp.2.bias', [M]],
    ['dec_fc.4.weight', 'mlp.4.weight', [M, M]],
    ['dec_fc.4.bias', 'mlp.4.bias', [M]],
    ['dec_mean.weight', 'mu_head.weight', [1, M]],
    ['dec_mean.bias', 'mu_head.bias', [1]],
    ['dec_logvar.weight', 'logvar_head.weight', [1, M]],
    ['dec_logvar.bias', 'logvar_head.bias', [1]],
  ];
  let offset = 0;
  return spec.map(([name, fixtureName, shape]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const slot = { name, fixtureName, shape, offset, size };
    offset += size;
    return slot;
  });
}

export function paramCount(c: ModelConfig): number {
  const layout = paramLayout(c);
  const last = layout[layout.length - 1]!;
  return last.offset + last.size;
}

/** A view of one tensor inside a packed vector. */
export function tensorView(
  packed: Float32Array | Float64Array,
  c: ModelConfig,
  name: string,
): Float32Array | Float64Array {
  const slot = paramLayout(c).find((s) => s.name === name || s.fixtureName === name);
  if (!slot) throw new Error(`internal: no parameter named ${name}`);
  return packed.subarray(slot.offset, slot.offset + slot.size);
}
