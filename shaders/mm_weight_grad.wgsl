// mm_weight_grad.wgsl — loaders of matmul.wgsl for a weight gradient over rows row0 .. row0+nrows−1:
//   dW[o, i] = Σ_r dout[r, o] in[r, i],  db[o] = Σ_r dout[r, o]      (M = OUT, N = IN + HAS_BIAS, K = rows)
// the bias is column IN of the product (an input of 1). Used for every decoder Linear and for the GRU (W_hh from
// dgh and h_0..h_{T−1}; W_ih from dgi and xin). Step.flag = 1 adds to the gradient (batch chunks), 0 overwrites.
// overrides (IN, OUT, WOFF, WSTRIDE, BOFF, BSTRIDE from layer_shape.wgsl), HAS_BIAS
// bindings (group 0):
//   0 dout   read        [rows, OUT]
//   1 inp    read        [rows, IN]
//   2 grad   read_write  packed gradient (the parameters' layout)
//   3 step   uniform     (dynamic offset) Step: row0, nrows, flag
override HAS_BIAS: u32 = 1u;

@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<uniform> st: Step;

fn mm_m() -> u32 { return OUT; }
fn mm_n() -> u32 { return IN + HAS_BIAS; }
fn mm_k() -> u32 { return st.nrows; }
fn load_a(m: u32, k: u32) -> f32 { return dout[(st.row0 + k) * OUT + m]; }
fn load_b(k: u32, n: u32) -> f32 { return select(1.0, inp[(st.row0 + k) * IN + min(n, IN - 1u)], n < IN); }
fn store_c(m: u32, n: u32, v: f32) {
  let at = select(BOFF + m * BSTRIDE, WOFF + m * WSTRIDE + n, n < IN);
  if (st.flag == 1u) { grad[at] = grad[at] + v; } else { grad[at] = v; }
}
