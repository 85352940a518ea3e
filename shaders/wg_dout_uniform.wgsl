// wg_dout_uniform.wgsl — loader of weight_grad.wgsl (with wg_window.wgsl) for W_hh: dgh ALSO read from uniform windows,
// the windowed copy that gru_dgh_window.wgsl writes for every step ([T][3·NW W_hh windows][BP rows][UW]), so both
// operands of the inner loop are uniform loads. One dispatch per (W_hh window of UW gate rows, window of WR rows of
// step k).
// overrides: UW (gate rows per W_hh window, a multiple of 4)
// bindings (group 0):
//   0 dg     uniform     (dynamic offset) dgh of rows row0 + win.r0 .., gate rows wd.g0 .. wd.g0+wd.rows−1, [n, UW]
//   1 inp    uniform     (dynamic offset) rows row0 + win.r0 .. + win.n − 1 of h, [n, IN]
//   2 part   read_write  [OUT·IN + OUT] running totals (dW then db) between windows
//   3 grad   read_write  packed gradient vector (same layout as the parameters)
//   4 wd     uniform     (dynamic offset) g0, rows: the W_hh window (gate rows)
//   5 win    uniform     (dynamic offset) r0 (first row of the window within the step record's rows), n, first, last
//   6 step   uniform     (dynamic offset) rows row0 ..; flag = 1: add to grad, 0: overwrite
struct Wd { g0: u32, rows: u32, first: u32, last: u32 }

override UW: u32 = 8u;

@group(0) @binding(0) var<uniform> dg: array<vec4<f32>, 4096>;
@group(0) @binding(1) var<uniform> inp: array<vec4<f32>, 4096>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(4) var<uniform> wd: Wd;
@group(0) @binding(5) var<uniform> win: Win;
@group(0) @binding(6) var<uniform> st: Step;

fn out_first() -> u32 { return wd.g0; }
fn out_count() -> u32 { return wd.rows; }
fn dout4(r: u32, q: u32) -> vec4<f32> { return dg[(r - row_first()) * (UW / 4u) + q]; }
