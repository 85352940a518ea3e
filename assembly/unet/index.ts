// The landslide U-Net's CPU kernels (wasm SIMD; host: host/cpu/unet-engine.ts, numerics: docs/unet.md). Layout NCHW
// float32; the host lays out one linear memory and calls one layer at a time with byte offsets. No allocation.
//
// Convolutions are products in the forecaster's register-blocked sgemm (assembly/forecaster/index.ts: blocks of 64
// float32 products summed into float64 totals), fed by packing:
// - 3×3 forward: the input is first copied into a zero-bordered plane [C, H+2, Wp] (Wp = W+2, a few zero floats of
//   slack after it), so the im2col column of output pixel (y, x) and tap (c, ky, kx) is pad[c, y+ky, x+kx] with no
//   bounds test; a group of output rows (rowsPerProduct: one on wide levels, several on narrow ones, so the 12-column
//   panels are mostly full) is packed (three v128 copies per tap and panel of 12 pixels) and multiplied by the
//   weights [Cout, Cin·9] as they are stored.
// - 3×3 data gradient: the forward convolution of dY with the flipped, transposed weights W'[ci, co, 2−ky, 2−kx].
// - 3×3 weight gradient: dW[Cout, Cin·9] = dY · colᵀ over the pixels of the padded grid (y, x < Wp; dY is zero in the
//   two extra columns), in chunks of CHUNK pixels whose float32 products are added to float64 sums: a float32
//   running sum over 16 384 pixels × batch would lose the 1e-4 the fixtures allow.
// BatchNorm statistics, the loss and the head's weight gradient are float64 sums; Adam is float64 per element.
// Threads (host/cpu/unet-threads.ts) call the *Items / *Rows / channel-range forms on disjoint outputs.
import { gemm, packB } from '../forecaster/index';

export const UNET_ABI_VERSION: i32 = 2;

const PANEL: i32 = 12;
/** pixels of the weight gradient's packed right-hand side per product (× 12 columns × 4 bytes = 24 KB a panel) */
export const CHUNK: i32 = 512;
/** zero floats after a padded plane: the last panel of the last taps reads up to 12 floats past its end */
export const PAD_SLACK: i32 = 64;

/** First free byte of linear memory. */
export function heapBase(): usize {
  return __heap_base;
}

@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

/** floats of a padded plane set for C channels of H × W */
export function paddedFloats(C: i32, H: i32, W: i32): i32 {
  return C * (H + 2) * (W + 2) + PAD_SLACK;
}

/**
 * Output rows per product of conv3x3: r rows of the padded grid are (r − 1)·(W + 2) + W consecutive columns, so narrow
 * levels fill the 12-column panels better than one row would (16 wide: 8 rows use 128 of 144 columns, one row 16 of
 * 24); the fewest rows among the best fills up to 288 columns.
 */
export function rowsPerProduct(H: i32, W: i32): i32 {
  const Wp = W + 2;
  let best = 1;
  let bestFill: f64 = 0;
  for (let r = 1; r <= H && (r == 1 || r * Wp <= 288); r++) {
    const n = (r - 1) * Wp + W;
    const fill = <f64>(r * W) / <f64>(((n + PANEL - 1) / PANEL) * PANEL);
    if (fill > bestFill + 1e-9) {
      best = r;
      bestFill = fill;
    }
  }
  return best;
}

/** floats of the packed right-hand side of conv3x3 (or of one weight-gradient chunk) */
export function packFloats(Cin: i32, H: i32, W: i32): i32 {
  const k9 = Cin * 9;
  const r = rowsPerProduct(H, W);
  const fwd = (((r - 1) * (W + 2) + W + PANEL - 1) / PANEL) * PANEL * k9;
  const wgrad = CHUNK * (((k9 + PANEL - 1) / PANEL) * PANEL);
  return max(fwd, wgrad);
}

/** floats of conv3x3's staging of several output rows (Cout channels) */
export function stageFloats(Cout: i32, H: i32, W: i32): i32 {
  return Cout * rowsPerProduct(H, W) * (W + 2);
}

/** dst [C, H+2, W+2] = x [C, H, W] with a zero border, then PAD_SLACK zeros */
export function padPlanes(x: usize, C: i32, H: i32, W: i32, dst: usize): void {
  const Wp = W + 2;
  memory.fill(dst, 0, <usize>paddedFloats(C, H, W) << 2);
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      memory.copy(at(dst, (c * (H + 2) + y + 1) * Wp + 1), at(x, (c * H + y) * W), <usize>W << 2);
    }
  }
}

