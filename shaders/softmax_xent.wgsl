// softmax_xent.wgsl — the weighted softmax cross-entropy of F.cross_entropy(logits, labels, weight=w,
// ignore_index=255), reduced on the GPU, and its gradient; PHASE picks the pass (one pipeline each):
//   0  partial sums: per pixel with label y ≠ 255, nll = logsumexp(z) − z_y; each workgroup writes
//      (Σ w_y·nll, Σ w_y) of its WG pixels to part[2·workgroup]          grid: ceil(B·HW / WG) workgroups
//   1  total: one workgroup adds the partial sums (strided, then a tree: fixed order) → total = (loss, Σ w_y), the
//      loss Σ w_y·nll / Σ w_y, or 0 when every pixel is ignored          grid: 1
//   2  gradient: dlogits[b, k, p] = w_y·(softmax_k − [k = y]) / Σ w_y, 0 on ignored pixels (and when Σ w_y = 0)
//   3  probabilities: out[b, k, p] = softmax_k (prediction)
// Thread mapping: one invocation per pixel (phases 0, 2, 3; 1-D or 2-D grid). WG a power of two.
// overrides: K (classes), HW, WG; bindings (group 0):
//   0 logits   read        [B, K, H, W]
//   1 labels   read        [B, H, W] u32 (0 .. K−1 or 255)
//   2 weights  read        [K] class weights
//   3 part     read_write  [2 · workgroups of phase 0]
//   4 total    read_write  [2]: loss, Σ w_y
//   5 outp     read_write  [B, K, H, W]: dlogits (phase 2) or probabilities (phase 3)
//   6 dims     uniform     Dims (B; p0 = the number of partial sums, for phase 1)
override PHASE: u32 = 0u;
override K: u32 = 2u;
override HW: u32 = 256u;

const IGNORE: u32 = 255u;

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;
@group(0) @binding(4) var<storage, read_write> total: array<f32>;
@group(0) @binding(5) var<storage, read_write> outp: array<f32>;
@group(0) @binding(6) var<uniform> dims: Dims;

var<workgroup> red: array<vec2<f32>, WG>;

fn tree_sum(v: vec2<f32>, lid: u32) -> vec2<f32> {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  return red[0];
}

fn logit(b: u32, k: u32, p: u32) -> f32 { return logits[nchw(b, k, p, K, 0u, HW)]; }

// log Σ_k exp(z_k), shifted by the maximum
fn log_sum_exp(b: u32, p: u32) -> f32 {
  var m = logit(b, 0u, p);
  for (var k = 1u; k < K; k++) { m = max(m, logit(b, k, p)); }
  var s = 0.0;
  for (var k = 0u; k < K; k++) { s += exp(logit(b, k, p) - m); }
  return m + log(s);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let n = dims.B * HW;
  if (PHASE == 1u) {
    var s = vec2<f32>(0.0);
    for (var j = lid; j < dims.p0; j += WG) { s += vec2<f32>(part[2u * j], part[2u * j + 1u]); }
    let t = tree_sum(s, lid);
    if (lid == 0u) {
      total[0] = select(0.0, t.x / t.y, t.y > 0.0);
      total[1] = t.y;
    }
    return;
  }
  let i = flat_index(wid, nwg, lid);
  let b = i / HW;
  let p = i % HW;
  if (PHASE == 0u) {
    var v = vec2<f32>(0.0);
    if (i < n) {
      let y = labels[i];
      if (y != IGNORE) {
        let w = weights[y];
        v = vec2<f32>(w * (log_sum_exp(b, p) - logit(b, y, p)), w);
      }
    }
    let t = tree_sum(v, lid);
    if (lid == 0u) {
      let g = wid.x + wid.y * nwg.x;
      part[2u * g] = t.x;
      part[2u * g + 1u] = t.y;
    }
    return;
  }
  if (i >= n) { return; }
  let lse = log_sum_exp(b, p);
  if (PHASE == 3u) {
    for (var k = 0u; k < K; k++) { outp[nchw(b, k, p, K, 0u, HW)] = exp(logit(b, k, p) - lse); }
    return;
  }
  let y = labels[i];
  let wsum = total[1];
  var scale = 0.0;
  if (y != IGNORE && wsum > 0.0) { scale = weights[y] / wsum; }
  for (var k = 0u; k < K; k++) {
    let onehot = select(0.0, 1.0, k == y);
    outp[nchw(b, k, p, K, 0u, HW)] = scale * (exp(logit(b, k, p) - lse) - onehot);
  }
}
