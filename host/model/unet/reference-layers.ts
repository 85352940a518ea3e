// The U-Net's layers in float64 as plain loops: the yardstick every fast U-Net engine is tested against (docs/unet.md
// "Numerics"). Each layer has a forward and a backward that takes d loss / d output and returns d loss / d input (and
// the parameter gradients). Speed does not matter here; being obviously PyTorch's definition does.
import { IGNORE_LABEL } from './config.js';
import type { UNetAdamOptions } from './engine.js';

/** An NCHW activation in float64. */
export interface Act {
  data: Float64Array;
  n: number;
  c: number;
  h: number;
  w: number;
}

export function zerosAct(n: number, c: number, h: number, w: number): Act {
  return { data: new Float64Array(n * c * h * w), n, c, h, w };
}

export function actOf(data: ArrayLike<number>, n: number, c: number, h: number, w: number): Act {
  if (data.length !== n * c * h * w) throw new Error(`internal: ${data.length} values for [${n}, ${c}, ${h}, ${w}]`);
  return { data: Float64Array.from(data), n, c, h, w };
}

/** Index of (b, c, y, x) in an NCHW tensor. */
function at(t: Act, b: number, c: number, y: number, x: number): number {
  return ((b * t.c + c) * t.h + y) * t.w + x;
}

// ---- convolution k × k, stride 1, padding (k − 1)/2 (3 × 3 pad 1 in the blocks, 1 × 1 in the head) ----

/** nn.Conv2d (cross-correlation); weight [cout, cin, k, k]; bias [cout] or none. */
export function convForward(x: Act, weight: ArrayLike<number>, cout: number, k: number, bias?: ArrayLike<number>): Act {
  const y = zerosAct(x.n, cout, x.h, x.w);
  const pad = (k - 1) / 2;
  for (let b = 0; b < x.n; b++)
    for (let o = 0; o < cout; o++)
      for (let py = 0; py < x.h; py++)
        for (let px = 0; px < x.w; px++) {
          let s = bias ? bias[o]! : 0;
          for (let i = 0; i < x.c; i++)
            for (let ky = 0; ky < k; ky++)
              for (let kx = 0; kx < k; kx++) {
                const sy = py + ky - pad;
                const sx = px + kx - pad;
                if (sy < 0 || sy >= x.h || sx < 0 || sx >= x.w) continue;
                s += x.data[at(x, b, i, sy, sx)]! * weight[((o * x.c + i) * k + ky) * k + kx]!;
              }
          y.data[at(y, b, o, py, px)] = s;
        }
  return y;
}

export interface ConvGrads {
  dx: Act;
  dweight: Float64Array;
  /** Σ dy over (B, H, W) per output channel (used when the layer has a bias) */
  dbias: Float64Array;
}

export function convBackward(x: Act, weight: ArrayLike<number>, dy: Act, k: number): ConvGrads {
  const dx = zerosAct(x.n, x.c, x.h, x.w);
  const dweight = new Float64Array(dy.c * x.c * k * k);
  const dbias = new Float64Array(dy.c);
  const pad = (k - 1) / 2;
  for (let b = 0; b < x.n; b++)
    for (let o = 0; o < dy.c; o++)
      for (let py = 0; py < x.h; py++)
        for (let px = 0; px < x.w; px++) {
          const g = dy.data[at(dy, b, o, py, px)]!;
          dbias[o]! += g;
          for (let i = 0; i < x.c; i++)
            for (let ky = 0; ky < k; ky++)
              for (let kx = 0; kx < k; kx++) {
                const sy = py + ky - pad;
                const sx = px + kx - pad;
                if (sy < 0 || sy >= x.h || sx < 0 || sx >= x.w) continue;
                const wi = ((o * x.c + i) * k + ky) * k + kx;
                const xi = at(x, b, i, sy, sx);
                dweight[wi]! += g * x.data[xi]!;
                dx.data[xi]! += g * weight[wi]!;
              }
        }
  return { dx, dweight, dbias };
}

// ---- BatchNorm2d, eps 1e-5, momentum 0.1 ----

export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

/** What the training-mode backward needs from the forward. */
export interface BatchNormCache {
  xhat: Act;
  invStd: Float64Array;
  mean: Float64Array;
  /** biased variance over (B, H, W) */
  variance: Float64Array;
}

