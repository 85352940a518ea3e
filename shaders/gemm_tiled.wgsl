// gemm_tiled.wgsl — the body of every workgroup-tiled product of the U-Net (convolutions as implicit GEMMs):
//   C[m, n] = Σ_{k in the workgroup's K range} A[m, k] · B[k, n]
// The operands are read through functions of the loader piece composed in front of this body (conv2d_*.wgsl,
// conv_transpose_*.wgsl), which also says where the result goes:
//   fn gemm_m() -> u32, fn gemm_n() -> u32, fn gemm_k() -> u32    the sizes (may read the Dims uniform)
//   fn gemm_ksplit() -> u32                                        K per split (weight gradients: Dims.p1; else K)
//   fn load_a(m, k) -> f32, fn load_b(k, n) -> f32                 called in range only (im2col happens here)
//   fn store_c(m, n, split, v)                                     called in range only
// Thread mapping: a workgroup of WG = (TM / RM) · (TN / 4) invocations owns a TM × TN tile of C; each invocation a
// register block of RM rows × 4 columns (one vec4 per row). K is walked in slices of TK: every slice of A (TM × TK,
// e.g. the im2col patches of TM output pixels) and of B (TK × TN) is staged in workgroup memory by the whole
// workgroup, then each invocation reads its RM values of A and one vec4 of B per k from there.
// Split-K (weight gradients, K = B·H·W pixels): workgroup z sums k in [z·ks, (z+1)·ks) (ks = gemm_ksplit(), a multiple of TK) and hands its
// partial sum to store_c with split = z; a second pass (wgrad_reduce.wgsl) adds the splits in a fixed order — no
// atomics, so results are deterministic. Forward and data-gradient products run one split (ks = K).
// The staging order follows the operand's memory: *_K_FAST = 1 lets consecutive invocations walk k (pixels of an
// NCHW image in the weight gradients), 0 lets them walk m or n (pixels in the forward, output channels of weights).
// grid: ceil(N / TN) × ceil(M / TM) × splits workgroups.
override TM: u32 = 64u;
override TN: u32 = 64u;
override TK: u32 = 16u;
// rows per invocation (at most MAX_RM)
override RM: u32 = 4u;
override A_K_FAST: u32 = 0u;
override B_K_FAST: u32 = 0u;
override TA_LEN: u32 = TK * TM;
override TB_LEN: u32 = TK * TN;

const MAX_RM: u32 = 8u;

var<workgroup> ta: array<f32, TA_LEN>;  // ta[k · TM + m]
var<workgroup> tb: array<f32, TB_LEN>;  // tb[k · TN + n]

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let M = gemm_m();
  let N = gemm_n();
  let K = gemm_k();
  let m0 = wid.y * TM;
  let n0 = wid.x * TN;
  let ks = gemm_ksplit();
  let k_begin = wid.z * ks;
  let k_end = min(K, k_begin + ks);
  let cols = TN / 4u;
  let tm = (lid / cols) * RM;
  let tn = (lid % cols) * 4u;
  var acc: array<vec4<f32>, MAX_RM>;
  for (var k0 = k_begin; k0 < k_end; k0 += TK) {
    for (var e = lid; e < TK * TM; e += WG) {
      let kk = select(e / TM, e % TK, A_K_FAST == 1u);
      let c = select(e % TM, e / TK, A_K_FAST == 1u);
      var a = 0.0;
      if (m0 + c < M && k0 + kk < k_end) { a = load_a(m0 + c, k0 + kk); }
      ta[kk * TM + c] = a;
    }
    for (var e = lid; e < TK * TN; e += WG) {
      let kk = select(e / TN, e % TK, B_K_FAST == 1u);
      let c = select(e % TN, e / TK, B_K_FAST == 1u);
      var b = 0.0;
      if (n0 + c < N && k0 + kk < k_end) { b = load_b(k0 + kk, n0 + c); }
      tb[kk * TN + c] = b;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let at = kk * TN + tn;
      let b = vec4<f32>(tb[at], tb[at + 1u], tb[at + 2u], tb[at + 3u]);
      for (var i = 0u; i < RM; i++) { acc[i] += ta[kk * TM + tm + i] * b; }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < RM; i++) {
    for (var j = 0u; j < 4u; j++) {
      let m = m0 + tm + i;
      let n = n0 + tn + j;
      if (m < M && n < N) { store_c(m, n, wid.z, acc[i][j]); }
    }
  }
}
