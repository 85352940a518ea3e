// AssemblyScript kernels (wasm SIMD). No I/O, no allocation: the host owns linear memory (see host/sar/kernel.ts),
// places the inputs after heapBase() and passes byte offsets.
//
// ── Chipped complex coherence ────────────────────────────────────────────────────────────────────────────────────
//   γ = |Σ s1·conj(s2)| / sqrt(Σ|s1|² · Σ|s2|²)   over a chip of cr range columns × ca azimuth rows,
//   chips placed every sr columns × sa rows. Output pixel (i, j) covers block rows [i·sa, i·sa+ca) and columns
//   [j·sr, j·sr+cr); only whole chips are emitted (outW = ⌊(W−cr)/sr⌋+1), a partial chip at the right/bottom edge is not.
// Validity rule: a sample n takes part only if s1(n) and s2(n) both have a finite, non-zero power |s|²; otherwise it
//   is left out of all three sums (ARIA's create_amp convention; NaN/Inf/zero = nodata/resampling fill). A chip with
//   no valid sample gives NaN. Rounding can push |Σ s1 s2*|² a hair above Σ|s1|²Σ|s2|², so γ is clipped to ≤ 1.
// Numerics: each product of two float32 numbers is exact in float64, and all sums are float64.
//   Stride < chip uses running sums (add the rows/columns entering the chip, subtract those leaving), so the cost per
//   output pixel does not depend on the chip size. Running sums drift (a bright scatterer leaves a rounding residue of
//   ~1e-16 × its power), so they are re-anchored — recomputed from scratch — every ⌈c/s⌉ outputs, i.e. as soon as a
//   chip no longer overlaps the last anchored one: the residue lives at most one chip length and the amortised
//   cost of the re-anchoring is one extra add per sample. The count of valid samples is summed too (exact in f64),
//   so "no valid sample" is decided exactly, never by a power that rounding left at 1e-30 instead of 0.
// SIMD: the vertical pass handles two columns per f64x2 (deinterleaving re/im of two complex64 samples); the
//   column sums are stored per column as three f64x2 vectors [ΣRe, ΣIm], [Σ|s1|², Σ|s2|²], [N, 0] so the horizontal
//   pass adds whole columns with three vector adds.
export const KERNEL_ABI_VERSION: i32 = 2;

/** First free byte of linear memory: the host allocates its buffers from here. */
export function heapBase(): usize {
  return __heap_base;
}

// bytes per column of the column-sum buffer (3 × v128)
const COL_BYTES: usize = 48;

@inline
function accRow(col: usize, s1: usize, s2: usize, width: i32): void {
  const one = f64x2.splat(1.0);
  const zero = f64x2.splat(0.0);
  const inf = f64x2.splat(Infinity);
  let c: i32 = 0;
  // two columns per iteration; the odd last column loads 8 bytes (lane 1 = zeros → invalid, never stored)
  for (; c < width; c += 2) {
    const off = <usize>c << 3;
    let a: v128, b: v128;
    if (c + 1 < width) {
      a = v128.load(s1 + off);
      b = v128.load(s2 + off);
    } else {
      a = v128.load64_zero(s1 + off);
      b = v128.load64_zero(s2 + off);
    }
    const ar = f64x2.promote_low_f32x4(i32x4.shuffle(a, a, 0, 2, 0, 2));
    const ai = f64x2.promote_low_f32x4(i32x4.shuffle(a, a, 1, 3, 1, 3));
    const br = f64x2.promote_low_f32x4(i32x4.shuffle(b, b, 0, 2, 0, 2));
    const bi = f64x2.promote_low_f32x4(i32x4.shuffle(b, b, 1, 3, 1, 3));
    const p1 = f64x2.add(f64x2.mul(ar, ar), f64x2.mul(ai, ai));
    const p2 = f64x2.add(f64x2.mul(br, br), f64x2.mul(bi, bi));
    // NaN compares false, so NaN samples fail both tests
    const m = v128.and(
      v128.and(f64x2.gt(p1, zero), f64x2.lt(p1, inf)),
      v128.and(f64x2.gt(p2, zero), f64x2.lt(p2, inf)),
    );
    const re = v128.and(f64x2.add(f64x2.mul(ar, br), f64x2.mul(ai, bi)), m);
    const im = v128.and(f64x2.sub(f64x2.mul(ai, br), f64x2.mul(ar, bi)), m);
    const q1 = v128.and(p1, m);
    const q2 = v128.and(p2, m);
    const n = v128.and(one, m);
    const p = col + <usize>c * COL_BYTES;
    v128.store(p, f64x2.add(v128.load(p), f64x2.shuffle(re, im, 0, 2)));
    v128.store(p, f64x2.add(v128.load(p, 16), f64x2.shuffle(q1, q2, 0, 2)), 16);
    v128.store(p, f64x2.add(v128.load(p, 32), f64x2.shuffle(n, zero, 0, 2)), 32);
    if (c + 1 < width) {
      v128.store(p, f64x2.add(v128.load(p, 48), f64x2.shuffle(re, im, 1, 3)), 48);
      v128.store(p, f64x2.add(v128.load(p, 64), f64x2.shuffle(q1, q2, 1, 3)), 64);
      v128.store(p, f64x2.add(v128.load(p, 80), f64x2.shuffle(n, zero, 1, 3)), 80);
    }
  }
}

