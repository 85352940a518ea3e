// A small Zarr v2 writer for datacubes (the landslide simulator's cube): consolidated metadata (.zmetadata), one
// uncompressed chunk per variable, xarray's conventions (_ARRAY_DIMENSIONS, CF time units, a `spatial_ref` grid
// mapping), so `xarray.open_zarr` and openDatacube (zarr.ts) read it. Written into a folder the caller owns (an
// OutputSet temporary): nothing here renames or removes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Zarr v2 dtypes we write: float32/64, int64, uint8 and fixed-width unicode (`<U{n}`, UTF-32LE as numpy). */
export type ZarrV2Dtype = '<f4' | '<f8' | '<i8' | '|u1' | `<U${number}`;

export interface ZarrV2Variable {
  name: string;
  dims: string[];
  shape: number[];
  dtype: ZarrV2Dtype;
  /** row-major values; strings for `<U` */
  data: ArrayLike<number> | readonly string[];
  attrs?: Record<string, unknown>;
  /** Zarr fill_value (NaN for floats by default, null otherwise) */
  fill?: number | null;
}

function encode(v: ZarrV2Variable): Buffer {
  const n = v.shape.reduce((a, b) => a * b, 1);
  if (v.data.length !== n) throw new Error(`internal: ${v.name} has ${v.data.length} values for [${v.shape}]`);
  if (v.dtype.startsWith('<U')) {
    const width = Number(v.dtype.slice(2));
    const buf = Buffer.alloc(n * width * 4);
    (v.data as readonly string[]).forEach((s, i) => {
      const cps = [...String(s)].slice(0, width);
      cps.forEach((ch, k) => buf.writeUInt32LE(ch.codePointAt(0) ?? 0, (i * width + k) * 4));
    });
    return buf;
  }
  const nums = v.data as ArrayLike<number>;
  switch (v.dtype) {
    case '<f4':
      return Buffer.from(Float32Array.from(nums).buffer);
    case '<f8':
      return Buffer.from(Float64Array.from(nums).buffer);
    case '<i8':
      return Buffer.from(BigInt64Array.from(Array.from(nums, (x) => BigInt(Math.round(x)))).buffer);
    default:
      return Buffer.from(Uint8Array.from(nums).buffer);
  }
}

/** Writes `vars` as a consolidated Zarr v2 group in `dir` (created). */
export function writeZarrV2(dir: string, vars: ZarrV2Variable[], groupAttrs: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true });
  const meta: Record<string, unknown> = { '.zgroup': { zarr_format: 2 }, '.zattrs': groupAttrs };
  for (const v of vars) {
    const isFloat = v.dtype === '<f4' || v.dtype === '<f8';
    const fill = v.fill !== undefined ? v.fill : isFloat ? NaN : null;
    const zarray = {
      zarr_format: 2,
      shape: v.shape,
      chunks: v.shape,
      dtype: v.dtype,
      compressor: null,
      // JSON has no NaN: Zarr v2 writes it as the string "NaN"
      fill_value: typeof fill === 'number' && Number.isNaN(fill) ? 'NaN' : fill,
      filters: null,
      order: 'C',
    };
    const zattrs = { _ARRAY_DIMENSIONS: v.dims, ...(v.attrs ?? {}) };
    const d = join(dir, v.name);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, '.zarray'), JSON.stringify(zarray, null, 2));
    writeFileSync(join(d, '.zattrs'), JSON.stringify(zattrs, null, 2));
    writeFileSync(join(d, v.shape.length === 0 ? '0' : v.shape.map(() => '0').join('.')), encode(v));
    meta[`${v.name}/.zarray`] = zarray;
    meta[`${v.name}/.zattrs`] = zattrs;
  }
  writeFileSync(join(dir, '.zgroup'), JSON.stringify({ zarr_format: 2 }));
  writeFileSync(join(dir, '.zattrs'), JSON.stringify(groupAttrs, null, 2));
  writeFileSync(join(dir, '.zmetadata'), JSON.stringify({ metadata: meta, zarr_consolidated_format: 1 }, null, 2));
}