/** Training mode: normalise with the batch mean and biased variance over (B, H, W) of each channel. */
export function batchNormTrainForward(
  x: Act,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
): { y: Act; cache: BatchNormCache } {
  const count = x.n * x.h * x.w;
  const mean = new Float64Array(x.c);
  const variance = new Float64Array(x.c);
  const invStd = new Float64Array(x.c);
  for (let c = 0; c < x.c; c++) {
    let s = 0;
    forEachInChannel(x, c, (i) => (s += x.data[i]!));
    const m = s / count;
    let q = 0;
    forEachInChannel(x, c, (i) => (q += (x.data[i]! - m) ** 2));
    mean[c] = m;
    variance[c] = q / count;
    invStd[c] = 1 / Math.sqrt(q / count + BN_EPS);
  }
  const xhat = zerosAct(x.n, x.c, x.h, x.w);
  const y = zerosAct(x.n, x.c, x.h, x.w);
  for (let c = 0; c < x.c; c++)
    forEachInChannel(x, c, (i) => {
      xhat.data[i] = (x.data[i]! - mean[c]!) * invStd[c]!;
      y.data[i] = gamma[c]! * xhat.data[i]! + beta[c]!;
    });
  return { y, cache: { xhat, invStd, mean, variance } };
}

/** PyTorch's running-statistics update after a training forward (the unbiased variance, n/(n − 1)). */
export function updateRunningStats(
  cache: BatchNormCache,
  count: number,
  runningMean: Float64Array,
  runningVar: Float64Array,
): void {
  for (let c = 0; c < runningMean.length; c++) {
    const unbiased = count > 1 ? (cache.variance[c]! * count) / (count - 1) : cache.variance[c]!;
    runningMean[c] = (1 - BN_MOMENTUM) * runningMean[c]! + BN_MOMENTUM * cache.mean[c]!;
    runningVar[c] = (1 - BN_MOMENTUM) * runningVar[c]! + BN_MOMENTUM * unbiased;
  }
}

/** dx = γ·invStd/N · (N·dy − Σdy − x̂·Σ(dy·x̂)), the batch statistics differentiated too. */
export function batchNormTrainBackward(
  dy: Act,
  gamma: ArrayLike<number>,
  cache: BatchNormCache,
): { dx: Act; dgamma: Float64Array; dbeta: Float64Array } {
  const count = dy.n * dy.h * dy.w;
  const dx = zerosAct(dy.n, dy.c, dy.h, dy.w);
  const dgamma = new Float64Array(dy.c);
  const dbeta = new Float64Array(dy.c);
  for (let c = 0; c < dy.c; c++) {
    let sumDy = 0;
    let sumDyXhat = 0;
    forEachInChannel(dy, c, (i) => {
      sumDy += dy.data[i]!;
      sumDyXhat += dy.data[i]! * cache.xhat.data[i]!;
    });
    dgamma[c] = sumDyXhat;
    dbeta[c] = sumDy;
    const scale = (gamma[c]! * cache.invStd[c]!) / count;
    forEachInChannel(dy, c, (i) => {
      dx.data[i] = scale * (count * dy.data[i]! - sumDy - cache.xhat.data[i]! * sumDyXhat);
    });
  }
  return { dx, dgamma, dbeta };
}

/** Eval mode: the running statistics, no update. */
export function batchNormEvalForward(
  x: Act,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  runningMean: ArrayLike<number>,
  runningVar: ArrayLike<number>,
): Act {
  const y = zerosAct(x.n, x.c, x.h, x.w);
  for (let c = 0; c < x.c; c++) {
    const invStd = 1 / Math.sqrt(runningVar[c]! + BN_EPS);
    forEachInChannel(x, c, (i) => {
      y.data[i] = gamma[c]! * (x.data[i]! - runningMean[c]!) * invStd + beta[c]!;
    });
  }
  return y;
}

function forEachInChannel(t: Act, c: number, f: (i: number) => void): void {
  const plane = t.h * t.w;
  for (let b = 0; b < t.n; b++) {
    const start = (b * t.c + c) * plane;
    for (let i = start; i < start + plane; i++) f(i);
  }
}

// ---- ReLU ----

/** NaN stays NaN (as torch.relu): a bad input must show, not turn into 0 */
export function reluForward(x: Act): Act {
  return { ...x, data: x.data.map((v) => (v <= 0 ? 0 : v)) };
}

/** The gradient passes where the input was positive (PyTorch: where the output is > 0, the same set). */
export function reluBackward(x: Act, dy: Act): Act {
  return { ...dy, data: dy.data.map((g, i) => (x.data[i]! > 0 ? g : 0)) };
}

