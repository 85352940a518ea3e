// conv2d_backward_data.wgsl — loaders of gemm_tiled.wgsl for a convolution's input gradient: the convolution of
// dout with the flipped kernel, tiled as the forward pass:
//   din[b, c, y, x] = Σ_{o, i, j} dout[b, o, y − i + PAD, x − j + PAD] · w[o, c, i, j]
//   M = B·H·W input pixels, N = CIN input channels, K = COUT·KS·KS (o, i, j)
// The gradient is written to channels OUT_CO .. OUT_CO+CIN−1 of a buffer of OUT_CT channels (the gradient of a
// concatenation is one buffer, read back as slices).
// overrides: conv2d_shape.wgsl (IN_CT, IN_CO unused), OUT_CT, OUT_CO; bindings (group 0):
//   0 params  read        packed parameters (weight at WOFF)
//   1 dout    read        [B, COUT, H, W] gradient of the convolution's output
//   2 din     read_write  [B, OUT_CT, H, W]
//   3 dims    uniform     Dims (B)
override OUT_CT: u32 = CIN;
override OUT_CO: u32 = 0u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read_write> din: array<f32>;
@group(0) @binding(3) var<uniform> dims: Dims;

// dout[b, o, y + dy, x + dx], 0 outside the image (the padding)
fn dout_at(p: Pix, o: u32, dy: i32, dx: i32) -> f32 {
  let yy = i32(p.y) + dy;
  let xx = i32(p.x) + dx;
  if (yy < 0 || xx < 0 || yy >= i32(H) || xx >= i32(W)) { return 0.0; }
  return dout[nchw(p.b, o, u32(yy) * W + u32(xx), COUT, 0u, H * W)];
}

fn gemm_m() -> u32 { return dims.B * H * W; }
fn gemm_n() -> u32 { return CIN; }
fn gemm_k() -> u32 { return COUT * KS * KS; }
fn gemm_ksplit() -> u32 { return gemm_k(); }
fn load_a(m: u32, k: u32) -> f32 {
  let t = k % (KS * KS);
  let pad = i32(KS / 2u);
  return dout_at(pix(m), k / (KS * KS), pad - i32(t / KS), pad - i32(t % KS));
}
fn load_b(k: u32, n: u32) -> f32 {
  let o = k / (KS * KS);
  return params[WOFF + (o * CIN + n) * KS * KS + k % (KS * KS)];
}
fn store_c(m: u32, n: u32, split: u32, v: f32) {
  let p = pix(m);
  din[nchw(p.b, n, p.y * W + p.x, OUT_CT, OUT_CO, H * W)] = v;
}
