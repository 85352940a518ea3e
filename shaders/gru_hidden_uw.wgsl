// gru_hidden_uw.wgsl — the body of BPTT part 2 for H a multiple of 4 (the software plan): the recurrent gradient
// w.r.t. h_k, dhrec_k[b, i] = z[b, i]·dh[b, i] + Σ_{g<3H} W_hh[g, i] · dgh[k, b, g], as gru_backward_hidden.wgsl (same
// result, bit for bit) with W_hh read from the 64 KiB uniform windows that gru_forward.wgsl uses. The sum over the 3H
// weight rows runs window by window, in row order, one dispatch per window; the running float32 sum is kept in
// `part` between dispatches, so the rounding sequence equals one long loop. One invocation per tile of 8 batch rows ×
// 8 hidden units; 4 weight rows per loop turn (vec4 loads).
//
// The loader piece in front (gru_dg_storage.wgsl, gru_dg_uniform.wgsl) declares the bindings — gates, dhdec, dhin,
// part, dhout, the weight window w, win, st — and says where dgh comes from:
//   fn block_first() -> u32, fn block_end() -> u32   the batch rows of this dispatch
//   fn dg_row(b) -> u32, fn load_dg(i) -> vec4<f32>   dgh[k, b, window rows] from vec4 index dg_row(b)
// overrides: H (multiple of 4), WG
override H: u32 = 8u;

struct Win { g0: u32, rows: u32, first: u32, last: u32 }

fn start(b: u32, i: u32) -> f32 {
  if (win.first == 1u || b >= block_end() || i >= H) { return 0.0; }
  return part[b * H + i];
}

fn finish(b: u32, i: u32, acc: f32) {
  if (b >= block_end() || i >= H) { return; }
  if (win.last == 0u) { part[b * H + i] = acc; return; }
  let k = st.k;
  var dh = 0.0;
  if (st.flag == 0u) { dh = dhin[b * H + i]; }
  if (k + 1u < st.T) { dh += dhdec[((k + 1u) * st.B + b) * H + i]; }
  let z = gates[(k * st.B + b) * 4u * H + H + i];
  dhout[b * H + i] = z * dh + acc;
}

fn start4(b: u32, i0: u32) -> vec4<f32> {
  return vec4<f32>(start(b, i0), start(b, i0 + 1u), start(b, i0 + 2u), start(b, i0 + 3u));
}

