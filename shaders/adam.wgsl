// adam.wgsl — one step of torch.optim.Adam (1.13, single-tensor path, no weight decay, no amsgrad) on the clipped
// gradient g = coef · grad:
//   m = β1 m + (1 − β1) g;  v = β2 v + (1 − β2) g²;  p = p − step_size · m / (sqrt(v) / sqrt(bc2) + eps)
// with step_size = lr / (1 − β1^s) and bc2 = 1 − β2^s computed in float64 on the host and passed as float32.
// overrides: N (number of parameters), WG
// bindings (group 0):
//   0 params  read_write  [N]
//   1 grad    read        [N] raw gradient
//   2 m       read_write  [N] first moment
//   3 v       read_write  [N] second moment
//   4 norm    read        [2]: total norm, coef (grad_clip.wgsl)
//   5 opt     uniform     Opt

override N: u32 = 416u;

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
  let g = grad[p] * norm[1];
  let mm = m[p] * opt.beta1 + opt.one_minus_beta1 * g;
  let vv = v[p] * opt.beta2 + opt.one_minus_beta2 * g * g;
  m[p] = mm;
  v[p] = vv;
  let denom = sqrt(vv) / opt.bc2_sqrt + opt.eps;
  params[p] = params[p] + (-opt.step_size) * mm / denom;
}
