// gru_bptt.wgsl — backpropagation through time over all T steps in ONE dispatch (the hardware plan). For
// k = T−1 … 0, from the total gradient w.r.t. h_{k+1} (recurrent part + the decoder's part dhdec for row k+1 when
// k+1 ≤ T−1; training decodes h_0..h_{T−1} only):
//   dn = dh − z·dh, dz = dh·(h_k − n), dpre_n = dn(1 − n²), dpre_r = dpre_n·ghn·(1 − r)r, dpre_z = dz(1 − z)z
//   dgi = [dpre_r | dpre_z | dpre_n],  dgh = [dpre_r | dpre_z | dpre_n·r]
//   recurrent gradient w.r.t. h_k: z·dh + Σ_{g<3H} W_hh[g, ·] dgh[g]
// A workgroup owns BT batch rows; their dh and dgh stay in workgroup memory across the steps (two barriers a
// step). Invocation lid owns hidden units i ≡ lid (mod WG) in both halves of a step: it reads W_hh by column, so
// neighbouring invocations read neighbouring weights.
//
// overrides: H, BT (batch rows per workgroup; 4·BT·H floats of workgroup memory), WOFF_HH, WG
// bindings (group 0):
//   0 params  read        packed parameters
//   1 gates   read        [T*B, 4H] r | z | n | ghn (gru_sequence.wgsl)
//   2 h       read        [(T+1)*B, H]
//   3 dhdec   read        [T*B, H] decoder gradient w.r.t. h_0..h_{T−1}
//   4 dgi     read_write  [T*B, 3H]
//   5 dgh     read_write  [T*B, 3H]
//   6 step    uniform     (dynamic offset) Step: B, T
// grid: ceil(B / BT) workgroups along x.
override H: u32 = 8u;
override BT: u32 = 4u;
override WOFF_HH: u32 = 0u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> gates: array<f32>;
@group(0) @binding(2) var<storage, read> h: array<f32>;
@group(0) @binding(3) var<storage, read> dhdec: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgi: array<f32>;
@group(0) @binding(5) var<storage, read_write> dgh: array<f32>;
@group(0) @binding(6) var<uniform> st: Step;

// [BT][H] recurrent gradient w.r.t. h_{k+1}, and [BT][3H] this step's dgh
var<workgroup> dh: array<f32, BT * H>;
var<workgroup> dg: array<f32, 3u * BT * H>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b0 = wid.x * BT;
  let nb = min(BT, st.B - min(b0, st.B));
  for (var bl = 0u; bl < nb; bl++) {
    for (var j = lid; j < H; j += WG) { dh[bl * H + j] = 0.0; }
  }
  for (var kk = 0u; kk < st.T; kk++) {
    let k = st.T - 1u - kk;
    for (var bl = 0u; bl < nb; bl++) {
      let row = k * st.B + b0 + bl;
      for (var j = lid; j < H; j += WG) {
        var d = dh[bl * H + j];
        if (k + 1u < st.T) { d += dhdec[(row + st.B) * H + j]; }
        let gh = gate_backward(row, j, d, h[row * H + j]);
        let w = bl * 3u * H;
        dg[w + j] = gh.r;
        dg[w + H + j] = gh.z;
        dg[w + 2u * H + j] = gh.n;
        dh[bl * H + j] = gates[row * 4u * H + H + j] * d;  // the direct part; the sum through W_hh is added below
      }
    }
    workgroupBarrier();
    if (k > 0u) {
      for (var i = lid; i < H; i += WG) {
        var acc = array<f32, MAX_BT>();  // zeroed explicitly (see gru_sequence.wgsl)
        for (var g = 0u; g < 3u * H; g++) {
          let w = params[WOFF_HH + g * H + i];
          for (var bl = 0u; bl < nb; bl++) { acc[bl] += w * dg[bl * 3u * H + g]; }
        }
        for (var bl = 0u; bl < nb; bl++) { dh[bl * H + i] += acc[bl]; }
      }
    }
    workgroupBarrier();
  }
}
