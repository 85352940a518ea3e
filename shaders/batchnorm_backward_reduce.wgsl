// batchnorm_backward_reduce.wgsl — the first pass of the training-mode BatchNorm2d backward with the ReLU's backward
// fused in: g = dy · [y > 0] (y = ReLU output, dy its gradient), then per channel
//   dβ = Σ g,  dγ = Σ g·x̂  with x̂ = (x − mean)·invstd
// written to the gradient at POFF + C + c and POFF + c (batchnorm_backward_data.wgsl reads them back). Two phases
// (PHASE, one pipeline each) as batchnorm_stats.wgsl:
//   0  per chunk of CHUNK values of a channel (grid C × chunks): its two sums, workgroup reductions
//      → part[2·(c·chunks + k)]
//   1  per channel (one invocation each): the chunks' sums added in order → the gradient
// WG a power of two. overrides: batchnorm_shape.wgsl, PHASE, CHUNK; bindings (group 0):
//   0 dy     read        [B, Y_CT, H, W] gradient of the ReLU output (channels Y_CO ..)
//   1 y      read        [B, Y_CT, H, W] ReLU output (channels Y_CO ..)
//   2 x      read        [B, C, H, W] BatchNorm input
//   3 stats  read        batch statistics at SOFF
//   4 grad   read_write  packed gradient
//   5 part   read_write  [C, chunks, 2] chunk sums
//   6 dims   uniform     Dims (B)
override PHASE: u32 = 0u;
override CHUNK: u32 = 4096u;

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>;
@group(0) @binding(6) var<uniform> dims: Dims;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n = dims.B * HW;
  let chunks = (n + CHUNK - 1u) / CHUNK;
  if (PHASE == 0u) {
    let c = wid.x;
    let k = wid.y;
    let mean = stats[SOFF + 2u * c];
    let invstd = stats[SOFF + 2u * c + 1u];
    var sg = 0.0;
    var sgx = 0.0;
    for (var i = k * CHUNK + lid; i < min(n, (k + 1u) * CHUNK); i += WG) {
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
      part[2u * (c * chunks + k)] = total_g;
      part[2u * (c * chunks + k) + 1u] = total_gx;
    }
    return;
  }
  let c = wid.x * WG + lid;
  if (c >= C) { return; }
  var sg = 0.0;
  var sgx = 0.0;
  for (var k = 0u; k < chunks; k++) {
    sg += part[2u * (c * chunks + k)];
    sgx += part[2u * (c * chunks + k) + 1u];
  }
  grad[POFF + c] = sgx;
  grad[POFF + C + c] = sg;
}