// One row in, one row out: col += q(row a) − q(row b) in a single pass over the column sums.
@inline
function swapRow(col: usize, a1: usize, a2: usize, b1: usize, b2: usize, width: i32): void {
  const one = f64x2.splat(1.0);
  const zero = f64x2.splat(0.0);
  const inf = f64x2.splat(Infinity);
  for (let c: i32 = 0; c < width; c += 2) {
    const off = <usize>c << 3;
    const two = c + 1 < width;
    let x1: v128, x2: v128, y1: v128, y2: v128;
    if (two) {
      x1 = v128.load(a1 + off); x2 = v128.load(a2 + off);
      y1 = v128.load(b1 + off); y2 = v128.load(b2 + off);
    } else {
      x1 = v128.load64_zero(a1 + off); x2 = v128.load64_zero(a2 + off);
      y1 = v128.load64_zero(b1 + off); y2 = v128.load64_zero(b2 + off);
    }
    // entering row
    let ar = f64x2.promote_low_f32x4(i32x4.shuffle(x1, x1, 0, 2, 0, 2));
    let ai = f64x2.promote_low_f32x4(i32x4.shuffle(x1, x1, 1, 3, 1, 3));
    let br = f64x2.promote_low_f32x4(i32x4.shuffle(x2, x2, 0, 2, 0, 2));
    let bi = f64x2.promote_low_f32x4(i32x4.shuffle(x2, x2, 1, 3, 1, 3));
    let p1 = f64x2.add(f64x2.mul(ar, ar), f64x2.mul(ai, ai));
    let p2 = f64x2.add(f64x2.mul(br, br), f64x2.mul(bi, bi));
    let m = v128.and(v128.and(f64x2.gt(p1, zero), f64x2.lt(p1, inf)), v128.and(f64x2.gt(p2, zero), f64x2.lt(p2, inf)));
    let re = v128.and(f64x2.add(f64x2.mul(ar, br), f64x2.mul(ai, bi)), m);
    let im = v128.and(f64x2.sub(f64x2.mul(ai, br), f64x2.mul(ar, bi)), m);
    let q1 = v128.and(p1, m);
    let q2 = v128.and(p2, m);
    let n = v128.and(one, m);
    // leaving row, subtracted
    ar = f64x2.promote_low_f32x4(i32x4.shuffle(y1, y1, 0, 2, 0, 2));
    ai = f64x2.promote_low_f32x4(i32x4.shuffle(y1, y1, 1, 3, 1, 3));
    br = f64x2.promote_low_f32x4(i32x4.shuffle(y2, y2, 0, 2, 0, 2));
    bi = f64x2.promote_low_f32x4(i32x4.shuffle(y2, y2, 1, 3, 1, 3));
    p1 = f64x2.add(f64x2.mul(ar, ar), f64x2.mul(ai, ai));
    p2 = f64x2.add(f64x2.mul(br, br), f64x2.mul(bi, bi));
    m = v128.and(v128.and(f64x2.gt(p1, zero), f64x2.lt(p1, inf)), v128.and(f64x2.gt(p2, zero), f64x2.lt(p2, inf)));
    re = f64x2.sub(re, v128.and(f64x2.add(f64x2.mul(ar, br), f64x2.mul(ai, bi)), m));
    im = f64x2.sub(im, v128.and(f64x2.sub(f64x2.mul(ai, br), f64x2.mul(ar, bi)), m));
    q1 = f64x2.sub(q1, v128.and(p1, m));
    q2 = f64x2.sub(q2, v128.and(p2, m));
    n = f64x2.sub(n, v128.and(one, m));
    const p = col + <usize>c * COL_BYTES;
    v128.store(p, f64x2.add(v128.load(p), f64x2.shuffle(re, im, 0, 2)));
    v128.store(p, f64x2.add(v128.load(p, 16), f64x2.shuffle(q1, q2, 0, 2)), 16);
    v128.store(p, f64x2.add(v128.load(p, 32), f64x2.shuffle(n, zero, 0, 2)), 32);
    if (two) {
      v128.store(p, f64x2.add(v128.load(p, 48), f64x2.shuffle(re, im, 1, 3)), 48);
      v128.store(p, f64x2.add(v128.load(p, 64), f64x2.shuffle(q1, q2, 1, 3)), 64);
      v128.store(p, f64x2.add(v128.load(p, 80), f64x2.shuffle(n, zero, 1, 3)), 80);
    }
  }
}

