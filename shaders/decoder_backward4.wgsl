// decoder_backward4.wgsl — the body of the software plan's backward MLP layers: decoder_backward.wgsl (same result,
// bit for bit: same products, same summation order over o) for OUT a multiple of 4, dout read as vec4 along o and
// the weight rows as vec4 along i, so 16 loads feed 256 multiply-adds instead of 64:
//   din[r, i] = (Σ_o dout[r, o] W[o, i]) · [act[r, i] > 0] (MASK = 1; MASK = 0: no mask)
// One invocation per tile of 8 rows × 8 inputs; when the inputs covered are 4 mod 8 the second half of the last tile
// reads the first half again and is not stored.
//
// The loader piece in front (back_w_storage.wgsl, back_w_uniform.wgsl) declares the bindings — dout (as vec4), act,
// din, st — and says where the weights come from:
//   fn in_first() -> u32, fn in_count() -> u32   the inputs (weight columns) this dispatch covers
//   fn w_row(o) -> u32, fn load_w(i) -> vec4<f32>   weight row o of those columns from vec4 index w_row(o)
// overrides: IN, OUT (multiple of 4), MASK, WG
override IN: u32 = 8u;
override OUT: u32 = 6u;
override MASK: u32 = 1u;

fn put(r: u32, c0: u32, lo: vec4<f32>, hi: vec4<f32>) {
  if (r >= st.nrows) { return; }
  for (var u = 0u; u < 8u; u++) {
    let i = c0 + u;
    if (i < in_first() + in_count()) {
      let at = (st.row0 + r) * IN + i;
      var y = select(hi[u & 3u], lo[u & 3u], u < 4u);
      if (MASK == 1u && !(act[at] > 0.0)) { y = 0.0; }
      din[at] = y;
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let gid = flat_index(wid, nwg, lid);
  let IB = (in_count() + 7u) / 8u;
  let l0 = (gid % IB) * 8u;
  let k0 = in_first() + l0;
  let r0 = (gid / IB) * 8u;
  if (r0 >= st.nrows) { return; }
  let lastr = st.nrows - 1u;
  let OUT4 = OUT / 4u;
  let d0 = (st.row0 + min(r0 + 0u, lastr)) * OUT4;
  let d1 = (st.row0 + min(r0 + 1u, lastr)) * OUT4;
  let d2 = (st.row0 + min(r0 + 2u, lastr)) * OUT4;
  let d3 = (st.row0 + min(r0 + 3u, lastr)) * OUT4;
  let d4 = (st.row0 + min(r0 + 4u, lastr)) * OUT4;
  let d5 = (st.row0 + min(r0 + 5u, lastr)) * OUT4;
  let d6 = (st.row0 + min(r0 + 6u, lastr)) * OUT4;
  let d7 = (st.row0 + min(r0 + 7u, lastr)) * OUT4;
  let qa = l0 / 4u;
  let qb = min(qa + 1u, (in_count() + 3u) / 4u - 1u);
  var a0 = vec4<f32>(0.0); var c0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0); var c1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0); var c2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0); var c3 = vec4<f32>(0.0);
  var a4 = vec4<f32>(0.0); var c4 = vec4<f32>(0.0);
  var a5 = vec4<f32>(0.0); var c5 = vec4<f32>(0.0);
  var a6 = vec4<f32>(0.0); var c6 = vec4<f32>(0.0);
  var a7 = vec4<f32>(0.0); var c7 = vec4<f32>(0.0);
  for (var c = 0u; c < OUT4; c++) {
    let G0 = dout[d0 + c];
    let G1 = dout[d1 + c];
    let G2 = dout[d2 + c];
    let G3 = dout[d3 + c];
    let G4 = dout[d4 + c];
    let G5 = dout[d5 + c];
    let G6 = dout[d6 + c];
    let G7 = dout[d7 + c];
    { let wr = w_row(c * 4u + 0u); let w0 = load_w(wr + qa); let w1 = load_w(wr + qb);
     a0 += w0 * G0.x; c0 += w1 * G0.x; a1 += w0 * G1.x; c1 += w1 * G1.x; a2 += w0 * G2.x; c2 += w1 * G2.x; a3 += w0 * G3.x; c3 += w1 * G3.x; a4 += w0 * G4.x; c4 += w1 * G4.x; a5 += w0 * G5.x; c5 += w1 * G5.x; a6 += w0 * G6.x; c6 += w1 * G6.x; a7 += w0 * G7.x; c7 += w1 * G7.x; }
    { let wr = w_row(c * 4u + 1u); let w0 = load_w(wr + qa); let w1 = load_w(wr + qb);
     a0 += w0 * G0.y; c0 += w1 * G0.y; a1 += w0 * G1.y; c1 += w1 * G1.y; a2 += w0 * G2.y; c2 += w1 * G2.y; a3 += w0 * G3.y; c3 += w1 * G3.y; a4 += w0 * G4.y; c4 += w1 * G4.y; a5 += w0 * G5.y; c5 += w1 * G5.y; a6 += w0 * G6.y; c6 += w1 * G6.y; a7 += w0 * G7.y; c7 += w1 * G7.y; }
    { let wr = w_row(c * 4u + 2u); let w0 = load_w(wr + qa); let w1 = load_w(wr + qb);
     a0 += w0 * G0.z; c0 += w1 * G0.z; a1 += w0 * G1.z; c1 += w1 * G1.z; a2 += w0 * G2.z; c2 += w1 * G2.z; a3 += w0 * G3.z; c3 += w1 * G3.z; a4 += w0 * G4.z; c4 += w1 * G4.z; a5 += w0 * G5.z; c5 += w1 * G5.z; a6 += w0 * G6.z; c6 += w1 * G6.z; a7 += w0 * G7.z; c7 += w1 * G7.z; }
    { let wr = w_row(c * 4u + 3u); let w0 = load_w(wr + qa); let w1 = load_w(wr + qb);
     a0 += w0 * G0.w; c0 += w1 * G0.w; a1 += w0 * G1.w; c1 += w1 * G1.w; a2 += w0 * G2.w; c2 += w1 * G2.w; a3 += w0 * G3.w; c3 += w1 * G3.w; a4 += w0 * G4.w; c4 += w1 * G4.w; a5 += w0 * G5.w; c5 += w1 * G5.w; a6 += w0 * G6.w; c6 += w1 * G6.w; a7 += w0 * G7.w; c7 += w1 * G7.w; }
  }
  put(r0 + 0u, k0, a0, c0);
  put(r0 + 1u, k0, a1, c1);
  put(r0 + 2u, k0, a2, c2);
  put(r0 + 3u, k0, a3, c3);
  put(r0 + 4u, k0, a4, c4);
  put(r0 + 5u, k0, a5, c5);
  put(r0 + 6u, k0, a6, c6);
  put(r0 + 7u, k0, a7, c7);
}
