// mm_dense_backward.wgsl — loaders of matmul.wgsl for the gradient w.r.t. a decoder layer's input:
//   din[r, i] = (Σ_o dout[r, o] W[o, i]) · [act[r, i] > 0]     (M = rows, N = IN, K = OUT)
// the ReLU mask of the layer's INPUT activation when MASK = 1 (the pre-activation gradient of the layer below);
// MASK = 0 for the first layer, whose input is h. W as in mm_dense_forward.wgsl.
// overrides (IN, OUT, WOFF, WSTRIDE from layer_shape.wgsl), MASK
// bindings (group 0):
//   0 params  read        packed parameters
//   1 dout    read        [rows, OUT]
//   2 act     read        [rows, IN] (unused when MASK = 0)
//   3 din     read_write  [rows, IN]
//   4 step    uniform     (dynamic offset) Step: row0, nrows
override MASK: u32 = 1u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read> act: array<f32>;
@group(0) @binding(3) var<storage, read_write> din: array<f32>;
@group(0) @binding(4) var<uniform> st: Step;

fn mm_m() -> u32 { return st.nrows; }
fn mm_n() -> u32 { return IN; }
fn mm_k() -> u32 { return OUT; }
fn load_a(m: u32, k: u32) -> f32 { return dout[(st.row0 + m) * OUT + k]; }
fn load_b(k: u32, n: u32) -> f32 { return params[WOFF + k * WSTRIDE + n]; }
fn store_c(m: u32, n: u32, v: f32) {
  let at = (st.row0 + m) * IN + n;
  var y = v;
  if (MASK == 1u && !(act[at] > 0.0)) { y = 0.0; }
  din[at] = y;
}
