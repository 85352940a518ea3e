// gru_step_uw.wgsl — the body of one GRU time step k for H a multiple of 4 with the recurrent weights read from
// UNIFORM buffer windows (the software plan: on llvmpipe a uniform load is several times cheaper than a storage
// load, and the weights are the same for every invocation); same equations, outputs and summation order as
// gru_forward.wgsl, bit for bit:
//   r = σ(gi_r + W_hr h + b_hr), z = σ(gi_z + W_hz h + b_hz), n = tanh(gi_n + r ⊙ (W_hn h + b_hn)), h' = n + z ⊙ (h − n)
// The engine copies W_hh into a uniform-usage buffer as windows of at most 64 KiB (UW units × H per gate, each at a
// 256-byte aligned offset) and dispatches once per window; `win` tells the dispatch which units it covers.
// One invocation per tile of 8 batch rows × 4 units of the window × 3 gates; the loop takes 4 inputs at a time (vec4
// loads of h and of the weights).
//
// The loader piece in front (gru_h_storage.wgsl, gru_h_uniform.wgsl) declares the bindings — params, gi, gates, the
// weight windows wr / wz / wn, win, st — and says where h_k comes from:
//   fn block_first() -> u32, fn block_end() -> u32   the batch rows of this dispatch
//   fn h_row(b) -> u32, fn load_h(i) -> vec4<f32>     h_k of batch row b from vec4 index h_row(b)
//   fn hidden_prev(b, row, j) -> f32, fn put_hidden(b, row, j, v)   h_k[b, j] and storing h_{k+1}[b, j]
// overrides: H (multiple of 4), UW (units per window, UW·H ≤ 16384), BOFF_HH (offset of gru.bias_hh_l0), WG
override H: u32 = 8u;
override UW: u32 = 8u;
override BOFF_HH: u32 = 0u;

struct Win { j0: u32, nunits: u32, p0: u32, p1: u32 }

fn cell(b: u32, j: u32, ghr: f32, ghz: f32, ghn: f32) {
  let G3 = 3u * H;
  let row = st.k * st.B + b;
  let gr = row * G3;
  let c = gru_gates(gi[gr + j], gi[gr + H + j], gi[gr + 2u * H + j], ghr, ghz, ghn);
  let r = c.r;
  let z = c.z;
  let n = c.n;
  put_hidden(b, row, j, n + z * (hidden_prev(b, row, j) - n));
  let o = row * 4u * H;
  gates[o + j] = r;
  gates[o + H + j] = z;
  gates[o + 2u * H + j] = n;
  gates[o + 3u * H + j] = ghn;
}

