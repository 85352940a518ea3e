// mm_dense_forward.wgsl — loaders of matmul.wgsl for one decoder layer over rows row0 .. row0+nrows−1:
//   out[r, o] = act(Σ_i in[r, i] W[o, i] + b[o])     (M = rows, N = OUT, K = IN)
// W[o, i] at WOFF + o·WSTRIDE + i, b[o] at BOFF + o·BSTRIDE (the heads: OUT = 2, WSTRIDE = BSTRIDE = M + 1).
// overrides (IN, OUT, WOFF, WSTRIDE, BOFF, BSTRIDE from layer_shape.wgsl), RELU (1 = ReLU, 0 = identity)
// bindings (group 0):
//   0 params  read        packed parameters
//   1 inp     read        [rows, IN]
//   2 outp    read_write  [rows, OUT]
//   3 step    uniform     (dynamic offset) Step: row0, nrows
override RELU: u32 = 1u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> outp: array<f32>;
@group(0) @binding(3) var<uniform> st: Step;

fn mm_m() -> u32 { return st.nrows; }
fn mm_n() -> u32 { return OUT; }
fn mm_k() -> u32 { return IN; }
fn load_a(m: u32, k: u32) -> f32 { return inp[(st.row0 + m) * IN + k]; }
fn load_b(k: u32, n: u32) -> f32 { return params[WOFF + n * WSTRIDE + k]; }
fn store_c(m: u32, n: u32, v: f32) {
  var y = v + params[BOFF + n * BSTRIDE];
  if (RELU == 1u) { y = max(y, 0.0); }
  outp[(st.row0 + m) * OUT + n] = y;
}
