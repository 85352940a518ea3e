// Smooth random fields in about [−1, 1]: two octaves of value noise (bilinear with smoothstep) on the ground, read
// block by block. The lattices (one value per cell, a cell of margin around the grid's ground bounding box) come from
// one named random stream in row-major order; a block of pixel rows draws only the lattice rows it touches, starting
// where the whole lattice's loop would be (SimRng.skip), so any split into blocks gives the same values and memory
// does not grow with the scene's height.
import type { GridMap } from './geometry.js';
import { SimRng } from './rng.js';

interface Octave {
  cell: number;
  weight: number;
  /** lattice columns (east) and rows (north) */
  ne: number;
  nn: number;
  /** uint32 draws of the stream before this octave's lattice */
  start: number;
}

/** The lattice rows [iy0, iy0 + rows) of one octave, as the whole-lattice loop would have drawn them. */
interface LatticeRows {
  iy0: number;
  values: Float64Array;
}

function smoothstep(x: number): number {
  return x * x * (3 - 2 * x);
}

/** Bilinear value noise (smoothstep weights) of the drawn lattice rows at lattice coordinates (x, y). */
function lattice(rows: LatticeRows, o: Octave, x: number, y: number): number {
  const ix = Math.floor(x);
  const iy = Math.floor(y);
  const fx = smoothstep(x - ix);
  const fy = smoothstep(y - iy);
  const v = rows.values;
  const ne = o.ne;
  const i = (iy - rows.iy0) * ne + ix; // inside the drawn rows: latticeRows took a row of margin
  const v00 = v[i] ?? NaN;
  const v01 = v[i + 1] ?? NaN;
  const v10 = v[i + ne] ?? NaN;
  const v11 = v[i + ne + 1] ?? NaN;
  return (v00 * (1 - fx) + v01 * fx) * (1 - fy) + (v10 * (1 - fx) + v11 * fx) * fy;
}

export class SmoothField {
  private readonly e0: number;
  private readonly n0: number;
  private readonly octaves: Octave[];
  /** uint32 draws of the stream used by this field (the next field on the same stream starts after them) */
  readonly draws: number;

  /** A field of cell `cellM` metres drawn from stream (seed, `stream`), `start` draws into it. */
  constructor(
    private readonly seed: number,
    private readonly stream: string,
    private readonly map: GridMap,
    cellM: number,
    start = 0,
  ) {
    const { width, height } = map.grid;
    const corners = [
      map.toGround(-1, -1),
      map.toGround(-1, width),
      map.toGround(height, -1),
      map.toGround(height, width),
    ];
    this.e0 = Math.min(...corners.map((p) => p.e));
    this.n0 = Math.min(...corners.map((p) => p.n));
    const e1 = Math.max(...corners.map((p) => p.e));
    const n1 = Math.max(...corners.map((p) => p.n));
    let at = start;
    this.octaves = [
      { cell: cellM, weight: 0.7 },
      { cell: cellM / 3, weight: 0.3 },
    ].map(({ cell, weight }) => {
      const ne = Math.ceil((e1 - this.e0) / cell) + 2;
      const nn = Math.ceil((n1 - this.n0) / cell) + 2;
      const o = { cell, weight, ne, nn, start: at };
      at += 2 * ne * nn; // a uniform is two uint32 draws
      return o;
    });
    this.draws = at - start;
  }

  /** The field at pixel rows [r0, r1), all columns, row-major (float32 as the whole-grid field stored it). */
  rows(r0: number, r1: number, out = new Float32Array((r1 - r0) * this.map.grid.width)): Float32Array {
    const width = this.map.grid.width;
    const [o1, o2] = this.octaves;
    if (!o1 || !o2) throw new Error('internal: a smooth field has two octaves');
    const l1 = this.latticeRows(o1, r0, r1);
    const l2 = this.latticeRows(o2, r0, r1);
    const ge = new Float64Array(width);
    const gn = new Float64Array(width);
    for (let r = r0; r < r1; r++) {
      this.map.groundRow(r, ge, gn);
      for (let c = 0; c < width; c++) {
        const e = ge[c] ?? NaN;
        const n = gn[c] ?? NaN;
        const p = (r - r0) * width + c;
        // octave by octave into the float32 output, as the whole-grid loop added them (one rounding after each)
        out[p] = 0 + o1.weight * lattice(l1, o1, (e - this.e0) / o1.cell, (n - this.n0) / o1.cell);
        out[p] = (out[p] ?? NaN) + o2.weight * lattice(l2, o2, (e - this.e0) / o2.cell, (n - this.n0) / o2.cell);
        // value noise rarely reaches ±1 after blending: stretch so the field spans about [−1, 1]
        out[p] = Math.max(-1, Math.min(1, (out[p] ?? NaN) * 1.6));
      }
    }
    return out;
  }

  /** Draws the lattice rows under pixel rows [r0, r1) (the map is affine: the block's corners bound them). */
  private latticeRows(o: Octave, r0: number, r1: number): LatticeRows {
    const w = this.map.grid.width;
    const ys = [
      [r0, 0],
      [r0, w - 1],
      [r1 - 1, 0],
      [r1 - 1, w - 1],
    ].map(([r = 0, c = 0]) => (this.map.toGround(r, c).n - this.n0) / o.cell);
    // one row of margin on each side covers rounding at the corners; iy + 1 is read too
    const iy0 = Math.max(0, Math.floor(Math.min(...ys)) - 1);
    const iy1 = Math.min(o.nn, Math.floor(Math.max(...ys)) + 3);
    const rng = new SimRng(this.seed, this.stream).skip(o.start + 2 * iy0 * o.ne);
    const values = new Float64Array((iy1 - iy0) * o.ne);
    for (let i = 0; i < values.length; i++) values[i] = 2 * rng.uniform() - 1;
    return { iy0, values };
  }
}
