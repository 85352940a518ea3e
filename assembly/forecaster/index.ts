// The forecaster's CPU kernels (wasm SIMD; host: host/cpu/). No allocation: the host lays out one shared linear
// memory, writes a context block of i32 fields (CTX_* below, mirrored in host/cpu/engine.ts) and calls the exported
// phases from every thread with (ctx, thread, threads). Numerics as host/model/reference.ts, in float32 (loss,
// gradient norm and Adam in float64).
//
// Work split (why it is deterministic): forwardBackward hands out ranges of sequences as work items (an atomic
// counter: a thread slowed down by a busy core simply takes fewer) and runs the whole recurrence (decoder, loss, GRU
// step; then BPTT) on each, so there is no synchronisation per step; each output depends only on its own row,
// computed with the same arithmetic whatever item, tile or thread it falls in (the sgemm clamps the rows of a
// partial tile instead of branching). weightGrads hands out blocks of rows of every weight matrix and sums over all
// T·B rows in one fixed order (row 0 first), so the results depend neither on the split nor on the
// thread count. The bias gradients ride along as a column of ones beside the activations. The GRU keeps
// 1 − z and 1 − n² as computed from e^x (not from the rounded z, n: they would cancel where z, |n| ≈ 1).
//
// sgemm: C[m, n] = A[m, K] · Bp, A row-major (stride lda), Bp packed in panels of 12 columns ([K][12] each, zero
// padded); a 3 × 12 register tile of f32x4 accumulators (9 + 3 B vectors + 1 A splat of V8's ~15 usable registers).
// Built three times (asconfig.forecaster.json): relaxed SIMD (f32x4.relaxed_madd → one FMA instruction), plain
// SIMD (mul + add), and a debug build of the plain one.
export const FORECASTER_ABI_VERSION: i32 = 2;

// ── context block fields (i32 each) ─────────────────────────────────────────────────────────────────────────────
const CTX_B = 0; // sequences in this chunk
const CTX_T = 1;
const CTX_H = 2;
const CTX_M = 3;
const CTX_F = 4;
const CTX_TRAIN = 5; // 1: keep activations, run BPTT and the weight gradients
const CTX_ACCUMULATE = 6; // 1: add this chunk's gradient to the one in grad (later chunks)
const CTX_PARAMS = 7;
const CTX_GRAD = 8;
const CTX_WHH_T = 9; // packed W_hhᵀ  (K = H, N = 3H)
const CTX_WHH_N = 10; // packed W_hh  (K = 3H, N = H)
const CTX_W1_T = 11; // (K = H, N = M)
const CTX_W2_T = 12; // (K = M, N = M)
const CTX_W3_T = 13;
const CTX_W1_N = 14; // (K = M, N = H)
const CTX_W2_N = 15; // (K = M, N = M)
const CTX_W3_N = 16;
const CTX_WIH_T = 17; // W_ih transposed to [F][3H]
const CTX_X = 18; // [B, T, F] as given (NaN in feature 0 = missing)
const CTX_H_ALL = 19; // [(T+1)·B, H] time-major, rows hiddenStride(H) floats apart (training)
const CTX_U = 20; // [T·B, F] inputs fed to the GRU
const CTX_GATES = 21; // [T·B, 6H]: r | z | n | W_hn h + b_hn | 1 − n² | 1 − z
const CTX_A1 = 22; // [T·B, M] decoder activations, ReLU applied (training; a > 0 ⇔ ReLU(a) > 0 for BPTT)
const CTX_A2 = 23;
const CTX_A3 = 24;
const CTX_MU = 25; // [(T+1)·B] time-major (row T: forecasts only)
const CTX_LV = 26;
const CTX_NLL = 27; // f64 [B]: each sequence's summed loss
const CTX_DOUT = 28; // [T·B, 2]: dL/dμ, dL/dlogvar
const CTX_DGATE = 29; // dar | daz | dhn | dan (pre-activation gradients; dhn = dan·r feeds W_hn) in gate panels
const CTX_DA1 = 30; // [T·B, M]
const CTX_DA2 = 31;
const CTX_DA3 = 32;
const CTX_SCRATCH = 33; // per-thread scratch, CTX_SCRATCH_BYTES each
const CTX_SCRATCH_BYTES = 34;
const CTX_WORK = 35; // the next work item of the running phase (atomic counter; the host zeroes it)
export const CTX_FIELDS: i32 = 36;

const LOG_2PI: f64 = 1.8378770664093453;
// rows of dY per K block of the weight gradients: a panel of 12 columns is 12 KB, in L1 while the tiles pass it
const KC: i32 = 256;
const PANEL: i32 = 12;
// products per register block in the sgemm (see gemm)
const KB: i32 = 64;
// rows per block of the sgemm (a multiple of 3): the block of A stays in L2 while all panels of B pass
const MC: i32 = 48;
// scratch of the sgemm: the float32 totals of a 3 × 12 tile (144 bytes), rounded up to whole cache lines
const TILE_BYTES: usize = 192;

/** First free byte of linear memory. */
export function heapBase(): usize {
  return __heap_base;
}

@inline function ctxI(ctx: usize, field: i32): i32 {
  return load<i32>(ctx + (<usize>field << 2));
}
@inline function ctxP(ctx: usize, field: i32): usize {
  return <usize>load<i32>(ctx + (<usize>field << 2));
}

@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}
// c − a·b
@inline function nmadd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_nmadd(a, b, c);
  return f32x4.sub(c, f32x4.mul(a, b));
}

// ── parameter layout (host/model/params.ts order) ───────────────────────────────────────────────────────────────
@inline function offWhh(H: i32, F: i32): i32 { return 3 * H * F; }
@inline function offBih(H: i32, F: i32): i32 { return offWhh(H, F) + 3 * H * H; }
@inline function offBhh(H: i32, F: i32): i32 { return offBih(H, F) + 3 * H; }
@inline function offW1(H: i32, F: i32): i32 { return offBhh(H, F) + 3 * H; }
@inline function offB1(H: i32, M: i32, F: i32): i32 { return offW1(H, F) + M * H; }
@inline function offW2(H: i32, M: i32, F: i32): i32 { return offB1(H, M, F) + M; }
@inline function offB2(H: i32, M: i32, F: i32): i32 { return offW2(H, M, F) + M * M; }
@inline function offW3(H: i32, M: i32, F: i32): i32 { return offB2(H, M, F) + M; }
@inline function offB3(H: i32, M: i32, F: i32): i32 { return offW3(H, M, F) + M * M; }
@inline function offWm(H: i32, M: i32, F: i32): i32 { return offB3(H, M, F) + M; }
@inline function offBm(H: i32, M: i32, F: i32): i32 { return offWm(H, M, F) + M; }
@inline function offWl(H: i32, M: i32, F: i32): i32 { return offBm(H, M, F) + 1; }
@inline function offBl(H: i32, M: i32, F: i32): i32 { return offWl(H, M, F) + M; }
export function paramCount(H: i32, M: i32, F: i32): i32 { return offBl(H, M, F) + 1; }

