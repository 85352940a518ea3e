// The DPM picture (issue 4): z-scores below the threshold are transparent, the colour scale runs from the threshold
// up to z = 12 (values above are the top colour), as in papers/001 Figs. 3, 5, 7. Two products share one colouring:
// - a figure PNG: the map (a PNG made with fast-png, embedded in an SVG) with title, colour bar and legend, rendered
//   by host/io/svg-png.ts (resvg);
// - an RGBA uint8 GeoTIFF on the same grid, for overlay in QGIS (alpha 0 below the threshold and for NaN).
import { writeFile } from 'node:fs/promises';
import { encode } from 'fast-png';
import { valueAt } from '../core/arrays.js';
import { DpmError } from '../core/errors.js';
import { SVG_FONT_FAMILY, svgToPng } from '../io/svg-png.js';
import { rampQml } from '../io/qml.js';
import { CogWriter, type Gcp, gcpGrid } from './cog.js';
import { companionPaths, geolocationItems, type WriteOptions } from './geotiff.js';
import type { Georef, Raster } from './types.js';

/** Paper's upper end of the colour scale. */
export const DPM_Z_MAX = 12;

// Yellow → orange → red → dark red (ColorBrewer YlOrRd, its palest step left out so low damage still shows).
const STOPS: [number, number, number][] = [
  [254, 217, 118],
  [254, 178, 76],
  [253, 141, 60],
  [252, 78, 42],
  [227, 26, 28],
  [177, 0, 38],
];

/** The z-score band of a map raster. */
function firstBand(z: Raster): Float32Array {
  const band = z.bands[0];
  if (!band) throw new DpmError(`${z.source ?? 'z-score raster'}: no band to map`);
  return band;
}

/** Colour of a z-score, or undefined when transparent (NaN or below the threshold). */
export function dpmColor(z: number, threshold: number, zMax = DPM_Z_MAX): [number, number, number] | undefined {
  if (!(z >= threshold)) return undefined; // NaN included
  const t = zMax > threshold ? Math.min(1, (z - threshold) / (zMax - threshold)) : 1;
  const x = t * (STOPS.length - 1);
  const k = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - k;
  const lo = STOPS[k],
    hi = STOPS[k + 1];
  if (!lo || !hi) throw new Error(`internal: colour stop ${k} of ${STOPS.length}`);
  const mix = (a: number, b: number) => Math.round(a + f * (b - a));
  return [mix(lo[0], hi[0]), mix(lo[1], hi[1]), mix(lo[2], hi[2])];
}

/**
 * The QGIS style of a z-score raster that looks like dpm.png: transparent below `threshold`, the same colour stops
 * spread evenly from the threshold to zMax (dpmColor), the top colour above.
 */
export function dpmStyleQml(threshold: number, zMax = DPM_Z_MAX): string {
  checkThreshold(threshold, zMax);
  const step = (zMax - threshold) / (STOPS.length - 1);
  // just below the threshold: fully transparent (QGIS gives values under the first stop its colour)
  const floor = { value: threshold - 1e-6 * Math.max(1, Math.abs(threshold)), rgb: STOPS[0] ?? [0, 0, 0], alpha: 0 };
  return rampQml([floor, ...STOPS.map((rgb, k) => ({ value: threshold + k * step, rgb }))]);
}

/** RGBA pixels (row-major, 4 bytes each) of a z-score band. */
export function dpmRgba(z: ArrayLike<number>, threshold: number, zMax = DPM_Z_MAX): Uint8Array {
  const out = new Uint8Array(z.length * 4);
  for (let i = 0; i < z.length; i++) {
    const c = dpmColor(valueAt(z, i), threshold, zMax);
    if (c) out.set([c[0], c[1], c[2], 255], i * 4);
  }
  return out;
}

function checkThreshold(threshold: number, zMax: number) {
  if (!Number.isFinite(threshold)) throw new DpmError(`threshold: ${threshold} is not a number`);
  if (!(zMax > threshold))
    throw new DpmError(`threshold: ${threshold} must be below the top of the colour scale z = ${zMax}`);
}

/** What the overlay and the figure need to know of the z-score grid besides its values. */
export interface MapGrid {
  width: number;
  height: number;
  /** map grid (geotransform, CRS); none in radar geometry */
  georef: Pick<Georef, 'geoTransform' | 'epsg'>;
  /** radar geometry with lat/lon lookups */
  radar: boolean;
  source?: string;
}

