// back_w_scalar.wgsl — loader of decoder_backward.wgsl for any shape (the heads, OUT not a multiple of 4): dout and
// the weights read one float at a time (W[o, i] at WOFF + o*WSTRIDE + i), all IN inputs in one dispatch.
// overrides: WOFF, WSTRIDE (layer_shape.wgsl)
// bindings (group 0):
//   0 params  read        packed parameters
//   1 dout    read        [rows, OUT] gradient w.r.t. the layer's pre-activation output
//   2 act     read        [rows, IN] the layer's input activation (for the ReLU mask; unused when MASK = 0)
//   3 din     read_write  [rows, IN]
//   4 step    uniform     (dynamic offset) rows row0 .. row0+nrows-1
const KSTEP: u32 = 1u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read> act: array<f32>;
@group(0) @binding(3) var<storage, read_write> din: array<f32>;
@group(0) @binding(4) var<uniform> st: Step;

fn in_first() -> u32 { return 0u; }
fn in_count() -> u32 { return IN; }
fn load_dout(row: u32, c: u32) -> vec4<f32> { return vec4<f32>(dout[row * OUT + c], 0.0, 0.0, 0.0); }

fn load_w(o: u32, l0: u32) -> array<vec4<f32>, 2> {
  let w = WOFF + o * WSTRIDE;
  let l = IN - 1u;
  return array<vec4<f32>, 2>(
    vec4<f32>(params[w + l0], params[w + min(l0 + 1u, l)], params[w + min(l0 + 2u, l)], params[w + min(l0 + 3u, l)]),
    vec4<f32>(params[w + min(l0 + 4u, l)], params[w + min(l0 + 5u, l)], params[w + min(l0 + 6u, l)],
              params[w + min(l0 + 7u, l)]));
}