@inline function f32At(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

// ── packing ─────────────────────────────────────────────────────────────────────────────────────────────────────

/** floats of a packed right-hand side with K rows and N columns */
export function packedFloats(K: i32, N: i32): i32 {
  return ((N + PANEL - 1) / PANEL) * PANEL * K;
}

/** Packs B[k, j] = src[k·rs + j·cs] (k < K, j < N) into panels of 12 columns, zeros past N (the weights, dY). */
export function packB(src: usize, rs: i32, cs: i32, K: i32, N: i32, dst: usize): void {
  const panels = (N + PANEL - 1) / PANEL;
  const full = cs == 1 ? N / PANEL : 0;
  const panelBytes = <usize>(K * PANEL) << 2;
  // whole panels of contiguous rows, four rows at a time: the rows are read in order, once (the rows of a gradient
  // array lie 4 KB apart: read panel by panel, they would pass through the caches once per panel), and each panel
  // gets three whole cache lines at a time (row by row, its part-written lines would be evicted by the others)
  for (let k0 = 0; k0 < K; k0 += 4) {
    const rows = min(4, K - k0);
    let d = dst + (<usize>k0 * 48);
    let s = f32At(src, k0 * rs);
    for (let jp = 0; jp < full; jp++) {
      let sq = s, dq = d;
      for (let q = 0; q < rows; q++) {
        v128.store(dq, v128.load(sq));
        v128.store(dq, v128.load(sq, 16), 16);
        v128.store(dq, v128.load(sq, 32), 32);
        sq += <usize>rs << 2;
        dq += 48;
      }
      s += 48;
      d += panelBytes;
    }
  }
  for (let jp = full; jp < panels; jp++) {
    const j0 = jp * PANEL;
    let d = dst + <usize>jp * panelBytes;
    for (let k = 0; k < K; k++) {
      for (let jj = 0; jj < PANEL; jj++) {
        const j = j0 + jj;
        store<f32>(d + (<usize>jj << 2), j < N ? load<f32>(f32At(src, k * rs + j * cs)) : 0);
      }
      d += 48;
    }
  }
}

// ── sgemm ───────────────────────────────────────────────────────────────────────────────────────────────────────

// adds a block sum to the float32 running total at t
@inline function addTotal(t: usize, c: v128): void {
  v128.store(t, f32x4.add(v128.load(t), c));
}

/**
 * The register tile: tile[r, 0..12) += Σ_k a_r[k] · panel[k, 0..12) for the three rows r, where a_r[k] is the float
 * at p_r + k·s_r (s_r bytes; 4 for a row-major A, the row length for a column of an activation array, 0 for a
 * constant). Blocks of KB products are summed in float32 registers from zero, each block sum is added to the
 * float32 totals at tile (3 × 12, L1). A panel of width ≤ 8 (≤ 4) computes only its first two vectors (one): the
 * last panel of N = 128 or 256 (each lane's arithmetic is the same in every form).
 */
@inline function tileProducts(p0: usize, p1: usize, p2: usize, s0: usize, s1: usize, s2: usize, panel: usize, K: i32,
  tile: usize, width: i32): void {
  if (width > 8) tileVectors(p0, p1, p2, s0, s1, s2, panel, K, tile, 3);
  else if (width > 4) tileVectors(p0, p1, p2, s0, s1, s2, panel, K, tile, 2);
  else tileVectors(p0, p1, p2, s0, s1, s2, panel, K, tile, 1);
}

@inline function tileVectors(p0: usize, p1: usize, p2: usize, s0: usize, s1: usize, s2: usize, panel: usize, K: i32,
  tile: usize, vecs: i32): void {
  let pb = panel;
  let pa0 = p0, pa1 = p1, pa2 = p2;
  for (let k0 = 0; k0 < K; k0 += KB) {
    const kend = min(K, k0 + KB);
    let c00 = f32x4.splat(0), c01 = c00, c02 = c00;
    let c10 = c00, c11 = c00, c12 = c00, c20 = c00, c21 = c00, c22 = c00;
    for (let k = k0; k < kend; k++) {
      const b0 = v128.load(pb);
      const x0 = v128.load32_splat(pa0), x1 = v128.load32_splat(pa1), x2 = v128.load32_splat(pa2);
      c00 = madd(x0, b0, c00); c10 = madd(x1, b0, c10); c20 = madd(x2, b0, c20);
      if (vecs > 1) {
        const b1 = v128.load(pb, 16);
        c01 = madd(x0, b1, c01); c11 = madd(x1, b1, c11); c21 = madd(x2, b1, c21);
      }
      if (vecs > 2) {
        const b2 = v128.load(pb, 32);
        c02 = madd(x0, b2, c02); c12 = madd(x1, b2, c12); c22 = madd(x2, b2, c22);
      }
      pb += 48;
      pa0 += s0;
      pa1 += s1;
      pa2 += s2;
    }
    addTotal(tile, c00); addTotal(tile + 48, c10); addTotal(tile + 96, c20);
    if (vecs > 1) {
      addTotal(tile + 16, c01); addTotal(tile + 64, c11); addTotal(tile + 112, c21);
    }
    if (vecs > 2) {
      addTotal(tile + 32, c02); addTotal(tile + 80, c12); addTotal(tile + 128, c22);
    }
  }
}

/**
 * C[m, n] = init + A[m, K] · Bp. init: C itself when `accumulate`, else the bias row (when bias ≠ 0), else 0.
 * Summation: blocks of KB products are summed in float32 registers from zero, and each block sum is added to a
 * float32 running total in `tile` (L1) that starts as init: the rounding error grows with KB + K/KB rather than K
 * (BPTT's K = 3H = 768 sums in one float32 chain lost 3× the accuracy of PyTorch's blocked sgemm; float64 totals
 * cost 3 % of a training step for no accuracy the fixtures can see). Each C element
 * gets the same operations in the same order whatever its place in a tile: rows past m in the last tile reuse the
 * last row (computed, not stored), columns past n are computed on the zero padding and not stored.
 */
export function gemm(a: usize, lda: i32, bp: usize, K: i32, c: usize, ldc: i32, m: i32, n: i32, bias: usize,
  accumulate: bool, tile: usize): void {
  gemmInto(a, lda, bp, K, c, ldc, m, n, bias, accumulate, tile, false);
}

/** gemm, ReLU applied to C as it is stored (the decoder's layers: what they keep is what the next layer reads) */
function gemmRelu(a: usize, lda: i32, bp: usize, K: i32, c: usize, ldc: i32, m: i32, n: i32, bias: usize,
  tile: usize): void {
  gemmInto(a, lda, bp, K, c, ldc, m, n, bias, false, tile, true);
}

// gemm, ReLU applied to the stored C when `relu`
function gemmInto(a: usize, lda: i32, bp: usize, K: i32, c: usize, ldc: i32, m: i32, n: i32, bias: usize,
  accumulate: bool, tile: usize, relu: bool): void {
  const panels = (n + PANEL - 1) / PANEL;
  const rowA = <usize>lda << 2;
  const rowC = <usize>ldc << 2;
  for (let i0 = 0; i0 < m; i0 += MC) {
  const i1 = min(m, i0 + MC);
  for (let jp = 0; jp < panels; jp++) {
    const j0 = jp * PANEL;
    const width = min(PANEL, n - j0);
    const panel = bp + (<usize>(jp * K * PANEL) << 2);
    for (let i = i0; i < i1; i += 3) {
      const rows = min(3, i1 - i);
      const a0 = a + <usize>i * rowA;
      const a1 = rows > 1 ? a0 + rowA : a0;
      const a2 = rows > 2 ? a0 + 2 * rowA : a1;
      const c0 = c + <usize>i * rowC + (<usize>j0 << 2);
      // the running totals (float32, 12 per row at tile) start as init
      if (width == PANEL) {
        for (let r = 0; r < 3; r++) {
          const t = tile + <usize>(r * 48);
          if (accumulate || bias != 0) {
            const src = accumulate ? c0 + <usize>min(r, rows - 1) * rowC : bias + (<usize>j0 << 2);
            v128.store(t, v128.load(src));
            v128.store(t, v128.load(src, 16), 16);
            v128.store(t, v128.load(src, 32), 32);
          } else {
            const zero = f32x4.splat(0);
            v128.store(t, zero);
            v128.store(t, zero, 16);
            v128.store(t, zero, 32);
          }
        }
      } else {
        // a partial panel: zeros past n
        memory.fill(tile, 0, 144);
        for (let r = 0; r < rows; r++) {
          const src = accumulate ? c0 + <usize>r * rowC : bias + (<usize>j0 << 2);
          if (accumulate || bias != 0) memory.copy(tile + <usize>(r * 48), src, <usize>width << 2);
        }
      }
      tileProducts(a0, a1, a2, 4, 4, 4, panel, K, tile, width);
      if (relu) {
        const zero = f32x4.splat(0);
        for (let v: usize = 0; v < 9; v++) v128.store(tile + (v << 4), f32x4.max(v128.load(tile + (v << 4)), zero));
      }
      if (width == PANEL) {
        for (let r = 0; r < rows; r++) {
          const t = tile + <usize>(r * 48), d = c0 + <usize>r * rowC;
          v128.store(d, v128.load(t));
          v128.store(d, v128.load(t, 16), 16);
          v128.store(d, v128.load(t, 32), 32);
        }
      } else {
        for (let r = 0; r < rows; r++) memory.copy(c0 + <usize>r * rowC, tile + <usize>(r * 48), <usize>width << 2);
      }
    }
  }
  }
}

// sums[r·ld + j] (+)= float64(totals of the tile) for r < rows, j < width (stored when `first`): a weight
// gradient's float64 running totals over its blocks of KC rows
@inline function addSums(t32: usize, sums: usize, ld: i32, rows: i32, width: i32, first: bool): void {
  const rowS = <usize>ld << 3;
  if (width == PANEL) {
    for (let r = 0; r < rows; r++) {
      const t = t32 + <usize>(r * 48), s = sums + <usize>r * rowS;
      for (let v: usize = 0; v < 6; v++) {
        const x = f64x2.promote_low_f32x4(v128.load64_zero(t + (v << 3)));
        v128.store(s + (v << 4), first ? x : f64x2.add(v128.load(s + (v << 4)), x));
      }
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < width; j++) {
      const x = <f64>load<f32>(t32 + <usize>(r * 48 + j * 4));
      const at = sums + <usize>r * rowS + (<usize>j << 3);
      store<f64>(at, first ? x : load<f64>(at) + x);
    }
  }
}

// ── activations ─────────────────────────────────────────────────────────────────────────────────────────────────

// The activations' constants, splat-loaded from a table in linear memory: V8 rebuilds a v128.const from immediates
// (three or four instructions) at every use inside a loop, a splat load from a constant address is one instruction
const ACT_F32: usize = memory.data<f32>([
  88.3762626647949, -87.3365447504, 1.44269504088896341, 12582912, 0.693359375, -2.12194440e-4, // exp: range
  1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1, // exp: poly
  1, -0.0088632355, 0.021869488, -0.053968254, 0.13333334, -0.33333334, 0.4, 4, // 1, tanh's polynomial, 0.4, 4
]);
const ACT_I32: usize = memory.data<i32>([127 - 0x4b400000, 0x80000000]);
// table entries (float32 first, then int32)
const EXP_HI = 0, EXP_LO = 1, LOG2E = 2, ROUND = 3, LN2_HI = 4, LN2_LO = 5;
const EXP_P0 = 6, EXP_P1 = 7, EXP_P2 = 8, EXP_P3 = 9, EXP_P4 = 10, EXP_P5 = 11;
const ONE = 12, TANH_P0 = 13, TANH_P1 = 14, TANH_P2 = 15, TANH_P3 = 16, TANH_P4 = 17, TANH_SMALL = 18, FOUR = 19;
const EXP_BIAS = 20, SIGN = 21;
@inline function kf(k: i32): v128 {
  return k < 20 ? v128.load32_splat(ACT_F32 + (<usize>k << 2)) : v128.load32_splat(ACT_I32 + (<usize>(k - 20) << 2));
}

// e^x for f32x4 (Cephes expf: range reduction by ln 2 in two parts, degree-5 polynomial, 2^n through the exponent
// bits), |relative error| ≲ 2 ulp on [−87.3, 88.4]; inputs are clamped to that range. The polynomials, the range
// reduction (here and in tanh) use madd/nmadd: one FMA each in the relaxed build (the plain build: the same
// multiply, then add)
//
// Cheap forms of the same arithmetic (bit-identical; wasm's f32x4.min/max/nearest/trunc_sat cost V8 several
// instructions each for their NaN and overflow rules): pmin/pmax clamp (a NaN stays NaN), and n = round(x·log2 e)
// by adding 1.5·2²³ (round to nearest even, as f32x4.nearest), its bits minus those of 1.5·2²³ being n itself
@inline function vexp(x0: v128): v128 {
  const x = f32x4.pmax(f32x4.pmin(x0, kf(EXP_HI)), kf(EXP_LO));
  const shifted = madd(x, kf(LOG2E), kf(ROUND));
  const fx = f32x4.sub(shifted, kf(ROUND));
  let r = nmadd(fx, kf(LN2_HI), x);
  r = nmadd(fx, kf(LN2_LO), r);
  const z = f32x4.mul(r, r);
  let y = kf(EXP_P0);
  y = madd(y, r, kf(EXP_P1));
  y = madd(y, r, kf(EXP_P2));
  y = madd(y, r, kf(EXP_P3));
  y = madd(y, r, kf(EXP_P4));
  y = madd(y, r, kf(EXP_P5));
  y = f32x4.add(madd(y, z, r), kf(ONE));
  // 2^n = (n + 127) << 23, n = bits(shifted) − bits(1.5·2²³)
  const scale = i32x4.shl(i32x4.add(shifted, kf(EXP_BIAS)), 23);
  return f32x4.mul(y, scale);
}

@inline function vsigmoid(x: v128): v128 {
  return vsigmoidKeep(x, 0, false);
}

// σ(x) = 1/(1 + e^{−x}); with `keep` also stores 1 − σ(x) = e^{−x}/(1 + e^{−x}) at `comp`, exact where σ ≈ 1 (1 − σ
// computed from the rounded σ would cancel there, and BPTT multiplies by it)
@inline function vsigmoidKeep(x: v128, comp: usize, keep: bool): v128 {
  const one = kf(ONE);
  const e = vexp(f32x4.neg(x));
  const q = f32x4.div(one, f32x4.add(one, e));
  if (keep) v128.store(comp, f32x4.mul(e, q));
  return q;
}

// tanh: an odd Taylor polynomial below |x| = 0.4 (where 1 − 2/(e^{2x} + 1) would cancel), the exp form above.
// With `keep`, also stores 1 − tanh² = 4e/(e + 1)² at `sech2`: computed as 1 − n·n it would cancel where n ≈ ±1,
// and BPTT's dL/da_n (and the fixtures' Adam steps on the tiniest W_hn gradients) inherit that error
@inline function vtanhKeep(x: v128, sech2: usize, keep: bool): v128 {
  const one = kf(ONE);
  const ax = f32x4.abs(x);
  const e = vexp(f32x4.add(ax, ax));
  const q = f32x4.div(one, f32x4.add(e, one));
  let big = f32x4.sub(one, f32x4.add(q, q));
  big = v128.or(big, v128.and(x, kf(SIGN))); // copy the sign of x
  const x2 = f32x4.mul(x, x);
  let p = kf(TANH_P0);
  p = madd(p, x2, kf(TANH_P1));
  p = madd(p, x2, kf(TANH_P2));
  p = madd(p, x2, kf(TANH_P3));
  p = madd(p, x2, kf(TANH_P4));
  const small = madd(f32x4.mul(p, x2), x, x);
  const isSmall = f32x4.lt(ax, kf(TANH_SMALL));
  const t = v128.bitselect(small, big, isSmall);
  if (keep) {
    // (e·q)·(4q): 4e alone overflows near the clamp of vexp
    const s2 = f32x4.mul(f32x4.mul(e, q), f32x4.mul(kf(FOUR), q));
    v128.store(sech2, v128.bitselect(nmadd(small, small, one), s2, isSmall));
  }
  return t;
}

@inline function vtanh(x: v128): v128 {
  return vtanhKeep(x, 0, false);
}

/** exported for the tests: dst[i] = e^src[i] / σ(src[i]) / tanh(src[i]) for kind 0 / 1 / 2 (n a multiple of 4) */
export function activation(kind: i32, src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) {
    const x = v128.load(f32At(src, i));
    v128.store(f32At(dst, i), kind == 0 ? vexp(x) : kind == 1 ? vsigmoid(x) : vtanh(x));
  }
}

