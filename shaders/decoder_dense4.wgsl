// decoder_dense4.wgsl — the body of the software plan's MLP layers: decoder_dense.wgsl (same result, bit for bit:
// same products, same summation order over i) for IN a multiple of 4, the weights and inputs read as vec4 along i, so
// 16 loads feed 256 multiply-adds instead of 64 (llvmpipe: a storage load costs about ~30 multiply-adds).
//   y[r, o] = act(Σ_i W[o, i] · in[r, i] + b[o]),  b[o] at BOFF + o*BSTRIDE
// One invocation per tile of 8 rows × 8 outputs.
//
// The loader piece in front (dense_w_storage.wgsl, dense_w_uniform.wgsl) declares the bindings — params (as vec4),
// inp (as vec4), outp, st — and says where the weights come from:
//   fn out_first() -> u32, fn out_count() -> u32   the outputs (weight rows) this dispatch covers
//   fn w_row(l) -> u32, fn load_w(i) -> vec4<f32>   weight row out_first() + l from vec4 index w_row(l)
// overrides: IN (multiple of 4), OUT, BOFF, BSTRIDE, RELU (1 = ReLU, 0 = identity), WG
override IN: u32 = 8u;
override OUT: u32 = 6u;
override BOFF: u32 = 0u;
override BSTRIDE: u32 = 1u;
override RELU: u32 = 1u;

fn param(at: u32) -> f32 { return params[at / 4u][at % 4u]; }

