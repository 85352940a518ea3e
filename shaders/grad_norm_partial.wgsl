// grad_norm_partial.wgsl — global gradient L2 norm, part 1: each invocation sums the squares of CHUNK consecutive
// gradient entries (fixed order, deterministic); grad_clip.wgsl adds the partial sums.
// overrides: N (number of parameters), CHUNK, WG
// bindings (group 0):
//   0 grad     read        [N] packed raw gradient
//   1 partial  read_write  [ceil(N / CHUNK)]
override N: u32 = 416u;
override CHUNK: u32 = 1024u;

@group(0) @binding(0) var<storage, read> grad: array<f32>;
@group(0) @binding(1) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let c = flat_index(wid, nwg, lid);
  let parts = (N + CHUNK - 1u) / CHUNK;
  if (c >= parts) { return; }
  let end = min((c + 1u) * CHUNK, N);
  var s = 0.0;
  for (var p = c * CHUNK; p < end; p++) {
    let g = grad[p];
    s += g * g;
  }
  partial[c] = s;
}