/**
 * dst[r, :n] = bias + 0 (ReLU applied when `relu`) for r < rows: what gemm / gemmRelu give for A = 0 (the sum of
 * the zero products is +0, which turns a −0 bias into +0)
 */
function biasRows(bias: usize, n: i32, dst: usize, rows: i32, relu: bool): void {
  const zero = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    const d = f32At(dst, r * n);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const v = f32x4.add(v128.load(f32At(bias, i)), zero);
      v128.store(f32At(d, i), relu ? f32x4.max(v, zero) : v);
    }
    for (; i < n; i++) {
      const v = f32x4.add(f32x4.splat(load<f32>(f32At(bias, i))), zero);
      store<f32>(f32At(d, i), f32x4.extract_lane(relu ? f32x4.max(v, zero) : v, 0));
    }
  }
}

/** Σ a[i]·b[i] over n floats: four lanes summed in a fixed order, then the tail */
@inline function dot(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) acc = madd(v128.load(f32At(a, i)), v128.load(f32At(b, i)), acc);
  let s: f32 = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) +
    (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; i < n; i++) s += load<f32>(f32At(a, i)) * load<f32>(f32At(b, i));
  return s;
}

// ── weight packing (once per parameter version, one thread) ─────────────────────────────────────────────────────

export function packWeights(ctx: usize): void {
  const H = ctxI(ctx, CTX_H), M = ctxI(ctx, CTX_M), F = ctxI(ctx, CTX_F);
  const p = ctxP(ctx, CTX_PARAMS);
  const whh = f32At(p, offWhh(H, F));
  packB(whh, 1, H, H, 3 * H, ctxP(ctx, CTX_WHH_T)); // B[k, j] = W_hh[j, k]
  packB(whh, H, 1, 3 * H, H, ctxP(ctx, CTX_WHH_N)); // B[k, j] = W_hh[k, j]
  packB(f32At(p, offW1(H, F)), 1, H, H, M, ctxP(ctx, CTX_W1_T));
  packB(f32At(p, offW2(H, M, F)), 1, M, M, M, ctxP(ctx, CTX_W2_T));
  packB(f32At(p, offW3(H, M, F)), 1, M, M, M, ctxP(ctx, CTX_W3_T));
  packB(f32At(p, offW1(H, F)), H, 1, M, H, ctxP(ctx, CTX_W1_N));
  packB(f32At(p, offW2(H, M, F)), M, 1, M, M, ctxP(ctx, CTX_W2_N));
  packB(f32At(p, offW3(H, M, F)), M, 1, M, M, ctxP(ctx, CTX_W3_N));
  const wih = f32At(p, 0);
  const wihT = ctxP(ctx, CTX_WIH_T);
  for (let f = 0; f < F; f++) {
    for (let j = 0; j < 3 * H; j++) store<f32>(f32At(wihT, f * 3 * H + j), load<f32>(f32At(wih, j * F + f)));
  }
}