/**
 * The RGBA uint8 overlay GeoTIFF of a z-score grid written from rows as they come (a COG, CogWriter). A
 * radar-geometry overlay references lat/lon companions: pass opts.geolocation (e.g. those of zscore.tif) or it
 * names `<path stem>.lat/.lon.tif`; its GCPs are given to finish().
 */
export class DpmOverlayWriter {
  private readonly writer: CogWriter;
  constructor(
    path: string,
    grid: MapGrid,
    private readonly threshold: number,
    private readonly opts: { zMax?: number; geolocation?: WriteOptions['geolocation'] } = {},
  ) {
    const zMax = opts.zMax ?? DPM_Z_MAX;
    checkThreshold(threshold, zMax);
    this.writer = new CogWriter(path, {
      width: grid.width,
      height: grid.height,
      bandCount: 4,
      type: 'uint8',
      rgba: true,
      tileSize: 256,
      level: 6,
      descriptions: ['red', 'green', 'blue', 'alpha'],
      metadata: {
        DPM_THRESHOLD: String(threshold),
        DPM_Z_MAX: String(zMax),
        DPM_COLOURS: 'YlOrRd, transparent below threshold',
      },
      geolocation: grid.radar ? geolocationItems(opts.geolocation ?? companionPaths(path)) : {},
      geoTransform: grid.georef.geoTransform,
      epsg: grid.georef.epsg,
    });
  }

  /** The next `count` rows of z. */
  write(z: ArrayLike<number>, count: number): void {
    const rgba = dpmRgba(z, this.threshold, this.opts.zMax ?? DPM_Z_MAX);
    const n = z.length;
    const bands = [0, 1, 2, 3].map((k) => {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = rgba[i * 4 + k] ?? 0;
      return b;
    });
    this.writer.write(bands, count);
  }

  finish(gcps?: Gcp[]): void {
    this.writer.finish(gcps);
  }

  abort(): void {
    this.writer.abort();
  }
}

/** Writes the RGBA uint8 GeoTIFF overlay of `z` (band 0) to exactly `path` (DpmOverlayWriter over all rows). */
export async function writeDpmOverlay(
  path: string,
  z: Raster,
  threshold: number,
  georef: Georef = z.georef,
  opts: { zMax?: number; geolocation?: WriteOptions['geolocation'] } = {},
): Promise<void> {
  const radar = !georef.geoTransform && georef.lat !== undefined && georef.lon !== undefined;
  const w = new DpmOverlayWriter(path, { width: z.width, height: z.height, georef, radar }, threshold, opts);
  try {
    w.write(firstBand(z), z.height);
    w.finish(radar && georef.lat && georef.lon ? gcpGrid(georef.lat, georef.lon, z.width, z.height) : undefined);
  } catch (err) {
    w.abort();
    throw err;
  }
}

export interface DpmFigureOptions {
  threshold: number;
  zMax?: number;
  title?: string;
  /** what the values are (legend) */
  units?: string;
  /** longest side of the map in the figure, in figure pixels (default 720) */
  mapSize?: number;
}

/**
 * What the figure shows of a z-score grid, gathered from rows as they come: z max-pooled so the map has at most
 * `max` pixels on a side (a damaged pixel never disappears when shrunk), and the count of valid pixels and of those
 * at or above the threshold.
 */
export class DpmMapPool {
  readonly factor: number;
  readonly w: number;
  readonly h: number;
  readonly data: Float32Array;
  valid = 0;
  above = 0;
  private row = 0;

  constructor(
    readonly grid: MapGrid,
    private readonly threshold: number,
    max = 2000,
  ) {
    this.factor = Math.max(1, Math.ceil(Math.max(grid.width, grid.height) / max));
    this.w = Math.ceil(grid.width / this.factor);
    this.h = Math.ceil(grid.height / this.factor);
    this.data = new Float32Array(this.w * this.h).fill(NaN);
  }

