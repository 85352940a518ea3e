// IEEE 754 binary16 ("half", float16) decoding: NumPy .npy cubes (raster/products/npy.ts) and NISAR complex32 SLCs
// (sar/hdf5.ts: a compound of two float16), which h5wasm reads only as raw bytes.

/** Reference: the half definition in float64 — (−1)^s · 2^(e−15) · (1 + f/1024), subnormals (−1)^s · 2^−14 · f/1024,
 *  e = 31: ±Inf (f = 0) or NaN. */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float32 bits of a half: every half is exactly a float32 (exponent rebased by 127 − 15 = 112, fraction
 *  shifted 13 bits left; a subnormal is normalised, as float32 holds it as a normal number). */
export function halfToFloat32(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  let frac = h & 0x3ff;
  if (exp === 0x1f)
    u32[0] = sign | 0x7f800000 | (frac << 13); // ±Inf, NaN (payload kept)
  else if (exp !== 0) u32[0] = sign | ((exp + 112) << 23) | (frac << 13);
  else if (frac === 0)
    u32[0] = sign; // ±0
  else {
    let e = 113; // f·2^−24 = 1.m · 2^(−14 − shifts): biased 127 − 14 − shifts
    while (!(frac & 0x400)) {
      frac <<= 1;
      e--;
    }
    u32[0] = sign | (e << 23) | ((frac & 0x3ff) << 13);
  }
  return f32[0] ?? NaN;
}

let table: Float32Array | undefined;

/** Every half's float32 value (256 KiB, built on first use): decoding is one lookup per sample. */
export function halfTable(): Float32Array {
  if (!table) {
    table = new Float32Array(0x10000);
    for (let h = 0; h < 0x10000; h++) table[h] = halfToFloat32(h);
  }
  return table;
}
