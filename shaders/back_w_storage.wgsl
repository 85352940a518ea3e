// back_w_storage.wgsl — loader of decoder_backward.wgsl: the weights read from the parameters as vec4 (IN, WOFF and
// WSTRIDE multiples of 4: W[o, i] at WOFF + o*WSTRIDE + i), all IN inputs in one dispatch.
// overrides: WOFF, WSTRIDE (multiples of 4) (layer_shape.wgsl)
// bindings (group 0):
//   0 params  read        packed parameters as vec4
//   1 dout    read        [rows, OUT] as vec4
//   2 act     read        [rows, IN] (for the ReLU mask; unused when MASK = 0)
//   3 din     read_write  [rows, IN]
//   4 step    uniform     (dynamic offset) rows row0 .. row0+nrows-1
const KSTEP: u32 = 4u;

@group(0) @binding(0) var<storage, read> params: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> act: array<f32>;
@group(0) @binding(3) var<storage, read_write> din: array<f32>;
@group(0) @binding(4) var<uniform> st: Step;

fn in_first() -> u32 { return 0u; }
fn in_count() -> u32 { return IN; }
fn load_dout(row: u32, c: u32) -> vec4<f32> { return dout[(row * OUT + c) / 4u]; }

fn load_w(o: u32, l0: u32) -> array<vec4<f32>, 2> {
  let wr = (WOFF + o * WSTRIDE) / 4u;
  let qa = l0 / 4u;
  return array<vec4<f32>, 2>(params[wr + qa], params[wr + min(qa + 1u, (IN + 3u) / 4u - 1u)]);
}
