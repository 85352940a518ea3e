// matmul.wgsl — the body of every workgroup-tiled matrix product of the hardware plan: C[m, n] = Σ_k A[m, k]·B[k, n]
// with the operands read through loader functions and the result handed to an epilogue, all declared by the loader
// piece in front of this body (mm_dense_forward.wgsl, mm_dense_backward.wgsl, mm_weight_grad.wgsl):
//   fn mm_m() -> u32, fn mm_n() -> u32, fn mm_k() -> u32     the sizes (may read the Step record)
//   fn load_a(m, k) -> f32, fn load_b(k, n) -> f32            called in range only
//   fn store_c(m, n, v)                                        called in range only
// A workgroup of 256 invocations computes a 64 × 64 tile of C, each invocation a 4 × 4 block, stepping through K
// in slices of 16 staged in workgroup memory (8 KiB). K is summed in increasing order, so results are
// deterministic.
// grid: ceil(N / 64) × ceil(M / 64) workgroups, WG = 256.
const TILE: u32 = 64u;
const TK: u32 = 16u;

var<workgroup> ta: array<f32, 1024>;  // [TK][TILE] slice of A, transposed: ta[k * TILE + m]
var<workgroup> tb: array<f32, 1024>;  // [TK][TILE] slice of B: tb[k * TILE + n]

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let M = mm_m();
  let N = mm_n();
  let K = mm_k();
  let m0 = wid.y * TILE;
  let n0 = wid.x * TILE;
  let tm = (lid / 16u) * 4u;
  let tn = (lid % 16u) * 4u;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < K; k0 += TK) {
    // 256 invocations stage 1024 values of each operand: 4 each
    for (var e = lid; e < TK * TILE; e += 256u) {
      let kk = e / TILE;
      let c = e % TILE;
      let k = k0 + kk;
      var a = 0.0;
      if (m0 + c < M && k < K) { a = load_a(m0 + c, k); }
      ta[kk * TILE + c] = a;
      var b = 0.0;
      if (n0 + c < N && k < K) { b = load_b(k, n0 + c); }
      tb[kk * TILE + c] = b;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let a = vec4<f32>(ta[kk * TILE + tm], ta[kk * TILE + tm + 1u], ta[kk * TILE + tm + 2u], ta[kk * TILE + tm + 3u]);
      let b = vec4<f32>(tb[kk * TILE + tn], tb[kk * TILE + tn + 1u], tb[kk * TILE + tn + 2u], tb[kk * TILE + tn + 3u]);
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      let m = m0 + tm + i;
      let n = n0 + tn + j;
      if (m < M && n < N) { store_c(m, n, acc[i][j]); }
    }
  }
}
