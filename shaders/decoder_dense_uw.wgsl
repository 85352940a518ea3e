// decoder_dense_uw.wgsl — decoder_dense.wgsl (same result, bit for bit: same products, same summation order over i)
// for the MLP layers (IN a multiple of 4), with the weights read from a 64 KiB UNIFORM window (on llvmpipe a uniform
// load is several times cheaper than a storage load) and the inputs as vec4 along i.
//   y[r, o] = act(Σ_i W[o, i] · in[r, i] + b[o]),  b[o] at BOFF + o*BSTRIDE
// The engine copies each layer's weight rows into windows of UO whole rows (UO·IN ≤ 16384 floats, UO a multiple of 8
// or all OUT rows) and dispatches once per window.
// overrides: IN (multiple of 4), OUT, BOFF, BSTRIDE, RELU (1 = ReLU, 0 = identity), WG
// bindings (group 0):
//   0 params  read        packed parameters as vec4 (biases)
//   1 inp     read        [rows, IN] as vec4
//   2 outp    read_write  [rows, OUT]
//   3 w       uniform     (dynamic offset) weight rows o0 .. o0+nout−1, [nout, IN] row-major
//   4 win     uniform     (dynamic offset) o0, nout
//   5 step    uniform     (dynamic offset) rows row0 .. row0+nrows-1
// one invocation per tile of 8 rows × 8 outputs of the window.
struct Win { o0: u32, nout: u32, p0: u32, p1: u32 }

override IN: u32 = 8u;
override OUT: u32 = 8u;
override BOFF: u32 = 0u;
override BSTRIDE: u32 = 1u;
override RELU: u32 = 1u;

@group(0) @binding(0) var<storage, read> params: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> inp: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> outp: array<f32>;
@group(0) @binding(3) var<uniform> w: array<vec4<f32>, 4096>;
@group(0) @binding(4) var<uniform> win: Win;
@group(0) @binding(5) var<uniform> st: Step;

fn param(at: u32) -> f32 { return params[at / 4u][at % 4u]; }

