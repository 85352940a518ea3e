// gru_backward_gates_w.wgsl — gru_backward_gates.wgsl (same outputs) that also writes dgh of step k in the layout of
// the uniform windows read by gru_dg_uniform.wgsl: for W_hh window d (gate g, units w·UW ..), batch row b,
// unit u of the window: dghw[(d·BP + b)·UW + u], BP = B rounded up to 16 (so every batch block starts 256-byte aligned).
// overrides: H, UW (units per W_hh window, a multiple of 4), WG
// bindings (group 0):
//   0 gates   read        [T*B, 4H] r | z | n | ghn (gru_forward.wgsl)
//   1 h       read        [(T+1)*B, H]
//   2 dhdec   read        [T*B, H] decoder gradient w.r.t. h_0..h_{T−1}
//   3 dhrec   read        [B, H] recurrent gradient w.r.t. h_{k+1} (ignored when flag = 1: k = T−1)
//   4 dgi     read_write  [T*B, 3H]
//   5 dgh     read_write  [T*B, 3H]
//   6 dghw    read_write  [T·3·NW·BP·UW] dgh, window layout (above)
//   7 step    uniform     (dynamic offset) k, B, T, flag
// one invocation per (batch row, hidden unit). Equations: gru_backward_gates.wgsl.

override H: u32 = 8u;
override UW: u32 = 8u;

@group(0) @binding(0) var<storage, read> gates: array<f32>;
@group(0) @binding(1) var<storage, read> h: array<f32>;
@group(0) @binding(2) var<storage, read> dhdec: array<f32>;
@group(0) @binding(3) var<storage, read> dhrec: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgi: array<f32>;
@group(0) @binding(5) var<storage, read_write> dgh: array<f32>;
@group(0) @binding(6) var<storage, read_write> dghw: array<f32>;
@group(0) @binding(7) var<uniform> st: Step;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = flat_index(wid, nwg, lid);
  if (gid >= st.B * H) { return; }
  let b = gid / H;
  let j = gid % H;
  let k = st.k;
  var dh = 0.0;
  if (st.flag == 0u) { dh = dhrec[b * H + j]; }
  if (k + 1u < st.T) { dh += dhdec[((k + 1u) * st.B + b) * H + j]; }
  let row = k * st.B + b;
  let gh = gate_backward(row, j, dh, h[row * H + j]);
  let NW = (H + UW - 1u) / UW;
  let BP = (st.B + 15u) / 16u * 16u;
  let w = j / UW;
  let u = j % UW;
  let d0 = k * 3u * NW;
  dghw[((d0 + 0u * NW + w) * BP + b) * UW + u] = gh.r;
  dghw[((d0 + 1u * NW + w) * BP + b) * UW + u] = gh.z;
  dghw[((d0 + 2u * NW + w) * BP + b) * UW + u] = gh.n;
}