/**
 * Floats between the rows of h in the training activations: H rounded up to an odd number of 64-byte lines. The
 * weight gradients read columns of h down its rows; rows a power-of-two multiple of 64 bytes apart (H = 256: 1 KB)
 * all fall into the same few sets of the L1 cache and evict each other, an odd number of lines spreads them.
 */
export function hiddenStride(H: i32): i32 {
  const lines = (H + 15) / 16;
  return ((lines & 1) != 0 ? lines : lines + 1) * 16;
}

// ── per-thread scratch ──────────────────────────────────────────────────────────────────────────────────────────

@inline function align4(n: i32): i32 {
  return (n + 3) & ~3;
}

// floats of each scratch area for `rows` sequences; the forward/backward and weight-gradient areas overlap
@inline function recurrentFloats(rows: i32, H: i32, M: i32): i32 {
  // forward: sa1, sa2, sa3 (M), gh (3H), h ping-pong (2·H); BPTT: gacc (H), df (M), dgs (4H)
  const forward = align4(rows * M) * 3 + align4(rows * 3 * H) + align4(rows * H) * 2;
  return max(forward, align4(rows * H) + align4(rows * M) + rows * 4 * H);
}
@inline function gradFloats(H: i32, M: i32, F: i32): i32 {
  const widest = max(H + F, M) + 1;
  // packed panels of dY, float64 totals
  return packedFloats(KC, gradColumns(H, M)) + 2 * gradColumns(H, M) * widest;
}

/** bytes of scratch one thread needs for chunks of up to `rows` sequences per thread (plus the sgemm tile) */
export function scratchBytes(rows: i32, H: i32, M: i32, F: i32): i32 {
  return (max(recurrentFloats(rows, H, M), gradFloats(H, M, F)) << 2) + <i32>TILE_BYTES;
}

// ── forward and BPTT over a range of sequences ──────────────────────────────────────────────────────────────────

/**
 * Sequences in the work item of forwardBackward that starts with `rest` sequences left: a guided schedule, each item
 * about half of what is left per thread, so that the last items are small and a thread slowed down by a busy core
 * (or one that finishes early) leaves the other little to wait for at the end (the results do not depend on the
 * split: every sequence is computed on its own); a multiple of 3, the sgemm's tile height (a last partial tile
 * computes rows it throws away), at least 6.
 */
@inline function itemRows(rest: i32, threads: i32): i32 {
  if (threads == 1) return rest;
  return min(rest, max(6, ((rest + 2 * threads - 1) / (2 * threads) + 2) / 3 * 3));
}

/** the largest work item of forwardBackward (the first): the rows each thread's scratch must hold */
export function sequenceItemRows(B: i32, threads: i32): i32 {
  return itemRows(B, threads);
}

/** the next item of the running phase, or −1 when all are taken */
@inline function nextItem(ctx: usize, items: i32): i32 {
  const item = atomic.add<i32>(ctx + (<usize>CTX_WORK << 2), 1);
  return item < items ? item : -1;
}

export function forwardBackward(ctx: usize, thread: i32, threads: i32): void {
  const B = ctxI(ctx, CTX_B);
  const scratch = ctxP(ctx, CTX_SCRATCH) + <usize>thread * <usize>ctxI(ctx, CTX_SCRATCH_BYTES);
  let items = 0;
  for (let b = 0; b < B; b += itemRows(B - b, threads)) items++;
  for (let item = nextItem(ctx, items); item >= 0; item = nextItem(ctx, items)) {
    let b0 = 0;
    for (let i = 0; i < item; i++) b0 += itemRows(B - b0, threads);
    const b1 = b0 + itemRows(B - b0, threads);
    forward(ctx, b0, b1, scratch);
    if (ctxI(ctx, CTX_TRAIN) != 0) backward(ctx, b0, b1, scratch);
  }
}

