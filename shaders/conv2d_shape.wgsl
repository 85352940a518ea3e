// conv2d_shape.wgsl — the shape of one KS × KS convolution (stride 1, padding KS / 2, as nn.Conv2d(cin, cout, KS,
// padding=KS//2)) for the loader pieces conv2d_forward.wgsl, conv2d_backward_data.wgsl, conv2d_weight_grad.wgsl:
// input [B, CIN, H, W] read from channels IN_CO .. IN_CO+CIN−1 of a buffer of IN_CT channels (a concatenation),
// weight [COUT, CIN, KS, KS] at WOFF of the packed parameters (and gradient), bias [COUT] at BOFF when HAS_BIAS = 1
// (the 1 × 1 head), output [B, COUT, H, W]. Convolution = cross-correlation:
//   out[b, o, y, x] = bias[o] + Σ_{c, i, j} in[b, c, y + i − PAD, x + j − PAD] · w[o, c, i, j]   (zero outside)
override CIN: u32 = 4u;
override COUT: u32 = 4u;
override H: u32 = 16u;
override W: u32 = 16u;
override KS: u32 = 3u;
override IN_CT: u32 = CIN;
override IN_CO: u32 = 0u;
override WOFF: u32 = 0u;
override BOFF: u32 = 0u;
override HAS_BIAS: u32 = 0u;

// a pixel index m = (b · H + y) · W + x
struct Pix { b: u32, y: u32, x: u32 }
fn pix(m: u32) -> Pix { return Pix(m / (H * W), (m / W) % H, m % W); }
