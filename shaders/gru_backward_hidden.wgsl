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
// one invocation per (hidden unit i, block of 4 batch rows); lanes run along i, so weight loads are contiguous.
struct Step { k: u32, B: u32, T: u32, row0: u32, nrows: u32, k0: u32, nk: u32, flag: u32 }

override H: u32 = 8u;
override WOFF_HH: u32 = 0u;
override WG: u32 = 64u;

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

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = (wid.x + wid.y * nwg.x) * WG + lid;
  let i = gid % H;
  let b0 = (gid / H) * 4u;
  if (b0 >= st.B) { return; }
  let last = st.B - 1u;
  let G3 = 3u * H;
  let base = st.k * st.B;
  let g0 = (base + b0) * G3;
  let g1 = (base + min(b0 + 1u, last)) * G3;
  let g2 = (base + min(b0 + 2u, last)) * G3;
  let g3 = (base + min(b0 + 3u, last)) * G3;
  var acc = vec4<f32>(0.0);
  for (var g = 0u; g < G3; g++) {
    let d = vec4<f32>(dgh[g0 + g], dgh[g1 + g], dgh[g2 + g], dgh[g3 + g]);
    acc += params[WOFF_HH + g * H + i] * d;
  }
  finish(b0, i, acc.x);
  if (b0 + 1u < st.B) { finish(b0 + 1u, i, acc.y); }
  if (b0 + 2u < st.B) { finish(b0 + 2u, i, acc.z); }
  if (b0 + 3u < st.B) { finish(b0 + 3u, i, acc.w); }
}
