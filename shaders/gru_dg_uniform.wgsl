// gru_dg_uniform.wgsl — loader of gru_backward_hidden.wgsl (with gru_dg_window.wgsl): dgh of step k ALSO read from
// uniform windows (written by gru_dgh_window.wgsl), so both operands of the inner loop are uniform loads. One
// dispatch per (W_hh window d, batch block); the running sum is kept in `part` between the windows of d, in row order.
// overrides: UW (units per W_hh window, multiple of 4)
// bindings (group 0):
//   0 gates  read        [T*B, 4H] (z)
//   1 dhdec  read        [T*B, H]
//   2 dhin   read        [B, H] recurrent gradient w.r.t. h_{k+1} (ignored when step.flag = 1)
//   3 part   read_write  [B, H] running sum between windows
//   4 dhout  read_write  [B, H] recurrent gradient w.r.t. h_k (written by the last window)
//   5 w      uniform     (dynamic offset) rows g0 .. g0+rows−1 of W_hh, [rows, H] row-major
//   6 dg     uniform     (dynamic offset) dgh[k, bb0 .. bb0+nb−1, g0 .. g0+rows−1] as [nb, UW] (row stride UW)
//   7 win    uniform     (dynamic offset) g0, rows, first (1 = first window), last (1 = last window)
//   8 blk    uniform     (dynamic offset) bb0, nb: the batch block
//   9 step   uniform     (dynamic offset) k, B, T, flag
override UW: u32 = 8u;

@group(0) @binding(0) var<storage, read> gates: array<f32>;
@group(0) @binding(1) var<storage, read> dhdec: array<f32>;
@group(0) @binding(2) var<storage, read> dhin: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;
@group(0) @binding(4) var<storage, read_write> dhout: array<f32>;
@group(0) @binding(5) var<uniform> w: array<vec4<f32>, 4096>;
@group(0) @binding(6) var<uniform> dg: array<vec4<f32>, 4096>;
@group(0) @binding(7) var<uniform> win: Win;
@group(0) @binding(8) var<uniform> blk: Blk;
@group(0) @binding(9) var<uniform> st: Step;

fn block_first() -> u32 { return blk.bb0; }
fn block_end() -> u32 { return blk.bb0 + blk.nb; }
fn dg_row(b: u32) -> u32 { return (b - blk.bb0) * (UW / 4u); }
fn load_dg(db: u32, c: u32) -> vec4<f32> { return dg[db + c / 4u]; }