/** dst [C, H, W+2] = x [C, H, W] with two zero columns per row (the weight gradient's grid) */
export function gridPlanes(x: usize, C: i32, H: i32, W: i32, dst: usize): void {
  const Wp = W + 2;
  for (let r = 0; r < C * H; r++) {
    memory.copy(at(dst, r * Wp), at(x, r * W), <usize>W << 2);
    store<f32>(at(dst, r * Wp + W), 0);
    store<f32>(at(dst, r * Wp + W + 1), 0);
  }
}

/**
 * out [Cout, H, W] = 3×3 cross-correlation (padding 1) of one item whose padded planes (padPlanes) are at `pad`, with
 * weights w [Cout, Cin·9] (PyTorch's [Cout, Cin, 3, 3]). pack: packFloats floats; stage: stageFloats floats (used
 * when rowsPerProduct > 1: the product's columns hold the two border columns between rows); tile: the sgemm's scratch.
 */
export function conv3x3(pad: usize, Cin: i32, H: i32, W: i32, w: usize, Cout: i32, out: usize, pack: usize,
  stage: usize, tile: usize): void {
  const Wp = W + 2;
  const k9 = Cin * 9;
  const rows = rowsPerProduct(H, W);
  for (let y0 = 0; y0 < H; y0 += rows) {
    const r = min(rows, H - y0);
    const n = (r - 1) * Wp + W;
    const panels = (n + PANEL - 1) / PANEL;
    for (let q = 0; q < panels; q++) {
      let d = at(pack, q * k9 * PANEL);
      for (let c = 0; c < Cin; c++) {
        for (let ky = 0; ky < 3; ky++) {
          const row = at(pad, (c * (H + 2) + y0 + ky) * Wp + q * PANEL);
          for (let kx = 0; kx < 3; kx++) {
            const s = row + (<usize>kx << 2);
            v128.store(d, v128.load(s));
            v128.store(d, v128.load(s, 16), 16);
            v128.store(d, v128.load(s, 32), 32);
            d += 48;
          }
        }
      }
    }
    if (rows == 1) {
      gemm(w, k9, pack, k9, at(out, y0 * W), H * W, Cout, W, 0, false, tile);
      continue;
    }
    gemm(w, k9, pack, k9, stage, n, Cout, n, 0, false, tile);
    for (let co = 0; co < Cout; co++) {
      for (let y = 0; y < r; y++) {
        memory.copy(at(out, (co * H + y0 + y) * W), at(stage, co * n + y * Wp), <usize>W << 2);
      }
    }
  }
}

/** conv3x3 of items [b0, b1) of x [B, Cin, H, W] into out [B, Cout, H, W] (a thread's share; pad: paddedFloats) */
export function conv3x3Items(x: usize, b0: i32, b1: i32, Cin: i32, H: i32, W: i32, w: usize, Cout: i32, out: usize,
  pad: usize, pack: usize, stage: usize, tile: usize): void {
  for (let b = b0; b < b1; b++) {
    padPlanes(at(x, b * Cin * H * W), Cin, H, W, pad);
    conv3x3(pad, Cin, H, W, w, Cout, at(out, b * Cout * H * W), pack, stage, tile);
  }
}

/**
 * Rows [co0, co1) of the weight gradient summed over all B items in order (float64 sums [Cout, Cin·9], stored):
 * x [B, Cin, H, W] the convolution's input, dy [B, Cout, H, W] its output's gradient. A thread's share: each row is
 * computed the same way whatever the split (the sgemm's rows are independent), so results do not depend on it.
 */
export function conv3x3WeightGradRows(x: usize, dy: usize, B: i32, Cin: i32, Cout: i32, H: i32, W: i32, co0: i32,
  co1: i32, sums: usize, pad: usize, grid: usize, pack: usize, tmp: usize, tile: usize): void {
  const k9 = Cin * 9;
  for (let b = 0; b < B; b++) {
    padPlanes(at(x, b * Cin * H * W), Cin, H, W, pad);
    gridPlanes(at(dy, (b * Cout + co0) * H * W), co1 - co0, H, W, grid);
    conv3x3WeightGrad(pad, grid, Cin, co1 - co0, H, W, sums + (<usize>(co0 * k9) << 3), b == 0, pack, tmp, tile);
  }
}

/** dst [Cin, Cout·9]: dst[ci, co, 8 − t] = w[co, ci, t] (the data gradient's weights: flipped taps, transposed) */
export function flipConvWeights(w: usize, Cout: i32, Cin: i32, dst: usize): void {
  for (let co = 0; co < Cout; co++) {
    for (let ci = 0; ci < Cin; ci++) {
      for (let t = 0; t < 9; t++) {
        store<f32>(at(dst, (ci * Cout + co) * 9 + 8 - t), load<f32>(at(w, (co * Cin + ci) * 9 + t)));
      }
    }
  }
}

