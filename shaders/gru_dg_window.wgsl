// gru_dg_window.wgsl — piece of gru_backward_hidden.wgsl for the software plan (with gru_dg_storage.wgsl or
// gru_dg_uniform.wgsl): W_hh read from the 64 KiB uniform windows that gru_forward.wgsl uses (H a multiple of 4).
// The sum over the 3H weight rows runs window by window, in row order, one dispatch per window; the running float32
// sum is kept in `part` between dispatches, so the rounding sequence equals one long loop.
// Needs from the loader: the bindings w (the window), part, win.
struct Win { g0: u32, rows: u32, first: u32, last: u32 }
const KSTEP: u32 = 4u;

fn g_count() -> u32 { return win.rows; }

fn load_w(g: u32, i0: u32) -> array<vec4<f32>, 2> {
  let r = g * (H / 4u);
  let q0 = i0 / 4u;
  return array<vec4<f32>, 2>(w[r + q0], w[r + min(q0 + 1u, H / 4u - 1u)]);   // H % 8 == 4: past H, not stored
}

fn start(b: u32, i: u32) -> f32 {
  if (win.first == 1u || b >= block_end() || i >= H) { return 0.0; }
  return part[b * H + i];
}

fn pass_on(b: u32, i: u32, acc: f32) -> bool {
  if (win.last == 0u) { part[b * H + i] = acc; }
  return win.last == 0u;
}
