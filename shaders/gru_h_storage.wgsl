// gru_h_storage.wgsl — loader of gru_forward.wgsl (with gru_w_window.wgsl): h_k read from the hidden-state buffer
// itself (vec4 loads).
// bindings (group 0; 0 .. 6 declared by gru_w_window.wgsl):
//   0 params  read        packed parameters (biases)
//   1 gi      read        [T*B, 3H] input projections, row k*B+b
//   2 h       read_write  [(T+1)*B, H] as vec4 (reads h_k, writes h_{k+1})
//   3 gates   read_write  [T*B, 4H] per row: r | z | n | ghn
//   4 wr      uniform     (dynamic offset) W_hr rows j0 .. j0+UW−1, [UW, H] row-major
//   5 wz      uniform     (dynamic offset) W_hz rows, same
//   6 wn      uniform     (dynamic offset) W_hn rows, same
//   7 win     uniform     (dynamic offset) j0 (first unit of the window), nunits
//   8 step    uniform     (dynamic offset) k, B
@group(0) @binding(7) var<uniform> win: Win;
@group(0) @binding(8) var<uniform> st: Step;

fn block_first() -> u32 { return 0u; }
fn block_end() -> u32 { return st.B; }
fn h_row(b: u32) -> u32 { return (st.k * st.B + b) * (H / 4u); }
fn load_h(hb: u32, c: u32) -> vec4<f32> { return h[hb + c / 4u]; }
fn hidden_prev(b: u32, row: u32, j: u32) -> f32 {
  let at = row * H + j;
  return h[at / 4u][at % 4u];
}
fn put_hidden(b: u32, row: u32, j: u32, v: f32) {
  let out = row * H + j + st.B * H;
  h[out / 4u][out % 4u] = v;
}
