// batchnorm_backward_reduce.wgsl — first pass of the training-mode BatchNorm2d backward with the ReLU's backward
// fused in: g = dy · [y > 0] (y = ReLU output, dy its gradient), then per channel
//   dβ = Σ g,  dγ = Σ g·x̂  with x̂ = (x − mean)·invstd
// written to the gradient at POFF + C + c and POFF + c (batchnorm_backward_data.wgsl reads them back).
// Thread mapping: one workgroup per channel (grid C), invocations stride over B·HW; WG a power of two.
// overrides: batchnorm_shape.wgsl; bindings (group 0):
//   0 dy     read        [B, Y_CT, H, W] gradient of the ReLU output (channels Y_CO ..)
//   1 y      read        [B, Y_CT, H, W] ReLU output (channels Y_CO ..)
//   2 x      read        [B, C, H, W] BatchNorm input
//   3 stats  read        batch statistics at SOFF
//   4 grad   read_write  packed gradient
//   5 dims   uniform     Dims (B)
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;
@group(0) @binding(5) var<uniform> dims: Dims;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  let n = dims.B * HW;
  let mean = stats[SOFF + 2u * c];
  let invstd = stats[SOFF + 2u * c + 1u];
  var sg = 0.0;
  var sgx = 0.0;
  for (var i = lid; i < n; i += WG) {
    let b = i / HW;
    let p = i % HW;
    let at = nchw(b, c, p, Y_CT, Y_CO, HW);
    let g = select(0.0, dy[at], y[at] > 0.0);
    sg += g;
    sgx += g * (x[nchw(b, c, p, C, 0u, HW)] - mean) * invstd;
  }
  let total_g = workgroup_sum(sg, lid, 0u);
  let total_gx = workgroup_sum(sgx, lid, 1u);
  if (lid == 0u) {
    grad[POFF + c] = total_gx;
    grad[POFF + C + c] = total_g;
  }
}