// ---- max-pool 2 × 2, stride 2 ----

/** Also returns, per output value, the input index it came from: the first maximum in row-major window order. */
export function maxPoolForward(x: Act): { y: Act; argmax: Int32Array } {
  const y = zerosAct(x.n, x.c, x.h / 2, x.w / 2);
  const argmax = new Int32Array(y.data.length);
  for (let b = 0; b < x.n; b++)
    for (let c = 0; c < x.c; c++)
      for (let py = 0; py < y.h; py++)
        for (let px = 0; px < y.w; px++) {
          let best = -Infinity;
          let bestAt = -1;
          for (let dy = 0; dy < 2; dy++)
            for (let dx = 0; dx < 2; dx++) {
              const i = at(x, b, c, 2 * py + dy, 2 * px + dx);
              // a NaN wins, as in PyTorch's kernel (val > max || isnan(val)): it propagates
              if (bestAt < 0 || x.data[i]! > best || Number.isNaN(x.data[i]!)) {
                best = x.data[i]!;
                bestAt = i;
              }
            }
          const o = at(y, b, c, py, px);
          y.data[o] = best;
          argmax[o] = bestAt;
        }
  return { y, argmax };
}

export function maxPoolBackward(x: Act, argmax: Int32Array, dy: Act): Act {
  const dx = zerosAct(x.n, x.c, x.h, x.w);
  for (let o = 0; o < dy.data.length; o++) dx.data[argmax[o]!]! += dy.data[o]!;
  return dx;
}

// ---- ConvTranspose2d 2 × 2, stride 2: out(2y+a, 2x+b) = bias + Σ_c in[c, y, x] · w[c, o, a, b] ----

/** weight [cin, cout, 2, 2], bias [cout] */
export function upForward(x: Act, weight: ArrayLike<number>, bias: ArrayLike<number>): Act {
  const cout = bias.length;
  const y = zerosAct(x.n, cout, 2 * x.h, 2 * x.w);
  for (let b = 0; b < x.n; b++)
    for (let o = 0; o < cout; o++)
      for (let py = 0; py < y.h; py++)
        for (let px = 0; px < y.w; px++) {
          const sy = py >> 1;
          const sx = px >> 1;
          let s = bias[o]!;
          for (let c = 0; c < x.c; c++)
            s += x.data[at(x, b, c, sy, sx)]! * weight[((c * cout + o) * 2 + (py & 1)) * 2 + (px & 1)]!;
          y.data[at(y, b, o, py, px)] = s;
        }
  return y;
}

export function upBackward(x: Act, weight: ArrayLike<number>, dy: Act): ConvGrads {
  const cout = dy.c;
  const dx = zerosAct(x.n, x.c, x.h, x.w);
  const dweight = new Float64Array(x.c * cout * 4);
  const dbias = new Float64Array(cout);
  for (let b = 0; b < x.n; b++)
    for (let o = 0; o < cout; o++)
      for (let py = 0; py < dy.h; py++)
        for (let px = 0; px < dy.w; px++) {
          const g = dy.data[at(dy, b, o, py, px)]!;
          dbias[o]! += g;
          for (let c = 0; c < x.c; c++) {
            const wi = ((c * cout + o) * 2 + (py & 1)) * 2 + (px & 1);
            const xi = at(x, b, c, py >> 1, px >> 1);
            dweight[wi]! += g * x.data[xi]!;
            dx.data[xi]! += g * weight[wi]!;
          }
        }
  return { dx, dweight, dbias };
}

// ---- channel concatenation [a, b] ----

export function concatForward(a: Act, b: Act): Act {
  const y = zerosAct(a.n, a.c + b.c, a.h, a.w);
  const plane = a.h * a.w;
  for (let n = 0; n < a.n; n++) {
    y.data.set(a.data.subarray(n * a.c * plane, (n + 1) * a.c * plane), n * y.c * plane);
    y.data.set(b.data.subarray(n * b.c * plane, (n + 1) * b.c * plane), (n * y.c + a.c) * plane);
  }
  return y;
}

