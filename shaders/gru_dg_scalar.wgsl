// gru_dg_scalar.wgsl — loader of gru_backward_hidden.wgsl for any H: dgh and W_hh read one float at a time from
// storage, all 3H gate rows and all batch rows in one dispatch.
// overrides: WOFF_HH (offset of gru.weight_hh_l0 [3H, H])
// bindings (group 0):
//   0 params  read        packed parameters
//   1 gates   read        [T*B, 4H] (z)
//   2 dhdec   read        [T*B, H]
//   3 dhin    read        [B, H] recurrent gradient w.r.t. h_{k+1} (ignored when flag = 1)
//   4 dgh     read        [T*B, 3H]
//   5 dhout   read_write  [B, H] recurrent gradient w.r.t. h_k
//   6 step    uniform     (dynamic offset) k, B, T, flag
override WOFF_HH: u32 = 0u;
const KSTEP: u32 = 1u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> gates: array<f32>;
@group(0) @binding(2) var<storage, read> dhdec: array<f32>;
@group(0) @binding(3) var<storage, read> dhin: array<f32>;
@group(0) @binding(4) var<storage, read> dgh: array<f32>;
@group(0) @binding(5) var<storage, read_write> dhout: array<f32>;
@group(0) @binding(6) var<uniform> st: Step;

fn block_first() -> u32 { return 0u; }
fn block_end() -> u32 { return st.B; }
fn g_count() -> u32 { return 3u * H; }
fn dg_row(b: u32) -> u32 { return (st.k * st.B + b) * 3u * H; }
fn load_dg(db: u32, c: u32) -> vec4<f32> { return vec4<f32>(dgh[db + c], 0.0, 0.0, 0.0); }
fn start(b: u32, i: u32) -> f32 { return 0.0; }
fn pass_on(b: u32, i: u32, acc: f32) -> bool { return false; }

fn load_w(g: u32, i0: u32) -> array<vec4<f32>, 2> {
  var v: array<f32, 8>;
  for (var u = 0u; u < 8u; u++) { v[u] = params[WOFF_HH + g * H + min(i0 + u, H - 1u)]; }
  return array<vec4<f32>, 2>(vec4<f32>(v[0], v[1], v[2], v[3]), vec4<f32>(v[4], v[5], v[6], v[7]));
}