fn cells(b: u32, j0: u32, ghr: vec4<f32>, ghz: vec4<f32>, ghn: vec4<f32>) {
  if (b >= block_end()) { return; }
  for (var u = 0u; u < 4u; u++) {
    let jl = j0 + u;  // unit within the window
    if (jl < win.nunits) {
      let j = win.j0 + jl;
      cell(b, j, ghr[u] + params[BOFF_HH + j], ghz[u] + params[BOFF_HH + H + j], ghn[u] + params[BOFF_HH + 2u * H + j]);
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = flat_index(wid, nwg, lid);
  let UB = (win.nunits + 3u) / 4u;
  let j0 = (gid % UB) * 4u;
  let b0 = block_first() + (gid / UB) * 8u;
  if (b0 >= block_end()) { return; }
  let last = block_end() - 1u;
  let H4 = H / 4u;
  let h0 = h_row(min(b0 + 0u, last));
  let h1 = h_row(min(b0 + 1u, last));
  let h2 = h_row(min(b0 + 2u, last));
  let h3 = h_row(min(b0 + 3u, last));
  let h4 = h_row(min(b0 + 4u, last));
  let h5 = h_row(min(b0 + 5u, last));
  let h6 = h_row(min(b0 + 6u, last));
  let h7 = h_row(min(b0 + 7u, last));
  let lu = win.nunits - 1u;
  let u0 = j0 * H4;
  let u1 = min(j0 + 1u, lu) * H4;
  let u2 = min(j0 + 2u, lu) * H4;
  let u3 = min(j0 + 3u, lu) * H4;
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
  for (var c = 0u; c < H4; c++) {
    let rw0 = wr[u0 + c]; let rw1 = wr[u1 + c]; let rw2 = wr[u2 + c]; let rw3 = wr[u3 + c];
    let zw0 = wz[u0 + c]; let zw1 = wz[u1 + c]; let zw2 = wz[u2 + c]; let zw3 = wz[u3 + c];
    let nw0 = wn[u0 + c]; let nw1 = wn[u1 + c]; let nw2 = wn[u2 + c]; let nw3 = wn[u3 + c];
    let v0 = load_h(h0 + c);
    let v1 = load_h(h1 + c);
    let v2 = load_h(h2 + c);
    let v3 = load_h(h3 + c);
    let v4 = load_h(h4 + c);
    let v5 = load_h(h5 + c);
    let v6 = load_h(h6 + c);
    let v7 = load_h(h7 + c);
    { let w = vec4<f32>(rw0.x, rw1.x, rw2.x, rw3.x); r0 += w * v0.x; r1 += w * v1.x; r2 += w * v2.x; r3 += w * v3.x; r4 += w * v4.x; r5 += w * v5.x; r6 += w * v6.x; r7 += w * v7.x; }
    { let w = vec4<f32>(zw0.x, zw1.x, zw2.x, zw3.x); z0 += w * v0.x; z1 += w * v1.x; z2 += w * v2.x; z3 += w * v3.x; z4 += w * v4.x; z5 += w * v5.x; z6 += w * v6.x; z7 += w * v7.x; }
    { let w = vec4<f32>(nw0.x, nw1.x, nw2.x, nw3.x); n0 += w * v0.x; n1 += w * v1.x; n2 += w * v2.x; n3 += w * v3.x; n4 += w * v4.x; n5 += w * v5.x; n6 += w * v6.x; n7 += w * v7.x; }
    { let w = vec4<f32>(rw0.y, rw1.y, rw2.y, rw3.y); r0 += w * v0.y; r1 += w * v1.y; r2 += w * v2.y; r3 += w * v3.y; r4 += w * v4.y; r5 += w * v5.y; r6 += w * v6.y; r7 += w * v7.y; }
    { let w = vec4<f32>(zw0.y, zw1.y, zw2.y, zw3.y); z0 += w * v0.y; z1 += w * v1.y; z2 += w * v2.y; z3 += w * v3.y; z4 += w * v4.y; z5 += w * v5.y; z6 += w * v6.y; z7 += w * v7.y; }
    { let w = vec4<f32>(nw0.y, nw1.y, nw2.y, nw3.y); n0 += w * v0.y; n1 += w * v1.y; n2 += w * v2.y; n3 += w * v3.y; n4 += w * v4.y; n5 += w * v5.y; n6 += w * v6.y; n7 += w * v7.y; }
    { let w = vec4<f32>(rw0.z, rw1.z, rw2.z, rw3.z); r0 += w * v0.z; r1 += w * v1.z; r2 += w * v2.z; r3 += w * v3.z; r4 += w * v4.z; r5 += w * v5.z; r6 += w * v6.z; r7 += w * v7.z; }
    { let w = vec4<f32>(zw0.z, zw1.z, zw2.z, zw3.z); z0 += w * v0.z; z1 += w * v1.z; z2 += w * v2.z; z3 += w * v3.z; z4 += w * v4.z; z5 += w * v5.z; z6 += w * v6.z; z7 += w * v7.z; }
    { let w = vec4<f32>(nw0.z, nw1.z, nw2.z, nw3.z); n0 += w * v0.z; n1 += w * v1.z; n2 += w * v2.z; n3 += w * v3.z; n4 += w * v4.z; n5 += w * v5.z; n6 += w * v6.z; n7 += w * v7.z; }
    { let w = vec4<f32>(rw0.w, rw1.w, rw2.w, rw3.w); r0 += w * v0.w; r1 += w * v1.w; r2 += w * v2.w; r3 += w * v3.w; r4 += w * v4.w; r5 += w * v5.w; r6 += w * v6.w; r7 += w * v7.w; }
    { let w = vec4<f32>(zw0.w, zw1.w, zw2.w, zw3.w); z0 += w * v0.w; z1 += w * v1.w; z2 += w * v2.w; z3 += w * v3.w; z4 += w * v4.w; z5 += w * v5.w; z6 += w * v6.w; z7 += w * v7.w; }
    { let w = vec4<f32>(nw0.w, nw1.w, nw2.w, nw3.w); n0 += w * v0.w; n1 += w * v1.w; n2 += w * v2.w; n3 += w * v3.w; n4 += w * v4.w; n5 += w * v5.w; n6 += w * v6.w; n7 += w * v7.w; }
  }
  cells(b0 + 0u, j0, r0, z0, n0);
  cells(b0 + 1u, j0, r1, z1, n1);
  cells(b0 + 2u, j0, r2, z2, n2);
  cells(b0 + 3u, j0, r3, z3, n3);
  cells(b0 + 4u, j0, r4, z4, n4);
  cells(b0 + 5u, j0, r5, z5, n5);
  cells(b0 + 6u, j0, r6, z6, n6);
  cells(b0 + 7u, j0, r7, z7, n7);
}
