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
// one invocation per block of 4 rows × 4 outputs (16 accumulators, each weight/input load used 4 times).
struct Step { k: u32, B: u32, T: u32, row0: u32, nrows: u32, k0: u32, nk: u32, flag: u32 }

override IN: u32 = 8u;
override OUT: u32 = 6u;
override WOFF: u32 = 0u;
override WSTRIDE: u32 = 8u;
override BOFF: u32 = 0u;
override BSTRIDE: u32 = 1u;
override RELU: u32 = 1u;
override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> outp: array<f32>;
@group(0) @binding(3) var<uniform> st: Step;

fn put(r: u32, o: u32, v: f32) {
  if (r < st.nrows && o < OUT) {
    var y = v + params[BOFF + o * BSTRIDE];
    if (RELU == 1u) { y = max(y, 0.0); }
    outp[(st.row0 + r) * OUT + o] = y;
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = (wid.x + wid.y * nwg.x) * WG + lid;
  let OB = (OUT + 3u) / 4u;
  let o0 = (gid % OB) * 4u;
  let r0 = (gid / OB) * 4u;
  if (r0 >= st.nrows) { return; }
  let lastr = st.nrows - 1u;
  let i0 = (st.row0 + r0) * IN;
  let i1 = (st.row0 + min(r0 + 1u, lastr)) * IN;
  let i2 = (st.row0 + min(r0 + 2u, lastr)) * IN;
  let i3 = (st.row0 + min(r0 + 3u, lastr)) * IN;
  let w0 = WOFF + o0 * WSTRIDE;
  let w1 = WOFF + min(o0 + 1u, OUT - 1u) * WSTRIDE;
  let w2 = WOFF + min(o0 + 2u, OUT - 1u) * WSTRIDE;
  let w3 = WOFF + min(o0 + 3u, OUT - 1u) * WSTRIDE;
  var a0 = vec4<f32>(0.0);  // output o0, rows r0..r0+3
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  for (var i = 0u; i < IN; i++) {
    let v = vec4<f32>(inp[i0 + i], inp[i1 + i], inp[i2 + i], inp[i3 + i]);
    a0 += params[w0 + i] * v;
    a1 += params[w1 + i] * v;
    a2 += params[w2 + i] * v;
    a3 += params[w3 + i] * v;
  }
  put(r0, o0, a0.x); put(r0, o0 + 1u, a1.x); put(r0, o0 + 2u, a2.x); put(r0, o0 + 3u, a3.x);
  put(r0 + 1u, o0, a0.y); put(r0 + 1u, o0 + 1u, a1.y); put(r0 + 1u, o0 + 2u, a2.y); put(r0 + 1u, o0 + 3u, a3.y);
  put(r0 + 2u, o0, a0.z); put(r0 + 2u, o0 + 1u, a1.z); put(r0 + 2u, o0 + 2u, a2.z); put(r0 + 2u, o0 + 3u, a3.z);
  put(r0 + 3u, o0, a0.w); put(r0 + 3u, o0 + 1u, a1.w); put(r0 + 3u, o0 + 2u, a2.w); put(r0 + 3u, o0 + 3u, a3.w);
}