fn put(r: u32, o0: u32, lo: vec4<f32>, hi: vec4<f32>) {
  if (r >= st.nrows) { return; }
  for (var u = 0u; u < 8u; u++) {
    let o = o0 + u;
    if (o < out_first() + out_count()) {
      var y = select(hi[u & 3u], lo[u & 3u], u < 4u) + param(BOFF + o * BSTRIDE);
      if (RELU == 1u) { y = max(y, 0.0); }
      outp[(st.row0 + r) * OUT + o] = y;
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = flat_index(wid, nwg, lid);
  let OB = (out_count() + 7u) / 8u;
  let l0 = (gid % OB) * 8u;
  let o0 = out_first() + l0;
  let r0 = (gid / OB) * 8u;
  if (r0 >= st.nrows) { return; }
  let lastr = st.nrows - 1u;
  let IN4 = IN / 4u;
  let i0 = (st.row0 + min(r0 + 0u, lastr)) * IN4;
  let i1 = (st.row0 + min(r0 + 1u, lastr)) * IN4;
  let i2 = (st.row0 + min(r0 + 2u, lastr)) * IN4;
  let i3 = (st.row0 + min(r0 + 3u, lastr)) * IN4;
  let i4 = (st.row0 + min(r0 + 4u, lastr)) * IN4;
  let i5 = (st.row0 + min(r0 + 5u, lastr)) * IN4;
  let i6 = (st.row0 + min(r0 + 6u, lastr)) * IN4;
  let i7 = (st.row0 + min(r0 + 7u, lastr)) * IN4;
  let w0 = w_row(min(l0 + 0u, out_count() - 1u));
  let w1 = w_row(min(l0 + 1u, out_count() - 1u));
  let w2 = w_row(min(l0 + 2u, out_count() - 1u));
  let w3 = w_row(min(l0 + 3u, out_count() - 1u));
  let w4 = w_row(min(l0 + 4u, out_count() - 1u));
  let w5 = w_row(min(l0 + 5u, out_count() - 1u));
  let w6 = w_row(min(l0 + 6u, out_count() - 1u));
  let w7 = w_row(min(l0 + 7u, out_count() - 1u));
  var a0 = vec4<f32>(0.0); var c0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0); var c1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0); var c2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0); var c3 = vec4<f32>(0.0);
  var a4 = vec4<f32>(0.0); var c4 = vec4<f32>(0.0);
  var a5 = vec4<f32>(0.0); var c5 = vec4<f32>(0.0);
  var a6 = vec4<f32>(0.0); var c6 = vec4<f32>(0.0);
  var a7 = vec4<f32>(0.0); var c7 = vec4<f32>(0.0);
  for (var c = 0u; c < IN4; c++) {
    let W0 = load_w(w0 + c);
    let W1 = load_w(w1 + c);
    let W2 = load_w(w2 + c);
    let W3 = load_w(w3 + c);
    let W4 = load_w(w4 + c);
    let W5 = load_w(w5 + c);
    let W6 = load_w(w6 + c);
    let W7 = load_w(w7 + c);
    let V0 = inp[i0 + c];
    let V1 = inp[i1 + c];
    let V2 = inp[i2 + c];
    let V3 = inp[i3 + c];
    let V4 = inp[i4 + c];
    let V5 = inp[i5 + c];
    let V6 = inp[i6 + c];
    let V7 = inp[i7 + c];
    { let w0 = vec4<f32>(W0.x, W1.x, W2.x, W3.x); let w1 = vec4<f32>(W4.x, W5.x, W6.x, W7.x);
     a0 += w0 * V0.x; c0 += w1 * V0.x; a1 += w0 * V1.x; c1 += w1 * V1.x; a2 += w0 * V2.x; c2 += w1 * V2.x; a3 += w0 * V3.x; c3 += w1 * V3.x; a4 += w0 * V4.x; c4 += w1 * V4.x; a5 += w0 * V5.x; c5 += w1 * V5.x; a6 += w0 * V6.x; c6 += w1 * V6.x; a7 += w0 * V7.x; c7 += w1 * V7.x; }
    { let w0 = vec4<f32>(W0.y, W1.y, W2.y, W3.y); let w1 = vec4<f32>(W4.y, W5.y, W6.y, W7.y);
     a0 += w0 * V0.y; c0 += w1 * V0.y; a1 += w0 * V1.y; c1 += w1 * V1.y; a2 += w0 * V2.y; c2 += w1 * V2.y; a3 += w0 * V3.y; c3 += w1 * V3.y; a4 += w0 * V4.y; c4 += w1 * V4.y; a5 += w0 * V5.y; c5 += w1 * V5.y; a6 += w0 * V6.y; c6 += w1 * V6.y; a7 += w0 * V7.y; c7 += w1 * V7.y; }
    { let w0 = vec4<f32>(W0.z, W1.z, W2.z, W3.z); let w1 = vec4<f32>(W4.z, W5.z, W6.z, W7.z);
     a0 += w0 * V0.z; c0 += w1 * V0.z; a1 += w0 * V1.z; c1 += w1 * V1.z; a2 += w0 * V2.z; c2 += w1 * V2.z; a3 += w0 * V3.z; c3 += w1 * V3.z; a4 += w0 * V4.z; c4 += w1 * V4.z; a5 += w0 * V5.z; c5 += w1 * V5.z; a6 += w0 * V6.z; c6 += w1 * V6.z; a7 += w0 * V7.z; c7 += w1 * V7.z; }
    { let w0 = vec4<f32>(W0.w, W1.w, W2.w, W3.w); let w1 = vec4<f32>(W4.w, W5.w, W6.w, W7.w);
     a0 += w0 * V0.w; c0 += w1 * V0.w; a1 += w0 * V1.w; c1 += w1 * V1.w; a2 += w0 * V2.w; c2 += w1 * V2.w; a3 += w0 * V3.w; c3 += w1 * V3.w; a4 += w0 * V4.w; c4 += w1 * V4.w; a5 += w0 * V5.w; c5 += w1 * V5.w; a6 += w0 * V6.w; c6 += w1 * V6.w; a7 += w0 * V7.w; c7 += w1 * V7.w; }
  }
  put(r0 + 0u, o0, a0, c0);
  put(r0 + 1u, o0, a1, c1);
  put(r0 + 2u, o0, a2, c2);
  put(r0 + 3u, o0, a3, c3);
  put(r0 + 4u, o0, a4, c4);
  put(r0 + 5u, o0, a5, c5);
  put(r0 + 6u, o0, a6, c6);
  put(r0 + 7u, o0, a7, c7);
}