fn put(r: u32, o0: u32, lo: vec4<f32>, hi: vec4<f32>) {
  if (r >= st.nrows) { return; }
  for (var u = 0u; u < 8u; u++) {
    let o = o0 + u;
    if (o < win.o0 + win.nout) {
      var y = select(hi[u & 3u], lo[u & 3u], u < 4u) + param(BOFF + o * BSTRIDE);
      if (RELU == 1u) { y = max(y, 0.0); }
      outp[(st.row0 + r) * OUT + o] = y;
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = flat_index(wid, nwg, lid);
  let OB = (win.nout + 7u) / 8u;
  let l0 = (gid % OB) * 8u;
  let o0 = win.o0 + l0;
  let r0 = (gid / OB) * 8u;
  if (r0 >= st.nrows) { return; }
  let lastr = st.nrows - 1u;
  let IN4 = IN / 4u;
  let i0 = (st.row0 + min(r0 + 0u, lastr)) * IN4;
  let i1 = (st.row0 + min(r0 + 1u, lastr)) * IN4;
  let i2 = (st.row0 + min(r0 + 2u, lastr)) * IN4;
  let i3 = (st.row0 + min(r0 + 3u, lastr)) * IN4;
  let i4 = (st.row0 + min(r0 + 4u, lastr)) * IN4;
  let i5 = (st.row0 + min(r0 + 5u, lastr)) * IN4;
  let i6 = (st.row0 + min(r0 + 6u, lastr)) * IN4;
  let i7 = (st.row0 + min(r0 + 7u, lastr)) * IN4;
  let w0 = min(l0 + 0u, win.nout - 1u) * IN4;
  let w1 = min(l0 + 1u, win.nout - 1u) * IN4;
  let w2 = min(l0 + 2u, win.nout - 1u) * IN4;
  let w3 = min(l0 + 3u, win.nout - 1u) * IN4;
  let w4 = min(l0 + 4u, win.nout - 1u) * IN4;
  let w5 = min(l0 + 5u, win.nout - 1u) * IN4;
  let w6 = min(l0 + 6u, win.nout - 1u) * IN4;
  let w7 = min(l0 + 7u, win.nout - 1u) * IN4;
  var a0 = vec4<f32>(0.0); var c0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0); var c1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0); var c2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0); var c3 = vec4<f32>(0.0);
  var a4 = vec4<f32>(0.0); var c4 = vec4<f32>(0.0);
  var a5 = vec4<f32>(0.0); var c5 = vec4<f32>(0.0);
  var a6 = vec4<f32>(0.0); var c6 = vec4<f32>(0.0);
  var a7 = vec4<f32>(0.0); var c7 = vec4<f32>(0.0);
  for (var c = 0u; c < IN4; c++) {
    let W0 = w[w0 + c];
    let W1 = w[w1 + c];
    let W2 = w[w2 + c];
    let W3 = w[w3 + c];
    let W4 = w[w4 + c];
    let W5 = w[w5 + c];
    let W6 = w[w6 + c];
    let W7 = w[w7 + c];
    let V0 = inp[i0 + c];
    let V1 = inp[i1 + c];
    let V2 = inp[i2 + c];
    let V3 = inp[i3 + c];
    let V4 = inp[i4 + c];
    let V5 = inp[i5 + c];
    let V6 = inp[i6 + c];
    let V7 = inp[i7 + c];
    { let w0 = vec4<f32>(W0.x, W1.x, W2.x, W3.x); let w1 = vec4<f32>(W4.x, W5.x, W6.x, W7.x);
     a0 += w0 * V0.x; c0 += w1 * V0.x; a1 += w0 * V1.x; c1 += w1 * V1.x; a2 += w0 * V2.x; c2 += w1 * V2.x; a3 += w0 * V3.x; c3 += w1 * V3.x; a4 += w0 * V4.x; c4 += w1 * V4.x; a5 += w0 * V5.x; c5 += w1 * V5.x; a6 += w0 * V6.x; c6 += w1 * V6.x; a7 += w0 * V7.x; c7 += w1 * V7.x; }
    { let w0 = vec4<f32>(W0.y, W1.y, W2.y, W3.y); let w1 = vec4<f32>(W4.y, W5.y, W6.y, W7.y);
     a0 += w0 * V0.y; c0 += w1 * V0.y; a1 += w0 * V1.y; c1 += w1 * V1.y; a2 += w0 * V2.y; c2 += w1 * V2.y; a3 += w0 * V3.y; c3 += w1 * V3.y; a4 += w0 * V4.y; c4 += w1 * V4.y; a5 += w0 * V5.y; c5 += w1 * V5.y; a6 += w0 * V6.y; c6 += w1 * V6.y; a7 += w0 * V7.y; c7 += w1 * V7.y; }
    { let w0 = vec4<f32>(W0.z, W1.z, W2.z, W3.z); let w1 = vec4<f32>(W4.z, W5.z, W6.z, W7.z);
     a0 += w0 * V0.z; c0 += w1 * V0.z; a1 += w0 * V1.z; c1 += w1 * V1.z; a2 += w0 * V2.z; c2 += w1 * V2.z; a3 += w0 * V3.z; c3 += w1 * V3.z; a4 += w0 * V4.z; c4 += w1 * V4.z; a5 += w0 * V5.z; c5 += w1 * V5.z; a6 += w0 * V6.z; c6 += w1 * V6.z; a7 += w0 * V7.z; c7 += w1 * V7.z; }
    { let w0 = vec4<f32>(W0.w, W1.w, W2.w, W3.w); let w1 = vec4<f32>(W4.w, W5.w, W6.w, W7.w);
     a0 += w0 * V0.w; c0 += w1 * V0.w; a1 += w0 * V1.w; c1 += w1 * V1.w; a2 += w0 * V2.w; c2 += w1 * V2.w; a3 += w0 * V3.w; c3 += w1 * V3.w; a4 += w0 * V4.w; c4 += w1 * V4.w; a5 += w0 * V5.w; c5 += w1 * V5.w; a6 += w0 * V6.w; c6 += w1 * V6.w; a7 += w0 * V7.w; c7 += w1 * V7.w; }
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