@inline
function finish(ri: v128, pp: v128, nn: v128): f32 {
  if (f64x2.extract_lane(nn, 0) < 0.5) return NaN;
  const re = f64x2.extract_lane(ri, 0);
  const im = f64x2.extract_lane(ri, 1);
  const den = f64x2.extract_lane(pp, 0) * f64x2.extract_lane(pp, 1);
  if (!(den > 0)) return NaN;
  const g = Math.sqrt((re * re + im * im) / den);
  return <f32>(g < 1.0 ? g : 1.0);
}

/**
 * Coherence of one block.
 * s1, s2: rowsIn × width complex64 (re, im float32 interleaved, row stride width·8 bytes), rowsIn = (outRows−1)·sa + ca.
 * out:    outRows × outW float32, outW = ⌊(width − cr)/sr⌋ + 1 (the host guarantees width ≥ cr).
 * col:    scratch, width × 48 bytes, 16-byte aligned. All pointers 16-byte aligned except s1/s2 (8 is enough).
 */
export function coherenceBlock(
  s1: usize, s2: usize, width: i32, cr: i32, ca: i32, sr: i32, sa: i32, outRows: i32, out: usize, col: usize,
): void {
  const rowBytes = <usize>width << 3;
  const outW = (width - cr) / sr + 1;
  const kv = sa < ca ? (ca + sa - 1) / sa : 1; // vertical re-anchor period (outputs)
  const kh = sr < cr ? (cr + sr - 1) / sr : 1; // horizontal re-anchor period
  for (let i: i32 = 0; i < outRows; i++) {
    // ── vertical: column sums over rows [i·sa, i·sa+ca)
    if (i % kv == 0) {
      memory.fill(col, 0, <usize>width * COL_BYTES);
      for (let r = i * sa; r < i * sa + ca; r++) {
        accRow(col, s1 + <usize>r * rowBytes, s2 + <usize>r * rowBytes, width);
      }
    } else {
      for (let k: i32 = 0; k < sa; k++) {
        const rin = (i - 1) * sa + ca + k;
        const rout = (i - 1) * sa + k;
        swapRow(col, s1 + <usize>rin * rowBytes, s2 + <usize>rin * rowBytes, s1 + <usize>rout * rowBytes, s2 + <usize>rout * rowBytes, width);
      }
    }
    // ── horizontal: chip sums over columns [j·sr, j·sr+cr)
    const orow = out + ((<usize>i * <usize>outW) << 2);
    let ri = f64x2.splat(0), pp = f64x2.splat(0), nn = f64x2.splat(0);
    for (let j: i32 = 0; j < outW; j++) {
      if (j % kh == 0) {
        ri = f64x2.splat(0);
        pp = f64x2.splat(0);
        nn = f64x2.splat(0);
        let p = col + <usize>(j * sr) * COL_BYTES;
        for (let k: i32 = 0; k < cr; k++) {
          ri = f64x2.add(ri, v128.load(p));
          pp = f64x2.add(pp, v128.load(p, 16));
          nn = f64x2.add(nn, v128.load(p, 32));
          p += COL_BYTES;
        }
      } else {
        let pin = col + <usize>((j - 1) * sr + cr) * COL_BYTES;
        let pout = col + <usize>((j - 1) * sr) * COL_BYTES;
        for (let k: i32 = 0; k < sr; k++) {
          ri = f64x2.sub(f64x2.add(ri, v128.load(pin)), v128.load(pout));
          pp = f64x2.sub(f64x2.add(pp, v128.load(pin, 16)), v128.load(pout, 16));
          nn = f64x2.sub(f64x2.add(nn, v128.load(pin, 32)), v128.load(pout, 32));
          pin += COL_BYTES;
          pout += COL_BYTES;
        }
      }
      store<f32>(orow + (<usize>j << 2), finish(ri, pp, nn));
    }
  }
}
