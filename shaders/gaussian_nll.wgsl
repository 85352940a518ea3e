// gaussian_nll.wgsl — per-step Gaussian negative log-likelihood with a mask, and its gradient w.r.t. μ and logvar:
//   nll = ½(log 2π + logvar + (x − μ)² e^(−logvar)),  dL/dμ = (μ − x) e^(−logvar),  dL/dlogvar = ½(1 − (x − μ)² e^(−logvar))
// masked (missing) steps give 0 for all three. Training alignment: row k*B+b holds the prediction from h_k, scored
// against x[b, k, 0]. The terms are summed on the host (float64, fixed order).
// overrides: F, WG
// bindings (group 0):
//   0 dec   read        [(T+1)*B, 2] (μ, logvar) per row
//   1 x     read        [B, T, F] batch-major, NaN replaced by 0
//   2 mask  read        [T*B] 1 = valid, 0 = missing
//   3 nll   read_write  [T*B]
//   4 dout  read_write  [T*B, 2] (dL/dμ, dL/dlogvar)
//   5 step  uniform     (dynamic offset) B, T

override F: u32 = 1u;

@group(0) @binding(0) var<storage, read> dec: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> nll: array<f32>;
@group(0) @binding(4) var<storage, read_write> dout: array<f32>;
@group(0) @binding(5) var<uniform> st: Step;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = flat_index(wid, nwg, lid);
  if (row >= st.T * st.B) { return; }
  let k = row / st.B;
  let b = row % st.B;
  if (mask[row] == 0.0) {
    nll[row] = 0.0;
    dout[row * 2u] = 0.0;
    dout[row * 2u + 1u] = 0.0;
    return;
  }
  let mu = dec[row * 2u];
  let lv = dec[row * 2u + 1u];
  let d = x[(b * st.T + k) * F] - mu;
  let e = exp(-lv);
  let q = d * d * e;
  nll[row] = 0.5 * (LOG_2PI + lv + q);
  dout[row * 2u] = -d * e;
  dout[row * 2u + 1u] = 0.5 * (1.0 - q);
}
