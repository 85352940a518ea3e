// maxpool_backward.wgsl — the gradient of maxpool_forward.wgsl: each input pixel gets its window's output gradient
// when it was the window's (first) maximum, else 0. With ACCUMULATE = 1 it is added to what the input's gradient
// already holds: the encoder's ReLU output feeds both the pool and the skip, and its gradient is the skip half of the
// concatenation's gradient (written by the decoder's convolution) plus this one, in place, no copy.
// Thread mapping: one invocation per input element (1-D or 2-D grid); windows do not overlap, so no races.
// overrides: C, H, W (the input's), IN_CT, IN_CO, ACCUMULATE, WG; bindings (group 0):
//   0 dout  read        [B, C, H/2, W/2] gradient of the pooled output
//   1 arg   read        [B, C, H/2, W/2] u32 from maxpool_forward.wgsl
//   2 din   read_write  [B, IN_CT, H, W], channels IN_CO .. IN_CO+C−1
//   3 dims  uniform     Dims (B)
override C: u32 = 4u;
override H: u32 = 16u;
override W: u32 = 16u;
override IN_CT: u32 = C;
override IN_CO: u32 = 0u;
override ACCUMULATE: u32 = 1u;

@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read> arg: array<u32>;
@group(0) @binding(2) var<storage, read_write> din: array<f32>;
@group(0) @binding(3) var<uniform> dims: Dims;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= dims.B * C * H * W) { return; }
  let b = i / (C * H * W);
  let c = (i / (H * W)) % C;
  let y = (i / W) % H;
  let x = i % W;
  let o = nchw(b, c, (y / 2u) * (W / 2u) + x / 2u, C, 0u, (H / 2u) * (W / 2u));
  let g = select(0.0, dout[o], arg[o] == (y % 2u) * 2u + x % 2u);
  let at = nchw(b, c, y * W + x, IN_CT, IN_CO, H * W);
  if (ACCUMULATE == 1u) { din[at] = din[at] + g; } else { din[at] = g; }
}
