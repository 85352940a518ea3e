// gru_gate_backward.wgsl — the piece the BPTT kernels share (gru_backward_gates.wgsl,
// gru_bptt.wgsl): one cell's gate gradients from the total gradient dh w.r.t. its output (common.wgsl
// gru_gate_grads), written to dgi and dgh. The module declares `gates` [T*B, 4H] (r | z | n | ghn, read), `dgi` and
// `dgh` [T*B, 3H] (read_write) and the override H.
// returns the hidden-side gradients written to dgh: (d_r, d_z, d_n·r)
fn gate_backward(row: u32, j: u32, dh: f32, hp: f32) -> GruGates {
  let o = row * 4u * H;
  let r = gates[o + j];
  let gg = gru_gate_grads(dh, GruGates(r, gates[o + H + j], gates[o + 2u * H + j]), gates[o + 3u * H + j], hp);
  let g = row * 3u * H;
  dgi[g + j] = gg.r;
  dgi[g + H + j] = gg.z;
  dgi[g + 2u * H + j] = gg.n;
  let hidden = GruGates(gg.r, gg.z, gg.n * r);
  dgh[g + j] = hidden.r;
  dgh[g + H + j] = hidden.z;
  dgh[g + 2u * H + j] = hidden.n;
  return hidden;
}
