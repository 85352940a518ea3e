// Shared helpers of the eval-/vector-/baselines- tests (not a test file itself).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { at } from './at.js';

export { mulberry32 } from './random.js';

/** Brute force: damaged and undamaged pixels scored ≥ t (finite scores with a 0/1 label only). */
export function flaggedAt(scores: number[], labels: number[], t: number): [number, number] {
  let tp = 0,
    fp = 0;
  scores.forEach((s, i) => {
    if (Number.isFinite(s) && (labels[i] === 0 || labels[i] === 1) && s >= t) {
      if (labels[i] === 1) tp++;
      else fp++;
    }
  });
  return [tp, fp];
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `dpm-${tag}-`));
}

type Ring = [number, number][];
export interface ShpFeature {
  rings: Ring[];
  props: Record<string, string | number>;
}

function signedArea(r: Ring): number {
  let s = 0;
  for (let k = 0; k + 1 < r.length; k++) s += at(r, k)[0] * at(r, k + 1)[1] - at(r, k + 1)[0] * at(r, k)[1];
  return s / 2;
}

/**
 * Minimal ESRI Shapefile writer for test fixtures (the `shapefile` package only reads): polygon .shp + .shx, a dBase
 * III .dbf with character (C) and numeric (N) fields, and an optional .prj. Outer rings are written clockwise and
 * holes counter-clockwise, as the format requires (readers use the orientation to tell holes from parts).
 */
export function writeShapefile(base: string, features: ShpFeature[], prj?: string): void {
  const recs: Buffer[] = [];
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (const f of features) {
    const rings = f.rings.map((r, k) => {
      const cw = signedArea(r) < 0;
      return (k === 0) === cw ? r : [...r].reverse();
    });
    const pts = rings.flat();
    let bx0 = Infinity,
      by0 = Infinity,
      bx1 = -Infinity,
      by1 = -Infinity;
    for (const [x, y] of pts) {
      bx0 = Math.min(bx0, x);
      by0 = Math.min(by0, y);
      bx1 = Math.max(bx1, x);
      by1 = Math.max(by1, y);
    }
    x0 = Math.min(x0, bx0);
    y0 = Math.min(y0, by0);
    x1 = Math.max(x1, bx1);
    y1 = Math.max(y1, by1);
    const b = Buffer.alloc(44 + 4 * rings.length + 16 * pts.length);
    b.writeInt32LE(5, 0);
    [bx0, by0, bx1, by1].forEach((v, k) => b.writeDoubleLE(v, 4 + 8 * k));
    b.writeInt32LE(rings.length, 36);
    b.writeInt32LE(pts.length, 40);
    let start = 0;
    rings.forEach((r, k) => {
      b.writeInt32LE(start, 44 + 4 * k);
      start += r.length;
    });
    pts.forEach(([x, y], k) => {
      b.writeDoubleLE(x, 44 + 4 * rings.length + 16 * k);
      b.writeDoubleLE(y, 52 + 4 * rings.length + 16 * k);
    });
    recs.push(b);
  }
  const header = (words: number) => {
    const h = Buffer.alloc(100);
    h.writeInt32BE(9994, 0);
    h.writeInt32BE(words, 24);
    h.writeInt32LE(1000, 28);
    h.writeInt32LE(5, 32);
    [x0, y0, x1, y1].forEach((v, k) => h.writeDoubleLE(v, 36 + 8 * k));
    return h;
  };
  const shpParts: Buffer[] = [],
    shxParts: Buffer[] = [];
  let offset = 50; // words
  recs.forEach((r, k) => {
    const rh = Buffer.alloc(8);
    rh.writeInt32BE(k + 1, 0);
    rh.writeInt32BE(r.length / 2, 4);
    shpParts.push(rh, r);
    const ix = Buffer.alloc(8);
    ix.writeInt32BE(offset, 0);
    ix.writeInt32BE(r.length / 2, 4);
    shxParts.push(ix);
    offset += 4 + r.length / 2;
  });
  writeFileSync(`${base}.shp`, Buffer.concat([header(offset), ...shpParts]));
  writeFileSync(`${base}.shx`, Buffer.concat([header(50 + 4 * recs.length), ...shxParts]));

  const names = [...new Set(features.flatMap((f) => Object.keys(f.props)))];
  const fields = names.map((name) => {
    const numeric = features.every((f) => typeof f.props[name] === 'number' || f.props[name] === undefined);
    const len = Math.max(1, ...features.map((f) => String(f.props[name] ?? '').length));
    return { name, numeric, len: numeric ? Math.max(len, 10) : len };
  });
  const recSize = 1 + fields.reduce((s, f) => s + f.len, 0);
  const hdrSize = 32 + 32 * fields.length + 1;
  const dbf = Buffer.alloc(hdrSize + recSize * features.length + 1, 0);
  dbf.writeUInt8(3, 0);
  dbf.writeUInt8(124, 1);
  dbf.writeUInt8(1, 2);
  dbf.writeUInt8(1, 3);
  dbf.writeUInt32LE(features.length, 4);
  dbf.writeUInt16LE(hdrSize, 8);
  dbf.writeUInt16LE(recSize, 10);
  fields.forEach((f, k) => {
    const o = 32 + 32 * k;
    dbf.write(f.name.slice(0, 10), o, 'latin1');
    dbf.write(f.numeric ? 'N' : 'C', o + 11, 'latin1');
    dbf.writeUInt8(f.len, o + 16);
    dbf.writeUInt8(f.numeric && features.some((g) => !Number.isInteger(g.props[f.name])) ? 3 : 0, o + 17);
  });
  dbf.writeUInt8(0x0d, hdrSize - 1);
  features.forEach((feat, r) => {
    let o = hdrSize + r * recSize;
    dbf.write(' ', o++, 'latin1');
    for (const f of fields) {
      const v = String(feat.props[f.name] ?? '');
      dbf.write(f.numeric ? v.padStart(f.len) : v.padEnd(f.len), o, 'latin1');
      o += f.len;
    }
  });
  dbf.writeUInt8(0x1a, dbf.length - 1);
  writeFileSync(`${base}.dbf`, dbf);
  if (prj) writeFileSync(`${base}.prj`, prj);
}

