// maxpool_forward.wgsl — 2 × 2 max-pool, stride 2 (F.max_pool2d(x, 2)), keeping the argmax for the backward pass:
// the window's position q = 2·a + c of the first maximum in row-major order (a later value wins only when
// strictly greater, or when it is NaN: PyTorch's CPU rule).
// Thread mapping: one invocation per output element (1-D or 2-D grid).
// overrides: C, H, W (the input's: even), IN_CT, IN_CO, WG; bindings (group 0):
//   0 inp   read        [B, IN_CT, H, W], channels IN_CO .. IN_CO+C−1 (the encoder's skip half of a concatenation)
//   1 outp  read_write  [B, C, H/2, W/2]
//   2 arg   read_write  [B, C, H/2, W/2] u32: q of the maximum
//   3 dims  uniform     Dims (B)
override C: u32 = 4u;
override H: u32 = 16u;
override W: u32 = 16u;
override IN_CT: u32 = C;
override IN_CO: u32 = 0u;

@group(0) @binding(0) var<storage, read> inp: array<f32>;
@group(0) @binding(1) var<storage, read_write> outp: array<f32>;
@group(0) @binding(2) var<storage, read_write> arg: array<u32>;
@group(0) @binding(3) var<uniform> dims: Dims;

// NaN by its bits: WGSL lets compilers assume no NaN, so `v != v` may be folded away (it was, on lavapipe)
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  let HO = H / 2u;
  let WO = W / 2u;
  if (i >= dims.B * C * HO * WO) { return; }
  let b = i / (C * HO * WO);
  let c = (i / (HO * WO)) % C;
  let yo = (i / WO) % HO;
  let xo = i % WO;
  // the first value, then PyTorch's rule (its start at −∞ gives the same result)
  var best = inp[nchw(b, c, (2u * yo) * W + 2u * xo, IN_CT, IN_CO, H * W)];
  var at = 0u;
  for (var q = 1u; q < 4u; q++) {
    let v = inp[nchw(b, c, (2u * yo + q / 2u) * W + 2u * xo + q % 2u, IN_CT, IN_CO, H * W)];
    if (v > best || is_nan(v)) {
      best = v;
      at = q;
    }
  }
  outp[i] = best;
  arg[i] = at;
}
