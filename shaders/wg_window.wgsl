// wg_window.wgsl — sums piece of weight_grad.wgsl for the software plan's large weight gradients: the input
// activations read from 64 KiB UNIFORM windows of whole rows (IN a multiple of 64; on llvmpipe uniform loads are
// several times cheaper than storage loads). The engine dispatches once per window of rows (WR a multiple of 32, so
// the blocks of 32 rows fall as in one long loop); the running float32 totals are kept in `part` between the windows
// of one step record, so the rounding sequence equals that of one dispatch over all the record's rows.
// Needs from the loader (wg_dout_storage.wgsl, wg_dout_uniform.wgsl): the bindings inp (the window), part, grad, win,
// st, and fn dout4(r, q) -> vec4<f32>: dout[r, out_first() + 4q .. +3].
struct Win { r0: u32, n: u32, first: u32, last: u32 }

fn row_first() -> u32 { return st.row0 + win.r0; }
fn row_count() -> u32 { return win.n; }

fn load_in(r: u32, i0: u32) -> array<vec4<f32>, 2> {
  let s = (r - row_first()) * (IN / 4u);
  let ia = i0 / 4u;
  return array<vec4<f32>, 2>(inp[s + ia], inp[s + ia + 1u]);   // IN is a multiple of 64: whole tiles
}

fn load_dout(r: u32, ol: u32) -> array<f32, 8> {
  let qa = ol / 4u;
  let ga = dout4(r, qa);
  let gb = dout4(r, min(qa + 1u, out_count() / 4u - 1u));
  return array<f32, 8>(ga.x, ga.y, ga.z, ga.w, gb.x, gb.y, gb.z, gb.w);
}

// the running totals of dW[o, i0 .. i0+7] (zero in the first window)
fn tile_start(o: u32, i0: u32) -> array<vec4<f32>, 2> {
  if (win.first == 1u) { return array<vec4<f32>, 2>(vec4<f32>(0.0), vec4<f32>(0.0)); }
  let q = min(o, OUT - 1u) * IN + i0;
  return array<vec4<f32>, 2>(vec4<f32>(part[q], part[q + 1u], part[q + 2u], part[q + 3u]),
                             vec4<f32>(part[q + 4u], part[q + 5u], part[q + 6u], part[q + 7u]));
}

fn bias_start(o0: u32) -> vec4<f32> {
  if (win.first == 1u) { return vec4<f32>(0.0); }
  let q = OUT * IN;
  return vec4<f32>(part[q + min(o0, OUT - 1u)], part[q + min(o0 + 1u, OUT - 1u)],
                   part[q + min(o0 + 2u, OUT - 1u)], part[q + min(o0 + 3u, OUT - 1u)]);
}

fn put_w(o: u32, i0: u32, lo: vec4<f32>, hi: vec4<f32>) {
  if (o >= out_first() + out_count()) { return; }
  for (var u = 0u; u < 8u; u++) {
    let v = select(hi[u & 3u], lo[u & 3u], u < 4u);
    if (win.last == 1u) { put(WOFF + o * WSTRIDE + i0 + u, v); } else { part[o * IN + i0 + u] = v; }
  }
}

fn put_b(o: u32, v: f32) {
  if (o >= out_first() + out_count()) { return; }
  if (win.last == 1u) { put(BOFF + o * BSTRIDE, v); } else { part[OUT * IN + o] = v; }
}
