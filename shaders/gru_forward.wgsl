// gru_forward.wgsl — one time step k of the GRU (PyTorch nn.GRU, gate order r | z | n):
//   r = σ(gi_r + W_hr h + b_hr), z = σ(gi_z + W_hz h + b_hz), n = tanh(gi_n + r ⊙ (W_hn h + b_hn)),
//   h' = n + z ⊙ (h − n)   (PyTorch's evaluation order of (1 − z) ⊙ n + z ⊙ h)
// keeping r, z, n and ghn = W_hn h + b_hn for the backward pass. (gru_step_uw.wgsl computes the same, bit for bit,
// faster on llvmpipe when H is a multiple of 4; this one serves every other H.)
//
// overrides: H, WOFF_HH / BOFF_HH (offsets of gru.weight_hh_l0 [3H,H] and gru.bias_hh_l0 [3H]), WG
// bindings (group 0):
//   0 params  read        packed parameters
//   1 gi      read        [T*B, 3H] input projections (input_proj.wgsl), row k*B+b
//   2 h       read_write  [(T+1)*B, H] hidden states h_0..h_T, row k*B+b (reads h_k, writes h_{k+1})
//   3 gates   read_write  [T*B, 4H] per row: r | z | n | ghn
//   4 step    uniform     (dynamic offset) k, B
// one invocation per tile of 8 batch rows × 4 hidden units × 3 gates: 20 loads feed 96 multiply-adds. On llvmpipe
// every storage-buffer (and workgroup-memory) load is a per-lane scalar load, far dearer than arithmetic, so the
// tile is as large as registers allow; no workgroup memory, no barriers.

override H: u32 = 8u;
override WOFF_HH: u32 = 0u;
override BOFF_HH: u32 = 0u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> gi: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;
@group(0) @binding(3) var<storage, read_write> gates: array<f32>;
@group(0) @binding(4) var<uniform> st: Step;

fn cell(b: u32, j: u32, ghr: f32, ghz: f32, ghn: f32) {
  let G3 = 3u * H;
  let row = st.k * st.B + b;
  let gr = row * G3;
  let c = gru_gates(gi[gr + j], gi[gr + H + j], gi[gr + 2u * H + j], ghr, ghz, ghn);
  let r = c.r;
  let z = c.z;
  let n = c.n;
  let hp = h[row * H + j];
  h[(row + st.B) * H + j] = n + z * (hp - n);
  let o = row * 4u * H;
  gates[o + j] = r;
  gates[o + H + j] = z;
  gates[o + 2u * H + j] = n;
  gates[o + 3u * H + j] = ghn;
}

