// batchnorm_backward_data.wgsl — second pass of the training-mode BatchNorm2d backward (ReLU backward fused):
//   dx = γ·invstd/n · (n·g − dβ − x̂·dγ),  g = dy · [y > 0],  n = B·HW
// (PyTorch's batch_norm_backward: the batch statistics depend on x). Thread mapping: one invocation per element.
// overrides: batchnorm_shape.wgsl; bindings (group 0):
//   0 params  read        packed parameters (γ)
//   1 dy      read        [B, Y_CT, H, W] gradient of the ReLU output (channels Y_CO ..)
//   2 y       read        [B, Y_CT, H, W] ReLU output
//   3 x       read        [B, C, H, W] BatchNorm input
//   4 stats   read        batch statistics at SOFF
//   5 grad    read        packed gradient (dγ, dβ of batchnorm_backward_reduce.wgsl)
//   6 dx      read_write  [B, C, H, W]
//   7 dims    uniform     Dims (B)
@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
@group(0) @binding(5) var<storage, read> grad: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<uniform> dims: Dims;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  let n = dims.B * HW;
  if (i >= n * C) { return; }
  let b = i / (C * HW);
  let c = (i / HW) % C;
  let p = i % HW;
  let mean = stats[SOFF + 2u * c];
  let invstd = stats[SOFF + 2u * c + 1u];
  let at = nchw(b, c, p, Y_CT, Y_CO, HW);
  let g = select(0.0, dy[at], y[at] > 0.0);
  let xhat = (x[i] - mean) * invstd;
  let fn_ = f32(n);
  dx[i] = params[POFF + c] * invstd / fn_ * (fn_ * g - grad[POFF + C + c] - xhat * grad[POFF + c]);
}