  /** The next `count` rows of z. */
  add(z: ArrayLike<number>, count: number): void {
    const { width } = this.grid;
    const f = this.factor;
    for (let r = 0; r < count; r++) {
      const k0 = Math.floor((this.row + r) / f) * this.w;
      for (let c = 0; c < width; c++) {
        const v = valueAt(z, r * width + c);
        if (v === v) {
          this.valid++;
          if (v >= this.threshold) this.above++;
        }
        const k = k0 + Math.floor(c / f);
        const pooled = valueAt(this.data, k);
        if (v > pooled || (v === v && pooled !== pooled)) this.data[k] = v;
      }
    }
    this.row += count;
  }
}

/** The pool of a whole z raster. */
function poolOf(z: Raster, threshold: number): DpmMapPool {
  const g = z.georef;
  const grid = { width: z.width, height: z.height, georef: g, radar: !g.geoTransform && !!g.lat && !!g.lon };
  const pool = new DpmMapPool(grid, threshold);
  pool.add(firstBand(z), z.height);
  return pool;
}

const NODATA_RGBA = [150, 150, 150, 90];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) =>
  Math.abs(v) >= 1000 || Number.isInteger(v) ? v.toFixed(Math.abs(v) >= 1000 ? 0 : 0) : v.toFixed(2);

function coordText(z: MapGrid, w: number, h: number): string | undefined {
  const gt = z.georef.geoTransform;
  if (gt) {
    const geo = z.georef.epsg === 4326;
    const f = (v: number) => (geo ? `${v.toFixed(4)}°` : v.toFixed(0));
    const xs = [gt[0], gt[0] + z.width * gt[1] + z.height * gt[2]];
    const ys = [gt[3], gt[3] + z.width * gt[4] + z.height * gt[5]];
    return (
      `${geo ? 'lon' : 'x'} ${f(Math.min(...xs))} … ${f(Math.max(...xs))}, ${geo ? 'lat' : 'y'} ${f(Math.min(...ys))} … ${f(Math.max(...ys))}` +
      `${z.georef.epsg ? ` (EPSG:${z.georef.epsg})` : ''}`
    );
  }
  if (z.radar) return `radar geometry ${w}×${h} (lat/lon per pixel; see the GeoTIFFs for geocoded maps)`;
  return undefined;
}

/** The DPM figure of a z raster as an SVG document (map embedded as a base64 PNG). */
export function dpmFigureSvg(z: Raster, opts: DpmFigureOptions): string {
  checkThreshold(opts.threshold, opts.zMax ?? DPM_Z_MAX);
  if (z.width < 1 || z.height < 1 || !z.bands[0])
    throw new DpmError(`${z.source ?? 'z-score'}: empty raster, no map to draw`);
  return dpmPoolSvg(poolOf(z, opts.threshold), opts);
}

