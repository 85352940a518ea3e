// decoder_backward.wgsl — gradient w.r.t. a decoder layer's input:
//   din[r, i] = (Σ_o dout[r, o] W[o, i]) · [act[r, i] > 0]
// (the ReLU mask of the INPUT activation when MASK = 1, i.e. this yields the pre-activation gradient of the layer
// below; MASK = 0 for the first layer, whose input is the hidden state h). W as in decoder_dense.wgsl (heads: OUT = 2,
// WSTRIDE = M + 1). One invocation per tile of 8 rows × 8 inputs; the sum over o runs in the same order with every
// loader, so all give the same bits. When the inputs covered are 4 mod 8 the second half of the last tile reads the
// first half again and is not stored.
//
// The loader piece in front (back_w_scalar.wgsl: any shape; back_w_storage.wgsl, back_w_uniform.wgsl: OUT a
// multiple of 4, vec4 loads) declares the bindings — dout, act, din, st — and says where the operands come from:
//   const KSTEP: u32                                  outputs per dout load (1 or 4)
//   fn in_first() -> u32, fn in_count() -> u32        the inputs (weight columns) this dispatch covers
//   fn load_dout(row, c) -> vec4<f32>                 dout[row, c .. c+KSTEP−1] (lanes past KSTEP unused)
//   fn load_w(o, l0) -> array<vec4<f32>, 2>           W[o, in_first() + l0 .. +7] (clamped to the columns covered)
// overrides: MASK, WG (the loaders add theirs); IN, OUT, WOFF, WSTRIDE from layer_shape.wgsl
override MASK: u32 = 1u;

fn put(r: u32, i: u32, v: f32) {
  if (r >= st.nrows || i >= in_first() + in_count()) { return; }
  let at = (st.row0 + r) * IN + i;
  din[at] = select(v, 0.0, MASK == 1u && !(act[at] > 0.0));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = flat_index(wid, nwg, lid);
  let IB = (in_count() + 7u) / 8u;
  let l0 = (gid % IB) * 8u;
  let r0 = (gid / IB) * 8u;
  if (r0 >= st.nrows) { return; }
  let rows = tile_rows(st.row0, st.nrows, r0);
  var t: Tile;
  for (var c = 0u; c < OUT; c += KSTEP) {
    var G: array<vec4<f32>, 8>;
    for (var k = 0u; k < 8u; k++) { G[k] = load_dout(rows[k], c); }
    for (var j = 0u; j < KSTEP; j++) {
      let w = load_w(c + j, l0);
      tile_add(&t, array<f32, 8>(G[0][j], G[1][j], G[2][j], G[3][j], G[4][j], G[5][j], G[6][j], G[7][j]), w[0], w[1]);
    }
  }
  for (var k = 0u; k < 8u; k++) {
    for (var u = 0u; u < 8u; u++) { put(r0 + k, in_first() + l0 + u, tile_at(t, k, u)); }
  }
}
