// conv_transpose_forward.wgsl — loaders of gemm_tiled.wgsl for a transposed convolution's forward pass:
//   M = B·HI·WI input pixels, N = COUT·4 (o, a, c), K = CIN; A[m, i] = in[b, i, y, x], B[i, n] = w[i, o, a, c]
// overrides: conv_transpose_shape.wgsl; bindings (group 0):
//   0 params  read        packed parameters
//   1 inp     read        [B, CIN, HI, WI]
//   2 up      read_write  [B, UP_CT, 2HI, 2WI], channels UP_CO .. UP_CO+COUT−1 written
//   3 dims    uniform     Dims (B)
@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> up: array<f32>;
@group(0) @binding(3) var<uniform> dims: Dims;

fn gemm_m() -> u32 { return dims.B * HI * WI; }
fn gemm_n() -> u32 { return COUT * 4u; }
fn gemm_k() -> u32 { return CIN; }
fn gemm_ksplit() -> u32 { return gemm_k(); }
fn load_a(m: u32, k: u32) -> f32 { return inp[in_index(pix(m), k)]; }
fn load_b(k: u32, n: u32) -> f32 { return params[WOFF + k * COUT * 4u + n]; }
fn store_c(m: u32, n: u32, split: u32, v: f32) { up[up_index(pix(m), n)] = v + params[BOFF + n / 4u]; }
