// wg_direct.wgsl — sums piece of weight_grad.wgsl: all the step record's rows in one dispatch, the sums stored
// straight into the gradient.
fn row_first() -> u32 { return st.row0; }
fn row_count() -> u32 { return st.nrows; }
fn tile_start(o: u32, i0: u32) -> array<vec4<f32>, 2> { return array<vec4<f32>, 2>(vec4<f32>(0.0), vec4<f32>(0.0)); }
fn bias_start(o0: u32) -> vec4<f32> { return vec4<f32>(0.0); }

fn put_w(o: u32, i0: u32, lo: vec4<f32>, hi: vec4<f32>) {
  if (o >= OUT) { return; }
  for (var u = 0u; u < 8u; u++) {
    if (i0 + u < IN) { put(WOFF + o * WSTRIDE + i0 + u, select(hi[u & 3u], lo[u & 3u], u < 4u)); }
  }
}

fn put_b(o: u32, v: f32) {
  if (o < OUT) { put(BOFF + o * BSTRIDE, v); }
}
