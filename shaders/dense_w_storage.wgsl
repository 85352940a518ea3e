// dense_w_storage.wgsl — loader of decoder_dense4.wgsl: the weights read from the parameters as vec4 (WOFF and
// WSTRIDE multiples of 4: W[o, i] at WOFF + o*WSTRIDE + i), all OUT outputs in one dispatch.
// overrides: WOFF, WSTRIDE (multiples of 4)
// bindings (group 0):
//   0 params  read        packed parameters as vec4
//   1 inp     read        [rows, IN] as vec4
//   2 outp    read_write  [rows, OUT]
//   3 step    uniform     (dynamic offset) rows row0 .. row0+nrows-1
override WOFF: u32 = 0u;
override WSTRIDE: u32 = 8u;

@group(0) @binding(0) var<storage, read> params: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> inp: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> outp: array<f32>;
@group(0) @binding(3) var<uniform> st: Step;

fn out_first() -> u32 { return 0u; }
fn out_count() -> u32 { return OUT; }
fn w_row(l: u32) -> u32 { return (l * WSTRIDE + WOFF) / 4u; }
fn load_w(i: u32) -> vec4<f32> { return params[i]; }
