// A model as a PyTorch state_dict file (`torch.save(model.state_dict(), path)` format, issue 14), so
// `RNN.load_state_dict(torch.load(path))` works in the authors' code (dpm-rnn-public rnn_model.py) — our tensor
// names are theirs. The format (torch/serialization.py, zip "new" format): a stored (uncompressed) ZIP whose entries
// share one top folder: `data.pkl` (pickle protocol 2 of an OrderedDict name → tensor; each tensor is
// torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks) with the storage a
// persistent id ('storage', torch.FloatStorage, key, 'cpu', numel)), `data/<key>` (raw little-endian float32),
// `byteorder` and `version`. Only what torch.load's weights_only unpickler accepts is used.
import { zipSync } from 'fflate';
import type { ModelConfig } from './params.js';
import { modelTensors } from './safetensors.js';

/** Pickle protocol 2 writer: just the opcodes a state_dict needs. */
class Pickler {
  private readonly parts: number[] = [];
  op(code: string): this {
    this.parts.push(code.charCodeAt(0));
    return this;
  }
  global(module: string, name: string): this {
    this.op('c');
    for (const ch of `${module}\n${name}\n`) this.parts.push(ch.charCodeAt(0));
    return this;
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    this.op('X').u32(b.length);
    this.parts.push(...b);
    return this;
  }
  int(n: number): this {
    return this.op('J').u32(n >>> 0); // BININT: 4-byte signed little-endian (our values are small and ≥ 0)
  }
  tuple(values: number[]): this {
    this.op('(');
    for (const v of values) this.int(v);
    return this.op('t');
  }
  emptyOrderedDict(): this {
    return this.global('collections', 'OrderedDict').op(')').op('R');
  }
  private u32(n: number): this {
    this.parts.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
    return this;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** The state_dict file's bytes; `stem` names the ZIP's top folder (torch uses the file name). */
export function encodeStateDict(config: ModelConfig, params: Float32Array, stem = 'archive'): Uint8Array {
  const tensors = modelTensors(config, params);
  const p = new Pickler();
  p.op('\x80').op('\x02'); // PROTO 2
  p.emptyOrderedDict().op('(');
  const files: Record<string, Uint8Array> = {};
  tensors.forEach((t, key) => {
    const numel = t.data.length;
    const strides = t.shape.map((_, k) => t.shape.slice(k + 1).reduce((a, b) => a * b, 1));
    p.str(t.name);
    p.global('torch._utils', '_rebuild_tensor_v2').op('(');
    p.op('(').str('storage').global('torch', 'FloatStorage').str(String(key)).str('cpu').int(numel).op('t').op('Q');
    p.int(0).tuple(t.shape).tuple(strides).op('\x89'); // offset 0, size, stride, requires_grad False
    p.emptyOrderedDict(); // backward hooks
    p.op('t').op('R');
    const copy = new Float32Array(t.data); // own buffer, little-endian on every platform Node runs here
    files[`${stem}/data/${key}`] = new Uint8Array(copy.buffer);
  });
  p.op('u').op('.'); // SETITEMS, STOP
  return zipSync(
    {
      [`${stem}/data.pkl`]: p.bytes(),
      [`${stem}/byteorder`]: new TextEncoder().encode('little'),
      ...files,
      [`${stem}/version`]: new TextEncoder().encode('3\n'),
    },
    { level: 0 },
  );
}
