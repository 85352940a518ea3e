// decoder_dense.wgsl — one decoder layer y = act(W · in + b) over a range of rows: the MLP layers (ReLU) and the two
// Linear(M → 1) heads (no activation; μ and logvar written as a row of 2).
//
// W[o, i] lives at WOFF + o*WSTRIDE + i and b[o] at BOFF + o*BSTRIDE in the packed parameters. The heads use this
// with OUT = 2, WSTRIDE = BSTRIDE = M + 1 (mu_head.weight, mu_head.bias, logvar_head.weight, logvar_head.bias are
// consecutive in the packed vector).
// overrides: IN, OUT, WOFF, WSTRIDE, BOFF, BSTRIDE, RELU (1 = ReLU, 0 = identity), WG
// bindings (group 0):
//   0 params  read        packed parameters
//   1 inp     read        [rows, IN]   (hidden states h or the previous layer's activations)
//   2 outp    read_write  [rows, OUT]
//   3 step    uniform     (dynamic offset) rows row0 .. row0+nrows-1
// one invocation per tile of 8 rows × 8 outputs: 16 loads feed 64 multiply-adds (on llvmpipe every storage-buffer
// load is a per-lane scalar load, far dearer than arithmetic, so the tile is as large as registers allow).

override IN: u32 = 8u;
override OUT: u32 = 6u;
override WOFF: u32 = 0u;
override WSTRIDE: u32 = 8u;
override BOFF: u32 = 0u;
override BSTRIDE: u32 = 1u;
override RELU: u32 = 1u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> outp: array<f32>;
@group(0) @binding(3) var<uniform> st: Step;

fn put(r: u32, o0: u32, lo: vec4<f32>, hi: vec4<f32>) {
  if (r >= st.nrows) { return; }
  for (var u = 0u; u < 8u; u++) {
    let o = o0 + u;
    if (o < OUT) {
      var y = select(hi[u & 3u], lo[u & 3u], u < 4u) + params[BOFF + o * BSTRIDE];
      if (RELU == 1u) { y = max(y, 0.0); }
      outp[(st.row0 + r) * OUT + o] = y;
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = flat_index(wid, nwg, lid);
  let OB = (OUT + 7u) / 8u;
  let o0 = (gid % OB) * 8u;
  let r0 = (gid / OB) * 8u;
  if (r0 >= st.nrows) { return; }
  let lastr = st.nrows - 1u;
  let i0 = (st.row0 + min(r0 + 0u, lastr)) * IN;
  let i1 = (st.row0 + min(r0 + 1u, lastr)) * IN;
  let i2 = (st.row0 + min(r0 + 2u, lastr)) * IN;
  let i3 = (st.row0 + min(r0 + 3u, lastr)) * IN;
  let i4 = (st.row0 + min(r0 + 4u, lastr)) * IN;
  let i5 = (st.row0 + min(r0 + 5u, lastr)) * IN;
  let i6 = (st.row0 + min(r0 + 6u, lastr)) * IN;
  let i7 = (st.row0 + min(r0 + 7u, lastr)) * IN;
  let wa = vec4<u32>(min(o0, OUT - 1u), min(o0 + 1u, OUT - 1u), min(o0 + 2u, OUT - 1u), min(o0 + 3u, OUT - 1u)) * WSTRIDE + WOFF;
  let wb = vec4<u32>(min(o0 + 4u, OUT - 1u), min(o0 + 5u, OUT - 1u), min(o0 + 6u, OUT - 1u), min(o0 + 7u, OUT - 1u)) * WSTRIDE + WOFF;
  var a0 = vec4<f32>(0.0); var c0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0); var c1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0); var c2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0); var c3 = vec4<f32>(0.0);
  var a4 = vec4<f32>(0.0); var c4 = vec4<f32>(0.0);
  var a5 = vec4<f32>(0.0); var c5 = vec4<f32>(0.0);
  var a6 = vec4<f32>(0.0); var c6 = vec4<f32>(0.0);
  var a7 = vec4<f32>(0.0); var c7 = vec4<f32>(0.0);
  for (var i = 0u; i < IN; i++) {
    let w0 = vec4<f32>(params[wa.x + i], params[wa.y + i], params[wa.z + i], params[wa.w + i]);
    let w1 = vec4<f32>(params[wb.x + i], params[wb.y + i], params[wb.z + i], params[wb.w + i]);
    let v0 = inp[i0 + i]; a0 += w0 * v0; c0 += w1 * v0;
    let v1 = inp[i1 + i]; a1 += w0 * v1; c1 += w1 * v1;
    let v2 = inp[i2 + i]; a2 += w0 * v2; c2 += w1 * v2;
    let v3 = inp[i3 + i]; a3 += w0 * v3; c3 += w1 * v3;
    let v4 = inp[i4 + i]; a4 += w0 * v4; c4 += w1 * v4;
    let v5 = inp[i5 + i]; a5 += w0 * v5; c5 += w1 * v5;
    let v6 = inp[i6 + i]; a6 += w0 * v6; c6 += w1 * v6;
    let v7 = inp[i7 + i]; a7 += w0 * v7; c7 += w1 * v7;
  }
  put(r0 + 0u, o0, a0, c0);
  put(r0 + 1u, o0, a1, c1);
  put(r0 + 2u, o0, a2, c2);
  put(r0 + 3u, o0, a3, c3);
  put(r0 + 4u, o0, a4, c4);
  put(r0 + 5u, o0, a5, c5);
  put(r0 + 6u, o0, a6, c6);
  put(r0 + 7u, o0, a7, c7);
}
