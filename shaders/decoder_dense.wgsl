// decoder_dense.wgsl — one decoder layer y = act(W · in + b) over a range of rows: the MLP layers (ReLU) and the two
// Linear(M → 1) heads (no activation; μ and logvar written as a row of 2):
//   y[r, o] = act(Σ_i W[o, i] · in[r, i] + b[o]),  b[o] at BOFF + o*BSTRIDE
// The heads use OUT = 2, WSTRIDE = BSTRIDE = M + 1 (mu_head.weight, mu_head.bias, logvar_head.weight,
// logvar_head.bias are consecutive in the packed vector). One invocation per tile of 8 rows × 8 outputs; the sum
// over i runs in the same order with every loader, so all give the same bits.
//
// The loader piece in front (dense_w_scalar.wgsl: any shape; dense_w_storage.wgsl, dense_w_uniform.wgsl: IN a
// multiple of 4, vec4 loads along i) declares the bindings — params, inp, outp, st — and says where the operands
// come from, KSTEP inputs (1 or 4) per load:
//   const KSTEP: u32                                  inputs per load
//   fn out_first() -> u32, fn out_count() -> u32      the outputs (weight rows) this dispatch covers
//   fn load_w(l, c) -> vec4<f32>                      W[out_first() + l, c .. c+KSTEP−1] (lanes past KSTEP unused)
//   fn load_in(row, c) -> vec4<f32>                   in[row, c .. c+KSTEP−1]
//   fn param(at) -> f32                               the packed parameter at index at (the biases)
// overrides: RELU (1 = ReLU, 0 = identity), WG; IN, OUT, WOFF, WSTRIDE, BOFF, BSTRIDE from layer_shape.wgsl
override RELU: u32 = 1u;

fn put(r: u32, o: u32, v: f32) {
  if (r >= st.nrows || o >= out_first() + out_count()) { return; }
  var y = v + param(BOFF + o * BSTRIDE);
  if (RELU == 1u) { y = max(y, 0.0); }
  outp[(st.row0 + r) * OUT + o] = y;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = flat_index(wid, nwg, lid);
  let OB = (out_count() + 7u) / 8u;
  let l0 = (gid % OB) * 8u;
  let o0 = out_first() + l0;
  let r0 = (gid / OB) * 8u;
  if (r0 >= st.nrows) { return; }
  let rows = tile_rows(st.row0, st.nrows, r0);
  var lines: array<u32, 8>;
  for (var k = 0u; k < 8u; k++) { lines[k] = min(l0 + k, out_count() - 1u); }
  var t: Tile;
  for (var c = 0u; c < IN; c += KSTEP) {
    var W: array<vec4<f32>, 8>;
    var V: array<vec4<f32>, 8>;
    for (var k = 0u; k < 8u; k++) {
      W[k] = load_w(lines[k], c);
      V[k] = load_in(rows[k], c);
    }
    for (var j = 0u; j < KSTEP; j++) {
      let s = array<f32, 8>(V[0][j], V[1][j], V[2][j], V[3][j], V[4][j], V[5][j], V[6][j], V[7][j]);
      tile_add(&t, s, vec4<f32>(W[0][j], W[1][j], W[2][j], W[3][j]), vec4<f32>(W[4][j], W[5][j], W[6][j], W[7][j]));
    }
  }
  for (var k = 0u; k < 8u; k++) {
    for (var u = 0u; u < 8u; u++) { put(r0 + k, o0 + u, tile_at(t, k, u)); }
  }
}
