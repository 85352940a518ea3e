// gru_dgh_window.wgsl — piece of gru_backward_gates.wgsl that also writes dgh of step k in the layout of the uniform
// windows read by gru_dg_uniform.wgsl: for W_hh window d (gate g, units w·UW ..), batch row b, unit u of the window:
// dghw[(d·BP + b)·UW + u], BP = B rounded up to 16 (so every batch block starts 256-byte aligned).
// overrides: UW (units per W_hh window, a multiple of 4)
// bindings (group 0):
//   6 dghw    read_write  [T·3·NW·BP·UW] dgh, window layout (above)
//   7 step    uniform     (dynamic offset) k, B, T, flag
override UW: u32 = 8u;

@group(0) @binding(6) var<storage, read_write> dghw: array<f32>;
@group(0) @binding(7) var<uniform> st: Step;

fn keep_hidden(k: u32, b: u32, j: u32, gh: GruGates) {
  let NW = (H + UW - 1u) / UW;
  let BP = (st.B + 15u) / 16u * 16u;
  let w = j / UW;
  let u = j % UW;
  let d0 = k * 3u * NW;
  dghw[((d0 + 0u * NW + w) * BP + b) * UW + u] = gh.r;
  dghw[((d0 + 1u * NW + w) * BP + b) * UW + u] = gh.z;
  dghw[((d0 + 2u * NW + w) * BP + b) * UW + u] = gh.n;
}
