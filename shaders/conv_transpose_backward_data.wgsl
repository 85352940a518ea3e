// conv_transpose_backward_data.wgsl — loaders of gemm_tiled.wgsl for a transposed convolution's input gradient:
//   din[b, i, y, x] = Σ_{o, a, c} dup[b, o, 2y + a, 2x + c] · w[i, o, a, c]
//   M = B·HI·WI input pixels, N = CIN, K = COUT·4 (o, a, c)
// overrides: conv_transpose_shape.wgsl; bindings (group 0):
//   0 params  read        packed parameters
//   1 dup     read        [B, UP_CT, 2HI, 2WI] the concatenation's gradient, channels UP_CO .. UP_CO+COUT−1 read
//   2 din     read_write  [B, CIN, HI, WI]
//   3 dims    uniform     Dims (B)
@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> dup: array<f32>;
@group(0) @binding(2) var<storage, read_write> din: array<f32>;
@group(0) @binding(3) var<uniform> dims: Dims;

fn gemm_m() -> u32 { return dims.B * HI * WI; }
fn gemm_n() -> u32 { return CIN; }
fn gemm_k() -> u32 { return COUT * 4u; }
fn gemm_ksplit() -> u32 { return gemm_k(); }
fn load_a(m: u32, k: u32) -> f32 { return dup[up_index(pix(m), k)]; }
fn load_b(k: u32, n: u32) -> f32 { return params[WOFF + n * COUT * 4u + k]; }
fn store_c(m: u32, n: u32, split: u32, v: f32) { din[in_index(pix(m), n)] = v; }
