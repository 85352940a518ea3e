// grad_clip.wgsl — global gradient L2 norm, part 2, and the clipping coefficient of
// torch.nn.utils.clip_grad_norm_ (1.13): total = sqrt(Σ partial), coef = min(1, max_norm / (total + 1e-6)); coef = 1
// when clipping is off. adam.wgsl multiplies every gradient entry by coef (torch always multiplies).
// overrides: PARTS (number of partial sums), WG
// bindings (group 0):
//   0 partial  read        [PARTS]
//   1 norm     read_write  [2]: total norm, coef
//   2 opt      uniform     Opt (max_norm, use_clip)

override PARTS: u32 = 1u;

@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> norm: array<f32>;
@group(0) @binding(2) var<uniform> opt: Opt;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x != 0u || id.y != 0u) { return; }  // one invocation does the whole (short) sum, in a fixed order
  var s = 0.0;
  for (var c = 0u; c < PARTS; c++) { s += partial[c]; }
  let total = sqrt(s);
  var coef = 1.0;
  if (opt.use_clip == 1u) { coef = min(opt.max_norm / (total + 1e-6), 1.0); }
  norm[0] = total;
  norm[1] = coef;
}
