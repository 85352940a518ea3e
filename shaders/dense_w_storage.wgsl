// dense_w_storage.wgsl — loader of decoder_dense.wgsl: the weights read from the parameters as vec4 (WOFF and
// WSTRIDE multiples of 4: W[o, i] at WOFF + o*WSTRIDE + i), all OUT outputs in one dispatch.
// overrides: WOFF, WSTRIDE (multiples of 4) (layer_shape.wgsl)
// bindings (group 0):
//   0 params  read        packed parameters as vec4
//   1 inp     read        [rows, IN] as vec4
//   2 outp    read_write  [rows, OUT]
//   3 step    uniform     (dynamic offset) rows row0 .. row0+nrows-1
const KSTEP: u32 = 4u;

@group(0) @binding(0) var<storage, read> params: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> inp: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> outp: array<f32>;
@group(0) @binding(3) var<uniform> st: Step;

fn out_first() -> u32 { return 0u; }
fn out_count() -> u32 { return OUT; }
fn param(at: u32) -> f32 { return params[at / 4u][at % 4u]; }
fn load_w(l: u32, c: u32) -> vec4<f32> { return params[(l * WSTRIDE + WOFF + c) / 4u]; }
fn load_in(row: u32, c: u32) -> vec4<f32> { return inp[(row * IN + c) / 4u]; }
