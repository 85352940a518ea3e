// gru_h_scalar.wgsl — loader of gru_forward.wgsl for any H: h_k and W_hh read one float at a time from storage, all
// H units and all batch rows in one dispatch.
// overrides: WOFF_HH (offset of gru.weight_hh_l0 [3H, H])
// bindings (group 0):
//   0 params  read        packed parameters
//   1 gi      read        [T*B, 3H] input projections (input_proj.wgsl), row k*B+b
//   2 h       read_write  [(T+1)*B, H] hidden states h_0..h_T, row k*B+b (reads h_k, writes h_{k+1})
//   3 gates   read_write  [T*B, 4H] per row: r | z | n | ghn
//   4 step    uniform     (dynamic offset) k, B
override WOFF_HH: u32 = 0u;
const KSTEP: u32 = 1u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> gi: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;
@group(0) @binding(3) var<storage, read_write> gates: array<f32>;
@group(0) @binding(4) var<uniform> st: Step;

fn unit_first() -> u32 { return 0u; }
fn unit_count() -> u32 { return H; }
fn block_first() -> u32 { return 0u; }
fn block_end() -> u32 { return st.B; }
fn h_row(b: u32) -> u32 { return (st.k * st.B + b) * H; }
fn load_h(hb: u32, c: u32) -> vec4<f32> { return vec4<f32>(h[hb + c], 0.0, 0.0, 0.0); }
fn load_w(g: u32, l: u32, c: u32) -> vec4<f32> {
  return vec4<f32>(params[WOFF_HH + (g * H + l) * H + c], 0.0, 0.0, 0.0);
}
fn load_wr(l: u32, c: u32) -> vec4<f32> { return load_w(0u, l, c); }
fn load_wz(l: u32, c: u32) -> vec4<f32> { return load_w(1u, l, c); }
fn load_wn(l: u32, c: u32) -> vec4<f32> { return load_w(2u, l, c); }
fn hidden_prev(b: u32, row: u32, j: u32) -> f32 { return h[row * H + j]; }
fn put_hidden(b: u32, row: u32, j: u32, v: f32) { h[(row + st.B) * H + j] = v; }
