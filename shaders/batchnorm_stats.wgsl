// batchnorm_stats.wgsl — training-mode batch statistics of one BatchNorm2d and the running statistics' update as
// PyTorch's:
//   running_mean ← (1 − 0.1)·running_mean + 0.1·mean,  running_var ← (1 − 0.1)·running_var + 0.1·var·n/(n − 1)
// with n = B·HW (the unbiased variance; n > 1 is checked on the host). Two phases (PHASE, one pipeline each), so
// that a large channel (B·128·128 values) spreads over many workgroups:
//   0  per chunk of CHUNK values of a channel (grid C × chunks): its count, mean and Σ (x − mean)², two passes over
//      the chunk with workgroup reductions (no cancellation of E[x²] − E[x]²) → part[3·(c·chunks + k)]
//   1  per channel (one invocation each): the chunks merged in order with Chan et al.'s pairwise update
//      (δ = mean_b − mean_a; mean += δ·n_b/n; M2 += M2_b + δ²·n_a·n_b/n) → stats and running statistics
// WG must be a power of two.
// overrides: batchnorm_shape.wgsl, PHASE, CHUNK, UPDATE (1 = update the running statistics); bindings (group 0):
//   0 x        read        [B, C, H, W] the convolution's output
//   1 stats    read_write  (mean, invstd) per channel at SOFF
//   2 running  read_write  packed BatchNorm buffers
//   3 part     read_write  [C, chunks, 3] chunk statistics
//   4 dims     uniform     Dims (B)
override PHASE: u32 = 0u;
override CHUNK: u32 = 4096u;
override UPDATE: u32 = 1u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
@group(0) @binding(2) var<storage, read_write> running: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;
@group(0) @binding(4) var<uniform> dims: Dims;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n = dims.B * HW;
  let chunks = (n + CHUNK - 1u) / CHUNK;
  if (PHASE == 0u) {
    let c = wid.x;
    let k = wid.y;
    let i0 = k * CHUNK;
    let i1 = min(n, i0 + CHUNK);
    var s = 0.0;
    for (var i = i0 + lid; i < i1; i += WG) { s += x[nchw(i / HW, c, i % HW, C, 0u, HW)]; }
    let mean = workgroup_sum(s, lid, 0u) / f32(i1 - i0);
    var q = 0.0;
    for (var i = i0 + lid; i < i1; i += WG) {
      let d = x[nchw(i / HW, c, i % HW, C, 0u, HW)] - mean;
      q += d * d;
    }
    let m2 = workgroup_sum(q, lid, 1u);
    if (lid == 0u) {
      let at = 3u * (c * chunks + k);
      part[at] = f32(i1 - i0);
      part[at + 1u] = mean;
      part[at + 2u] = m2;
    }
    return;
  }
  let c = wid.x * WG + lid;
  if (c >= C) { return; }
  var cnt = part[3u * c * chunks];
  var mean = part[3u * c * chunks + 1u];
  var m2 = part[3u * c * chunks + 2u];
  for (var k = 1u; k < chunks; k++) {
    let at = 3u * (c * chunks + k);
    let nb = part[at];
    let delta = part[at + 1u] - mean;
    let total = cnt + nb;
    mean += delta * nb / total;
    m2 += part[at + 2u] + delta * delta * cnt * nb / total;
    cnt = total;
  }
  let variance = m2 / f32(n);
  stats[SOFF + 2u * c] = mean;
  stats[SOFF + 2u * c + 1u] = 1.0 / sqrt(variance + BN_EPS);
  if (UPDATE == 1u) {
    running[ROFF + c] = (1.0 - BN_MOMENTUM) * running[ROFF + c] + BN_MOMENTUM * mean;
    running[ROFF + C + c] = (1.0 - BN_MOMENTUM) * running[ROFF + C + c] + BN_MOMENTUM * (m2 / f32(n - 1u));
  }
}
