// wg_storage.wgsl — loader of weight_grad.wgsl (with wg_direct.wgsl): dout and inp read from storage, any IN and OUT.
// bindings (group 0):
//   0 dout   read        [rows, OUT]
//   1 inp    read        [rows, IN]
//   2 grad   read_write  packed gradient vector (same layout as the parameters)
//   3 step   uniform     (dynamic offset) rows row0 .. row0+nrows−1; flag = 1: add to grad, 0: overwrite. The engine
//                        sums the large layers one time step (B rows) per dispatch, so the rows stay in cache.
@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<uniform> st: Step;

fn out_first() -> u32 { return 0u; }
fn out_count() -> u32 { return OUT; }

fn load_in(r: u32, i0: u32) -> array<vec4<f32>, 2> {
  let s = r * IN;
  let l = IN - 1u;
  return array<vec4<f32>, 2>(
    vec4<f32>(inp[s + i0], inp[s + min(i0 + 1u, l)], inp[s + min(i0 + 2u, l)], inp[s + min(i0 + 3u, l)]),
    vec4<f32>(inp[s + min(i0 + 4u, l)], inp[s + min(i0 + 5u, l)], inp[s + min(i0 + 6u, l)], inp[s + min(i0 + 7u, l)]));
}

fn load_dout(r: u32, ol: u32) -> array<f32, 8> {
  let d = r * OUT;
  let l = OUT - 1u;
  return array<f32, 8>(dout[d + ol], dout[d + min(ol + 1u, l)], dout[d + min(ol + 2u, l)], dout[d + min(ol + 3u, l)],
                       dout[d + min(ol + 4u, l)], dout[d + min(ol + 5u, l)], dout[d + min(ol + 6u, l)],
                       dout[d + min(ol + 7u, l)]);
}
