// gru_sequence.wgsl — the GRU forward over a window of steps k0 .. k0+nk−1 in ONE dispatch (the hardware plan):
//   r = σ(gi_r + W_hr h + b_hr), z = σ(gi_z + W_hz h + b_hz), n = tanh(gi_n + r ⊙ (W_hn h + b_hn)),
//   h' = n + z ⊙ (h − n)   (PyTorch's evaluation order of (1 − z) ⊙ n + z ⊙ h)
// keeping r, z, n and ghn = W_hn h + b_hn per step for the backward pass (gru_bptt.wgsl).
//
// A workgroup owns BT batch rows for the whole window: their hidden states stay in workgroup memory (two copies,
// old and new, swapped each step: one barrier per step), each invocation owns hidden units j ≡ lid (mod WG). Batch
// rows are independent, so workgroups never wait for each other; the dispatch count does not depend on T.
// The missing-value path runs it with nk = 1 per step (the decoder must see h_k before step k's input exists).
//
// overrides: H, BT (batch rows per workgroup; 2·BT·H floats of workgroup memory), WOFF_HH / BOFF_HH (offsets of
//            gru.weight_hh_l0 [3H, H] and gru.bias_hh_l0 [3H]), WG
// bindings (group 0):
//   0 params  read        packed parameters
//   1 gi      read        [T*B, 3H] input projections (input_proj.wgsl), row k*B+b
//   2 h       read_write  [(T+1)*B, H] hidden states (reads h_k0, writes h_k0+1 .. h_k0+nk)
//   3 gates   read_write  [T*B, 4H] per row: r | z | n | ghn
//   4 step    uniform     (dynamic offset) Step: B, k0, nk
// grid: ceil(B / BT) workgroups along x.
override H: u32 = 8u;
override BT: u32 = 4u;
override WOFF_HH: u32 = 0u;
override BOFF_HH: u32 = 0u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> gi: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;
@group(0) @binding(3) var<storage, read_write> gates: array<f32>;
@group(0) @binding(4) var<uniform> st: Step;

// [2][BT][H]: the hidden states of this workgroup's rows, old and new
var<workgroup> hs: array<f32, 2u * BT * H>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b0 = wid.x * BT;
  let nb = min(BT, st.B - min(b0, st.B));  // uniform across the workgroup: the barriers below stay in uniform flow
  for (var bl = 0u; bl < nb; bl++) {
    for (var j = lid; j < H; j += WG) { hs[bl * H + j] = h[(st.k0 * st.B + b0 + bl) * H + j]; }
  }
  workgroupBarrier();
  for (var s = 0u; s < st.nk; s++) {
    let k = st.k0 + s;
    let cur = (s % 2u) * BT * H;
    let nxt = ((s + 1u) % 2u) * BT * H;
    for (var j = lid; j < H; j += WG) {
      // zeroed explicitly: Tint's Vulkan output did not re-zero a plain `var` declared in a loop (seen on lavapipe)
      var ar = array<f32, MAX_BT>();
      var az = array<f32, MAX_BT>();
      var an = array<f32, MAX_BT>();
      let wr = WOFF_HH + j * H;
      let wz = wr + H * H;
      let wn = wz + H * H;
      for (var i = 0u; i < H; i++) {
        let vr = params[wr + i];
        let vz = params[wz + i];
        let vn = params[wn + i];
        for (var bl = 0u; bl < nb; bl++) {
          let v = hs[cur + bl * H + i];
          ar[bl] += vr * v;
          az[bl] += vz * v;
          an[bl] += vn * v;
        }
      }
      for (var bl = 0u; bl < nb; bl++) {
        let row = k * st.B + b0 + bl;
        let g = row * 3u * H;
        let ghn = an[bl] + params[BOFF_HH + 2u * H + j];
        let c = gru_gates(gi[g + j], gi[g + H + j], gi[g + 2u * H + j], ar[bl] + params[BOFF_HH + j],
                          az[bl] + params[BOFF_HH + H + j], ghn);
        let hn = c.n + c.z * (hs[cur + bl * H + j] - c.n);
        hs[nxt + bl * H + j] = hn;
        h[(row + st.B) * H + j] = hn;
        let o = row * 4u * H;
        gates[o + j] = c.r;
        gates[o + H + j] = c.z;
        gates[o + 2u * H + j] = c.n;
        gates[o + 3u * H + j] = ghn;
      }
    }
    workgroupBarrier();
  }
}
