// wgrad_reduce.wgsl — the second pass of a split weight gradient (conv2d_weight_grad.wgsl,
// conv_transpose_weight_grad.wgsl): adds the SPLITS partial products [SPLITS, M, N] in split order and writes the
// packed gradient. One invocation per gradient entry.
//   LAYOUT 0 (convolution): M = COUT rows, N = NW weight columns + HAS_BIAS; entry (m, n < NW) → grad[WOFF + m·NW + n],
//            (m, NW) → grad[BOFF + m]
//   LAYOUT 1 (transposed convolution, weight [CIN, COUT, 2, 2]): M = CIN + 1 rows (the last one holds the sums of
//            dout, an input of 1), N = NW = COUT·4; entry (m < CIN, n) → grad[WOFF + m·N + n]; bias o → grad[BOFF + o]
//            = Σ_{a, c} of row CIN, columns 4o .. 4o+3
// overrides: LAYOUT, M, N, NW, HAS_BIAS, WOFF, BOFF, WG; bindings (group 0):
//   0 part  read        [splits, M, N]
//   1 grad  read_write  packed gradient
//   2 dims  uniform     Dims (p0 = the number of splits)
override LAYOUT: u32 = 0u;
override M: u32 = 4u;
override N: u32 = 36u;
override NW: u32 = 36u;
override HAS_BIAS: u32 = 0u;
override WOFF: u32 = 0u;
override BOFF: u32 = 0u;

@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> grad: array<f32>;
@group(0) @binding(2) var<uniform> dims: Dims;

fn split_sum(j: u32) -> f32 {
  var s = 0.0;
  for (var z = 0u; z < dims.p0; z++) { s += part[z * M * N + j]; }
  return s;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let j = flat_index(wid, nwg, lid);
  if (LAYOUT == 0u) {
    if (j >= M * N) { return; }
    let m = j / N;
    let n = j % N;
    let at = select(BOFF + m, WOFF + m * NW + n, n < NW);
    grad[at] = split_sum(j);
  } else {
    let cin = M - 1u;
    if (j < cin * N) {
      grad[WOFF + j] = split_sum(j);
    } else if (j < cin * N + N / 4u) {
      let o = j - cin * N;
      var s = 0.0;
      for (var q = 0u; q < 4u; q++) { s += split_sum(cin * N + 4u * o + q); }
      grad[BOFF + o] = s;
    }
  }
}
