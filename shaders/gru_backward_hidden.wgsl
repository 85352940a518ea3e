// gru_backward_hidden.wgsl — backpropagation through time, part 2 of step k (k = T−1 … 1): the recurrent gradient
// w.r.t. h_k:  dhrec_k[b, i] = z[b, i]·dh[b, i] + Σ_{g<3H} W_hh[g, i] · dgh[k, b, g]
// where dh is the same total gradient w.r.t. h_{k+1} that gru_backward_gates.wgsl used.
// overrides: H, WOFF_HH (offset of gru.weight_hh_l0 [3H, H]), WG
// bindings (group 0):
//   0 params  read        packed parameters
//   1 gates   read        [T*B, 4H] (z)
//   2 dhdec   read        [T*B, H]
//   3 dhin    read        [B, H] recurrent gradient w.r.t. h_{k+1} (ignored when flag = 1)
//   4 dgh     read        [T*B, 3H]
//   5 dhout   read_write  [B, H] recurrent gradient w.r.t. h_k
//   6 step    uniform     (dynamic offset) k, B, T, flag
// one invocation per tile of 8 batch rows × 8 hidden units (16 loads per 64 multiply-adds).

override H: u32 = 8u;
override WOFF_HH: u32 = 0u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> gates: array<f32>;
@group(0) @binding(2) var<storage, read> dhdec: array<f32>;
@group(0) @binding(3) var<storage, read> dhin: array<f32>;
@group(0) @binding(4) var<storage, read> dgh: array<f32>;
@group(0) @binding(5) var<storage, read_write> dhout: array<f32>;
@group(0) @binding(6) var<uniform> st: Step;

fn finish(b: u32, i: u32, acc: f32) {
  let k = st.k;
  var dh = 0.0;
  if (st.flag == 0u) { dh = dhin[b * H + i]; }
  if (k + 1u < st.T) { dh += dhdec[((k + 1u) * st.B + b) * H + i]; }
  let z = gates[(k * st.B + b) * 4u * H + H + i];
  dhout[b * H + i] = z * dh + acc;
}

fn finish8(b: u32, i0: u32, lo: vec4<f32>, hi: vec4<f32>) {
  if (b >= st.B) { return; }
  for (var u = 0u; u < 8u; u++) {
    if (i0 + u < H) { finish(b, i0 + u, select(hi[u & 3u], lo[u & 3u], u < 4u)); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = flat_index(wid, nwg, lid);
  let IB = (H + 7u) / 8u;
  let i0 = (gid % IB) * 8u;
  let b0 = (gid / IB) * 8u;
  if (b0 >= st.B) { return; }
  let last = st.B - 1u;
  let G3 = 3u * H;
  let base = st.k * st.B;
  let d0 = (base + min(b0 + 0u, last)) * G3;
  let d1 = (base + min(b0 + 1u, last)) * G3;
  let d2 = (base + min(b0 + 2u, last)) * G3;
  let d3 = (base + min(b0 + 3u, last)) * G3;
  let d4 = (base + min(b0 + 4u, last)) * G3;
  let d5 = (base + min(b0 + 5u, last)) * G3;
  let d6 = (base + min(b0 + 6u, last)) * G3;
  let d7 = (base + min(b0 + 7u, last)) * G3;
  let ca = vec4<u32>(i0, min(i0 + 1u, H - 1u), min(i0 + 2u, H - 1u), min(i0 + 3u, H - 1u)) + WOFF_HH;
  let cb = vec4<u32>(min(i0 + 4u, H - 1u), min(i0 + 5u, H - 1u), min(i0 + 6u, H - 1u), min(i0 + 7u, H - 1u)) + WOFF_HH;
  var a0 = vec4<f32>(0.0); var c0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0); var c1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0); var c2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0); var c3 = vec4<f32>(0.0);
  var a4 = vec4<f32>(0.0); var c4 = vec4<f32>(0.0);
  var a5 = vec4<f32>(0.0); var c5 = vec4<f32>(0.0);
  var a6 = vec4<f32>(0.0); var c6 = vec4<f32>(0.0);
  var a7 = vec4<f32>(0.0); var c7 = vec4<f32>(0.0);
  for (var g = 0u; g < G3; g++) {
    let w = g * H;
    let w0 = vec4<f32>(params[w + ca.x], params[w + ca.y], params[w + ca.z], params[w + ca.w]);
    let w1 = vec4<f32>(params[w + cb.x], params[w + cb.y], params[w + cb.z], params[w + cb.w]);
    let e0 = dgh[d0 + g]; a0 += w0 * e0; c0 += w1 * e0;
    let e1 = dgh[d1 + g]; a1 += w0 * e1; c1 += w1 * e1;
    let e2 = dgh[d2 + g]; a2 += w0 * e2; c2 += w1 * e2;
    let e3 = dgh[d3 + g]; a3 += w0 * e3; c3 += w1 * e3;
    let e4 = dgh[d4 + g]; a4 += w0 * e4; c4 += w1 * e4;
    let e5 = dgh[d5 + g]; a5 += w0 * e5; c5 += w1 * e5;
    let e6 = dgh[d6 + g]; a6 += w0 * e6; c6 += w1 * e6;
    let e7 = dgh[d7 + g]; a7 += w0 * e7; c7 += w1 * e7;
  }
  finish8(b0 + 0u, i0, a0, c0);
  finish8(b0 + 1u, i0, a1, c1);
  finish8(b0 + 2u, i0, a2, c2);
  finish8(b0 + 3u, i0, a3, c3);
  finish8(b0 + 4u, i0, a4, c4);
  finish8(b0 + 5u, i0, a5, c5);
  finish8(b0 + 6u, i0, a6, c6);
  finish8(b0 + 7u, i0, a7, c7);
}