/** Splits d concat into the gradients of its two parts (`ca` channels first). */
export function concatBackward(dy: Act, ca: number): { da: Act; db: Act } {
  const cb = dy.c - ca;
  const da = zerosAct(dy.n, ca, dy.h, dy.w);
  const db = zerosAct(dy.n, cb, dy.h, dy.w);
  const plane = dy.h * dy.w;
  for (let n = 0; n < dy.n; n++) {
    da.data.set(dy.data.subarray(n * dy.c * plane, (n * dy.c + ca) * plane), n * ca * plane);
    db.data.set(dy.data.subarray((n * dy.c + ca) * plane, (n + 1) * dy.c * plane), n * cb * plane);
  }
  return { da, db };
}

// ---- softmax cross-entropy with class weights and an ignored label ----

/**
 * F.cross_entropy(logits, labels, weight, ignore_index=255): Σ w_y·(−log softmax_y) / Σ w_y over the pixels not
 * ignored, and d loss / d logits. No pixel counted (all ignored, or their weights sum to 0) → loss 0, gradient 0
 * (PyTorch would give NaN; a chip with nothing labelled must not poison training).
 */
export function crossEntropy(
  logits: Act,
  labels: ArrayLike<number>,
  classWeights: ArrayLike<number>,
): { loss: number; dlogits: Act } {
  const dlogits = zerosAct(logits.n, logits.c, logits.h, logits.w);
  const plane = logits.h * logits.w;
  let total = 0;
  let weightSum = 0;
  const p = new Float64Array(logits.c);
  for (let b = 0; b < logits.n; b++)
    for (let i = 0; i < plane; i++) {
      const label = labels[b * plane + i]!;
      if (label === IGNORE_LABEL) continue;
      if (label >= logits.c) throw new Error(`internal: label ${label} with ${logits.c} classes`);
      softmaxAt(logits, b, i, p);
      const w = classWeights[label]!;
      total -= w * Math.log(p[label]!);
      weightSum += w;
      for (let k = 0; k < logits.c; k++)
        dlogits.data[(b * logits.c + k) * plane + i] = w * (p[k]! - (k === label ? 1 : 0));
    }
  if (weightSum === 0) return { loss: 0, dlogits: zerosAct(logits.n, logits.c, logits.h, logits.w) };
  for (let i = 0; i < dlogits.data.length; i++) dlogits.data[i]! /= weightSum;
  return { loss: total / weightSum, dlogits };
}

/** softmax over the classes of pixel i of image b, shifted by the maximum so exp cannot overflow */
function softmaxAt(logits: Act, b: number, i: number, out: Float64Array): void {
  const plane = logits.h * logits.w;
  let max = -Infinity;
  for (let k = 0; k < logits.c; k++) max = Math.max(max, logits.data[(b * logits.c + k) * plane + i]!);
  let sum = 0;
  for (let k = 0; k < logits.c; k++) {
    out[k] = Math.exp(logits.data[(b * logits.c + k) * plane + i]! - max);
    sum += out[k]!;
  }
  for (let k = 0; k < logits.c; k++) out[k]! /= sum;
}

/** Softmax over the channels of every pixel: [B, K, H, W] probabilities. */
export function softmax(logits: Act): Act {
  const y = zerosAct(logits.n, logits.c, logits.h, logits.w);
  const plane = logits.h * logits.w;
  const p = new Float64Array(logits.c);
  for (let b = 0; b < logits.n; b++)
    for (let i = 0; i < plane; i++) {
      softmaxAt(logits, b, i, p);
      for (let k = 0; k < logits.c; k++) y.data[(b * logits.c + k) * plane + i] = p[k]!;
    }
  return y;
}

// ---- Adam with L2 weight decay, as torch.optim.Adam(weight_decay=wd) ----

export interface AdamState {
  /** steps taken so far */
  step: number;
  m: Float64Array;
  v: Float64Array;
}

/** One step in place: g ← g + wd·θ; m, v; θ ← θ − lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε). */
export function adamStep(params: Float64Array, grad: ArrayLike<number>, state: AdamState, opt: UNetAdamOptions): void {
  state.step++;
  const c1 = 1 - opt.beta1 ** state.step;
  const c2 = 1 - opt.beta2 ** state.step;
  for (let i = 0; i < params.length; i++) {
    const g = grad[i]! + opt.weightDecay * params[i]!;
    state.m[i] = opt.beta1 * state.m[i]! + (1 - opt.beta1) * g;
    state.v[i] = opt.beta2 * state.v[i]! + (1 - opt.beta2) * g * g;
    params[i]! -= ((opt.lr / c1) * state.m[i]!) / (Math.sqrt(state.v[i]!) / Math.sqrt(c2) + opt.eps);
  }
}