/** The DPM figure from a pool fed with every row of z (the threshold the pool counted is the figure's). */
export function dpmPoolSvg(small: DpmMapPool, opts: DpmFigureOptions): string {
  const zMax = opts.zMax ?? DPM_Z_MAX;
  checkThreshold(opts.threshold, zMax);
  const z = small.grid;
  const rgba = dpmRgba(small.data, opts.threshold, zMax);
  // In the figure only, no-data pixels are a faint grey so they read differently from "below the threshold".
  for (let i = 0; i < small.data.length; i++) if (small.data[i] !== small.data[i]) rgba.set(NODATA_RGBA, i * 4);
  const png = encode({ width: small.w, height: small.h, data: rgba, channels: 4, depth: 8 });
  const mapSize = opts.mapSize ?? 720;
  // On screen: the longest side = mapSize (small maps enlarged with nearest-neighbour so pixels stay square)
  const scale = mapSize / Math.max(small.w, small.h);
  const mw = Math.round(small.w * scale),
    mh = Math.round(small.h * scale);
  const pad = 24,
    top = 64,
    barW = 22,
    legendW = 230;
  const W = pad + mw + pad + barW + legendW;
  const H = top + Math.max(mh, 260) + 56;
  const { above, valid } = small;
  // colour bar: threshold at the bottom, zMax at the top
  const bx = pad + mw + pad,
    by = top,
    bh = Math.min(mh, 320) < 200 ? 200 : Math.min(mh, 320);
  const grad = Array.from({ length: 11 }, (_, k) => {
    const c = dpmColor(opts.threshold + ((zMax - opts.threshold) * k) / 10, opts.threshold, zMax)!;
    return `<stop offset="${k / 10}" stop-color="rgb(${c.join(',')})"/>`;
  }).join('');
  const ticks = niceTicks(opts.threshold, zMax)
    .map((v) => {
      const y = by + bh - ((v - opts.threshold) / (zMax - opts.threshold)) * bh;
      const label = v === zMax ? `≥ ${fmt(v)}` : fmt(v);
      return (
        `<line x1="${bx + barW}" y1="${y}" x2="${bx + barW + 5}" y2="${y}" stroke="#222"/>` +
        `<text x="${bx + barW + 8}" y="${y + 4}" font-size="12">${esc(label)}</text>`
      );
    })
    .join('');
  const coords = coordText(z, z.width, z.height);
  const title = opts.title ?? 'Damage proxy map';
  const units = opts.units ?? 'z-score (σ below forecast)';
  const lines = [
    `${units}`,
    `transparent: z < ${fmt(opts.threshold)}`,
    `grey: no data`,
    `${above.toLocaleString('en-US')} of ${valid.toLocaleString('en-US')} pixels`,
    `≥ threshold (${valid ? ((100 * above) / valid).toFixed(2) : '0'} %)`,
  ];
  if (small.factor > 1) lines.push(`shown at 1/${small.factor} (max of blocks)`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${SVG_FONT_FAMILY}" fill="#222">
<rect x="0" y="0" width="${W}" height="${top - 8}" fill="#ffffff" fill-opacity="0.85"/>
<text x="${pad}" y="30" font-size="20" font-weight="bold">${esc(title)}</text>
<text x="${pad}" y="50" font-size="13">threshold z ≥ ${fmt(opts.threshold)}, colour scale up to z = ${fmt(zMax)}</text>
<image x="${pad}" y="${top}" width="${mw}" height="${mh}" preserveAspectRatio="none" image-rendering="optimizeSpeed" href="data:image/png;base64,${Buffer.from(png).toString('base64')}"/>
<rect x="${pad - 0.5}" y="${top - 0.5}" width="${mw + 1}" height="${mh + 1}" fill="none" stroke="#555" stroke-width="1"/>
${coords ? `<rect x="0" y="${top + mh + 6}" width="${pad + mw + pad}" height="24" fill="#ffffff" fill-opacity="0.85"/><text x="${pad}" y="${top + mh + 22}" font-size="12">${esc(coords)}</text>` : ''}
<rect x="${bx - 6}" y="${by - 30}" width="${barW + legendW}" height="${bh + 40 + 18 * lines.length + 10}" fill="#ffffff" fill-opacity="0.85"/>
<defs><linearGradient id="dpmbar" x1="0" y1="1" x2="0" y2="0">${grad}</linearGradient></defs>
<text x="${bx}" y="${by - 12}" font-size="13" font-weight="bold">z-score</text>
<rect x="${bx}" y="${by}" width="${barW}" height="${bh}" fill="url(#dpmbar)" stroke="#222" stroke-width="0.8"/>
${ticks}
${lines.map((l, k) => `<text x="${bx}" y="${by + bh + 24 + 18 * k}" font-size="12">${esc(l)}</text>`).join('\n')}
</svg>`;
}

function niceTicks(lo: number, hi: number): number[] {
  const span = hi - lo;
  const step = [1, 2, 2.5, 5, 10, 20, 50].find((s) => span / s <= 6) ?? span / 5;
  const ticks = [lo];
  for (let v = Math.ceil((lo + 1e-9) / step) * step; v < hi - step * 0.3; v += step)
    if (v - lo > step * 0.3) ticks.push(v);
  ticks.push(hi);
  return ticks;
}

/** The DPM figure as PNG bytes. */
export function renderDpmPng(z: Raster, opts: DpmFigureOptions): Uint8Array {
  return svgToPng(dpmFigureSvg(z, opts));
}

/** Writes the DPM figure PNG of a pool fed with every row of z to exactly `path`. */
export async function writeDpmPoolPng(path: string, pool: DpmMapPool, opts: DpmFigureOptions): Promise<void> {
  await writeFile(path, svgToPng(dpmPoolSvg(pool, opts)));
}

/** Writes the DPM figure PNG to exactly `path`. */
export async function writeDpmPng(path: string, z: Raster, opts: DpmFigureOptions): Promise<void> {
  await writeFile(path, renderDpmPng(z, opts));
}
