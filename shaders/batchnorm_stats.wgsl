// batchnorm_stats.wgsl — training-mode batch statistics of one BatchNorm2d, two passes over the channel (mean, then
// the mean squared deviation: no cancellation of E[x²] − E[x]²), and the running statistics' update as PyTorch's:
//   running_mean ← (1 − 0.1)·running_mean + 0.1·mean,  running_var ← (1 − 0.1)·running_var + 0.1·var·n/(n − 1)
// with n = B·HW (the unbiased variance; n > 1 is checked on the host).
// Thread mapping: one workgroup per channel (grid C); invocations stride over the n values, then workgroup_sum.
// WG must be a power of two.
// overrides: batchnorm_shape.wgsl, UPDATE (1 = update the running statistics); bindings (group 0):
//   0 x        read        [B, C, H, W] the convolution's output
//   1 stats    read_write  (mean, invstd) per channel at SOFF
//   2 running  read_write  packed BatchNorm buffers
//   3 dims     uniform     Dims (B)
override UPDATE: u32 = 1u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
@group(0) @binding(2) var<storage, read_write> running: array<f32>;
@group(0) @binding(3) var<uniform> dims: Dims;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  let n = dims.B * HW;
  var s = 0.0;
  for (var i = lid; i < n; i += WG) { s += x[nchw(i / HW, c, i % HW, C, 0u, HW)]; }
  let mean = workgroup_sum(s, lid, 0u) / f32(n);
  var q = 0.0;
  for (var i = lid; i < n; i += WG) {
    let d = x[nchw(i / HW, c, i % HW, C, 0u, HW)] - mean;
    q += d * d;
  }
  let ss = workgroup_sum(q, lid, 1u);
  if (lid == 0u) {
    let variance = ss / f32(n);
    stats[SOFF + 2u * c] = mean;
    stats[SOFF + 2u * c + 1u] = 1.0 / sqrt(variance + BN_EPS);
    if (UPDATE == 1u) {
      running[ROFF + c] = (1.0 - BN_MOMENTUM) * running[ROFF + c] + BN_MOMENTUM * mean;
      let unbiased = ss / f32(n - 1u);
      running[ROFF + C + c] = (1.0 - BN_MOMENTUM) * running[ROFF + C + c] + BN_MOMENTUM * unbiased;
    }
  }
}