/**
 * sums [Cout, Cin·9] (float64; stored when `first`, else added) += dY · colᵀ for one item: pad = padPlanes of the
 * input, grid = gridPlanes of dY [Cout, H, W+2]; tmp: Cout·Cin·9 floats.
 */
export function conv3x3WeightGrad(pad: usize, grid: usize, Cin: i32, Cout: i32, H: i32, W: i32, sums: usize,
  first: bool, pack: usize, tmp: usize, tile: usize): void {
  const Wp = W + 2;
  const plane = (H + 2) * Wp;
  const k9 = Cin * 9;
  const panels = (k9 + PANEL - 1) / PANEL;
  const pixels = H * Wp;
  for (let p0 = 0; p0 < pixels; p0 += CHUNK) {
    const L = min(CHUNK, pixels - p0);
    // panel q, row k (pixel p0 + k), column jj: pad[tap(12q + jj) + p0 + k], tap(c, ky, kx) = c·plane + ky·Wp + kx
    for (let q = 0; q < panels; q++) {
      const d0 = at(pack, q * L * PANEL);
      for (let g = 0; g < 3; g++) {
        let s0: usize = 0, s1: usize = 0, s2: usize = 0, s3: usize = 0;
        const j = q * PANEL + g * 4;
        if (j < k9) s0 = at(pad, tapOffset(j, plane, Wp) + p0);
        if (j + 1 < k9) s1 = at(pad, tapOffset(j + 1, plane, Wp) + p0);
        if (j + 2 < k9) s2 = at(pad, tapOffset(j + 2, plane, Wp) + p0);
        if (j + 3 < k9) s3 = at(pad, tapOffset(j + 3, plane, Wp) + p0);
        const zero = f32x4.splat(0);
        let k = 0;
        for (; k + 4 <= L; k += 4) {
          const o = <usize>k << 2;
          const v0 = s0 ? v128.load(s0 + o) : zero, v1 = s1 ? v128.load(s1 + o) : zero;
          const v2 = s2 ? v128.load(s2 + o) : zero, v3 = s3 ? v128.load(s3 + o) : zero;
          const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5), t1 = i32x4.shuffle(v0, v1, 2, 6, 3, 7);
          const t2 = i32x4.shuffle(v2, v3, 0, 4, 1, 5), t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
          const d = d0 + (<usize>(k * PANEL + g * 4) << 2);
          v128.store(d, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
          v128.store(d, i32x4.shuffle(t0, t2, 2, 3, 6, 7), 48);
          v128.store(d, i32x4.shuffle(t1, t3, 0, 1, 4, 5), 96);
          v128.store(d, i32x4.shuffle(t1, t3, 2, 3, 6, 7), 144);
        }
        for (; k < L; k++) {
          const o = <usize>k << 2;
          const d = d0 + (<usize>(k * PANEL + g * 4) << 2);
          store<f32>(d, s0 ? load<f32>(s0 + o) : 0);
          store<f32>(d, s1 ? load<f32>(s1 + o) : 0, 4);
          store<f32>(d, s2 ? load<f32>(s2 + o) : 0, 8);
          store<f32>(d, s3 ? load<f32>(s3 + o) : 0, 12);
        }
      }
    }
    gemm(at(grid, p0), pixels, pack, L, tmp, k9, Cout, k9, 0, false, tile);
    addToSums(tmp, Cout * k9, sums, first && p0 == 0);
  }
}

@inline function tapOffset(j: i32, plane: i32, Wp: i32): i32 {
  const c = j / 9, t = j - c * 9, ky = t / 3;
  return c * plane + ky * Wp + t - ky * 3;
}

/** sums[i] (float64) = or += src[i] (float32) */
export function addToSums(src: usize, n: i32, sums: usize, first: bool): void {
  for (let i = 0; i < n; i++) {
    const p = sums + (<usize>i << 3);
    const v = <f64>load<f32>(at(src, i));
    store<f64>(p, first ? v : load<f64>(p) + v);
  }
}

/** dst[i] = float32(sums[i]) */
export function sumsToF32(sums: usize, n: i32, dst: usize): void {
  for (let i = 0; i < n; i++) store<f32>(at(dst, i), <f32>load<f64>(sums + (<usize>i << 3)));
}

// ── BatchNorm2d + ReLU ──────────────────────────────────────────────────────────────────────────────────────────

