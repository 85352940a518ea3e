// gru_forward.wgsl — one time step k of the GRU (PyTorch nn.GRU, gate order r | z | n):
//   r = σ(gi_r + W_hr h + b_hr), z = σ(gi_z + W_hz h + b_hz), n = tanh(gi_n + r ⊙ (W_hn h + b_hn)),
//   h' = n + z ⊙ (h − n)   (PyTorch's evaluation order of (1 − z) ⊙ n + z ⊙ h)
// keeping r, z, n and ghn = W_hn h + b_hn for the backward pass. One invocation per tile of 8 batch rows × 4 hidden
// units × 3 gates: 20 loads feed 96 multiply-adds. On llvmpipe every storage-buffer (and workgroup-memory) load is a
// per-lane scalar load, far dearer than arithmetic, so the tile is as large as registers allow; no workgroup memory,
// no barriers. The sum over i runs in the same order with every loader, so all give the same bits.
//
// The loader piece in front (gru_h_scalar.wgsl: any H, weights from the parameters; gru_h_storage.wgsl,
// gru_h_uniform.wgsl with gru_w_window.wgsl: H a multiple of 4, W_hh from UNIFORM windows of units — the
// software plan) declares the
// bindings — params, gi, gates, st and its own — and says where the operands come from:
//   const KSTEP: u32                                   inputs per load (1 or 4)
//   fn unit_first() -> u32, fn unit_count() -> u32     the hidden units this dispatch covers
//   fn block_first() -> u32, fn block_end() -> u32     the batch rows of this dispatch
//   fn h_row(b) -> u32, fn load_h(hb, c) -> vec4<f32>  h_k[b, c .. c+KSTEP−1] from hb = h_row(b)
//   fn load_wr(l, c), load_wz(l, c), load_wn(l, c) -> vec4<f32>   W_h·[unit_first() + l, c .. c+KSTEP−1]
//   fn hidden_prev(b, row, j) -> f32, fn put_hidden(b, row, j, v)   h_k[b, j] and storing h_{k+1}[b, j]
// overrides: H, BOFF_HH (offset of gru.bias_hh_l0 [3H]), WG (the loaders add theirs)

override H: u32 = 8u;
override BOFF_HH: u32 = 0u;

fn cell(b: u32, j: u32, ghr: f32, ghz: f32, ghn: f32) {
  let G3 = 3u * H;
  let row = st.k * st.B + b;
  let gr = row * G3;
  let c = gru_gates(gi[gr + j], gi[gr + H + j], gi[gr + 2u * H + j], ghr, ghz, ghn);
  put_hidden(b, row, j, c.n + c.z * (hidden_prev(b, row, j) - c.n));
  let o = row * 4u * H;
  gates[o + j] = c.r;
  gates[o + H + j] = c.z;
  gates[o + 2u * H + j] = c.n;
  gates[o + 3u * H + j] = ghn;
}

// the cells of batch row b, units l0 .. l0+3 of the dispatch's units, from W_h· h (the biases added here)
fn cells(b: u32, l0: u32, ghr: vec4<f32>, ghz: vec4<f32>, ghn: vec4<f32>) {
  if (b >= block_end()) { return; }
  for (var u = 0u; u < 4u; u++) {
    if (l0 + u < unit_count()) {
      let j = unit_first() + l0 + u;
      let bias = vec3<f32>(params[BOFF_HH + j], params[BOFF_HH + H + j], params[BOFF_HH + 2u * H + j]);
      cell(b, j, ghr[u] + bias.x, ghz[u] + bias.y, ghn[u] + bias.z);
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = flat_index(wid, nwg, lid);
  let UB = (unit_count() + 3u) / 4u;
  let l0 = (gid % UB) * 4u;
  let b0 = block_first() + (gid / UB) * 8u;
  if (b0 >= block_end()) { return; }
  var hrows: array<u32, 8>;
  for (var k = 0u; k < 8u; k++) { hrows[k] = h_row(min(b0 + k, block_end() - 1u)); }
  var lines: array<u32, 4>;
  for (var u = 0u; u < 4u; u++) { lines[u] = min(l0 + u, unit_count() - 1u); }
  var R: array<vec4<f32>, 8>;
  var Z: array<vec4<f32>, 8>;
  var N: array<vec4<f32>, 8>;
  for (var c = 0u; c < H; c += KSTEP) {
    var V: array<vec4<f32>, 8>;
    for (var k = 0u; k < 8u; k++) { V[k] = load_h(hrows[k], c); }
    var WR: array<vec4<f32>, 4>;
    var WZ: array<vec4<f32>, 4>;
    var WN: array<vec4<f32>, 4>;
    for (var u = 0u; u < 4u; u++) {
      WR[u] = load_wr(lines[u], c);
      WZ[u] = load_wz(lines[u], c);
      WN[u] = load_wn(lines[u], c);
    }
    for (var j = 0u; j < KSTEP; j++) {
      let wr = vec4<f32>(WR[0][j], WR[1][j], WR[2][j], WR[3][j]);
      let wz = vec4<f32>(WZ[0][j], WZ[1][j], WZ[2][j], WZ[3][j]);
      let wn = vec4<f32>(WN[0][j], WN[1][j], WN[2][j], WN[3][j]);
      for (var k = 0u; k < 8u; k++) {
        let v = V[k][j];
        R[k] += wr * v;
        Z[k] += wz * v;
        N[k] += wn * v;
      }
    }
  }
  for (var k = 0u; k < 8u; k++) { cells(b0 + k, l0, R[k], Z[k], N[k]); }
}
