// batchnorm_forward.wgsl — BatchNorm2d and ReLU fused: y = max(0, γ·(x − mean)·invstd + β) (RELU = 1; RELU = 0
// leaves the BatchNorm output, for tests). Training (EVAL = 0) takes the batch statistics of batchnorm_stats.wgsl;
// eval (EVAL = 1) the running statistics: mean = running_mean, invstd = 1/sqrt(running_var + eps).
// Thread mapping: one invocation per element of x (1-D or 2-D grid).
// overrides: batchnorm_shape.wgsl, RELU, EVAL; bindings (group 0):
//   0 params   read        packed parameters (γ, β)
//   1 x        read        [B, C, H, W]
//   2 stats    read        batch statistics at SOFF (unused when EVAL = 1)
//   3 running  read        packed BatchNorm buffers (unused when EVAL = 0)
//   4 y        read_write  [B, Y_CT, H, W], channels Y_CO .. Y_CO+C−1 written
//   5 dims     uniform     Dims (B)
override RELU: u32 = 1u;
override EVAL: u32 = 0u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> running: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> dims: Dims;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= dims.B * C * HW) { return; }
  let b = i / (C * HW);
  let c = (i / HW) % C;
  let p = i % HW;
  var mean: f32;
  var invstd: f32;
  if (EVAL == 1u) {
    mean = running[ROFF + c];
    invstd = 1.0 / sqrt(running[ROFF + C + c] + BN_EPS);
  } else {
    mean = stats[SOFF + 2u * c];
    invstd = stats[SOFF + 2u * c + 1u];
  }
  var v = (x[i] - mean) * invstd * params[POFF + c] + params[POFF + C + c];
  if (RELU == 1u) { v = max(v, 0.0); }
  y[nchw(b, c, p, Y_CT, Y_CO, HW)] = v;
}
