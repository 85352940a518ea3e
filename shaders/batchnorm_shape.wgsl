// batchnorm_shape.wgsl — one BatchNorm2d over C channels of HW pixels (docs/unet.md: eps 1e-5, momentum 0.1), for
// batchnorm_stats.wgsl, batchnorm_forward.wgsl, batchnorm_backward_reduce.wgsl, batchnorm_backward_data.wgsl.
// Packed offsets: gamma (bn.weight) at POFF and beta (bn.bias) at POFF + C of the parameters (their gradients at
// the same offsets of the gradient); running_mean at ROFF and running_var at ROFF + C of the packed buffers; the
// batch statistics (mean, 1/sqrt(var + eps)) of channel c at SOFF + 2c of the stats buffer.
// The BatchNorm's input x is the convolution's own buffer [B, C, H, W]; its ReLU output y (and y's gradient) may be a
// channel slice (Y_CT, Y_CO) of a concatenation.
override C: u32 = 4u;
override HW: u32 = 256u;
override POFF: u32 = 0u;
override ROFF: u32 = 0u;
override SOFF: u32 = 0u;
override Y_CT: u32 = C;
override Y_CO: u32 = 0u;

const BN_EPS: f32 = 1e-5;
const BN_MOMENTUM: f32 = 0.1;

// a per-channel sum over the workgroup: every invocation brings its partial sum, all get the total (tree order,
// fixed: deterministic). Each of a kernel's sums uses its own half of `red` (slot 0 or 1): reusing one array for
// the second sum gave wrong totals on Dawn's OpenGL ES backend (llvmpipe), right ones on Vulkan.
override RED_LEN: u32 = 2u * WG;
var<workgroup> red: array<f32, RED_LEN>;
fn workgroup_sum(v: f32, lid: u32, slot: u32) -> f32 {
  let base = slot * WG;
  red[base + lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[base + lid] += red[base + lid + s]; }
    workgroupBarrier();
  }
  return red[base];
}
