// weight_grad_uwin.wgsl — the body of the software plan's large weight gradients: weight_grad.wgsl (same result, bit
// for bit) for IN a multiple of 64 with the input activations read from 64 KiB UNIFORM windows of WR whole rows (on
// llvmpipe uniform loads are several times cheaper than storage loads):
//   dW[o, i] = Σ_r dout[r, o] · inp[r, i],  db[o] = Σ_r dout[r, o]
// The engine dispatches once per window of rows (WR a multiple of 32, so the blocks of 32 rows fall as in one long
// loop); the running float32 totals are kept in `part` between the windows of one step record, so the rounding
// sequence equals that of weight_grad.wgsl over all the record's rows. One invocation per tile of 8 outputs × 8
// inputs.
//
// The loader piece in front (wg_dout_storage.wgsl, wg_dout_uniform.wgsl) declares the bindings — inp, part, grad,
// win, st — and says where dout comes from:
//   fn out_first() -> u32, fn out_count() -> u32   the output rows (weight rows) this dispatch covers
//   fn load_dout(r, wrow0, q) -> vec4<f32>          dout[r, 4q .. 4q+3] of those (wrow0: the window's first row)
// overrides: IN (multiple of 64), OUT (multiple of 4), WOFF, WSTRIDE, BOFF, BSTRIDE, HAS_BIAS, WG
struct Win { r0: u32, n: u32, first: u32, last: u32 }

override IN: u32 = 8u;
override OUT: u32 = 8u;
override WOFF: u32 = 0u;
override WSTRIDE: u32 = 8u;
override BOFF: u32 = 0u;
override BSTRIDE: u32 = 1u;
override HAS_BIAS: u32 = 1u;

fn put(at: u32, v: f32) {
  if (st.flag == 1u) { grad[at] = grad[at] + v; } else { grad[at] = v; }
}

// the running totals of dW[o, i0 .. i0+7] (zero in the first window)
fn get_t(o: u32, i0: u32) -> array<vec4<f32>, 2> {
  if (win.first == 1u) { return array<vec4<f32>, 2>(vec4<f32>(0.0), vec4<f32>(0.0)); }
  let q = min(o, OUT - 1u) * IN + i0;
  return array<vec4<f32>, 2>(vec4<f32>(part[q], part[q + 1u], part[q + 2u], part[q + 3u]),
                             vec4<f32>(part[q + 4u], part[q + 5u], part[q + 6u], part[q + 7u]));
}

fn get_b(o0: u32) -> vec4<f32> {
  if (win.first == 1u) { return vec4<f32>(0.0); }
  let q = OUT * IN;
  return vec4<f32>(part[q + min(o0, OUT - 1u)], part[q + min(o0 + 1u, OUT - 1u)], part[q + min(o0 + 2u, OUT - 1u)], part[q + min(o0 + 3u, OUT - 1u)]);
}

fn put_w(o: u32, i0: u32, lo: vec4<f32>, hi: vec4<f32>) {
  if (o >= out_first() + out_count()) { return; }
  for (var u = 0u; u < 8u; u++) {
    let v = select(hi[u & 3u], lo[u & 3u], u < 4u);
    if (win.last == 1u) { put(WOFF + o * WSTRIDE + i0 + u, v); } else { part[o * IN + i0 + u] = v; }
  }
}