// float64 Σ x[i] (or Σ (x[i] − mu)² when `square`) over n float32 values, in two f64x2 lanes pairs
function sumF64(p: usize, n: i32, mu: f64, square: bool): f64 {
  let a0 = f64x2.splat(0), a1 = a0;
  const m = f64x2.splat(mu);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(p + (<usize>i << 2));
    let lo = f64x2.promote_low_f32x4(v), hi = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
    if (square) {
      lo = f64x2.sub(lo, m);
      hi = f64x2.sub(hi, m);
      lo = f64x2.mul(lo, lo);
      hi = f64x2.mul(hi, hi);
    }
    a0 = f64x2.add(a0, lo);
    a1 = f64x2.add(a1, hi);
  }
  const t = f64x2.add(a0, a1);
  let s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
  for (; i < n; i++) {
    const d = <f64>load<f32>(at(p, i)) - (square ? mu : 0);
    s += square ? d * d : d;
  }
  return s;
}

/**
 * out = BatchNorm2d(z) (ReLU after it when `relu`) over z [B, C, HW]. train: normalise with the batch mean and biased
 * variance (float64 sums), save them as mean / invstd [C] and update runMean / runVar (momentum, unbiased variance);
 * else normalise with runMean / runVar. out may be z. Channels [c0, c1) (a thread's share).
 */
export function batchNorm(z: usize, B: i32, C: i32, HW: i32, gamma: usize, beta: usize, runMean: usize,
  runVar: usize, momentum: f64, train: bool, relu: bool, out: usize, mean: usize, invstd: usize, c0: i32,
  c1: i32): void {
  const N = B * HW;
  for (let c = c0; c < c1; c++) {
    let mu: f64, variance: f64;
    if (train) {
      let s: f64 = 0;
      for (let b = 0; b < B; b++) s += sumF64(at(z, (b * C + c) * HW), HW, 0, false);
      mu = s / <f64>N;
      let q: f64 = 0;
      for (let b = 0; b < B; b++) q += sumF64(at(z, (b * C + c) * HW), HW, mu, true);
      variance = q / <f64>N;
      const unbiased = N > 1 ? q / <f64>(N - 1) : variance;
      const rm = at(runMean, c), rv = at(runVar, c);
      store<f32>(rm, <f32>((1 - momentum) * <f64>load<f32>(rm) + momentum * mu));
      store<f32>(rv, <f32>((1 - momentum) * <f64>load<f32>(rv) + momentum * unbiased));
    } else {
      mu = <f64>load<f32>(at(runMean, c));
      variance = <f64>load<f32>(at(runVar, c));
    }
    const inv = 1 / Math.sqrt(variance + 1e-5);
    store<f32>(at(mean, c), <f32>mu);
    store<f32>(at(invstd, c), <f32>inv);
    const m4 = f32x4.splat(<f32>mu);
    const scale = <f32>(<f64>load<f32>(at(gamma, c)) * inv);
    const shift = load<f32>(at(beta, c));
    const s4 = f32x4.splat(scale), b4 = f32x4.splat(shift), zero = f32x4.splat(0);
    for (let b = 0; b < B; b++) {
      const src = at(z, (b * C + c) * HW), dst = at(out, (b * C + c) * HW);
      let i = 0;
      for (; i + 4 <= HW; i += 4) {
        const o = <usize>i << 2;
        let y = f32x4.add(f32x4.mul(f32x4.sub(v128.load(src + o), m4), s4), b4);
        if (relu) y = f32x4.max(y, zero);
        v128.store(dst + o, y);
      }
      for (; i < HW; i++) {
        let y = (load<f32>(at(src, i)) - <f32>mu) * scale + shift;
        if (relu && y < 0) y = 0; // NaN stays NaN, as f32x4.max above and PyTorch's ReLU
        store<f32>(at(dst, i), y);
      }
    }
  }
}

/**
 * Backward of batchNorm in training mode (batch statistics), ReLU included when `relu` (a = the forward output: the
 * gradient passes where a > 0): dz = γ·invstd·(dy − Σdy/N − x̂·Σ(dy·x̂)/N), dγ = Σ dy·x̂, dβ = Σ dy (float64 sums).
 * dz may be da. Channels [c0, c1) (a thread's share).
 */
