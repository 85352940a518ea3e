// adam_wd.wgsl — one step of torch.optim.Adam(weight_decay=wd) (L2 added to the gradient, not AdamW's decoupled
// decay; no amsgrad, no clipping), docs/unet.md:
//   g = grad + wd·θ;  m = β1 m + (1 − β1) g;  v = β2 v + (1 − β2) g²;  θ = θ − step_size · m / (sqrt(v) / bc2_sqrt + eps)
// with step_size = lr / (1 − β1^t) and bc2_sqrt = sqrt(1 − β2^t) computed in float64 on the host (PyTorch computes
// them as Python floats). Thread mapping: one invocation per parameter (1-D or 2-D grid).
// overrides: N (parameters), WG; bindings (group 0):
//   0 params  read_write  [N]
//   1 grad    read        [N] gradient of the loss (no weight decay)
//   2 m       read_write  [N] first moment
//   3 v       read_write  [N] second moment
//   4 opt     uniform     AdamWd
struct AdamWd { step_size: f32, bc2_sqrt: f32, beta1: f32, beta2: f32, one_minus_beta1: f32, one_minus_beta2: f32,
                eps: f32, weight_decay: f32 }

override N: u32 = 1u;

@group(0) @binding(0) var<storage, read_write> params: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<uniform> opt: AdamWd;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let p = flat_index(wid, nwg, lid);
  if (p >= N) { return; }
  let theta = params[p];
  let g = grad[p] + opt.weight_decay * theta;
  let mm = opt.beta1 * m[p] + opt.one_minus_beta1 * g;
  let vv = opt.beta2 * v[p] + opt.one_minus_beta2 * g * g;
  m[p] = mm;
  v[p] = vv;
  params[p] = theta - opt.step_size * mm / (sqrt(vv) / opt.bc2_sqrt + opt.eps);
}
