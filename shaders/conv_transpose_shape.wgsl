// conv_transpose_shape.wgsl — the shape of one 2 × 2 stride-2 transposed convolution (nn.ConvTranspose2d(CIN, COUT, 2,
// stride=2)) for conv_transpose_forward.wgsl, conv_transpose_backward_data.wgsl, conv_transpose_weight_grad.wgsl:
//   out[b, o, 2y + a, 2x + c] = bias[o] + Σ_i in[b, i, y, x] · w[i, o, a, c]
// input [B, CIN, HI, WI] (its own buffer), weight [CIN, COUT, 2, 2] at WOFF, bias [COUT] at BOFF; the output
// [B, COUT, 2HI, 2WI] is channels UP_CO .. UP_CO+COUT−1 of a buffer of UP_CT channels (the up half of the
// decoder's concatenation [skip, up]); its gradient is read from the same slice of the concatenation's gradient.
// Output column n = o·4 + a·2 + c, so w[i, o, a, c] = params[WOFF + i·COUT·4 + n].
override CIN: u32 = 8u;
override COUT: u32 = 4u;
override HI: u32 = 8u;
override WI: u32 = 8u;
override UP_CT: u32 = 8u;
override UP_CO: u32 = 4u;
override WOFF: u32 = 0u;
override BOFF: u32 = 0u;

// an input pixel index m = (b · HI + y) · WI + x
struct Pix { b: u32, y: u32, x: u32 }
fn pix(m: u32) -> Pix { return Pix(m / (HI * WI), (m / WI) % HI, m % WI); }

// the index of output (b, o, 2y + a, 2x + c) of input pixel p and column n = o·4 + a·2 + c in the up slice
fn up_index(p: Pix, n: u32) -> u32 {
  let yy = 2u * p.y + (n / 2u) % 2u;
  let xx = 2u * p.x + n % 2u;
  return nchw(p.b, n / 4u, yy * 2u * WI + xx, UP_CT, UP_CO, 4u * HI * WI);
}

fn in_index(p: Pix, i: u32) -> u32 { return nchw(p.b, i, p.y * WI + p.x, CIN, 0u, HI * WI); }
