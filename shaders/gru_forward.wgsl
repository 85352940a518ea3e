// gru_forward.wgsl — one time step k of the GRU (PyTorch nn.GRU, gate order r | z | n):
//   r = σ(gi_r + W_hr h + b_hr), z = σ(gi_z + W_hz h + b_hz), n = tanh(gi_n + r ⊙ (W_hn h + b_hn)),
//   h' = n + z ⊙ (h − n)   (PyTorch's evaluation order of (1 − z) ⊙ n + z ⊙ h)
// keeping r, z, n and ghn = W_hn h + b_hn for the backward pass.
//
// overrides: H, WOFF_HH / BOFF_HH (offsets of gru.weight_hh_l0 [3H,H] and gru.bias_hh_l0 [3H]), WG
// bindings (group 0):
//   0 params  read        packed parameters
//   1 gi      read        [T*B, 3H] input projections (input_proj.wgsl), row k*B+b
//   2 h       read_write  [(T+1)*B, H] hidden states h_0..h_T, row k*B+b (reads h_k, writes h_{k+1})
//   3 gates   read_write  [T*B, 4H] per row: r | z | n | ghn
//   4 step    uniform     (dynamic offset) k, B
// one invocation per (hidden unit j, block of 4 batch rows): the 4 rows share each weight load (vec4 accumulators),
// no workgroup memory and no barriers (cheap on llvmpipe).
struct Step { k: u32, B: u32, T: u32, row0: u32, nrows: u32, k0: u32, nk: u32, flag: u32 }

override H: u32 = 8u;
override WOFF_HH: u32 = 0u;
override BOFF_HH: u32 = 0u;
override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> gi: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;
@group(0) @binding(3) var<storage, read_write> gates: array<f32>;
@group(0) @binding(4) var<uniform> st: Step;

fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }

// tanh with good relative accuracy near 0 (the textbook (e^2v − 1)/(e^2v + 1) cancels there)
fn tanh_acc(v: f32) -> f32 {
  let a = abs(v);
  var t: f32;
  if (a < 0.0625) {
    let s = a * a;
    t = a * (1.0 + s * (-0.33333334 + s * (0.13333334 + s * (-0.053968254))));
  } else {
    let e = exp(-2.0 * a);
    t = (1.0 - e) / (1.0 + e);
  }
  return select(t, -t, v < 0.0);
}

fn cell(b: u32, j: u32, ghr: f32, ghz: f32, ghn: f32) {
  let G3 = 3u * H;
  let row = st.k * st.B + b;
  let gr = row * G3;
  let r = sigmoid(gi[gr + j] + ghr);
  let z = sigmoid(gi[gr + H + j] + ghz);
  let n = tanh_acc(gi[gr + 2u * H + j] + r * ghn);
  let hp = h[row * H + j];
  h[(row + st.B) * H + j] = n + z * (hp - n);
  let o = row * 4u * H;
  gates[o + j] = r;
  gates[o + H + j] = z;
  gates[o + 2u * H + j] = n;
  gates[o + 3u * H + j] = ghn;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = (wid.x + wid.y * nwg.x) * WG + lid;
  let j = gid % H;
  let b0 = (gid / H) * 4u;
  if (b0 >= st.B) { return; }
  let last = st.B - 1u;
  let base = st.k * st.B;
  let h0 = (base + b0) * H;
  let h1 = (base + min(b0 + 1u, last)) * H;
  let h2 = (base + min(b0 + 2u, last)) * H;
  let h3 = (base + min(b0 + 3u, last)) * H;
  let wr = WOFF_HH + j * H;
  let wz = WOFF_HH + (H + j) * H;
  let wn = WOFF_HH + (2u * H + j) * H;
  var ar = vec4<f32>(0.0);
  var az = vec4<f32>(0.0);
  var an = vec4<f32>(0.0);
  for (var i = 0u; i < H; i++) {
    let hv = vec4<f32>(h[h0 + i], h[h1 + i], h[h2 + i], h[h3 + i]);
    ar += params[wr + i] * hv;
    az += params[wz + i] * hv;
    an += params[wn + i] * hv;
  }
  let br = params[BOFF_HH + j];
  let bz = params[BOFF_HH + H + j];
  let bn = params[BOFF_HH + 2u * H + j];
  cell(b0, j, ar.x + br, az.x + bz, an.x + bn);
  if (b0 + 1u < st.B) { cell(b0 + 1u, j, ar.y + br, az.y + bz, an.y + bn); }
  if (b0 + 2u < st.B) { cell(b0 + 2u, j, ar.z + br, az.z + bz, an.z + bn); }
  if (b0 + 3u < st.B) { cell(b0 + 3u, j, ar.w + br, az.w + bz, an.w + bn); }
}
