// dense_w_uniform.wgsl — loader of decoder_dense.wgsl: the weights read from a 64 KiB UNIFORM window (on llvmpipe a
// uniform load is several times cheaper than a storage load). The engine copies each layer's weight rows into windows
// of UO whole rows (UO·IN ≤ 16384 floats, UO a multiple of 8 or all OUT rows) and dispatches once per window.
// bindings (group 0):
//   0 params  read        packed parameters as vec4 (biases)
//   1 inp     read        [rows, IN] as vec4
//   2 outp    read_write  [rows, OUT]
//   3 w       uniform     (dynamic offset) weight rows o0 .. o0+nout−1, [nout, IN] row-major
//   4 win     uniform     (dynamic offset) o0, nout
//   5 step    uniform     (dynamic offset) rows row0 .. row0+nrows-1
struct Win { o0: u32, nout: u32, p0: u32, p1: u32 }
const KSTEP: u32 = 4u;

@group(0) @binding(0) var<storage, read> params: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> inp: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> outp: array<f32>;
@group(0) @binding(3) var<uniform> w: array<vec4<f32>, 4096>;
@group(0) @binding(4) var<uniform> win: Win;
@group(0) @binding(5) var<uniform> st: Step;

fn out_first() -> u32 { return win.o0; }
fn out_count() -> u32 { return win.nout; }
fn param(at: u32) -> f32 { return params[at / 4u][at % 4u]; }
fn load_w(l: u32, c: u32) -> vec4<f32> { return w[(l * IN + c) / 4u]; }
fn load_in(row: u32, c: u32) -> vec4<f32> { return inp[(row * IN + c) / 4u]; }
