// gru_h_uniform.wgsl — loader of gru_forward.wgsl (with gru_w_window.wgsl): h_k ALSO read from a uniform window, so
// that both operands of the inner loop are uniform loads. The engine keeps h_k in one of two ping-pong copies (this
// step reads hw, a [B, H] copy of h_k, and writes h_{k+1} to h and to hwn, the other copy); one dispatch per (W_hh
// window, batch block of at most 16384/H rows).
// bindings (group 0; 0 .. 6 declared by gru_w_window.wgsl):
//   0 params  read        packed parameters (biases)
//   1 gi      read        [T*B, 3H] input projections, row k*B+b
//   2 h       read_write  [(T+1)*B, H] (writes h_{k+1})
//   3 gates   read_write  [T*B, 4H] per row: r | z | n | ghn
//   4 wr      uniform     (dynamic offset) W_hr rows j0 .. j0+UW−1, [UW, H] row-major
//   5 wz      uniform     (dynamic offset) W_hz rows, same
//   6 wn      uniform     (dynamic offset) W_hn rows, same
//   7 hw      uniform     (dynamic offset) h_k rows bb0 .. bb0+nb−1, [nb, H]
//   8 hwn     read_write  [B, H] h_{k+1} (the next step's hw)
//   9 win     uniform     (dynamic offset) j0 (first unit of the window), nunits
//  10 blk     uniform     (dynamic offset) bb0, nb: the batch block
//  11 step    uniform     (dynamic offset) k, B
@group(0) @binding(7) var<uniform> hw: array<vec4<f32>, 4096>;
@group(0) @binding(8) var<storage, read_write> hwn: array<f32>;
@group(0) @binding(9) var<uniform> win: Win;
@group(0) @binding(10) var<uniform> blk: Blk;
@group(0) @binding(11) var<uniform> st: Step;

fn block_first() -> u32 { return blk.bb0; }
fn block_end() -> u32 { return blk.bb0 + blk.nb; }
fn h_row(b: u32) -> u32 { return (b - blk.bb0) * (H / 4u); }
fn load_h(hb: u32, c: u32) -> vec4<f32> { return hw[hb + c / 4u]; }
fn hidden_prev(b: u32, row: u32, j: u32) -> f32 {
  let lat = (b - blk.bb0) * H + j;
  return hw[lat / 4u][lat % 4u];
}
fn put_hidden(b: u32, row: u32, j: u32, v: f32) {
  let out = row * H + j + st.B * H;
  h[out / 4u][out % 4u] = v;
  hwn[b * H + j] = v;
}
