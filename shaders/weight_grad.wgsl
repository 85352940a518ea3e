// weight_grad.wgsl — weight-gradient accumulation over rows (batch × time), deterministic (fixed summation order, no
// atomics):  dW[o, i] = Σ_r dout[r, o] · inp[r, i],  db[o] = Σ_r dout[r, o]
// used for every Linear of the decoder (heads included: OUT = 2, WSTRIDE = BSTRIDE = M + 1) and for the GRU
// (W_hh from dgh and h_0..h_{T-1}; W_ih from dgi and xin). Rows are summed in blocks of 32 (partial sums added to the
// total) to keep float32 rounding error low for long batches.
// overrides: IN, OUT, WOFF, WSTRIDE, BOFF, BSTRIDE, HAS_BIAS, WG
// bindings (group 0):
//   0 dout   read        [rows, OUT]
//   1 inp    read        [rows, IN]
//   2 grad   read_write  packed gradient vector (same layout as the parameters)
//   3 step   uniform     (dynamic offset) rows row0 .. row0+nrows−1; flag = 1: add to grad, 0: overwrite. The engine
//                        sums the large layers one time step (B rows) per dispatch, so the rows stay in cache.
// one invocation per tile of 8 outputs × 8 inputs (16 loads per 64 multiply-adds); the tiles of the first input
// block also sum db.

override IN: u32 = 8u;
override OUT: u32 = 6u;
override WOFF: u32 = 0u;
override WSTRIDE: u32 = 8u;
override BOFF: u32 = 0u;
override BSTRIDE: u32 = 1u;
override HAS_BIAS: u32 = 1u;

@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
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
  let ia = vec4<u32>(i0, min(i0 + 1u, IN - 1u), min(i0 + 2u, IN - 1u), min(i0 + 3u, IN - 1u));
  let ib = vec4<u32>(min(i0 + 4u, IN - 1u), min(i0 + 5u, IN - 1u), min(i0 + 6u, IN - 1u), min(i0 + 7u, IN - 1u));
  let q0 = min(ob + 0u, OUT - 1u);
  let q1 = min(ob + 1u, OUT - 1u);
  let q2 = min(ob + 2u, OUT - 1u);
  let q3 = min(ob + 3u, OUT - 1u);
  let q4 = min(ob + 4u, OUT - 1u);
  let q5 = min(ob + 5u, OUT - 1u);
  let q6 = min(ob + 6u, OUT - 1u);
  let q7 = min(ob + 7u, OUT - 1u);
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
      let s = r * IN;
      let v0 = vec4<f32>(inp[s + ia.x], inp[s + ia.y], inp[s + ia.z], inp[s + ia.w]);
      let v1 = vec4<f32>(inp[s + ib.x], inp[s + ib.y], inp[s + ib.z], inp[s + ib.w]);
      let d = r * OUT;
      let g0 = dout[d + q0]; a0 += g0 * v0; c0 += g0 * v1;
      let g1 = dout[d + q1]; a1 += g1 * v0; c1 += g1 * v1;
      let g2 = dout[d + q2]; a2 += g2 * v0; c2 += g2 * v1;
      let g3 = dout[d + q3]; a3 += g3 * v0; c3 += g3 * v1;
      let g4 = dout[d + q4]; a4 += g4 * v0; c4 += g4 * v1;
      let g5 = dout[d + q5]; a5 += g5 * v0; c5 += g5 * v1;
      let g6 = dout[d + q6]; a6 += g6 * v0; c6 += g6 * v1;
      let g7 = dout[d + q7]; a7 += g7 * v0; c7 += g7 * v1;
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