export function batchNormBackward(z: usize, a: usize, da: usize, B: i32, C: i32, HW: i32, gamma: usize, mean: usize,
  invstd: usize, relu: bool, dz: usize, dgamma: usize, dbeta: usize, c0: i32, c1: i32): void {
  const N = B * HW;
  for (let c = c0; c < c1; c++) {
    const mu = load<f32>(at(mean, c)), inv = load<f32>(at(invstd, c));
    let sdy: f64 = 0, sdyx: f64 = 0;
    const mu4 = f32x4.splat(mu), inv4 = f32x4.splat(inv), zero = f32x4.splat(0);
    for (let b = 0; b < B; b++) {
      const o = (b * C + c) * HW;
      const pz = at(z, o), pa = at(a, o), pd = at(da, o);
      let s0 = f64x2.splat(0), s1 = s0, x0 = s0, x1 = s0;
      let i = 0;
      for (; i + 4 <= HW; i += 4) {
        const off = <usize>i << 2;
        let dy = v128.load(pd + off);
        if (relu) dy = v128.and(dy, f32x4.gt(v128.load(pa + off), zero));
        const xh = f32x4.mul(f32x4.sub(v128.load(pz + off), mu4), inv4);
        const dlo = f64x2.promote_low_f32x4(dy), dhi = f64x2.promote_low_f32x4(i32x4.shuffle(dy, dy, 2, 3, 0, 1));
        const xlo = f64x2.promote_low_f32x4(xh), xhi = f64x2.promote_low_f32x4(i32x4.shuffle(xh, xh, 2, 3, 0, 1));
        s0 = f64x2.add(s0, dlo);
        s1 = f64x2.add(s1, dhi);
        x0 = f64x2.add(x0, f64x2.mul(dlo, xlo));
        x1 = f64x2.add(x1, f64x2.mul(dhi, xhi));
      }
      const t = f64x2.add(s0, s1), u = f64x2.add(x0, x1);
      sdy += f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
      sdyx += f64x2.extract_lane(u, 0) + f64x2.extract_lane(u, 1);
      for (; i < HW; i++) {
        let dy = load<f32>(at(pd, i));
        if (relu && !(load<f32>(at(pa, i)) > 0)) dy = 0;
        const xh = (load<f32>(at(pz, i)) - mu) * inv;
        sdy += <f64>dy;
        sdyx += <f64>dy * <f64>xh;
      }
    }
    store<f32>(at(dgamma, c), <f32>sdyx);
    store<f32>(at(dbeta, c), <f32>sdy);
    const k = load<f32>(at(gamma, c)) * inv;
    const mdy = <f32>(sdy / <f64>N), mdyx = <f32>(sdyx / <f64>N);
    const k4 = f32x4.splat(k), mdy4 = f32x4.splat(mdy), mdyx4 = f32x4.splat(mdyx);
    for (let b = 0; b < B; b++) {
      const o = (b * C + c) * HW;
      const pz = at(z, o), pa = at(a, o), pd = at(da, o), out = at(dz, o);
      let i = 0;
      for (; i + 4 <= HW; i += 4) {
        const off = <usize>i << 2;
        let dy = v128.load(pd + off);
        if (relu) dy = v128.and(dy, f32x4.gt(v128.load(pa + off), zero));
        const xh = f32x4.mul(f32x4.sub(v128.load(pz + off), mu4), inv4);
        v128.store(out + off, f32x4.mul(k4, f32x4.sub(f32x4.sub(dy, mdy4), f32x4.mul(xh, mdyx4))));
      }
      for (; i < HW; i++) {
        let dy = load<f32>(at(pd, i));
        if (relu && !(load<f32>(at(pa, i)) > 0)) dy = 0;
        const xh = (load<f32>(at(pz, i)) - mu) * inv;
        store<f32>(at(out, i), k * (dy - mdy - xh * mdyx));
      }
    }
  }
}

// ── max-pool 2×2 ────────────────────────────────────────────────────────────────────────────────────────────────

/** out [planes, H/2, W/2] = 2×2 maxima of x [planes, H, W] */
export function maxPool(x: usize, planes: i32, H: i32, W: i32, out: usize): void {
  const h = H >> 1, w = W >> 1;
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < h; y++) {
      const r0 = at(x, (p * H + 2 * y) * W), r1 = r0 + (<usize>W << 2);
      const d = at(out, (p * h + y) * w);
      for (let i = 0; i < w; i++) {
        const o = <usize>i << 3;
        store<f32>(at(d, i), max(max(load<f32>(r0 + o), load<f32>(r0 + o, 4)), max(load<f32>(r1 + o), load<f32>(r1 + o, 4))));
      }
    }
  }
}

