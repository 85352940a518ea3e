// NumPy .npy arrays (format versions 1–3): the header dict ('descr', 'fortran_order', 'shape') and float16/32/64
// data in either byte order, C or Fortran order. Used for the authors' coherence cubes (dpm-dataset.ts).
import { readFileSync } from 'node:fs';
import { DpmError } from '../../core/errors.js';
import { halfToNumber } from '../../core/float16.js';

export interface NpyArray {
  shape: number[];
  fortranOrder: boolean;
  /** the values in file order, as float64 */
  data: Float64Array;
}

/** Parses a .npy file's bytes; `what` names it in messages. */
export function parseNpy(bytes: Uint8Array, what: string): NpyArray {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(...bytes.subarray(1, 6));
  if (bytes.length < 10 || bytes[0] !== 0x93 || magic !== 'NUMPY') throw new DpmError(`${what}: not a NumPy .npy file`);
  const major = bytes[6] ?? 0;
  const headerLen = major >= 2 ? view.getUint32(8, true) : view.getUint16(8, true);
  const start = major >= 2 ? 12 : 10;
  if (start + headerLen > bytes.length) throw new DpmError(`${what}: truncated .npy header`);
  const header = new TextDecoder(major >= 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined)
    throw new DpmError(`${what}: unreadable .npy header '${header.trim()}'`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const m = /^([<>|=])f([248])$/.exec(descr);
  if (!m) throw new DpmError(`${what}: data type '${descr}' is not float16, float32 or float64`);
  const little = m[1] !== '>';
  const size = Number(m[2]);
  const n = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  if (offset + n * size > bytes.length)
    throw new DpmError(`${what}: ${bytes.length - offset} data bytes for shape (${shape.join(', ')}) of ${descr}`);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const at = offset + i * size;
    data[i] =
      size === 2
        ? halfToNumber(view.getUint16(at, little))
        : size === 4
          ? view.getFloat32(at, little)
          : view.getFloat64(at, little);
  }
  return { shape, fortranOrder: fortran === 'True', data };
}

export function readNpy(path: string, what = path): NpyArray {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new DpmError(`${what}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseNpy(bytes, what);
}