fn finish4(b: u32, i0: u32, a: vec4<f32>) {
  finish(b, i0, a.x); finish(b, i0 + 1u, a.y); finish(b, i0 + 2u, a.z); finish(b, i0 + 3u, a.w);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = flat_index(wid, nwg, lid);
  let IB = (H + 7u) / 8u;
  let i0 = (gid % IB) * 8u;
  let b0 = block_first() + (gid / IB) * 8u;
  if (b0 >= block_end()) { return; }
  let last = block_end() - 1u;
  let H4 = H / 4u;
  let q0 = i0 / 4u;
  let q1 = min(q0 + 1u, H4 - 1u);   // H % 8 == 4: the second half of the last tile is past H (not stored)
  let d0 = dg_row(min(b0 + 0u, last));
  let d1 = dg_row(min(b0 + 1u, last));
  let d2 = dg_row(min(b0 + 2u, last));
  let d3 = dg_row(min(b0 + 3u, last));
  let d4 = dg_row(min(b0 + 4u, last));
  let d5 = dg_row(min(b0 + 5u, last));
  let d6 = dg_row(min(b0 + 6u, last));
  let d7 = dg_row(min(b0 + 7u, last));
  var a0 = start4(b0 + 0u, i0); var c0 = start4(b0 + 0u, i0 + 4u);
  var a1 = start4(b0 + 1u, i0); var c1 = start4(b0 + 1u, i0 + 4u);
  var a2 = start4(b0 + 2u, i0); var c2 = start4(b0 + 2u, i0 + 4u);
  var a3 = start4(b0 + 3u, i0); var c3 = start4(b0 + 3u, i0 + 4u);
  var a4 = start4(b0 + 4u, i0); var c4 = start4(b0 + 4u, i0 + 4u);
  var a5 = start4(b0 + 5u, i0); var c5 = start4(b0 + 5u, i0 + 4u);
  var a6 = start4(b0 + 6u, i0); var c6 = start4(b0 + 6u, i0 + 4u);
  var a7 = start4(b0 + 7u, i0); var c7 = start4(b0 + 7u, i0 + 4u);
  for (var c = 0u; c < win.rows / 4u; c++) {
    let e0 = load_dg(d0 + c);
    let e1 = load_dg(d1 + c);
    let e2 = load_dg(d2 + c);
    let e3 = load_dg(d3 + c);
    let e4 = load_dg(d4 + c);
    let e5 = load_dg(d5 + c);
    let e6 = load_dg(d6 + c);
    let e7 = load_dg(d7 + c);
    { let r = (c * 4u + 0u) * H4; let wl = w[r + q0]; let wh = w[r + q1];
      a0 += wl * e0.x; c0 += wh * e0.x; a1 += wl * e1.x; c1 += wh * e1.x; a2 += wl * e2.x; c2 += wh * e2.x; a3 += wl * e3.x; c3 += wh * e3.x; a4 += wl * e4.x; c4 += wh * e4.x; a5 += wl * e5.x; c5 += wh * e5.x; a6 += wl * e6.x; c6 += wh * e6.x; a7 += wl * e7.x; c7 += wh * e7.x; }
    { let r = (c * 4u + 1u) * H4; let wl = w[r + q0]; let wh = w[r + q1];
      a0 += wl * e0.y; c0 += wh * e0.y; a1 += wl * e1.y; c1 += wh * e1.y; a2 += wl * e2.y; c2 += wh * e2.y; a3 += wl * e3.y; c3 += wh * e3.y; a4 += wl * e4.y; c4 += wh * e4.y; a5 += wl * e5.y; c5 += wh * e5.y; a6 += wl * e6.y; c6 += wh * e6.y; a7 += wl * e7.y; c7 += wh * e7.y; }
    { let r = (c * 4u + 2u) * H4; let wl = w[r + q0]; let wh = w[r + q1];
      a0 += wl * e0.z; c0 += wh * e0.z; a1 += wl * e1.z; c1 += wh * e1.z; a2 += wl * e2.z; c2 += wh * e2.z; a3 += wl * e3.z; c3 += wh * e3.z; a4 += wl * e4.z; c4 += wh * e4.z; a5 += wl * e5.z; c5 += wh * e5.z; a6 += wl * e6.z; c6 += wh * e6.z; a7 += wl * e7.z; c7 += wh * e7.z; }
    { let r = (c * 4u + 3u) * H4; let wl = w[r + q0]; let wh = w[r + q1];
      a0 += wl * e0.w; c0 += wh * e0.w; a1 += wl * e1.w; c1 += wh * e1.w; a2 += wl * e2.w; c2 += wh * e2.w; a3 += wl * e3.w; c3 += wh * e3.w; a4 += wl * e4.w; c4 += wh * e4.w; a5 += wl * e5.w; c5 += wh * e5.w; a6 += wl * e6.w; c6 += wh * e6.w; a7 += wl * e7.w; c7 += wh * e7.w; }
  }
  finish4(b0 + 0u, i0, a0); finish4(b0 + 0u, i0 + 4u, c0);
  finish4(b0 + 1u, i0, a1); finish4(b0 + 1u, i0 + 4u, c1);
  finish4(b0 + 2u, i0, a2); finish4(b0 + 2u, i0 + 4u, c2);
  finish4(b0 + 3u, i0, a3); finish4(b0 + 3u, i0 + 4u, c3);
  finish4(b0 + 4u, i0, a4); finish4(b0 + 4u, i0 + 4u, c4);
  finish4(b0 + 5u, i0, a5); finish4(b0 + 5u, i0 + 4u, c5);
  finish4(b0 + 6u, i0, a6); finish4(b0 + 6u, i0 + 4u, c6);
  finish4(b0 + 7u, i0, a7); finish4(b0 + 7u, i0 + 4u, c7);
}