/** dx [planes, H, W] = the gradient dout routed to the first maximum of each window in row-major order (PyTorch) */
export function maxPoolBackward(x: usize, dout: usize, planes: i32, H: i32, W: i32, dx: usize): void {
  const h = H >> 1, w = W >> 1;
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < h; y++) {
      const o0 = (p * H + 2 * y) * W;
      for (let i = 0; i < w; i++) {
        const a = o0 + 2 * i, b = a + 1, c = a + W, d = c + 1;
        let best = a;
        let v = load<f32>(at(x, a));
        if (load<f32>(at(x, b)) > v) { best = b; v = load<f32>(at(x, b)); }
        if (load<f32>(at(x, c)) > v) { best = c; v = load<f32>(at(x, c)); }
        if (load<f32>(at(x, d)) > v) best = d;
        store<f32>(at(dx, a), 0);
        store<f32>(at(dx, b), 0);
        store<f32>(at(dx, c), 0);
        store<f32>(at(dx, d), 0);
        store<f32>(at(dx, best), load<f32>(at(dout, (p * h + y) * w + i)));
      }
    }
  }
}

// ── ConvTranspose2d 2×2 stride 2 ────────────────────────────────────────────────────────────────────────────────

/** dst [Cout·4, Cin] = w [Cin, Cout·4] transposed (the forward product's left side) */
export function transpose(w: usize, rows: i32, cols: i32, dst: usize): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) store<f32>(at(dst, c * rows + r), load<f32>(at(w, r * cols + c)));
  }
}

/**
 * out [Cout, 2h, 2w] for one item x [Cin, h, w]: out[o, 2y+a, 2x+b] = bias[o] + Σ_c x[c, y, x]·w[c, o, a, b], as the
 * product T [Cout·4, h·w] = wT · x (wT from transpose) scattered. pack: Cin·⌈hw/12⌉·12 floats, tmp: Cout·4·hw.
 */
export function convTranspose(x: usize, Cin: i32, h: i32, w: i32, wT: usize, bias: usize, Cout: i32, out: usize,
  pack: usize, tmp: usize, tile: usize): void {
  const hw = h * w;
  packB(x, hw, 1, Cin, hw, pack);
  gemm(wT, Cin, pack, Cin, tmp, hw, Cout * 4, hw, 0, false, tile);
  const W2 = 2 * w;
  for (let o = 0; o < Cout; o++) {
    const bo = load<f32>(at(bias, o));
    for (let ab = 0; ab < 4; ab++) {
      const a = ab >> 1, b = ab & 1;
      const src = at(tmp, (o * 4 + ab) * hw);
      for (let y = 0; y < h; y++) {
        const d = at(out, (o * 2 * h + 2 * y + a) * W2 + b);
        for (let i = 0; i < w; i++) store<f32>(d + (<usize>i << 3), load<f32>(at(src, y * w + i)) + bo);
      }
    }
  }
}

/** dT [Cout·4, h·w] = dout [Cout, 2h, 2w] gathered by tap (the transpose of convTranspose's scatter) */
export function gatherTaps(dout: usize, Cout: i32, h: i32, w: i32, dT: usize): void {
  const hw = h * w, W2 = 2 * w;
  for (let o = 0; o < Cout; o++) {
    for (let ab = 0; ab < 4; ab++) {
      const a = ab >> 1, b = ab & 1;
      const d = at(dT, (o * 4 + ab) * hw);
      for (let y = 0; y < h; y++) {
        const s = at(dout, (o * 2 * h + 2 * y + a) * W2 + b);
        for (let i = 0; i < w; i++) store<f32>(at(d, y * w + i), load<f32>(s + (<usize>i << 3)));
      }
    }
  }
}

/** dx [Cin, hw] = w [Cin, Cout·4] · dT (dT from gatherTaps); pack: Cout·4·⌈hw/12⌉·12 floats */
export function convTransposeBackwardData(dT: usize, Cout: i32, hw: i32, w: usize, Cin: i32, dx: usize, pack: usize,
  tile: usize): void {
  packB(dT, hw, 1, Cout * 4, hw, pack);
  gemm(w, Cout * 4, pack, Cout * 4, dx, hw, Cin, hw, 0, false, tile);
}

/**
 * Rows [c0, c1) of the transposed convolution's weight gradient, sums [Cin, Cout·4] (float64, stored) = Σ over the B
 * items in order of x [B, Cin, hw] · dTᵀ (dT [B, Cout·4, hw] from gatherTaps), in chunks of CHUNK pixels (a thread's
 * share, independent of the split as conv3x3WeightGradRows). pack: CHUNK·⌈Cout·4/12⌉·12 floats, tmp: Cin·Cout·4.
 */
