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
// one invocation per block of 4 rows × 4 inputs.
struct Step { k: u32, B: u32, T: u32, row0: u32, nrows: u32, k0: u32, nk: u32, flag: u32 }

override IN: u32 = 8u;
override OUT: u32 = 6u;
override WOFF: u32 = 0u;
override WSTRIDE: u32 = 8u;
override MASK: u32 = 1u;
override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read> act: array<f32>;
@group(0) @binding(3) var<storage, read_write> din: array<f32>;
@group(0) @binding(4) var<uniform> st: Step;

fn put(r: u32, i: u32, v: f32) {
  if (r < st.nrows && i < IN) {
    let at = (st.row0 + r) * IN + i;
    var y = v;
    if (MASK == 1u && !(act[at] > 0.0)) { y = 0.0; }
    din[at] = y;
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = (wid.x + wid.y * nwg.x) * WG + lid;
  let IB = (IN + 3u) / 4u;
  let c0 = (gid % IB) * 4u;
  let r0 = (gid / IB) * 4u;
  if (r0 >= st.nrows) { return; }
  let lastr = st.nrows - 1u;
  let d0 = (st.row0 + r0) * OUT;
  let d1 = (st.row0 + min(r0 + 1u, lastr)) * OUT;
  let d2 = (st.row0 + min(r0 + 2u, lastr)) * OUT;
  let d3 = (st.row0 + min(r0 + 3u, lastr)) * OUT;
  let c1 = min(c0 + 1u, IN - 1u);
  let c2 = min(c0 + 2u, IN - 1u);
  let c3 = min(c0 + 3u, IN - 1u);
  var a0 = vec4<f32>(0.0);  // input c0, rows r0..r0+3
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  for (var o = 0u; o < OUT; o++) {
    let g = vec4<f32>(dout[d0 + o], dout[d1 + o], dout[d2 + o], dout[d3 + o]);
    let w = WOFF + o * WSTRIDE;
    a0 += params[w + c0] * g;
    a1 += params[w + c1] * g;
    a2 += params[w + c2] * g;
    a3 += params[w + c3] * g;
  }
  put(r0, c0, a0.x); put(r0, c0 + 1u, a1.x); put(r0, c0 + 2u, a2.x); put(r0, c0 + 3u, a3.x);
  put(r0 + 1u, c0, a0.y); put(r0 + 1u, c0 + 1u, a1.y); put(r0 + 1u, c0 + 2u, a2.y); put(r0 + 1u, c0 + 3u, a3.y);
  put(r0 + 2u, c0, a0.z); put(r0 + 2u, c0 + 1u, a1.z); put(r0 + 2u, c0 + 2u, a2.z); put(r0 + 2u, c0 + 3u, a3.z);
  put(r0 + 3u, c0, a0.w); put(r0 + 3u, c0 + 1u, a1.w); put(r0 + 3u, c0 + 2u, a2.w); put(r0 + 3u, c0 + 3u, a3.w);
}
