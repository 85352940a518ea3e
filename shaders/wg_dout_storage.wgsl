// wg_dout_storage.wgsl — loader of weight_grad.wgsl (with wg_window.wgsl): dout read from its storage buffer as
// vec4 (OUT a multiple of 4), all OUT rows in one dispatch.
// bindings (group 0):
//   0 dout   read        [rows, OUT] as vec4
//   1 inp    uniform     (dynamic offset) rows row0 + win.r0 .. + win.n − 1 of the input activations, [n, IN]
//   2 part   read_write  [OUT·IN + OUT] running totals (dW then db) between windows
//   3 grad   read_write  packed gradient vector (same layout as the parameters)
//   4 win    uniform     (dynamic offset) r0 (first row of the window within the step record's rows), n, first, last
//   5 step   uniform     (dynamic offset) rows row0 ..; flag = 1: add to grad, 0: overwrite
@group(0) @binding(0) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(1) var<uniform> inp: array<vec4<f32>, 4096>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(4) var<uniform> win: Win;
@group(0) @binding(5) var<uniform> st: Step;

fn out_first() -> u32 { return 0u; }
fn out_count() -> u32 { return OUT; }
fn dout4(r: u32, q: u32) -> vec4<f32> { return dout[r * (OUT / 4u) + q]; }