function forward(ctx: usize, b0: i32, b1: i32, scratch: usize): void {
  const B = ctxI(ctx, CTX_B), T = ctxI(ctx, CTX_T), H = ctxI(ctx, CTX_H), M = ctxI(ctx, CTX_M), F = ctxI(ctx, CTX_F);
  const train = ctxI(ctx, CTX_TRAIN) != 0;
  const nb = b1 - b0;
  const G = 3 * H;
  const p = ctxP(ctx, CTX_PARAMS);
  const x = ctxP(ctx, CTX_X), hAll = ctxP(ctx, CTX_H_ALL), u = ctxP(ctx, CTX_U), gates = ctxP(ctx, CTX_GATES);
  const mu = ctxP(ctx, CTX_MU), lv = ctxP(ctx, CTX_LV), nll = ctxP(ctx, CTX_NLL), dout = ctxP(ctx, CTX_DOUT);
  const whhT = ctxP(ctx, CTX_WHH_T), wihT = ctxP(ctx, CTX_WIH_T);
  const w1T = ctxP(ctx, CTX_W1_T), w2T = ctxP(ctx, CTX_W2_T), w3T = ctxP(ctx, CTX_W3_T);
  const bih = f32At(p, offBih(H, F)), bhh = f32At(p, offBhh(H, F));
  const b1p = f32At(p, offB1(H, M, F)), b2p = f32At(p, offB2(H, M, F)), b3p = f32At(p, offB3(H, M, F));
  const wm = f32At(p, offWm(H, M, F)), wl = f32At(p, offWl(H, M, F));
  const bm = load<f32>(f32At(p, offBm(H, M, F))), bl = load<f32>(f32At(p, offBl(H, M, F)));
  // scratch
  const tile = scratch;
  const sa1 = scratch + TILE_BYTES;
  const sa2 = f32At(sa1, align4(nb * M));
  const sa3 = f32At(sa2, align4(nb * M));
  const gh = f32At(sa3, align4(nb * M));
  const hb0 = f32At(gh, align4(nb * G));
  const hb1 = f32At(hb0, align4(nb * H));

  const ldh = train ? hiddenStride(H) : H; // row stride of h
  const h0 = train ? f32At(hAll, b0 * ldh) : hb0;
  memory.fill(h0, 0, <usize>(nb * ldh) << 2);
  for (let b = b0; b < b1; b++) store<f64>(nll + (<usize>b << 3), 0);
  for (let k = 0; k <= T; k++) {
    // training decodes h_0 … h_{T−1}; the forecast of the unseen step T is for forecasts only
    if (train && k == T) break;
    const hk = train ? f32At(hAll, (k * B + b0) * ldh) : ((k & 1) != 0 ? hb1 : hb0);
    // decoder on h_k: 3 × (Linear + ReLU), then the two heads
    const a1 = train ? f32At(ctxP(ctx, CTX_A1), (k * B + b0) * M) : sa1;
    const a2 = train ? f32At(ctxP(ctx, CTX_A2), (k * B + b0) * M) : sa2;
    const a3 = train ? f32At(ctxP(ctx, CTX_A3), (k * B + b0) * M) : sa3;
    // h_0 = 0: its products are exact zeros, the layer is its bias
    if (k == 0) biasRows(b1p, M, a1, nb, true);
    else gemmRelu(hk, ldh, w1T, H, a1, M, nb, M, b1p, tile);
    gemmRelu(a1, M, w2T, M, a2, M, nb, M, b2p, tile);
    gemmRelu(a2, M, w3T, M, a3, M, nb, M, b3p, tile);
    for (let r = 0; r < nb; r++) {
      const f3 = f32At(a3, r * M);
      store<f32>(f32At(mu, k * B + b0 + r), dot(f3, wm, M) + bm);
      store<f32>(f32At(lv, k * B + b0 + r), dot(f3, wl, M) + bl);
    }
    if (k == T) break;

    // Gaussian NLL of x_k (float64), its gradient, and the input fed to the GRU (μ_k where x_k is missing)
    for (let b = b0; b < b1; b++) {
      const row = k * B + b;
      const xv = load<f32>(f32At(x, (b * T + k) * F));
      const m_ = load<f32>(f32At(mu, row)), l_ = load<f32>(f32At(lv, row));
      const fed = xv == xv;
      let dm: f64 = 0, dl: f64 = 0;
      if (fed) {
        const d = <f64>xv - <f64>m_;
        const e = Math.exp(-<f64>l_);
        const q = d * d * e;
        store<f64>(nll + (<usize>b << 3), load<f64>(nll + (<usize>b << 3)) + 0.5 * (LOG_2PI + <f64>l_ + q));
        dm = -d * e;
        dl = 0.5 * (1 - q);
      }
      if (train) {
        store<f32>(f32At(dout, 2 * row), <f32>dm);
        store<f32>(f32At(dout, 2 * row + 1), <f32>dl);
      }
      store<f32>(f32At(u, row * F), fed ? xv : m_);
      for (let f = 1; f < F; f++) {
        const v = load<f32>(f32At(x, (b * T + k) * F + f));
        store<f32>(f32At(u, row * F + f), v == v ? v : 0);
      }
    }

    // GRU step: gh = h_k W_hhᵀ + b_hh, then the gates (r | z | n as PyTorch) and h_{k+1}
    if (k == 0) biasRows(bhh, G, gh, nb, false);
    else gemm(hk, ldh, whhT, H, gh, G, nb, G, bhh, false, tile);
    const hn = train ? f32At(hAll, ((k + 1) * B + b0) * ldh) : ((k & 1) != 0 ? hb0 : hb1);
    for (let r = 0; r < nb; r++) {
      const row = k * B + b0 + r;
      const ur = f32At(u, row * F);
      const ghr = f32At(gh, r * G);
      const hprev = f32At(hk, r * ldh), hnext = f32At(hn, r * ldh);
      const gt = f32At(gates, row * 6 * H);
      // two passes: r and z (independent chains), then n and h' (a chain through r): one pass with all three is
      // one long chain of exp → division → exp per vector, too long for the core to overlap iterations
      const rz = train ? gt : ghr; // where r and z are kept for the second pass
      const full = H & ~3;
      for (let i = 0; i < full; i += 4) {
        let ir = v128.load(f32At(bih, i)), iz = v128.load(f32At(bih, H + i));
        for (let f = 0; f < F; f++) {
          const uf = v128.load32_splat(f32At(ur, f));
          const w = f32At(wihT, f * G + i);
          ir = madd(v128.load(w), uf, ir);
          iz = madd(v128.load(f32At(w, H)), uf, iz);
        }
        v128.store(f32At(rz, i), vsigmoid(f32x4.add(ir, v128.load(f32At(ghr, i)))));
        const zg = vsigmoidKeep(f32x4.add(iz, v128.load(f32At(ghr, H + i))), f32At(gt, 5 * H + i), train);
        v128.store(f32At(rz, H + i), zg);
      }
      for (let i = 0; i < full; i += 4) {
        let inn = v128.load(f32At(bih, 2 * H + i));
        for (let f = 0; f < F; f++) {
          inn = madd(v128.load(f32At(wihT, f * G + 2 * H + i)), v128.load32_splat(f32At(ur, f)), inn);
        }
        const rg = v128.load(f32At(rz, i)), zg = v128.load(f32At(rz, H + i));
        const hnn = v128.load(f32At(ghr, 2 * H + i));
        const ng = vtanhKeep(f32x4.add(inn, f32x4.mul(rg, hnn)), f32At(gt, 4 * H + i), train);
        const hp = v128.load(f32At(hprev, i));
        // PyTorch's form: h' = (h − n)·z + n
        v128.store(f32At(hnext, i), f32x4.add(f32x4.mul(f32x4.sub(hp, ng), zg), ng));
        if (train) {
          v128.store(f32At(gt, 2 * H + i), ng);
          v128.store(f32At(gt, 3 * H + i), hnn);
        }
      }
      let i = full;
      for (; i < H; i++) {
        // the tail lane by lane through the same vector formulas (lane 0)
        let ir = load<f32>(f32At(bih, i)), iz = load<f32>(f32At(bih, H + i)), inn = load<f32>(f32At(bih, 2 * H + i));
        for (let f = 0; f < F; f++) {
          const uf = load<f32>(f32At(ur, f));
          const w = f32At(wihT, f * G + i);
          ir = f32x4.extract_lane(madd(f32x4.splat(load<f32>(w)), f32x4.splat(uf), f32x4.splat(ir)), 0);
          iz = f32x4.extract_lane(madd(f32x4.splat(load<f32>(f32At(w, H))), f32x4.splat(uf), f32x4.splat(iz)), 0);
          inn = f32x4.extract_lane(madd(f32x4.splat(load<f32>(f32At(w, 2 * H))), f32x4.splat(uf), f32x4.splat(inn)), 0);
        }
        const rg = f32x4.extract_lane(vsigmoid(f32x4.splat(ir + load<f32>(f32At(ghr, i)))), 0);
        const zg = f32x4.extract_lane(vsigmoidKeep(f32x4.splat(iz + load<f32>(f32At(ghr, H + i))), tile, train), 0);
        if (train) store<f32>(f32At(gt, 5 * H + i), load<f32>(tile));
        const hnn = load<f32>(f32At(ghr, 2 * H + i));
        const ng = f32x4.extract_lane(vtanhKeep(f32x4.splat(inn + rg * hnn), tile, train), 0);
        if (train) store<f32>(f32At(gt, 4 * H + i), load<f32>(tile));
        store<f32>(f32At(hnext, i), (load<f32>(f32At(hprev, i)) - ng) * zg + ng);
        if (train) {
          store<f32>(f32At(gt, i), rg);
          store<f32>(f32At(gt, H + i), zg);
          store<f32>(f32At(gt, 2 * H + i), ng);
          store<f32>(f32At(gt, 3 * H + i), hnn);
        }
      }
    }
  }
}

