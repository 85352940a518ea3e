// gru_backward_hidden.wgsl — backpropagation through time, part 2 of step k (k = T−1 … 1): the recurrent gradient
// w.r.t. h_k:  dhrec_k[b, i] = z[b, i]·dh[b, i] + Σ_{g<3H} W_hh[g, i] · dgh[k, b, g]
// where dh is the same total gradient w.r.t. h_{k+1} that gru_backward_gates.wgsl used. One invocation per tile of
// 8 batch rows × 8 hidden units (16 loads per 64 multiply-adds). The sum over g runs in row order with every loader,
// so all give the same bits.
//
// The loader piece in front (gru_dg_scalar.wgsl: any H, all 3H rows at once; gru_dg_storage.wgsl,
// gru_dg_uniform.wgsl with gru_dg_window.wgsl: H a multiple of 4, W_hh from the uniform windows of gru_forward.wgsl,
// one dispatch per window, the running sum kept between them) declares the bindings — gates, dhdec, dhin, dhout, st
// and its own — and says where the operands come from:
//   const KSTEP: u32                                   gate rows per dgh load (1 or 4)
//   fn block_first() -> u32, fn block_end() -> u32     the batch rows of this dispatch
//   fn g_count() -> u32                                the gate rows this dispatch sums
//   fn dg_row(b) -> u32, fn load_dg(db, c) -> vec4<f32>   dgh[k, b, c .. c+KSTEP−1] of those rows, db = dg_row(b)
//   fn load_w(g, i0) -> array<vec4<f32>, 2>           W_hh[g, i0 .. i0+7] of those rows (clamped to H)
//   fn start(b, i) -> f32, fn pass_on(b, i, acc) -> bool   the sum so far; keep it for the next dispatch (true)
// overrides: H, WG (the loaders add theirs)

override H: u32 = 8u;

fn finish(b: u32, i: u32, acc: f32) {
  if (b >= block_end() || i >= H || pass_on(b, i, acc)) { return; }
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
  let gid = flat_index(wid, nwg, lid);
  let IB = (H + 7u) / 8u;
  let i0 = (gid % IB) * 8u;
  let b0 = block_first() + (gid / IB) * 8u;
  if (b0 >= block_end()) { return; }
  var drows: array<u32, 8>;
  var t: Tile;
  for (var k = 0u; k < 8u; k++) {
    drows[k] = dg_row(min(b0 + k, block_end() - 1u));
    t.lo[k] = vec4<f32>(start(b0 + k, i0), start(b0 + k, i0 + 1u), start(b0 + k, i0 + 2u), start(b0 + k, i0 + 3u));
    t.hi[k] = vec4<f32>(start(b0 + k, i0 + 4u), start(b0 + k, i0 + 5u), start(b0 + k, i0 + 6u),
                        start(b0 + k, i0 + 7u));
  }
  for (var c = 0u; c < g_count(); c += KSTEP) {
    var E: array<vec4<f32>, 8>;
    for (var k = 0u; k < 8u; k++) { E[k] = load_dg(drows[k], c); }
    for (var j = 0u; j < KSTEP; j++) {
      let w = load_w(c + j, i0);
      tile_add(&t, array<f32, 8>(E[0][j], E[1][j], E[2][j], E[3][j], E[4][j], E[5][j], E[6][j], E[7][j]), w[0], w[1]);
    }
  }
  for (var k = 0u; k < 8u; k++) {
    for (var u = 0u; u < 8u; u++) { finish(b0 + k, i0 + u, select(t.hi[k][u & 3u], t.lo[k][u & 3u], u < 4u)); }
  }
}
