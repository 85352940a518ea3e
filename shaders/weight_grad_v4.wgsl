// weight_grad_v4.wgsl — weight_grad.wgsl (same result, bit for bit: same products, same summation order) for IN and
// OUT multiples of 4, reading dout and inp as vec4 (fewer loads and less index arithmetic per row; llvmpipe still
// fetches a storage vec4 lane by lane, so the gain is moderate). Used for the MLP layers and W_hh.
//   dW[o, i] = Σ_r dout[r, o] · inp[r, i],  db[o] = Σ_r dout[r, o]; rows summed in blocks of 32 as in weight_grad.wgsl
// overrides: IN (multiple of 4), OUT (multiple of 4), WOFF, WSTRIDE, BOFF, BSTRIDE, HAS_BIAS, WG
// bindings (group 0):
//   0 dout   read        [rows, OUT] as vec4
//   1 inp    read        [rows, IN] as vec4
//   2 grad   read_write  packed gradient vector (same layout as the parameters)
//   3 step   uniform     (dynamic offset) rows row0 .. row0+nrows−1; flag = 1: add to grad, 0: overwrite
// one invocation per tile of 8 outputs × 8 inputs; when IN (OUT) is 4 mod 8 the second half of the last tile reads
// the first half again and is not stored.

override IN: u32 = 8u;
override OUT: u32 = 8u;
override WOFF: u32 = 0u;
override WSTRIDE: u32 = 8u;
override BOFF: u32 = 0u;
override BSTRIDE: u32 = 1u;
override HAS_BIAS: u32 = 1u;

@group(0) @binding(0) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> inp: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<uniform> st: Step;

fn put(at: u32, v: f32) {
  if (st.flag == 1u) { grad[at] = grad[at] + v; } else { grad[at] = v; }
}

fn put_w(o: u32, i0: u32, lo: vec4<f32>, hi: vec4<f32>) {
  if (o >= OUT) { return; }
  for (var u = 0u; u < 8u; u++) {
    if (i0 + u < IN) { put(WOFF + o * WSTRIDE + i0 + u, select(hi[u & 3u], lo[u & 3u], u < 4u)); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = flat_index(wid, nwg, lid);
  let IB = (IN + 7u) / 8u;
  let OB = (OUT + 7u) / 8u;
  if (gid >= IB * OB) { return; }
  let i0 = (gid % IB) * 8u;
  let ob = (gid / IB) * 8u;
  let IN4 = IN / 4u;
  let OUT4 = OUT / 4u;
  let ia = i0 / 4u;
  let ib = min(ia + 1u, IN4 - 1u);
  let qa = ob / 4u;
  let qb = min(qa + 1u, OUT4 - 1u);
  var ta0 = vec4<f32>(0.0); var tc0 = vec4<f32>(0.0);
  var ta1 = vec4<f32>(0.0); var tc1 = vec4<f32>(0.0);
  var ta2 = vec4<f32>(0.0); var tc2 = vec4<f32>(0.0);
  var ta3 = vec4<f32>(0.0); var tc3 = vec4<f32>(0.0);
  var ta4 = vec4<f32>(0.0); var tc4 = vec4<f32>(0.0);
  var ta5 = vec4<f32>(0.0); var tc5 = vec4<f32>(0.0);
  var ta6 = vec4<f32>(0.0); var tc6 = vec4<f32>(0.0);
  var ta7 = vec4<f32>(0.0); var tc7 = vec4<f32>(0.0);
  var tb0 = vec4<f32>(0.0); var tb1 = vec4<f32>(0.0);
  let bias = HAS_BIAS == 1u && i0 == 0u;
  var r = st.row0;
  let stop = st.row0 + st.nrows;
  while (r < stop) {
    let end = min(r + 32u, stop);
    var a0 = vec4<f32>(0.0); var c0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0); var c1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0); var c2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0); var c3 = vec4<f32>(0.0);
    var a4 = vec4<f32>(0.0); var c4 = vec4<f32>(0.0);
    var a5 = vec4<f32>(0.0); var c5 = vec4<f32>(0.0);
    var a6 = vec4<f32>(0.0); var c6 = vec4<f32>(0.0);
    var a7 = vec4<f32>(0.0); var c7 = vec4<f32>(0.0);
    var s0 = vec4<f32>(0.0); var s1 = vec4<f32>(0.0);
    for (; r < end; r++) {
      let s = r * IN4;
      let v0 = inp[s + ia];
      let v1 = inp[s + ib];
      let d = r * OUT4;
      let ga = dout[d + qa];
      let gb = dout[d + qb];
      let g0 = ga.x; a0 += g0 * v0; c0 += g0 * v1;
      let g1 = ga.y; a1 += g1 * v0; c1 += g1 * v1;
      let g2 = ga.z; a2 += g2 * v0; c2 += g2 * v1;
      let g3 = ga.w; a3 += g3 * v0; c3 += g3 * v1;
      let g4 = gb.x; a4 += g4 * v0; c4 += g4 * v1;
      let g5 = gb.y; a5 += g5 * v0; c5 += g5 * v1;
      let g6 = gb.z; a6 += g6 * v0; c6 += g6 * v1;
      let g7 = gb.w; a7 += g7 * v0; c7 += g7 * v1;
      if (bias) { s0 += vec4<f32>(g0, g1, g2, g3); s1 += vec4<f32>(g4, g5, g6, g7); }
    }
    ta0 += a0; tc0 += c0;
    ta1 += a1; tc1 += c1;
    ta2 += a2; tc2 += c2;
    ta3 += a3; tc3 += c3;
    ta4 += a4; tc4 += c4;
    ta5 += a5; tc5 += c5;
    ta6 += a6; tc6 += c6;
    ta7 += a7; tc7 += c7;
    tb0 += s0; tb1 += s1;
  }
  put_w(ob + 0u, i0, ta0, tc0);
  put_w(ob + 1u, i0, ta1, tc1);
  put_w(ob + 2u, i0, ta2, tc2);
  put_w(ob + 3u, i0, ta3, tc3);
  put_w(ob + 4u, i0, ta4, tc4);
  put_w(ob + 5u, i0, ta5, tc5);
  put_w(ob + 6u, i0, ta6, tc6);
  put_w(ob + 7u, i0, ta7, tc7);
  if (bias) {
    for (var u = 0u; u < 8u; u++) {
      if (ob + u < OUT) { put(BOFF + (ob + u) * BSTRIDE, select(tb1[u & 3u], tb0[u & 3u], u < 4u)); }
    }
  }
}
