// dense_w_scalar.wgsl — loader of decoder_dense.wgsl for any shape (the heads, IN not a multiple of 4): weights and
// inputs read one float at a time (W[o, i] at WOFF + o*WSTRIDE + i), all OUT outputs in one dispatch.
// overrides: WOFF, WSTRIDE (layer_shape.wgsl)
// bindings (group 0):
//   0 params  read        packed parameters
//   1 inp     read        [rows, IN]   (hidden states h or the previous layer's activations)
//   2 outp    read_write  [rows, OUT]
//   3 step    uniform     (dynamic offset) rows row0 .. row0+nrows-1
const KSTEP: u32 = 1u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> outp: array<f32>;
@group(0) @binding(3) var<uniform> st: Step;

fn out_first() -> u32 { return 0u; }
fn out_count() -> u32 { return OUT; }
fn param(at: u32) -> f32 { return params[at]; }
fn load_w(l: u32, c: u32) -> vec4<f32> { return vec4<f32>(params[WOFF + l * WSTRIDE + c], 0.0, 0.0, 0.0); }
fn load_in(row: u32, c: u32) -> vec4<f32> { return vec4<f32>(inp[row * IN + c], 0.0, 0.0, 0.0); }
