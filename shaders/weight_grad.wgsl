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
//   3 step   uniform     (dynamic offset) nrows rows from row 0; flag = 1: add to grad (later batch chunks), 0: overwrite
// one invocation per block of 4 outputs × 4 inputs; the invocations of the first input block also sum db.
struct Step { k: u32, B: u32, T: u32, row0: u32, nrows: u32, k0: u32, nk: u32, flag: u32 }

override IN: u32 = 8u;
override OUT: u32 = 6u;
override WOFF: u32 = 0u;
override WSTRIDE: u32 = 8u;
override BOFF: u32 = 0u;
override BSTRIDE: u32 = 1u;
override HAS_BIAS: u32 = 1u;
override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<uniform> st: Step;

fn put(at: u32, v: f32) {
  if (st.flag == 1u) { grad[at] = grad[at] + v; } else { grad[at] = v; }
}

fn put_w(o: u32, i: u32, v: f32) {
  if (o < OUT && i < IN) { put(WOFF + o * WSTRIDE + i, v); }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = (wid.x + wid.y * nwg.x) * WG + lid;
  let IB = (IN + 3u) / 4u;
  let OB = (OUT + 3u) / 4u;
  if (gid >= IB * OB) { return; }
  let i0 = (gid % IB) * 4u;
  let o0 = (gid / IB) * 4u;
  let o1 = min(o0 + 1u, OUT - 1u);
  let o2 = min(o0 + 2u, OUT - 1u);
  let o3 = min(o0 + 3u, OUT - 1u);
  let i1 = min(i0 + 1u, IN - 1u);
  let i2 = min(i0 + 2u, IN - 1u);
  let i3 = min(i0 + 3u, IN - 1u);
  var t0 = vec4<f32>(0.0);  // output o0, inputs i0..i0+3
  var t1 = vec4<f32>(0.0);
  var t2 = vec4<f32>(0.0);
  var t3 = vec4<f32>(0.0);
  var tb = vec4<f32>(0.0);  // bias, outputs o0..o0+3
  var r = 0u;
  while (r < st.nrows) {
    let end = min(r + 32u, st.nrows);
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    var ab = vec4<f32>(0.0);
    for (; r < end; r++) {
      let d = r * OUT;
      let g = vec4<f32>(dout[d + o0], dout[d + o1], dout[d + o2], dout[d + o3]);
      let s = r * IN;
      let v = vec4<f32>(inp[s + i0], inp[s + i1], inp[s + i2], inp[s + i3]);
      a0 += g.x * v;
      a1 += g.y * v;
      a2 += g.z * v;
      a3 += g.w * v;
      ab += g;
    }
    t0 += a0; t1 += a1; t2 += a2; t3 += a3; tb += ab;
  }
  put_w(o0, i0, t0.x); put_w(o0, i0 + 1u, t0.y); put_w(o0, i0 + 2u, t0.z); put_w(o0, i0 + 3u, t0.w);
  put_w(o0 + 1u, i0, t1.x); put_w(o0 + 1u, i0 + 1u, t1.y); put_w(o0 + 1u, i0 + 2u, t1.z); put_w(o0 + 1u, i0 + 3u, t1.w);
  put_w(o0 + 2u, i0, t2.x); put_w(o0 + 2u, i0 + 1u, t2.y); put_w(o0 + 2u, i0 + 2u, t2.z); put_w(o0 + 2u, i0 + 3u, t2.w);
  put_w(o0 + 3u, i0, t3.x); put_w(o0 + 3u, i0 + 1u, t3.y); put_w(o0 + 3u, i0 + 2u, t3.z); put_w(o0 + 3u, i0 + 3u, t3.w);
  if (HAS_BIAS == 1u && i0 == 0u) {
    put(BOFF + o0 * BSTRIDE, tb.x);
    if (o0 + 1u < OUT) { put(BOFF + (o0 + 1u) * BSTRIDE, tb.y); }
    if (o0 + 2u < OUT) { put(BOFF + (o0 + 2u) * BSTRIDE, tb.z); }
    if (o0 + 3u < OUT) { put(BOFF + (o0 + 3u) * BSTRIDE, tb.w); }
  }
}
