// input_proj.wgsl — GRU input projection gi = W_ih · xin + b_ih for a range of time steps.
//
// xin is the effective input: feature 0 is x where the step is valid (mask 1) and the model's own forecast mean μ_k
// where it is missing (mask 0; μ_k comes from `dec`, so the decoder must have run on the rows of step k first).
// Other features are copied. xin is kept for the weight gradient of W_ih.
//
// overrides: H (hidden), F (input features), WOFF_IH / BOFF_IH (offsets of gru.weight_ih_l0 [3H,F] and
//            gru.bias_ih_l0 [3H] in the packed parameter vector), WG (workgroup size)
// bindings (group 0):
//   0 params  read        packed float32 parameter vector
//   1 x       read        [B, T, F] batch-major input, NaN already replaced by 0 on the host
//   2 mask    read        [T*B] time-major, 1 = valid step, 0 = missing feature 0
//   3 dec     read        [(T+1)*B, 2] decoder outputs (μ, logvar), row k*B+b
//   4 xin     read_write  [T*B, F] effective input, row k*B+b
//   5 gi      read_write  [T*B, 3H] input projections, row k*B+b
//   6 step    uniform     (dynamic offset) steps k0 .. k0+nk-1, batch B, length T
// one invocation per (step, batch row, gate unit g in 3H); the one with g == 0 also writes xin.

override H: u32 = 8u;
override F: u32 = 1u;
override WOFF_IH: u32 = 0u;
override BOFF_IH: u32 = 0u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read> dec: array<f32>;
@group(0) @binding(4) var<storage, read_write> xin: array<f32>;
@group(0) @binding(5) var<storage, read_write> gi: array<f32>;
@group(0) @binding(6) var<uniform> st: Step;

fn input_value(k: u32, b: u32, f: u32) -> f32 {
  let row = k * st.B + b;
  if (f == 0u && mask[row] == 0.0) { return dec[row * 2u]; }
  return x[(b * st.T + k) * F + f];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = flat_index(wid, nwg, lid);
  let G3 = 3u * H;
  let total = st.nk * st.B * G3;
  if (gid >= total) { return; }
  let g = gid % G3;
  let rb = gid / G3;             // (k - k0) * B + b
  let b = rb % st.B;
  let k = st.k0 + rb / st.B;
  let row = k * st.B + b;
  var acc = 0.0;
  for (var f = 0u; f < F; f++) {
    let v = input_value(k, b, f);
    acc += params[WOFF_IH + g * F + f] * v;
    if (g == 0u) { xin[row * F + f] = v; }
  }
  gi[row * G3 + g] = acc + params[BOFF_IH + g];
}