/** decoder backward at step j for the thread's rows: da3, da2, da1 (stored), and dh += da1 W1 when `gacc` ≠ 0 */
function decoderBackward(ctx: usize, j: i32, b0: i32, nb: i32, gacc: usize, df: usize, tile: usize): void {
  const B = ctxI(ctx, CTX_B), H = ctxI(ctx, CTX_H), M = ctxI(ctx, CTX_M), F = ctxI(ctx, CTX_F);
  const p = ctxP(ctx, CTX_PARAMS);
  const wm = f32At(p, offWm(H, M, F)), wl = f32At(p, offWl(H, M, F));
  const row0 = j * B + b0;
  const a1 = f32At(ctxP(ctx, CTX_A1), row0 * M), a2 = f32At(ctxP(ctx, CTX_A2), row0 * M);
  const a3 = f32At(ctxP(ctx, CTX_A3), row0 * M);
  const da1 = f32At(ctxP(ctx, CTX_DA1), row0 * M), da2 = f32At(ctxP(ctx, CTX_DA2), row0 * M);
  const da3 = f32At(ctxP(ctx, CTX_DA3), row0 * M);
  const dout = f32At(ctxP(ctx, CTX_DOUT), row0 * 2);
  const zero = f32x4.splat(0);
  for (let r = 0; r < nb; r++) {
    const dm = load<f32>(f32At(dout, 2 * r)), dl = load<f32>(f32At(dout, 2 * r + 1));
    const vm = f32x4.splat(dm), vl = f32x4.splat(dl);
    const ar = f32At(a3, r * M), dr = f32At(da3, r * M);
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      const g = madd(vl, v128.load(f32At(wl, i)), f32x4.mul(vm, v128.load(f32At(wm, i))));
      v128.store(f32At(dr, i), v128.and(g, f32x4.gt(v128.load(f32At(ar, i)), zero)));
    }
    for (; i < M; i++) {
      const g = f32x4.extract_lane(madd(vl, f32x4.splat(load<f32>(f32At(wl, i))),
        f32x4.mul(vm, f32x4.splat(load<f32>(f32At(wm, i))))), 0);
      store<f32>(f32At(dr, i), load<f32>(f32At(ar, i)) > 0 ? g : 0);
    }
  }
  // ReLU'(a) = a > 0, as torch's threshold_backward
  gemm(da3, M, ctxP(ctx, CTX_W3_N), M, df, M, nb, M, 0, false, tile);
  reluMask(df, a2, da2, nb * M);
  gemm(da2, M, ctxP(ctx, CTX_W2_N), M, df, M, nb, M, 0, false, tile);
  reluMask(df, a1, da1, nb * M);
  if (gacc != 0) gemm(da1, M, ctxP(ctx, CTX_W1_N), M, gacc, H, nb, H, 0, true, tile);
}

@inline function reluMask(g: usize, a: usize, dst: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    v128.store(f32At(dst, i), v128.and(v128.load(f32At(g, i)), f32x4.gt(v128.load(f32At(a, i)), zero)));
  }
  for (; i < n; i++) store<f32>(f32At(dst, i), load<f32>(f32At(a, i)) > 0 ? load<f32>(f32At(g, i)) : 0);
}

// ── the gate gradients in panels ────────────────────────────────────────────────────────────────────────────
//
// The weight gradients read dY = the gate gradients as the packed right-hand side of the register tile, KC rows at a
// time. Rows k·B + b lie in blocks of KC rows; a block holds the panels of 12 columns of dar | daz | dhn (3H
// columns, gatePanels3) and then those of dan (H columns), each panel [KC][12], zeros past a part's last column.
// BPTT writes each step's rows there (from L1, four rows per panel visit: whole cache lines), so the weight
// gradients need no pass over a 4H-wide array whose rows lie 4 KB apart.

@inline function gatePanels3(H: i32): i32 {
  return (3 * H + PANEL - 1) / PANEL;
}
@inline function gatePanels(H: i32): i32 {
  return gatePanels3(H) + (H + PANEL - 1) / PANEL;
}

/** floats of the gate-gradient panels for R rows (whole blocks of KC rows) */
export function gatePanelFloats(R: i32, H: i32): i32 {
  return (R + KC - 1) / KC * KC * gatePanels(H) * PANEL;
}

// rows [row0, row0 + rows) of the gate gradients from src ([rows, 4H] row-major) into the panels at dst
function scatterGatePanels(src: usize, rows: i32, row0: i32, H: i32, dst: usize): void {
  const P = gatePanels(H), P3 = gatePanels3(H);
  const panelBytes = <usize>(KC * PANEL) << 2;
  for (let r0 = 0; r0 < rows; ) {
    // a run of rows inside one block
    const row = row0 + r0;
    const n = min(rows - r0, KC - row % KC);
    const at = dst + (<usize>(row / KC) * <usize>P * panelBytes) + (<usize>(row % KC) * 48);
    const s = f32At(src, r0 * 4 * H);
    scatterPanels(s, 4 * H, 3 * H, n, at, panelBytes);
    scatterPanels(f32At(s, 3 * H), 4 * H, H, n, at + <usize>P3 * panelBytes, panelBytes);
    r0 += n;
  }
}

// columns [0, N) of n rows of src (row stride ld floats) into consecutive rows of the panels at dst (panelBytes
// apart), zeros past N; four rows per panel visit
@inline function scatterPanels(src: usize, ld: i32, N: i32, n: i32, dst: usize, panelBytes: usize): void {
  const full = N / PANEL;
  const panels = (N + PANEL - 1) / PANEL;
  for (let q0 = 0; q0 < n; q0 += 4) {
    const qn = min(4, n - q0);
    for (let jp = 0; jp < panels; jp++) {
      let d = dst + <usize>jp * panelBytes + (<usize>q0 * 48);
      let sq = f32At(src, q0 * ld + jp * PANEL);
      for (let q = 0; q < qn; q++) {
        if (jp < full) {
          v128.store(d, v128.load(sq));
          v128.store(d, v128.load(sq, 16), 16);
          v128.store(d, v128.load(sq, 32), 32);
        } else {
          for (let jj = 0; jj < PANEL; jj++) {
            store<f32>(d + (<usize>jj << 2), jp * PANEL + jj < N ? load<f32>(f32At(sq, jj)) : 0);
          }
        }
        d += 48;
        sq += <usize>ld << 2;
      }
    }
  }
}

function backward(ctx: usize, b0: i32, b1: i32, scratch: usize): void {
  const B = ctxI(ctx, CTX_B), T = ctxI(ctx, CTX_T), H = ctxI(ctx, CTX_H), M = ctxI(ctx, CTX_M);
  const nb = b1 - b0;
  const G = 3 * H;
  const hAll = ctxP(ctx, CTX_H_ALL), gates = ctxP(ctx, CTX_GATES), dgate = ctxP(ctx, CTX_DGATE);
  const whhN = ctxP(ctx, CTX_WHH_N);
  const ldh = hiddenStride(H);
  const tile = scratch;
  const gacc = scratch + TILE_BYTES; // dL/dh_{k+1}, [nb, H]
  const df = f32At(gacc, align4(nb * H));
  const dgs = f32At(df, align4(nb * M)); // this step's [nb, 4H] gate gradients, row-major (BPTT's sgemm reads them)
  memory.fill(gacc, 0, <usize>(nb * H) << 2);
  const one = f32x4.splat(1);
  for (let k = T - 1; k >= 0; k--) {
    if (k + 1 < T) decoderBackward(ctx, k + 1, b0, nb, gacc, df, tile);
    // GRU step k: h_{k+1} = (1 − z) n + z h_k; gacc becomes the direct term z·dh, then += dgh W_hh
    for (let r = 0; r < nb; r++) {
      const row = k * B + b0 + r;
      const gt = f32At(gates, row * 6 * H), dg = f32At(dgs, r * 4 * H);
      const hp = f32At(hAll, row * ldh), ga = f32At(gacc, r * H);
      let i = 0;
      for (; i + 4 <= H; i += 4) {
        const g = v128.load(f32At(ga, i));
        const rg = v128.load(f32At(gt, i)), zg = v128.load(f32At(gt, H + i));
        const ng = v128.load(f32At(gt, 2 * H + i)), hn = v128.load(f32At(gt, 3 * H + i));
        const zc = v128.load(f32At(gt, 5 * H + i));
        const dn = f32x4.mul(g, zc);
        const dz = f32x4.mul(g, f32x4.sub(v128.load(f32At(hp, i)), ng));
        const dan = f32x4.mul(dn, v128.load(f32At(gt, 4 * H + i)));
        const dr = f32x4.mul(dan, hn);
        v128.store(f32At(dg, i), f32x4.mul(dr, f32x4.mul(rg, f32x4.sub(one, rg))));
        v128.store(f32At(dg, H + i), f32x4.mul(dz, f32x4.mul(zg, zc)));
        v128.store(f32At(dg, 2 * H + i), f32x4.mul(dan, rg));
        v128.store(f32At(dg, 3 * H + i), dan);
        v128.store(f32At(ga, i), f32x4.mul(g, zg));
      }
      for (; i < H; i++) {
        const g = load<f32>(f32At(ga, i));
        const rg = load<f32>(f32At(gt, i)), zg = load<f32>(f32At(gt, H + i));
        const ng = load<f32>(f32At(gt, 2 * H + i)), hn = load<f32>(f32At(gt, 3 * H + i));
        const zc = load<f32>(f32At(gt, 5 * H + i));
        const dn = g * zc;
        const dz = g * (load<f32>(f32At(hp, i)) - ng);
        const dan = dn * load<f32>(f32At(gt, 4 * H + i));
        const dr = dan * hn;
        store<f32>(f32At(dg, i), dr * (rg * (1 - rg)));
        store<f32>(f32At(dg, H + i), dz * (zg * zc));
        store<f32>(f32At(dg, 2 * H + i), dan * rg);
        store<f32>(f32At(dg, 3 * H + i), dan);
        store<f32>(f32At(ga, i), g * zg);
      }
    }
    // the weight gradients read them in panels: written there once, from L1 (see gatePanels)
    scatterGatePanels(dgs, nb, k * B + b0, H, dgate);
    // dL/dh_0 is not needed (h_0 = 0 is no parameter)
    if (k > 0) gemm(dgs, 4 * H, whhN, G, gacc, H, nb, H, 0, true, tile);
  }
  // the prior (prediction 0, from h_0 = 0): parameter gradients only
  decoderBackward(ctx, 0, b0, nb, 0, df, tile);
}