export function convTransposeWeightGradRows(x: usize, dT: usize, B: i32, Cin: i32, Cout: i32, hw: i32, c0: i32,
  c1: i32, sums: usize, pack: usize, tmp: usize, tile: usize): void {
  const n = Cout * 4;
  for (let b = 0; b < B; b++) {
    const xb = at(x, (b * Cin + c0) * hw), tb = at(dT, b * n * hw);
    for (let p0 = 0; p0 < hw; p0 += CHUNK) {
      const L = min(CHUNK, hw - p0);
      packB(at(tb, p0), 1, hw, L, n, pack);
      gemm(at(xb, p0), hw, pack, L, tmp, n, c1 - c0, n, 0, false, tile);
      addToSums(tmp, (c1 - c0) * n, sums + (<usize>(c0 * n) << 3), b == 0 && p0 == 0);
    }
  }
}

/** dbias [Cout] (float32) = float64 Σ over items and taps of dT [B, Cout·4, hw] */
export function tapSums(dT: usize, B: i32, Cout: i32, hw: i32, dbias: usize): void {
  for (let o = 0; o < Cout; o++) {
    let s: f64 = 0;
    for (let b = 0; b < B; b++) {
      const p = at(dT, (b * Cout + o) * 4 * hw);
      for (let k = 0; k < 4 * hw; k++) s += <f64>load<f32>(at(p, k));
    }
    store<f32>(at(dbias, o), <f32>s);
  }
}

/** gatherTaps and the data gradient for one item (dT: this item's [Cout·4, hw]) */
export function convTransposeBackwardItem(dout: usize, Cout: i32, h: i32, w: i32, dT: usize, wt: usize, Cin: i32,
  dx: usize, pack: usize, tile: usize): void {
  gatherTaps(dout, Cout, h, w, dT);
  convTransposeBackwardData(dT, Cout, h * w, wt, Cin, dx, pack, tile);
}

// ── channel concat, gradient sums ───────────────────────────────────────────────────────────────────────────────

/** dst [B, C1+C2, HW] = [a [B, C1, HW], b [B, C2, HW]] on channels */
export function concat(a: usize, C1: i32, b: usize, C2: i32, B: i32, HW: i32, dst: usize): void {
  const n1 = <usize>(C1 * HW) << 2, n2 = <usize>(C2 * HW) << 2;
  for (let i = 0; i < B; i++) {
    const d = dst + <usize>i * (n1 + n2);
    memory.copy(d, a + <usize>i * n1, n1);
    memory.copy(d + n1, b + <usize>i * n2, n2);
  }
}

/** dst [B, C, HW] += src [B, ·, HW] channels [c0, c0 + C) of Cs (the skip's share of the concat's gradient) */
export function addChannels(src: usize, Cs: i32, c0: i32, C: i32, B: i32, HW: i32, dst: usize): void {
  for (let b = 0; b < B; b++) {
    const s = at(src, (b * Cs + c0) * HW), d = at(dst, b * C * HW);
    const n = C * HW;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(d + o, f32x4.add(v128.load(d + o), v128.load(s + o)));
    }
    for (; i < n; i++) store<f32>(at(d, i), load<f32>(at(d, i)) + load<f32>(at(s, i)));
  }
}

// ── head (1×1 convolution) and loss ─────────────────────────────────────────────────────────────────────────────

/** logits [B, K, HW] = bias[k] + Σ_c w[k, c]·a[b, c, ·] */
export function head(a: usize, B: i32, C: i32, HW: i32, w: usize, bias: usize, K: i32, logits: usize): void {
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < K; k++) {
      const d = at(logits, (b * K + k) * HW);
      const b4 = f32x4.splat(load<f32>(at(bias, k)));
      let i = 0;
      for (; i + 4 <= HW; i += 4) v128.store(d + (<usize>i << 2), b4);
      for (; i < HW; i++) store<f32>(at(d, i), load<f32>(at(bias, k)));
      for (let c = 0; c < C; c++) {
        const wk = load<f32>(at(w, k * C + c)), w4 = f32x4.splat(wk);
        const s = at(a, (b * C + c) * HW);
        i = 0;
        for (; i + 4 <= HW; i += 4) {
          const o = <usize>i << 2;
          v128.store(d + o, f32x4.add(v128.load(d + o), f32x4.mul(w4, v128.load(s + o))));
        }
        for (; i < HW; i++) store<f32>(at(d, i), load<f32>(at(d, i)) + wk * load<f32>(at(s, i)));
      }
    }
  }
}

