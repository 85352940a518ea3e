// adam.wgsl — one step of torch.optim.Adam (1.13, single-tensor path, no amsgrad) for both models, on
//   g = coef · grad + weight_decay · θ
// coef: the forecaster's global-norm clipping coefficient (grad_clip.wgsl; torch always multiplies), 1 for the U-Net;
// weight_decay: the U-Net's L2 added to the gradient as Adam(weight_decay=wd) (not AdamW's decoupled decay), 0 for
// the forecaster. The CPU engines run the same formula (assembly/forecaster adam). Then
//   m = β1 m + (1 − β1) g;  v = β2 v + (1 − β2) g²;  θ = θ − step_size · m / (sqrt(v) / bc2_sqrt + eps)
// with step_size = lr / (1 − β1^t) and bc2_sqrt = sqrt(1 − β2^t) computed in float64 on the host (PyTorch computes
// them as Python floats) and passed as float32. One invocation per parameter (1-D or 2-D grid).
// overrides: N (number of parameters), WG
// bindings (group 0):
//   0 params  read_write  [N]
//   1 grad    read        [N] raw gradient (no clipping, no weight decay)
//   2 m       read_write  [N] first moment
//   3 v       read_write  [N] second moment
//   4 norm    read        [2]: total norm, coef (grad_clip.wgsl; host/gpu/ops/adam.ts writes [0, 1] without it)
//   5 opt     uniform     Opt (host/gpu/ops/adam.ts adamUniform)

override N: u32 = 1u;

@group(0) @binding(0) var<storage, read_write> params: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> norm: array<f32>;
@group(0) @binding(5) var<uniform> opt: Opt;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let p = flat_index(wid, nwg, lid);
  if (p >= N) { return; }
  let theta = params[p];
  let g = grad[p] * norm[1] + opt.weight_decay * theta;
  let mm = opt.beta1 * m[p] + opt.one_minus_beta1 * g;
  let vv = opt.beta2 * v[p] + opt.one_minus_beta2 * g * g;
  m[p] = mm;
  v[p] = vv;
  params[p] = theta - opt.step_size * mm / (sqrt(vv) / opt.bc2_sqrt + opt.eps);
}
