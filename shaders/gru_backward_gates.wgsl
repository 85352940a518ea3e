// gru_backward_gates.wgsl — backpropagation through time, part 1 of step k (k = T−1 … 0): from the total gradient
// w.r.t. h_{k+1} (recurrent part from step k+1 plus the decoder's part for row k+1 when k+1 ≤ T−1; training decodes
// h_0..h_{T−1} only) to the gradients of the gate pre-activations:
//   dn = dh − z·dh, dz = dh·(h_k − n), dpre_n = dn(1 − n²), dr = dpre_n·ghn, dpre_r = dr(1 − r)r, dpre_z = dz(1 − z)z
//   dgi = [dpre_r | dpre_z | dpre_n] (input side),  dgh = [dpre_r | dpre_z | dpre_n·r] (hidden side, b_hn inside r ⊙ ·)
// The piece in front (gru_dgh_plain.wgsl, gru_dgh_window.wgsl) declares the binding(s) from 6 on and
//   fn keep_hidden(k, b, j, gh)   what else to do with the hidden-side gradients of cell (b, j) of step k
// overrides: H, WG
// bindings (group 0; the piece adds 6 on):
//   0 gates   read        [T*B, 4H] r | z | n | ghn (gru_forward.wgsl)
//   1 h       read        [(T+1)*B, H]
//   2 dhdec   read        [T*B, H] decoder gradient w.r.t. h_0..h_{T−1}
//   3 dhrec   read        [B, H] recurrent gradient w.r.t. h_{k+1} (ignored when flag = 1: k = T−1)
//   4 dgi     read_write  [T*B, 3H]
//   5 dgh     read_write  [T*B, 3H]
// one invocation per (batch row, hidden unit).

override H: u32 = 8u;

@group(0) @binding(0) var<storage, read> gates: array<f32>;
@group(0) @binding(1) var<storage, read> h: array<f32>;
@group(0) @binding(2) var<storage, read> dhdec: array<f32>;
@group(0) @binding(3) var<storage, read> dhrec: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgi: array<f32>;
@group(0) @binding(5) var<storage, read_write> dgh: array<f32>;

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
  keep_hidden(k, b, j, gate_backward(row, j, dh, h[row * H + j]));
}
