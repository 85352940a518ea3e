// common.wgsl — the declarations every kernel module shares. host/gpu/compose.ts puts this file in front of each
// kernel's pieces, so no kernel declares these itself.
//
// Step: the per-dispatch record most kernels read through a dynamically offset uniform binding. k = the time step,
// B = batch rows, T = sequence length, rows row0 .. row0+nrows−1 (time-major row = k·B + b), steps k0 .. k0+nk−1,
// flag = kernel-specific (weight gradients: 1 = add to the gradient; BPTT per step: 1 = last step).
struct Step { k: u32, B: u32, T: u32, row0: u32, nrows: u32, k0: u32, nk: u32, flag: u32 }

// Opt: the optimizer uniform shared by grad_clip.wgsl and adam.wgsl (written by host/gpu/ops/adam.ts adamUniform)
struct Opt { step_size: f32, bc2_sqrt: f32, beta1: f32, beta2: f32, one_minus_beta1: f32, one_minus_beta2: f32,
             eps: f32, max_norm: f32, use_clip: u32, weight_decay: f32, pad0: u32, pad1: u32 }

// Blk: a block of batch rows bb0 .. bb0+nb−1 (the software plan's loaders that read rows from uniform windows)
struct Blk { bb0: u32, nb: u32, p0: u32, p1: u32 }

// invocations per workgroup (every pipeline sets it; host/gpu/program.ts)
override WG: u32 = 64u;

// the most batch rows a workgroup of the sequence kernels (gru_sequence.wgsl, gru_bptt.wgsl) owns: the size of their
// per-invocation accumulators, which must be a constant (host/gpu/ops/plan.ts keeps sequenceRows within it)
const MAX_BT: u32 = 8u;

const LOG_2PI: f32 = 1.8378770664093453;

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

// One GRU cell (PyTorch nn.GRU, gate order r | z | n) from unit j's input and hidden pre-activations:
//   r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r·gh_n); then h' = n + z·(h − n) (torch's order of
//   (1 − z)·n + z·h). gh_n = W_hn h + b_hn is kept for the backward pass.
struct GruGates { r: f32, z: f32, n: f32 }

fn gru_gates(gir: f32, giz: f32, gin: f32, ghr: f32, ghz: f32, ghn: f32) -> GruGates {
  let r = sigmoid(gir + ghr);
  let z = sigmoid(giz + ghz);
  return GruGates(r, z, tanh_acc(gin + r * ghn));
}

// Its backward from dh (the gradient w.r.t. h'): the gate pre-activation gradients
//   dn = dh − z·dh, dz = dh·(h − n), d_n = dn(1 − n²), d_z = dz(1 − z)z, d_r = d_n·gh_n·(1 − r)r
// (input side dgi = [d_r | d_z | d_n]; hidden side dgh = [d_r | d_z | d_n·r], as b_hn sits inside r ⊙ ·)
fn gru_gate_grads(dh: f32, g: GruGates, ghn: f32, hp: f32) -> GruGates {
  let dn = dh - g.z * dh;
  let dz = dh * (hp - g.n);
  let dpn = dn * (1.0 - g.n * g.n);
  return GruGates(dpn * ghn * (1.0 - g.r) * g.r, dz * (1.0 - g.z) * g.z, dpn);
}

// the flat invocation index of a 1-D or 2-D grid of WG-wide workgroups
fn flat_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 { return (wid.x + wid.y * nwg.x) * WG + lid; }

// Tile: the 8 × 8 register tile of the tiled products (weight gradients, decoder layers, the GRU hidden backward):
// 8 lines k of two vec4 (lo: columns 0 .. 3, hi: 4 .. 7). On llvmpipe every storage load is a per-lane scalar load,
// far dearer than arithmetic, so 16 loads feed 64 multiply-adds.
struct Tile { lo: array<vec4<f32>, 8>, hi: array<vec4<f32>, 8> }

// one step of a tile's inner loop: line k += s[k] · (lo, hi)
fn tile_add(t: ptr<function, Tile>, s: array<f32, 8>, lo: vec4<f32>, hi: vec4<f32>) {
  for (var k = 0u; k < 8u; k++) {
    (*t).lo[k] += s[k] * lo;
    (*t).hi[k] += s[k] * hi;
  }
}

// the 8 rows r0 .. r0+7 of a tile in a step record's rows row0 .. row0+nrows−1, as absolute row indices (rows past
// the record repeat its last row: their results are not stored)
fn tile_rows(row0: u32, nrows: u32, r0: u32) -> array<u32, 8> {
  var rows: array<u32, 8>;
  for (var k = 0u; k < 8u; k++) { rows[k] = row0 + min(r0 + k, nrows - 1u); }
  return rows;
}

// entry (k, u) of a tile: line k, column u (0 .. 7)
fn tile_at(t: Tile, k: u32, u: u32) -> f32 { return select(t.hi[k][u & 3u], t.lo[k][u & 3u], u < 4u); }

// t += part, line by line (a block's partial sums added to the running total)
fn tile_sum(t: ptr<function, Tile>, part: Tile) {
  for (var k = 0u; k < 8u; k++) {
    (*t).lo[k] += part.lo[k];
    (*t).hi[k] += part.hi[k];
  }
}
