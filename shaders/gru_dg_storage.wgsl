// gru_dg_storage.wgsl — loader of gru_backward_hidden.wgsl (with gru_dg_window.wgsl): dgh of step k read from its
// storage buffer (vec4 loads).
// bindings (group 0):
//   0 gates  read        [T*B, 4H] (z)
//   1 dhdec  read        [T*B, H]
//   2 dhin   read        [B, H] recurrent gradient w.r.t. h_{k+1} (ignored when step.flag = 1)
//   3 dgh    read        [T*B, 3H] as vec4
//   4 part   read_write  [B, H] running sum between windows
//   5 dhout  read_write  [B, H] recurrent gradient w.r.t. h_k (written by the last window)
//   6 w      uniform     (dynamic offset) rows g0 .. g0+rows−1 of W_hh, [rows, H] row-major
//   7 win    uniform     (dynamic offset) g0, rows, first (1 = first window), last (1 = last window)
//   8 step   uniform     (dynamic offset) k, B, T, flag
@group(0) @binding(0) var<storage, read> gates: array<f32>;
@group(0) @binding(1) var<storage, read> dhdec: array<f32>;
@group(0) @binding(2) var<storage, read> dhin: array<f32>;
@group(0) @binding(3) var<storage, read> dgh: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> part: array<f32>;
@group(0) @binding(5) var<storage, read_write> dhout: array<f32>;
@group(0) @binding(6) var<uniform> w: array<vec4<f32>, 4096>;
@group(0) @binding(7) var<uniform> win: Win;
@group(0) @binding(8) var<uniform> st: Step;

fn block_first() -> u32 { return 0u; }
fn block_end() -> u32 { return st.B; }
fn dg_row(b: u32) -> u32 { return (st.k * st.B + b) * (3u * H / 4u) + win.g0 / 4u; }
fn load_dg(db: u32, c: u32) -> vec4<f32> { return dgh[db + c / 4u]; }
