// wg_storage4.wgsl — loader of weight_grad.wgsl (with wg_direct.wgsl) for IN and OUT multiples of 4: dout and inp
// read from storage as vec4 (fewer loads and less index arithmetic per row). When IN (OUT) is 4 mod 8 the second half
// of the last tile reads the first half again and is not stored.
// bindings (group 0): as wg_storage.wgsl, dout and inp as vec4
@group(0) @binding(0) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> inp: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<uniform> st: Step;

fn out_first() -> u32 { return 0u; }
fn out_count() -> u32 { return OUT; }

fn load_in(r: u32, i0: u32) -> array<vec4<f32>, 2> {
  let s = r * (IN / 4u);
  let ia = i0 / 4u;
  return array<vec4<f32>, 2>(inp[s + ia], inp[s + min(ia + 1u, IN / 4u - 1u)]);
}

fn load_dout(r: u32, ol: u32) -> array<f32, 8> {
  let d = r * (OUT / 4u);
  let qa = ol / 4u;
  let ga = dout[d + qa];
  let gb = dout[d + min(qa + 1u, OUT / 4u - 1u)];
  return array<f32, 8>(ga.x, ga.y, ga.z, ga.w, gb.x, gb.y, gb.z, gb.w);
}