// ── weight gradients: every thread a slice of the rows of every matrix ─────────────────────────────────────────

/**
 * For output rows j in [j0, j1): dW[j, c] = Σ_r dY[r, j] · X[r, c] over the R = T·B rows, r in order, where the
 * columns c of X are X1 [R, N1], X2 [R, N2] (N2 may be 0) and a column of ones (the bias). The X1 part goes to
 * wOut[j, :N1] (row stride ldw), the ones column to bOut[j·bStride]; rows j < limit2 also send the X2 part to
 * wOut2[j, :N2] and the bias to bOut2[j] (the GRU's input weights share the gates' rows). The first `zeroRows`
 * rows of X1 are zeros (h_0). Added to what is there when the context says so (later chunks).
 *
 * Computed transposed, C[c, j] = Xᵀ dY: a tile's three rows are three columns of X read where they lie (stride: a
 * row of X; the ones column: a constant 1 with stride 0) and dY's columns are copied into panels, KC rows at a time
 * (panel0 < 0; dY [R, ldy] row-major), or read from the gate gradients' panels (panel0 ≥ 0: column j0 is the
 * first of panel panel0 of each block). So nothing is transposed, X is never copied, and an item packs only its own
 * columns of dY. Each block of KC rows
 * is summed in float32 by the register tile, the blocks in float64: tiny gradient entries that are sums of large
 * cancelling terms keep their accuracy (Adam divides them by |g| + 1e-8).
 */
function weightGrad(ctx: usize, j0: i32, j1: i32, scratch: usize, dy: usize, ldy: i32, panel0: i32,
  x1: usize, N1: i32, ld1: i32, zeroRows: i32, x2: usize, N2: i32,
  wOut: usize, ldw: i32, bOut: usize, bStride: i32, limit2: i32, wOut2: usize, bOut2: usize): void {
  const R = ctxI(ctx, CTX_T) * ctxI(ctx, CTX_B);
  const accumulate = ctxI(ctx, CTX_ACCUMULATE) != 0;
  const H = ctxI(ctx, CTX_H), M = ctxI(ctx, CTX_M);
  const J = j1 - j0;
  const C = N1 + N2 + 1;
  const panels = (J + PANEL - 1) / PANEL;
  const tile = scratch;
  const bp = scratch + TILE_BYTES;
  const c64 = f32At(bp, packedFloats(KC, gradColumns(H, M))); // 16-byte aligned: bp is, panels are whole vectors
  const zero = f32x4.splat(0);
  for (let r0 = 0; r0 < R; r0 += KC) {
    const kc = min(KC, R - r0);
    // dY's panels: the gate gradients' own (panel0 ≥ 0: dy is their array, see gatePanels), else packed here
    let panelBytes = <usize>(kc * PANEL) << 2;
    let panelAt = bp;
    if (panel0 >= 0) {
      panelBytes = <usize>(KC * PANEL) << 2;
      panelAt = dy + (<usize>(r0 / KC) * <usize>gatePanels(H) + <usize>panel0) * panelBytes;
    } else {
      packB(f32At(dy, r0 * ldy + j0), ldy, 1, kc, J, bp);
    }
    // a block of columns of X at a time, its cache lines reused by every panel
    for (let c0 = 0; c0 < C; c0 += MCW) {
      const c1 = min(C, c0 + MCW);
      for (let jp = 0; jp < panels; jp++) {
        const width = min(PANEL, J - jp * PANEL);
        const panel = panelAt + <usize>jp * panelBytes;
        for (let c = c0; c < c1; c += 3) {
          const rows = min(3, c1 - c);
          // rows past the block repeat its last column (computed, not stored)
          const cA = c, cB = rows > 1 ? c + 1 : c, cC = rows > 2 ? c + 2 : cB;
          for (let v: usize = 0; v < 9; v++) v128.store(tile + (v << 4), zero);
          // rows of X1 = h_0 = 0 add exact zeros: skipped (the tile's three columns all in X1)
          const skip = cC < N1 && r0 < zeroRows ? min(kc, zeroRows - r0) : 0;
          const ra = r0 + skip;
          if (skip < kc) {
            tileProducts(columnOf(cA, ra, x1, N1, ld1, x2, N2), columnOf(cB, ra, x1, N1, ld1, x2, N2),
              columnOf(cC, ra, x1, N1, ld1, x2, N2), strideOf(cA, N1, ld1, N2), strideOf(cB, N1, ld1, N2),
              strideOf(cC, N1, ld1, N2),
              panel + <usize>skip * 48, kc - skip, tile, width);
          }
          addSums(tile, c64 + ((<usize>c * <usize>J + <usize>(jp * PANEL)) << 3), J, rows, width, r0 == 0);
        }
      }
    }
  }
  for (let c = 0; c < C; c++) {
    const cr = c64 + (<usize>(c * J) << 3);
    if (c < N1) {
      storeGradColumn(f32At(wOut, j0 * ldw + c), ldw, cr, J, accumulate);
    } else if (c < N1 + N2) {
      const n2 = min(J, limit2 - j0);
      if (n2 > 0) storeGradColumn(f32At(wOut2, j0 * N2 + c - N1), N2, cr, n2, accumulate);
    } else {
      storeGradColumn(f32At(bOut, j0 * bStride), bStride, cr, J, accumulate);
      const n2 = min(J, limit2 - j0);
      if (n2 > 0) storeGradColumn(f32At(bOut2, j0), 1, cr, n2, accumulate);
    }
  }
}

// columns of a weight gradient block per pass over dY's panels: 96 floats of each row of X (6 cache lines)
const MCW: i32 = 96;
// the most columns of dY in one item of weightGrads (W_hh's 3H with one thread): the scratch holds its panels
@inline function gradColumns(H: i32, M: i32): i32 {
  return max(3 * H, M);
}

// column c of [X1 | X2 | 1] at row r0 (X1's rows ld1 floats apart, X2's N2), and its stride in bytes (the ones
// column: the constant 1, stride 0)
@inline function columnOf(c: i32, r0: i32, x1: usize, N1: i32, ld1: i32, x2: usize, N2: i32): usize {
  if (c < N1) return f32At(x1, r0 * ld1 + c);
  if (c < N1 + N2) return f32At(x2, r0 * N2 + c - N1);
  return ACT_F32 + (<usize>ONE << 2);
}
@inline function strideOf(c: i32, N1: i32, ld1: i32, N2: i32): usize {
  return c < N1 ? <usize>ld1 << 2 : c < N1 + N2 ? <usize>N2 << 2 : 0;
}