// ── a hand-made truth on a 4×3 UTM grid (EPSG:32633, 30 m pixels, upper-left corner 500000 E, 4700000 N) ──
export const UTM_GT: [number, number, number, number, number, number] = [500000, 30, 0, 4700000, 0, -30];
const rect = (x0: number, y0: number, x1: number, y1: number): Ring =>
  (
    [
      [x0, y0],
      [x1, y0],
      [x1, y1],
      [x0, y1],
      [x0, y0],
    ] as const
  ).map(([x, y]): [number, number] => [500000 + x, 4700000 + y]);
const tri = (pts: [number, number][]): Ring =>
  [...pts, at(pts, 0)].map(([x, y]): [number, number] => [500000 + x, 4700000 + y]);

/** Footprints in UTM 33N metres with grade 'destroyed' / 'damaged' / 'none' (and a numeric copy `g`). */
export function handTruth(): ShpFeature[] {
  return [
    { rings: [rect(0, -30, 15, 0)], props: { grade: 'destroyed', g: 5 } }, // half of pixel (0,0)
    { rings: [rect(30, -30, 40, 0)], props: { grade: 'Damaged', g: 4 } }, // a third of (0,1)
    { rings: [rect(60, -30, 69, 0)], props: { grade: 'damaged', g: 4 } }, // 0.3 of (0,2)
    { rings: [rect(5, -30, 15, 0)], props: { grade: 'destroyed', g: 5 } }, // inside the first: no double count
    { rings: [rect(0, -60, 30, -30)], props: { grade: 'none', g: 0 } }, // all of (1,0) but undamaged
    { rings: [rect(40, -80, 80, -40)], props: { grade: 'destroyed', g: 5 } }, // 4/9 of (1,1),(1,2),(2,1),(2,2)
    { rings: [rect(90, -90, 120, -60), rect(95, -85, 115, -65)], props: { grade: 'destroyed', g: 5 } }, // (2,3) with a hole: 5/9
    {
      rings: [
        tri([
          [90, -60],
          [120, -60],
          [90, -30],
        ]),
      ],
      props: { grade: 'damaged', g: 4 },
    }, // half of (1,3)
  ];
}
/** Expected damaged fraction per pixel of handTruth() on the 4×3 grid, row-major. */
export const HAND_FRACTION = [0.5, 1 / 3, 0.3, 0, 0, 4 / 9, 4 / 9, 0.5, 0, 4 / 9, 4 / 9, 5 / 9];

export function toGeoJson(
  features: ShpFeature[],
  epsg?: number,
  map: (p: [number, number]) => [number, number] = (p) => p,
): Record<string, unknown> {
  return {
    type: 'FeatureCollection',
    ...(epsg ? { crs: { type: 'name', properties: { name: `urn:ogc:def:crs:EPSG::${epsg}` } } } : {}),
    features: features.map((f) => ({
      type: 'Feature',
      properties: f.props,
      geometry: { type: 'Polygon', coordinates: f.rings.map((r) => r.map(map)) },
    })),
  };
}