fn put_b(o: u32, v: f32) {
  if (o >= out_first() + out_count()) { return; }
  if (win.last == 1u) { put(BOFF + o * BSTRIDE, v); } else { part[OUT * IN + o] = v; }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = flat_index(wid, nwg, lid);
  let IB = (IN + 7u) / 8u;
  let OB = (out_count() + 7u) / 8u;
  if (gid >= IB * OB) { return; }
  let i0 = (gid % IB) * 8u;
  let ol = (gid / IB) * 8u;   // first gate row of the tile within the window
  let ob = out_first() + ol;
  let IN4 = IN / 4u;
  let ia = i0 / 4u;
  let ib = ia + 1u;   // IN is a multiple of 64: whole tiles
  let qa = ol / 4u;
  let qb = min(qa + 1u, out_count() / 4u - 1u);
  let p0 = get_t(ob + 0u, i0); var ta0 = p0[0]; var tc0 = p0[1];
  let p1 = get_t(ob + 1u, i0); var ta1 = p1[0]; var tc1 = p1[1];
  let p2 = get_t(ob + 2u, i0); var ta2 = p2[0]; var tc2 = p2[1];
  let p3 = get_t(ob + 3u, i0); var ta3 = p3[0]; var tc3 = p3[1];
  let p4 = get_t(ob + 4u, i0); var ta4 = p4[0]; var tc4 = p4[1];
  let p5 = get_t(ob + 5u, i0); var ta5 = p5[0]; var tc5 = p5[1];
  let p6 = get_t(ob + 6u, i0); var ta6 = p6[0]; var tc6 = p6[1];
  let p7 = get_t(ob + 7u, i0); var ta7 = p7[0]; var tc7 = p7[1];
  var tb0 = get_b(ob); var tb1 = get_b(ob + 4u);
  let bias = HAS_BIAS == 1u && i0 == 0u;
  let wrow0 = st.row0 + win.r0;
  var r = wrow0;
  let stop = wrow0 + win.n;
  while (r < stop) {
    let end = min(r + 32u, stop);
    var a0 = vec4<f32>(0.0); var c0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0); var c1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0); var c2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0); var c3 = vec4<f32>(0.0);
    var a4 = vec4<f32>(0.0); var c4 = vec4<f32>(0.0);
    var a5 = vec4<f32>(0.0); var c5 = vec4<f32>(0.0);
    var a6 = vec4<f32>(0.0); var c6 = vec4<f32>(0.0);
    var a7 = vec4<f32>(0.0); var c7 = vec4<f32>(0.0);
    var s0 = vec4<f32>(0.0); var s1 = vec4<f32>(0.0);
    for (; r < end; r++) {
      let s = (r - wrow0) * IN4;
      let v0 = inp[s + ia];
      let v1 = inp[s + ib];
      let ga = load_dout(r, wrow0, qa);
      let gb = load_dout(r, wrow0, qb);
      let g0 = ga.x; a0 += g0 * v0; c0 += g0 * v1;
      let g1 = ga.y; a1 += g1 * v0; c1 += g1 * v1;
      let g2 = ga.z; a2 += g2 * v0; c2 += g2 * v1;
      let g3 = ga.w; a3 += g3 * v0; c3 += g3 * v1;
      let g4 = gb.x; a4 += g4 * v0; c4 += g4 * v1;
      let g5 = gb.y; a5 += g5 * v0; c5 += g5 * v1;
      let g6 = gb.z; a6 += g6 * v0; c6 += g6 * v1;
      let g7 = gb.w; a7 += g7 * v0; c7 += g7 * v1;
      if (bias) { s0 += vec4<f32>(g0, g1, g2, g3); s1 += vec4<f32>(g4, g5, g6, g7); }
    }
    ta0 += a0; tc0 += c0;
    ta1 += a1; tc1 += c1;
    ta2 += a2; tc2 += c2;
    ta3 += a3; tc3 += c3;
    ta4 += a4; tc4 += c4;
    ta5 += a5; tc5 += c5;
    ta6 += a6; tc6 += c6;
    ta7 += a7; tc7 += c7;
    tb0 += s0; tb1 += s1;
  }
  put_w(ob + 0u, i0, ta0, tc0);
  put_w(ob + 1u, i0, ta1, tc1);
  put_w(ob + 2u, i0, ta2, tc2);
  put_w(ob + 3u, i0, ta3, tc3);
  put_w(ob + 4u, i0, ta4, tc4);
  put_w(ob + 5u, i0, ta5, tc5);
  put_w(ob + 6u, i0, ta6, tc6);
  put_w(ob + 7u, i0, ta7, tc7);
  if (bias) {
    for (var u = 0u; u < 8u; u++) { put_b(ob + u, select(tb1[u & 3u], tb0[u & 3u], u < 4u)); }
  }
}
