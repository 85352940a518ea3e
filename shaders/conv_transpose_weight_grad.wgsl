// conv_transpose_weight_grad.wgsl — loaders of gemm_tiled.wgsl for a transposed convolution's weight and bias
// gradient, split over the input pixels:
//   partial[s, i, n] = Σ_{pixels of split s} A(i) · dup[b, o, 2y + a, 2x + c]   (n = o·4 + a·2 + c)
// with A(i < CIN) = in[b, i, y, x] and A(CIN) = 1 (row CIN: the bias sums, added over (a, c) by wgrad_reduce.wgsl)
//   M = CIN + 1, N = COUT·4, K = B·HI·WI pixels (staged pixel-fastest)
// overrides: conv_transpose_shape.wgsl; bindings (group 0):
//   0 inp   read        [B, CIN, HI, WI]
//   1 dup   read        [B, UP_CT, 2HI, 2WI], channels UP_CO .. UP_CO+COUT−1 read
//   2 part  read_write  [splits, M, N]
//   3 dims  uniform     Dims (B; p0 = splits, p1 = pixels per split)
@group(0) @binding(0) var<storage, read> inp: array<f32>;
@group(0) @binding(1) var<storage, read> dup: array<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
@group(0) @binding(3) var<uniform> dims: Dims;

fn gemm_m() -> u32 { return CIN + 1u; }
fn gemm_n() -> u32 { return COUT * 4u; }
fn gemm_k() -> u32 { return dims.B * HI * WI; }
fn gemm_ksplit() -> u32 { return dims.p1; }
fn load_a(m: u32, k: u32) -> f32 { return select(1.0, inp[in_index(pix(k), min(m, CIN - 1u))], m < CIN); }
fn load_b(k: u32, n: u32) -> f32 { return dup[up_index(pix(k), n)]; }
fn store_c(m: u32, n: u32, split: u32, v: f32) { part[(split * gemm_m() + m) * gemm_n() + n] = v; }
