// conv2d_weight_grad.wgsl — loaders of gemm_tiled.wgsl for a convolution's weight (and bias) gradient, split over
// the pixels: partial[s, o, n] = Σ_{pixels of split s} dout[b, o, y, x] · A(n), where n = (c, i, j) reads the
// im2col value in[b, c, y + i − PAD, x + j − PAD] and n = CIN·KS·KS (when HAS_BIAS = 1) reads 1 (the bias).
//   M = COUT, N = CIN·KS·KS + HAS_BIAS, K = B·H·W pixels (both operands staged pixel-fastest: A_K_FAST = B_K_FAST = 1)
// wgrad_reduce.wgsl adds the splits and writes the packed gradient.
// overrides: conv2d_shape.wgsl; bindings (group 0):
//   0 dout  read        [B, COUT, H, W]
//   1 inp   read        [B, IN_CT, H, W], channels IN_CO .. IN_CO+CIN−1 used
//   2 part  read_write  [splits, M, N] partial sums
//   3 dims  uniform     Dims (B; p0 = splits, p1 = pixels per split)
@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
@group(0) @binding(3) var<uniform> dims: Dims;

fn gemm_m() -> u32 { return COUT; }
fn gemm_n() -> u32 { return CIN * KS * KS + HAS_BIAS; }
fn gemm_k() -> u32 { return dims.B * H * W; }
fn gemm_ksplit() -> u32 { return dims.p1; }
fn load_a(m: u32, k: u32) -> f32 {
  let p = pix(k);
  return dout[nchw(p.b, m, p.y * W + p.x, COUT, 0u, H * W)];
}
fn load_b(k: u32, n: u32) -> f32 {
  if (n >= CIN * KS * KS) { return 1.0; }
  let t = n % (KS * KS);
  let pad = i32(KS / 2u);
  return input_at(pix(k), n / (KS * KS), i32(t / KS) - pad, i32(t % KS) - pad);
}
fn store_c(m: u32, n: u32, split: u32, v: f32) { part[(split * gemm_m() + m) * gemm_n() + n] = v; }