/** Backward of head: da [B, C, HW] = Σ_k w[k, c]·dl[b, k, ·]; dw [K, C], dbias [K] = float64 sums, stored float32. */
export function headBackward(a: usize, dl: usize, B: i32, C: i32, HW: i32, w: usize, K: i32, da: usize, dw: usize,
  dbias: usize): void {
  for (let k = 0; k < K; k++) {
    let sb: f64 = 0;
    for (let b = 0; b < B; b++) {
      const s = at(dl, (b * K + k) * HW);
      for (let i = 0; i < HW; i++) sb += <f64>load<f32>(at(s, i));
    }
    store<f32>(at(dbias, k), <f32>sb);
    for (let c = 0; c < C; c++) {
      let sw: f64 = 0;
      for (let b = 0; b < B; b++) {
        const s = at(dl, (b * K + k) * HW), x = at(a, (b * C + c) * HW);
        for (let i = 0; i < HW; i++) sw += <f64>load<f32>(at(s, i)) * <f64>load<f32>(at(x, i));
      }
      store<f32>(at(dw, k * C + c), <f32>sw);
    }
  }
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      const d = at(da, (b * C + c) * HW);
      memory.fill(d, 0, <usize>HW << 2);
      for (let k = 0; k < K; k++) {
        const wk = load<f32>(at(w, k * C + c)), w4 = f32x4.splat(wk);
        const s = at(dl, (b * K + k) * HW);
        let i = 0;
        for (; i + 4 <= HW; i += 4) {
          const o = <usize>i << 2;
          v128.store(d + o, f32x4.add(v128.load(d + o), f32x4.mul(w4, v128.load(s + o))));
        }
        for (; i < HW; i++) store<f32>(at(d, i), load<f32>(at(d, i)) + wk * load<f32>(at(s, i)));
      }
    }
  }
}

/**
 * Weighted cross-entropy of logits [B, K, HW] against labels [B, HW] (255 = ignored): returns Σ w_y·(−log p_y) / Σ w_y
 * (0 when no pixel counts), in float64; with dl ≠ 0 also stores its gradient w_y·(p − onehot_y)/Σ w_y (0 where
 * ignored). A label ≥ K is not checked here (the host refuses it).
 */
export function crossEntropy(logits: usize, labels: usize, B: i32, K: i32, HW: i32, weights: usize, dl: usize): f64 {
  let wsum: f64 = 0;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < HW; i++) {
      const y = <i32>load<u8>(labels + <usize>(b * HW + i));
      if (y != 255) wsum += <f64>load<f32>(at(weights, y));
    }
  }
  let total: f64 = 0;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < HW; i++) {
      const y = <i32>load<u8>(labels + <usize>(b * HW + i));
      const base = b * K * HW + i;
      if (y == 255 || wsum == 0) {
        if (dl) for (let k = 0; k < K; k++) store<f32>(at(dl, base + k * HW), 0);
        continue;
      }
      let mx = -Infinity;
      for (let k = 0; k < K; k++) mx = Math.max(mx, <f64>load<f32>(at(logits, base + k * HW)));
      let s: f64 = 0;
      for (let k = 0; k < K; k++) s += Math.exp(<f64>load<f32>(at(logits, base + k * HW)) - mx);
      const lse = mx + Math.log(s);
      const wy = <f64>load<f32>(at(weights, y));
      total += wy * (lse - <f64>load<f32>(at(logits, base + y * HW)));
      if (dl) {
        const scale = wy / wsum;
        for (let k = 0; k < K; k++) {
          const p = Math.exp(<f64>load<f32>(at(logits, base + k * HW)) - lse);
          store<f32>(at(dl, base + k * HW), <f32>(scale * (p - (k == y ? 1 : 0))));
        }
      }
    }
  }
  return wsum > 0 ? total / wsum : 0;
}

/** probs [B, K, HW] = softmax over K of logits (float64 inside); probs may be logits */
export function softmax(logits: usize, B: i32, K: i32, HW: i32, probs: usize): void {
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < HW; i++) {
      const base = b * K * HW + i;
      let mx = -Infinity;
      for (let k = 0; k < K; k++) mx = Math.max(mx, <f64>load<f32>(at(logits, base + k * HW)));
      let s: f64 = 0;
      for (let k = 0; k < K; k++) s += Math.exp(<f64>load<f32>(at(logits, base + k * HW)) - mx);
      for (let k = 0; k < K; k++) {
        const p = Math.exp(<f64>load<f32>(at(logits, base + k * HW)) - mx) / s;
        store<f32>(at(probs, base + k * HW), <f32>p);
      }
    }
  }
}

// ── Adam ────────────────────────────────────────────────────────────────────────────────────────────────────────

// Adam with weight decay is the forecaster's step (coef 1): one float64 formula for both models.
export { adam } from '../forecaster/index';