// dst[i·stride] (+)= float32(src[i]) for n float64 sums
@inline function storeGradColumn(dst: usize, stride: i32, src: usize, n: i32, accumulate: bool): void {
  for (let i = 0; i < n; i++) {
    const v = <f32>load<f64>(src + (<usize>i << 3));
    const at = f32At(dst, i * stride);
    store<f32>(at, accumulate ? load<f32>(at) + v : v);
  }
}

// rows of weight matrix `w` in weightGrads' order (largest first): W_hh (and W_ih's r, z rows), W1, W2, W3, W_ih's n
// rows, heads
@inline function matrixRows(w: i32, H: i32, M: i32): i32 {
  return w == 0 ? 3 * H : w < 4 ? M : w == 4 ? H : 2;
}

// output rows per work item of weightGrads, whole panels of dY (12 rows): W_hh (w = 0, 3H rows: most of the work)
// about a third of a thread's share, the decoder's matrices in quarters (so the phase ends with small items), the
// small ones (K ≤ F + 1 or two rows) whole
@inline function gradItemRows(w: i32, rows: i32, threads: i32): i32 {
  if (threads == 1 || w > 3) return rows;
  if (w == 0) return max(12, ((rows + 3 * threads - 1) / (3 * threads) + 11) / 12 * 12);
  return max(12, ((rows + 3) / 4 + 11) / 12 * 12);
}

export function weightGrads(ctx: usize, thread: i32, threads: i32): void {
  const B = ctxI(ctx, CTX_B), H = ctxI(ctx, CTX_H), M = ctxI(ctx, CTX_M), F = ctxI(ctx, CTX_F);
  const scratch = ctxP(ctx, CTX_SCRATCH) + <usize>thread * <usize>ctxI(ctx, CTX_SCRATCH_BYTES);
  const g = ctxP(ctx, CTX_GRAD);
  const dgate = ctxP(ctx, CTX_DGATE), hAll = ctxP(ctx, CTX_H_ALL);
  const u = ctxP(ctx, CTX_U);
  const wih = f32At(g, 0), bih = f32At(g, offBih(H, F));
  let items = 0;
  for (let w = 0; w < 6; w++) {
    const rows = matrixRows(w, H, M);
    const per = gradItemRows(w, rows, threads);
    items += (rows + per - 1) / per;
  }
  for (let item = nextItem(ctx, items); item >= 0; item = nextItem(ctx, items)) {
    // which matrix, which rows
    let w = 0, rest = item, per = 0, rows = 0;
    for (; ; w++) {
      rows = matrixRows(w, H, M);
      per = gradItemRows(w, rows, threads);
      const n = (rows + per - 1) / per;
      if (rest < n) break;
      rest -= n;
    }
    const j0 = rest * per, j1 = min(rows, j0 + per);
    if (w == 0) {
      // W_hh, b_hh from (dar, daz, dhn) and h_k; the r and z rows of W_ih, b_ih from the same rows (dgi = dgh
      // there) and the fed inputs u, as extra columns of the same product
      weightGrad(ctx, j0, j1, scratch, dgate, 0, j0 / PANEL, hAll, H, hiddenStride(H), B, u, F,
        f32At(g, offWhh(H, F)), H, f32At(g, offBhh(H, F)), 1, 2 * H, wih, bih);
    } else if (w == 1) {
      weightGrad(ctx, j0, j1, scratch, ctxP(ctx, CTX_DA1), M, -1, hAll, H, hiddenStride(H), B, 0, 0,
        f32At(g, offW1(H, F)), H, f32At(g, offB1(H, M, F)), 1, 0, 0, 0);
    } else if (w == 2) {
      weightGrad(ctx, j0, j1, scratch, ctxP(ctx, CTX_DA2), M, -1, ctxP(ctx, CTX_A1), M, M, 0, 0, 0,
        f32At(g, offW2(H, M, F)), M, f32At(g, offB2(H, M, F)), 1, 0, 0, 0);
    } else if (w == 3) {
      weightGrad(ctx, j0, j1, scratch, ctxP(ctx, CTX_DA3), M, -1, ctxP(ctx, CTX_A2), M, M, 0, 0, 0,
        f32At(g, offW3(H, M, F)), M, f32At(g, offB3(H, M, F)), 1, 0, 0, 0);
    } else if (w == 4) {
      // the n rows of W_ih, b_ih from dan (columns 3H… of dgate) and u
      weightGrad(ctx, j0, j1, scratch, dgate, 0, gatePanels3(H) + j0 / PANEL, u, F, F, 0, 0, 0,
        f32At(wih, 2 * H * F), F, f32At(bih, 2 * H), 1, 0, 0, 0);
    } else {
      // heads: rows μ and logvar of dout; their weights lie M + 1 apart (wm, bm, wl, bl)
      weightGrad(ctx, j0, j1, scratch, ctxP(ctx, CTX_DOUT), 2, -1, ctxP(ctx, CTX_A3), M, M, 0, 0, 0,
        f32At(g, offWm(H, M, F)), M + 1, f32At(g, offBm(H, M, F)), M + 1, 0, 0, 0);
    }
  }
}

// ── gradient norm and Adam (one thread) ─────────────────────────────────────────────────────────────────────────

// end (exclusive) of parameter tensor t in the packed order
function tensorEnd(t: i32, H: i32, M: i32, F: i32): i32 {
  switch (t) {
    case 0: return offWhh(H, F);
    case 1: return offBih(H, F);
    case 2: return offBhh(H, F);
    case 3: return offW1(H, F);
    case 4: return offB1(H, M, F);
    case 5: return offW2(H, M, F);
    case 6: return offB2(H, M, F);
    case 7: return offW3(H, M, F);
    case 8: return offB3(H, M, F);
    case 9: return offWm(H, M, F);
    case 10: return offBm(H, M, F);
    case 11: return offWl(H, M, F);
    case 12: return offBl(H, M, F);
    default: return paramCount(H, M, F);
  }
}

/** Σ g² as torch's clip_grad_norm_ (float64): per tensor, then over tensors in order. */
export function gradNormSquared(g: usize, H: i32, M: i32, F: i32): f64 {
  let total: f64 = 0;
  let start = 0;
  for (let t = 0; t < 14; t++) {
    const end = tensorEnd(t, H, M, F);
    let s: f64 = 0;
    for (let i = start; i < end; i++) {
      const v = <f64>load<f32>(f32At(g, i));
      s += v * v;
    }
    total += s;
    start = end;
  }
  return total;
}

/**
 * One torch.optim.Adam step (1.13, single-tensor path) in float64, stored as float32, on g' = coef·g + wd·θ: coef is
 * the forecaster's gradient clip (wd 0), wd the U-Net's weight decay (L2 as Adam(weight_decay=wd); coef 1).
 * m = β1·m + (1−β1)·g', v = β2·v + (1−β2)·g'², θ −= stepSize · m / (√v / bc2sqrt + ε), stepSize = lr/(1 − β1^t),
 * bc2sqrt = √(1 − β2^t).
 */
export function adam(p: usize, g: usize, m: usize, v: usize, n: i32, coef: f64, wd: f64, beta1: f64, beta2: f64,
  eps: f64, stepSize: f64, bc2sqrt: f64): void {
  for (let i = 0; i < n; i++) {
    const th = <f64>load<f32>(f32At(p, i));
    const gi = <f64>load<f32>(f32At(g, i)) * coef + wd * th;
    const mi = beta1 * <f64>load<f32>(f32At(m, i)) + (1 - beta1) * gi;
    const vi = beta2 * <f64>load<f32>(f32At(v, i)) + (1 - beta2) * gi * gi;
    store<f32>(f32At(m, i), <f32>mi);
    store<f32>(f32At(v, i), <f32>vi);
    store<f32>(f32At(p, i), <f32>(th - (stepSize * mi) / (Math.sqrt(vi) / bc2sqrt + eps)));
  }
}
