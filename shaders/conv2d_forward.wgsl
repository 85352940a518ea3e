// conv2d_forward.wgsl — loaders of gemm_tiled.wgsl for a convolution's forward pass as an implicit GEMM:
//   M = B·H·W output pixels, N = COUT output channels, K = CIN·KS·KS (c, i, j) taps;
//   A[m, k] = the im2col patch value in[b, c, y + i − PAD, x + j − PAD], B[k, n] = w[n, c, i, j]
// overrides: conv2d_shape.wgsl; bindings (group 0):
//   0 params  read        packed parameters (weight at WOFF, bias at BOFF)
//   1 inp     read        [B, IN_CT, H, W], channels IN_CO .. IN_CO+CIN−1 used
//   2 outp    read_write  [B, COUT, H, W]
//   3 dims    uniform     Dims (B)
@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> outp: array<f32>;
@group(0) @binding(3) var<uniform> dims: Dims;

fn gemm_m() -> u32 { return dims.B * H * W; }
fn gemm_n() -> u32 { return COUT; }
fn gemm_k() -> u32 { return CIN * KS * KS; }
fn gemm_ksplit() -> u32 { return gemm_k(); }
fn load_a(m: u32, k: u32) -> f32 {
  let t = k % (KS * KS);
  let pad = i32(KS / 2u);
  return input_at(pix(m), k / (KS * KS), i32(t / KS) - pad, i32(t % KS) - pad);
}
fn load_b(k: u32, n: u32) -> f32 { return params[WOFF + n * CIN * KS * KS + k]; }
fn store_c(m: u32, n: u32, split: u32, v: f32) {
  let p = pix(m);
  var y = v;
  if (HAS_BIAS == 1u) { y += params[BOFF + n]; }
  outp[nchw(p.b, n, p.y * W + p.x, COUT, 0u, H * W)] = y;
}