fn cells(b: u32, j0: u32, ghr: vec4<f32>, ghz: vec4<f32>, ghn: vec4<f32>) {
  if (b >= st.B) { return; }
  for (var u = 0u; u < 4u; u++) {
    if (j0 + u < H) { cell(b, j0 + u, ghr[u], ghz[u], ghn[u]); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = flat_index(wid, nwg, lid);
  let UB = (H + 3u) / 4u;
  let j0 = (gid % UB) * 4u;
  let b0 = (gid / UB) * 8u;
  if (b0 >= st.B) { return; }
  let last = st.B - 1u;
  let base = st.k * st.B;
  let h0 = (base + min(b0 + 0u, last)) * H;
  let h1 = (base + min(b0 + 1u, last)) * H;
  let h2 = (base + min(b0 + 2u, last)) * H;
  let h3 = (base + min(b0 + 3u, last)) * H;
  let h4 = (base + min(b0 + 4u, last)) * H;
  let h5 = (base + min(b0 + 5u, last)) * H;
  let h6 = (base + min(b0 + 6u, last)) * H;
  let h7 = (base + min(b0 + 7u, last)) * H;
  let jr = vec4<u32>(j0, min(j0 + 1u, H - 1u), min(j0 + 2u, H - 1u), min(j0 + 3u, H - 1u)) * H + WOFF_HH;
  let jz = jr + H * H;
  let jn = jz + H * H;
  var r0 = vec4<f32>(0.0);
  var r1 = vec4<f32>(0.0);
  var r2 = vec4<f32>(0.0);
  var r3 = vec4<f32>(0.0);
  var r4 = vec4<f32>(0.0);
  var r5 = vec4<f32>(0.0);
  var r6 = vec4<f32>(0.0);
  var r7 = vec4<f32>(0.0);
  var z0 = vec4<f32>(0.0);
  var z1 = vec4<f32>(0.0);
  var z2 = vec4<f32>(0.0);
  var z3 = vec4<f32>(0.0);
  var z4 = vec4<f32>(0.0);
  var z5 = vec4<f32>(0.0);
  var z6 = vec4<f32>(0.0);
  var z7 = vec4<f32>(0.0);
  var n0 = vec4<f32>(0.0);
  var n1 = vec4<f32>(0.0);
  var n2 = vec4<f32>(0.0);
  var n3 = vec4<f32>(0.0);
  var n4 = vec4<f32>(0.0);
  var n5 = vec4<f32>(0.0);
  var n6 = vec4<f32>(0.0);
  var n7 = vec4<f32>(0.0);
  for (var i = 0u; i < H; i++) {
    let wr = vec4<f32>(params[jr.x + i], params[jr.y + i], params[jr.z + i], params[jr.w + i]);
    let wz = vec4<f32>(params[jz.x + i], params[jz.y + i], params[jz.z + i], params[jz.w + i]);
    let wn = vec4<f32>(params[jn.x + i], params[jn.y + i], params[jn.z + i], params[jn.w + i]);
    let v0 = h[h0 + i];
    r0 += wr * v0; z0 += wz * v0; n0 += wn * v0;
    let v1 = h[h1 + i];
    r1 += wr * v1; z1 += wz * v1; n1 += wn * v1;
    let v2 = h[h2 + i];
    r2 += wr * v2; z2 += wz * v2; n2 += wn * v2;
    let v3 = h[h3 + i];
    r3 += wr * v3; z3 += wz * v3; n3 += wn * v3;
    let v4 = h[h4 + i];
    r4 += wr * v4; z4 += wz * v4; n4 += wn * v4;
    let v5 = h[h5 + i];
    r5 += wr * v5; z5 += wz * v5; n5 += wn * v5;
    let v6 = h[h6 + i];
    r6 += wr * v6; z6 += wz * v6; n6 += wn * v6;
    let v7 = h[h7 + i];
    r7 += wr * v7; z7 += wz * v7; n7 += wn * v7;
  }
  let jj = vec4<u32>(j0, j0 + 1u, j0 + 2u, j0 + 3u);
  let cj = min(jj, vec4<u32>(H - 1u));
  let br = vec4<f32>(params[BOFF_HH + cj.x], params[BOFF_HH + cj.y], params[BOFF_HH + cj.z], params[BOFF_HH + cj.w]);
  let bz = vec4<f32>(params[BOFF_HH + H + cj.x], params[BOFF_HH + H + cj.y], params[BOFF_HH + H + cj.z], params[BOFF_HH + H + cj.w]);
  let bn = vec4<f32>(params[BOFF_HH + 2u * H + cj.x], params[BOFF_HH + 2u * H + cj.y], params[BOFF_HH + 2u * H + cj.z], params[BOFF_HH + 2u * H + cj.w]);
  cells(b0 + 0u, j0, r0 + br, z0 + bz, n0 + bn);
  cells(b0 + 1u, j0, r1 + br, z1 + bz, n1 + bn);
  cells(b0 + 2u, j0, r2 + br, z2 + bz, n2 + bn);
  cells(b0 + 3u, j0, r3 + br, z3 + bz, n3 + bn);
  cells(b0 + 4u, j0, r4 + br, z4 + bz, n4 + bn);
  cells(b0 + 5u, j0, r5 + br, z5 + bz, n5 + bn);
  cells(b0 + 6u, j0, r6 + br, z6 + bz, n6 + bn);
  cells(b0 + 7u, j0, r7 + br, z7 + bz, n7 + bn);
}
