// back_w_uniform.wgsl — loader of decoder_backward.wgsl: the weights read from a 64 KiB UNIFORM window of whole
// weight columns (on llvmpipe a uniform load is several times cheaper than a storage load). The engine copies
// columns i0 .. i0+ni−1 of W (all OUT rows) into a window laid out [OUT, UI] (UI = ni of a full window, a multiple of
// 8 unless it is all IN columns) and dispatches once per window.
// overrides: UI (window width)
// bindings (group 0):
//   0 dout    read        [rows, OUT] as vec4
//   1 act     read        [rows, IN] (for the ReLU mask; unused when MASK = 0)
//   2 din     read_write  [rows, IN]
//   3 w       uniform     (dynamic offset) W[:, i0 .. i0+ni−1] as [OUT, UI]
//   4 win     uniform     (dynamic offset) i0, ni
//   5 step    uniform     (dynamic offset) rows row0 .. row0+nrows-1
struct Win { i0: u32, ni: u32, p0: u32, p1: u32 }

override UI: u32 = 8u;
const KSTEP: u32 = 4u;

@group(0) @binding(0) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> act: array<f32>;
@group(0) @binding(2) var<storage, read_write> din: array<f32>;
@group(0) @binding(3) var<uniform> w: array<vec4<f32>, 4096>;
@group(0) @binding(4) var<uniform> win: Win;
@group(0) @binding(5) var<uniform> st: Step;

fn in_first() -> u32 { return win.i0; }
fn in_count() -> u32 { return win.ni; }
fn load_dout(row: u32, c: u32) -> vec4<f32> { return dout[(row * OUT + c) / 4u]; }

fn load_w(o: u32, l0: u32) -> array<vec4<f32>, 2> {
  let wr = o * (UI / 4u);
  let qa = l0 / 4u;
  return array<vec4<f32>, 2>(w[wr + qa], w[wr + min(qa + 1u, (win.ni + 3u) / 4u - 1u)]);
}
