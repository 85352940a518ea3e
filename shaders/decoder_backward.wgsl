// decoder_backward.wgsl — gradient w.r.t. a decoder layer's input: din[r, i] = (Σ_o dout[r, o] W[o, i]) · [act[r, i] > 0]
// (the ReLU mask of the INPUT activation when MASK = 1, i.e. this yields the pre-activation gradient of the layer
// below; MASK = 0 for the first layer, whose input is the hidden state h). W[o, i] at WOFF + o*WSTRIDE + i, as in
// decoder_dense.wgsl (heads: OUT = 2, WSTRIDE = M + 1).
// overrides: IN, OUT, WOFF, WSTRIDE, MASK, WG
// bindings (group 0):
//   0 params  read        packed parameters
//   1 dout    read        [rows, OUT] gradient w.r.t. the layer's pre-activation output
//   2 act     read        [rows, IN] the layer's input activation (for the ReLU mask; unused when MASK = 0)
//   3 din     read_write  [rows, IN]
//   4 step    uniform     (dynamic offset) rows row0 .. row0+nrows-1
// one invocation per tile of 8 rows × 8 inputs (16 loads per 64 multiply-adds).

override IN: u32 = 8u;
override OUT: u32 = 6u;
override WOFF: u32 = 0u;
override WSTRIDE: u32 = 8u;
override MASK: u32 = 1u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read> act: array<f32>;
@group(0) @binding(3) var<storage, read_write> din: array<f32>;
@group(0) @binding(4) var<uniform> st: Step;

fn put(r: u32, c0: u32, lo: vec4<f32>, hi: vec4<f32>) {
  if (r >= st.nrows) { return; }
  for (var u = 0u; u < 8u; u++) {
    let i = c0 + u;
    if (i < IN) {
      let at = (st.row0 + r) * IN + i;
      var y = select(hi[u & 3u], lo[u & 3u], u < 4u);
      if (MASK == 1u && !(act[at] > 0.0)) { y = 0.0; }
      din[at] = y;
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = flat_index(wid, nwg, lid);
  let IB = (IN + 7u) / 8u;
  let k0 = (gid % IB) * 8u;
  let r0 = (gid / IB) * 8u;
  if (r0 >= st.nrows) { return; }
  let lastr = st.nrows - 1u;
  let d0 = (st.row0 + min(r0 + 0u, lastr)) * OUT;
  let d1 = (st.row0 + min(r0 + 1u, lastr)) * OUT;
  let d2 = (st.row0 + min(r0 + 2u, lastr)) * OUT;
  let d3 = (st.row0 + min(r0 + 3u, lastr)) * OUT;
  let d4 = (st.row0 + min(r0 + 4u, lastr)) * OUT;
  let d5 = (st.row0 + min(r0 + 5u, lastr)) * OUT;
  let d6 = (st.row0 + min(r0 + 6u, lastr)) * OUT;
  let d7 = (st.row0 + min(r0 + 7u, lastr)) * OUT;
  let ca = vec4<u32>(k0, min(k0 + 1u, IN - 1u), min(k0 + 2u, IN - 1u), min(k0 + 3u, IN - 1u));
  let cb = vec4<u32>(min(k0 + 4u, IN - 1u), min(k0 + 5u, IN - 1u), min(k0 + 6u, IN - 1u), min(k0 + 7u, IN - 1u));
  var a0 = vec4<f32>(0.0); var c0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0); var c1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0); var c2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0); var c3 = vec4<f32>(0.0);
  var a4 = vec4<f32>(0.0); var c4 = vec4<f32>(0.0);
  var a5 = vec4<f32>(0.0); var c5 = vec4<f32>(0.0);
  var a6 = vec4<f32>(0.0); var c6 = vec4<f32>(0.0);
  var a7 = vec4<f32>(0.0); var c7 = vec4<f32>(0.0);
  for (var o = 0u; o < OUT; o++) {
    let w = WOFF + o * WSTRIDE;
    let w0 = vec4<f32>(params[w + ca.x], params[w + ca.y], params[w + ca.z], params[w + ca.w]);
    let w1 = vec4<f32>(params[w + cb.x], params[w + cb.y], params[w + cb.z], params[w + cb.w]);
    let g0 = dout[d0 + o]; a0 += w0 * g0; c0 += w1 * g0;
    let g1 = dout[d1 + o]; a1 += w0 * g1; c1 += w1 * g1;
    let g2 = dout[d2 + o]; a2 += w0 * g2; c2 += w1 * g2;
    let g3 = dout[d3 + o]; a3 += w0 * g3; c3 += w1 * g3;
    let g4 = dout[d4 + o]; a4 += w0 * g4; c4 += w1 * g4;
    let g5 = dout[d5 + o]; a5 += w0 * g5; c5 += w1 * g5;
    let g6 = dout[d6 + o]; a6 += w0 * g6; c6 += w1 * g6;
    let g7 = dout[d7 + o]; a7 += w0 * g7; c7 += w1 * g7;
  }
  put(r0 + 0u, k0, a0, c0);
  put(r0 + 1u, k0, a1, c1);
  put(r0 + 2u, k0, a2, c2);
  put(r0 + 3u, k0, a3, c3);
  put(r0 + 4u, k0, a4, c4);
  put(r0 + 5u, k0, a5, c5);
  put(r0 + 6u, k0, a6, c6);
  put(r0 + 7u, k0, a7, c7);
}
