// weight_grad.wgsl — weight-gradient accumulation over rows (batch × time), deterministic (fixed summation order, no
// atomics):  dW[o, i] = Σ_r dout[r, o] · inp[r, i],  db[o] = Σ_r dout[r, o]
// used for every Linear of the decoder (heads included: OUT = 2, WSTRIDE = BSTRIDE = M + 1) and for the GRU
// (W_hh from dgh and h_0..h_{T-1}; W_ih from dgi and xin). Rows are summed in blocks of 32 (partial sums added to the
// total) to keep float32 rounding error low for long batches. One invocation per tile of 8 outputs × 8 inputs; the
// tiles of the first input block also sum db. Every variant gives the same bits: same products, same order.
//
// The pieces in front declare the bindings (grad: the packed gradient, st: the Step record; flag = 1: add to grad,
// 0: overwrite) and say where the operands come from and where the sums go:
//   operands (wg_storage.wgsl scalar, wg_storage4.wgsl vec4, wg_dout_storage.wgsl / wg_dout_uniform.wgsl with the
//   input rows in uniform windows):
//     fn out_first() -> u32, fn out_count() -> u32   the output rows (weight rows) this dispatch covers
//     fn load_in(r, i0) -> array<vec4<f32>, 2>       inp[r, i0 .. i0+7] (clamped to the last input)
//     fn load_dout(r, ol) -> array<f32, 8>           dout[r, out_first()+ol .. +7] (clamped)
//   sums (wg_direct.wgsl: all rows in one dispatch; wg_window.wgsl: the rows in windows, running totals between them):
//     fn row_first() -> u32, fn row_count() -> u32   the rows this dispatch sums
//     fn tile_start(o, i0) -> array<vec4<f32>, 2>, fn bias_start(o0) -> vec4<f32>   the totals so far
//     fn put_w(o, i0, lo, hi), fn put_b(o, v)        store dW[o, i0 .. i0+7], db[o] (or keep them for the next window)
// overrides: HAS_BIAS, WG; IN, OUT, WOFF, WSTRIDE, BOFF, BSTRIDE from layer_shape.wgsl (composed first)

override HAS_BIAS: u32 = 1u;

fn put(at: u32, v: f32) {
  if (st.flag == 1u) { grad[at] = grad[at] + v; } else { grad[at] = v; }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = flat_index(wid, nwg, lid);
  let IB = (IN + 7u) / 8u;
  let OB = (out_count() + 7u) / 8u;
  if (gid >= IB * OB) { return; }
  let i0 = (gid % IB) * 8u;
  let ol = (gid / IB) * 8u;   // first output of the tile within this dispatch's outputs
  let ob = out_first() + ol;
  var total: Tile;
  for (var k = 0u; k < 8u; k++) {
    let p = tile_start(ob + k, i0);
    total.lo[k] = p[0];
    total.hi[k] = p[1];
  }
  var tb0 = bias_start(ob);
  var tb1 = bias_start(ob + 4u);
  let bias = HAS_BIAS == 1u && i0 == 0u;
  var r = row_first();
  let stop = r + row_count();
  while (r < stop) {
    let end = min(r + 32u, stop);
    var block: Tile;
    var s0 = vec4<f32>(0.0);
    var s1 = vec4<f32>(0.0);
    for (; r < end; r++) {
      let v = load_in(r, i0);
      let g = load_dout(r, ol);
      tile_add(&block, g, v[0], v[1]);
      if (bias) { s0 += vec4<f32>(g[0], g[1], g[2], g[3]); s1 += vec4<f32>(g[4], g[5], g[6], g[7]); }
    }
    tile_sum(&total, block);
    tb0 += s0;
    tb1 += s1;
  }
  for (var k = 0u; k < 8u; k++) { put_w(ob + k, i0, total.lo[k], total.hi[k]); }
  if (bias) {
    for (var u = 0u; u < 8u; u++) { put_b(ob + u, select(tb1[u & 3u], tb0[u & 3u], u < 4u)); }
  }
}
