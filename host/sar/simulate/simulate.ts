// `dpm simulate`: writes a Scene as an ISCE2-style coregistered SLC stack with lat/lon lookups and its truth.
//
// SLC samples. At each pixel the unit-variance speckle follows an AR(1) chain over the dates:
//   s_0 = w_0,   s_{k+1} = γ_k s_k + sqrt(1 − γ_k²) w_{k+1},
// with w_k independent circular complex Gaussians, E|w|² = 1 (real and imaginary parts N(0, ½)). By induction
// E|s_k|² = 1, and E[s_{k+1} s_k*] = γ_k E|s_k|² = γ_k: the pair (k, k+1) has exactly the true coherence γ_k.
// (Non-consecutive pairs get γ_k·γ_{k+1}·…, the usual multiplicative temporal decorrelation.) The written sample is
// x_k = A · s_k with a time-invariant real amplitude A > 0 per pixel (class brightness × texture). A cancels from
// the coherence: E[x_{k+1} x_k*] / sqrt(E|x_k|² E|x_{k+1}|²) = A² γ_k / (A · A) = γ_k, because the same A multiplies
// both dates. Inside a chip, a sample estimator weights pixels by A², so a chip's expected coherence is the
// A²-weighted mean of its pixels' γ (the same as for real data).
//
// Files (all through one OutputSet: an interrupted run leaves no partial files):
//   DIR/<YYYYMMDD>/<YYYYMMDD>.slc.full (+ .vrt, .xml)    complex64 little-endian, row-major
//   DIR/geom_reference/lat.rdr, lon.rdr (+ .vrt, .xml)   float64 little-endian, WGS84 pixel centres
//   DIR/truth/damage.geojson                             building footprints with damage_grade (Copernicus EMS)
//   DIR/truth/damage_mask.tif, landcover.tif, coherence.tif (radar geometry, lat/lon companions beside each); past
//     TRUTH_COG_BYTES (frames) damage_mask.rdr, landcover.rdr (uint8), coherence.rdr (float32, band after band)
//     with a GDAL VRT each (.rdr.vrt, GEOLOCATION from geom_reference)
// Everything is written block by block of rows (SLCs and raw truth at the block's offset in each file), so memory
// stays at one block's pixels whatever the scene's size; the bytes do not depend on the block size.
//   DIR/scene.json                                       what was simulated, windows for dpm run/demo
import { consecutivePairs, valueAt } from '../../core/arrays.js';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { DpmError } from '../../core/errors.js';
import { isBookkeeping, withOutputPolicy, withOutputs, type OutputSet } from '../../io/outputs.js';
import { geolocationItems, writeRaster } from '../../raster/geotiff.js';
import { checkpoint, type Feedback, throwIfCanceled } from '../../core/feedback.js';
import { SimRng } from './rng.js';
import { isceXml, rawVrt } from './isce.js';
import {
  CHIP,
  checkOptions,
  DAMAGED_CHIP_FRACTION,
  DAMAGED_GRADES,
  DAMAGE_FACTOR,
  GRADES,
  LANDCOVER_NAMES,
  Scene,
  formatWindow,
  type Building,
  type SceneBlock,
  type SimOptions,
} from './scene.js';

export const GENERATOR = 'dpm simulate';
/** Minimum damaged and undamaged chips (15x5, stride 1) in the AOI for a scene worth evaluating. */
export const MIN_AOI_CHIPS = 20;

export interface SimulateResult {
  dir: string;
  scene: string;
  damage: string;
  mask: string;
  coherence: string;
  landcover: string;
  dates: string[];
  eventDate: string;
  eventIndex: number;
  aoiWindow: string;
  trainWindow: string;
  aoiChips: { damaged: number; undamaged: number; agriculture: number; total: number };
}

/** Paths of one date's SLC files. */
export function slcPaths(dir: string, date: string): { data: string; vrt: string; xml: string } {
  const data = join(dir, date, `${date}.slc.full`);
  return { data, vrt: `${data}.vrt`, xml: `${data}.xml` };
}

/** Little-endian bytes of a typed array (every platform Node runs on is little-endian, checked once). */
function leBytes(a: Float32Array | Float64Array): Uint8Array {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('internal: big-endian host');
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Refuses a non-empty folder that is not an earlier simulated scene; returns the earlier scene's dates. */
function checkOutDir(dir: string): string[] {
  if (!existsSync(dir)) return [];
  if (!statSync(dir).isDirectory()) throw new DpmError(`simulate: --out ${dir} exists and is not a folder`);
  const entries = readdirSync(dir).filter((e) => !isBookkeeping(e));
  if (entries.length === 0) return [];
  const scenePath = join(dir, 'scene.json');
  let previous: { generator?: string; dates?: unknown } | undefined;
  try {
    previous = JSON.parse(readFileSync(scenePath, 'utf8'));
  } catch {
    previous = undefined;
  }
  if (previous?.generator !== GENERATOR) {
    throw new DpmError(
      `simulate: --out ${dir} is not empty and holds no simulated scene (no ${scenePath}); choose an empty or new folder`,
    );
  }
  return Array.isArray(previous.dates)
    ? previous.dates.filter((d): d is string => typeof d === 'string' && /^\d{8}$/.test(d))
    : [];
}

function round9(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

/** Writes truth/damage.geojson feature by feature (a frame has ~10^5 buildings): the bytes of
 *  JSON.stringify({ type, name, features }) without holding every feature at once. */
function writeDamageGeoJson(path: string, scene: Scene): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, '{"type":"FeatureCollection","name":"damage","features":[');
    for (const [i, b] of scene.buildings.entries()) {
      writeSync(fd, `${i > 0 ? ',' : ''}${JSON.stringify(damageFeature(scene, b))}`);
    }
    writeSync(fd, ']}\n');
  } finally {
    closeSync(fd);
  }
}

function damageFeature(scene: Scene, b: Building): object {
  const m = scene.map;
  const pixelArea = Math.abs(m.rowE * m.colN - m.colE * m.rowN);
  // pixel (r, c) is centred on integer coordinates: a footprint of rows [r0, r1) spans r0 − ½ … r1 − ½
  const corners = (
    [
      [b.r0 - 0.5, b.c0 - 0.5],
      [b.r0 - 0.5, b.c1 - 0.5],
      [b.r1 - 0.5, b.c1 - 0.5],
      [b.r1 - 0.5, b.c0 - 0.5],
    ] as const
  ).map(([r, c]): [number, number] => {
    const p = m.toLatLon(r, c);
    return [round9(p.lon), round9(p.lat)];
  });
  // RFC 7946: exterior rings counter-clockwise (positive shoelace area in lon/lat)
  let twiceArea = 0;
  const ring: [number, number][] = corners[0] ? [...corners, corners[0]] : [];
  for (const [[x0, y0], [x1, y1]] of consecutivePairs(ring)) {
    twiceArea += x0 * y1 - x1 * y0;
  }
  if (twiceArea < 0) corners.reverse();
  const [first] = corners;
  if (first) corners.push([...first]);
  return {
    type: 'Feature',
    properties: {
      id: b.id,
      damage_grade: b.grade,
      damaged: DAMAGED_GRADES.includes(b.grade) ? 1 : 0,
      rows: `${b.r0}:${b.r1}`,
      cols: `${b.c0}:${b.c1}`,
      area_m2: Math.round((b.r1 - b.r0) * (b.c1 - b.c0) * pixelArea * 10) / 10,
    },
    geometry: { type: 'Polygon', coordinates: [corners] },
  };
}

/** Truth rasters whose float32 bands (and lat/lon) fit this are written as COGs from memory; larger ones (frames)
 *  as band-sequential raw files with a GDAL VRT, streamed block by block like the SLCs. */
export const TRUTH_COG_BYTES = 192 * 2 ** 20;

/** How the writer splits its work (tests shrink both to reach the block and raw-truth paths on small scenes). */
export interface SimulateTuning {
  /** rows per block (default rowsPerBlock: about 2^20 pixels) */
  blockRows?: number;
  /** largest truth raster written as a COG (default TRUTH_COG_BYTES) */
  truthCogBytes?: number;
}

/** One truth raster: collected in memory for a COG, or written block by block to a raw file with a VRT. */
class TruthRaster {
  readonly bands: Float32Array[] = [];
  private readonly fd?: number;
  readonly path: string;

  constructor(
    outs: OutputSet,
    private readonly tifPath: string,
    private readonly width: number,
    private readonly height: number,
    private readonly type: 'Byte' | 'Float32',
    private readonly descriptions: string[],
    private readonly metadata: Record<string, string>,
    cogBytes: number,
  ) {
    const n = width * height;
    // the COG writer holds the bands, lat/lon (float32), a third more for overviews and the compressed tiles
    if (n * 4 * (descriptions.length + 2) <= cogBytes) {
      this.path = tifPath;
      for (const _ of descriptions) this.bands.push(new Float32Array(n));
    } else {
      this.path = `${tifPath.replace(/\.tif$/, '.rdr')}.vrt`;
      this.fd = openSync(outs.path(this.raw), 'w');
    }
  }

  private get raw(): string {
    return this.tifPath.replace(/\.tif$/, '.rdr');
  }

  /** Rows starting at `r0` of band `k`. */
  write(k: number, r0: number, values: Float32Array | Uint8Array): void {
    const offset = r0 * this.width;
    if (this.fd === undefined) {
      this.bands[k]?.set(values, offset);
      return;
    }
    const bytes = this.type === 'Byte' ? Uint8Array.from(values) : leBytes(Float32Array.from(values));
    const bandBytes = this.width * this.height * (this.type === 'Byte' ? 1 : 4);
    writeSync(this.fd, bytes, 0, bytes.length, k * bandBytes + offset * (this.type === 'Byte' ? 1 : 4));
  }

  /** Finishes the file: the COG (with lat/lon companions), or closes the raw file and writes its VRT. */
  async finish(
    outs: OutputSet,
    georef: { lat: Float32Array; lon: Float32Array } | undefined,
    dir: string,
    fb: Feedback,
  ) {
    if (this.fd === undefined) {
      if (!georef) throw new Error('internal: no lat/lon for a truth COG');
      await writeRaster(
        outs,
        this.tifPath,
        {
          width: this.width,
          height: this.height,
          georef,
          bands: this.bands,
          descriptions: this.descriptions,
          metadata: this.metadata,
        },
        { ...(this.type === 'Byte' ? { type: 'uint8' as const } : {}), beforeBand: () => throwIfCanceled(fb) },
      );
      return;
    }
    closeSync(this.fd);
    const geom = (name: string): string => `${join(dir, 'geom_reference', name)}.vrt`;
    const vrt = rawVrt(basename(this.raw), this.width, this.height, this.type, {
      bands: this.descriptions,
      metadata: this.metadata,
      geolocation: geolocationItems({ lat: geom('lat.rdr'), lon: geom('lon.rdr') }),
    });
    writeFileSync(outs.path(this.path), vrt);
  }

  /** Closes the raw file after an error (the OutputSet removes it). */
  abandon(): void {
    if (this.fd !== undefined) closeSync(this.fd);
  }
}

/** Refuses a scene the file system cannot hold (a frame is tens of GB), before anything is written. */
function checkFreeSpace(dir: string, bytes: number): void {
  let probe = dir;
  while (!existsSync(probe)) probe = dirname(probe);
  const fs = statfsSync(probe);
  const free = fs.bavail * fs.bsize;
  if (free < bytes) {
    throw new DpmError(
      `simulate: the scene needs ${(bytes / 1e9).toFixed(1)} GB but ${probe} has ${(free / 1e9).toFixed(1)} GB free`,
    );
  }
}

/**
 * Simulates the scene of `options` into `outDir`, block by block of rows: memory is a block's pixels (about 2^20:
 * tens of MB) plus the layout, whatever the scene's size. Progress 0–100 with the rows done, cancellable between
 * blocks and dates.
 */
export async function simulate(
  options: SimOptions,
  outDir: string,
  fb: Feedback,
  tuning: SimulateTuning = {},
): Promise<SimulateResult> {
  const checked = checkOptions(options); // bad options fail before anything else happens
  const dir = resolve(outDir);
  const previousDates = checkOutDir(dir);
  fb.progress(0, 'laying out the scene');
  const scene = new Scene(checked, { isCanceled: () => fb.isCanceled(), blockRows: tuning.blockRows });
  const { width, height, eventIndex, seed } = scene.options;
  const N = width * height;
  const nDates = scene.dates.length;
  const aoiChips = scene.chipCounts(scene.aoiWindow);
  if (aoiChips.damaged < MIN_AOI_CHIPS || aoiChips.undamaged < MIN_AOI_CHIPS) {
    throw new DpmError(
      `simulate: a ${width}×${height} scene (seed ${seed}) gives only ${aoiChips.damaged} damaged and ${aoiChips.undamaged} ` +
        `undamaged ${CHIP.range}x${CHIP.azimuth} chips in its area of interest (at least ${MIN_AOI_CHIPS} of each are needed); ` +
        `use a larger --width/--height or another --seed`,
    );
  }
  await checkpoint(fb);
  fb.log(
    'info',
    `simulate: ${width}×${height} pixels, ${nDates} dates ${scene.dates[0]}…${scene.dates.at(-1)}, ` +
      `event ${scene.eventDate} (co-event pair ${scene.pairName(eventIndex)}), ${scene.buildings.length} buildings, ${scene.fieldCount} fields`,
  );
  // SLCs (8 bytes), lat/lon (16), truth coherence (4 per pair) and the two byte rasters, per pixel
  checkFreeSpace(dir, N * (8 * nDates + 16 + 4 * scene.pairs + 2));

  const createdDirs = [
    dir,
    join(dir, 'geom_reference'),
    join(dir, 'truth'),
    ...scene.dates.map((d) => join(dir, d)),
  ].filter((d) => !existsSync(d));
  const paths = {
    scene: join(dir, 'scene.json'),
    damage: join(dir, 'truth', 'damage.geojson'),
    mask: join(dir, 'truth', 'damage_mask.tif'),
    landcover: join(dir, 'truth', 'landcover.tif'),
    coherence: join(dir, 'truth', 'coherence.tif'),
  };
  try {
    // an earlier simulated scene in this folder (checkOutDir refused anything else) is replaced as a whole
    await withOutputPolicy(previousDates.length > 0 ? { overwrite: true } : {}, () =>
      withOutputs(async (outs) => {
        const fds: number[] = [];
        const open = (path: string): number => {
          const fd = openSync(outs.path(path), 'w');
          fds.push(fd);
          return fd;
        };
        const cogBytes = tuning.truthCogBytes ?? TRUTH_COG_BYTES;
        const truth = [
          new TruthRaster(
            outs,
            paths.mask,
            width,
            height,
            'Byte',
            ['damage (1 = building graded Destroyed or Damaged, 0 = not)'],
            { EVENT_DATE: scene.eventDate, DAMAGED_GRADES: DAMAGED_GRADES.join(',') },
            cogBytes,
          ),
          new TruthRaster(
            outs,
            paths.landcover,
            width,
            height,
            'Byte',
            [
              `land cover (${Object.entries(LANDCOVER_NAMES)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ')})`,
            ],
            Object.fromEntries(Object.entries(LANDCOVER_NAMES).map(([k, v]) => [`CLASS_${k}`, v])),
            cogBytes,
          ),
          new TruthRaster(
            outs,
            paths.coherence,
            width,
            height,
            'Float32',
            Array.from({ length: scene.pairs }, (_, k) => scene.pairName(k)),
            { EVENT_DATE: scene.eventDate, CO_EVENT_PAIR: scene.pairName(eventIndex), TRUE_COHERENCE: 'yes' },
            cogBytes,
          ),
        ] as const;
        const [maskOut, landcoverOut, coherenceOut] = truth;
        // the truth COGs carry lat/lon as float32; raw truth points at geom_reference instead
        const georef = truth.some((t) => t.bands.length > 0)
          ? { lat: new Float32Array(N), lon: new Float32Array(N) }
          : undefined;
        try {
          // geometry lookups (float64 as ISCE2 writes them) and the SLCs, one block of rows at a time
          const geom = ['lat', 'lon'].map((name) => join(dir, 'geom_reference', `${name}.rdr`));
          const [latFd = -1, lonFd = -1] = geom.map(open);
          const slcFds = scene.dates.map((date) => open(slcPaths(dir, date).data));
          const block = scene.blockRows;
          for (let r0 = 0; r0 < height; r0 += block) {
            await checkpoint(fb);
            const r1 = Math.min(height, r0 + block);
            const n = (r1 - r0) * width;
            const blk = scene.block(r0, r1);
            const lat = new Float64Array(n);
            const lon = new Float64Array(n);
            for (let r = r0; r < r1; r++) scene.map.latLonRow(r, lat, lon, (r - r0) * width);
            writeSync(latFd, leBytes(lat), 0, 8 * n, 8 * r0 * width);
            writeSync(lonFd, leBytes(lon), 0, 8 * n, 8 * r0 * width);
            georef?.lat.set(lat, r0 * width);
            georef?.lon.set(lon, r0 * width);
            maskOut.write(0, r0, blk.damage);
            landcoverOut.write(0, r0, blk.landcover);
            writeSpeckleBlock(scene, blk, slcFds, coherenceOut, fb);
            fb.progress((85 * r1) / height, `SLC rows ${r1}/${height} (${nDates} dates)`);
          }
          for (const [name, path] of geom.map((g, k) => [k === 0 ? 'lat' : 'lon', g] as const)) {
            writeFileSync(outs.path(`${path}.vrt`), rawVrt(basename(path), width, height, 'Float64'));
            writeFileSync(outs.path(`${path}.xml`), isceXml(basename(path), width, height, 'Float64', name));
          }
          for (const date of scene.dates) {
            const { vrt, xml } = slcPaths(dir, date);
            writeFileSync(outs.path(vrt), rawVrt(`${date}.slc.full`, width, height, 'CFloat32'));
            writeFileSync(outs.path(xml), isceXml(`${date}.slc.full`, width, height, 'CFloat32', 'slc'));
          }
        } finally {
          for (const fd of fds) closeSync(fd);
        }

        // truth
        await checkpoint(fb);
        fb.progress(88, 'truth');
        writeDamageGeoJson(outs.path(paths.damage), scene);
        try {
          for (const t of truth) {
            await checkpoint(fb);
            await t.finish(outs, georef, dir, fb);
          }
        } catch (err) {
          for (const t of truth) t.abandon();
          throw err;
        }
        paths.mask = maskOut.path;
        paths.landcover = landcoverOut.path;
        paths.coherence = coherenceOut.path;
        fb.progress(97, 'scene.json');
        writeFileSync(outs.path(paths.scene), `${JSON.stringify(sceneJson(scene, aoiChips, dir, paths), null, 2)}\n`);
        await checkpoint(fb);
      }, fb),
    );
  } catch (err) {
    // the OutputSet removed every temporary; remove the folders this run created if they are empty now
    for (const d of [...createdDirs].reverse()) {
      try {
        rmdirSync(d);
      } catch {
        // not empty or already gone: leave it
      }
    }
    throw err;
  }

  // an earlier scene's dates that this one does not have: remove them so the folder holds one stack
  for (const d of previousDates) {
    if (!scene.dates.includes(d)) rmSync(join(dir, d), { recursive: true, force: true });
  }
  fb.progress(100, 'done');
  return {
    dir,
    ...paths,
    dates: scene.dates,
    eventDate: scene.eventDate,
    eventIndex,
    aoiWindow: formatWindow(scene.aoiWindow),
    trainWindow: formatWindow(scene.trainWindow),
    aoiChips,
  };
}

/**
 * The SLC samples of one block of rows on every date, written into each date's file at the block's offset, and
 * the block's true coherence of every pair. The speckle stream is the whole-scene loop's (date by date, pixel by
 * pixel, 4 uint32 draws per pixel): each (block, date) starts where that loop would be (SimRng.skip), so the bytes
 * do not depend on the block size. Memory: the block's two float64 speckle planes and one date's output.
 */
function writeSpeckleBlock(
  scene: Scene,
  blk: SceneBlock,
  slcFds: number[],
  coherence: TruthRaster,
  fb: Feedback,
): void {
  const { width, height } = scene.grid;
  const N = width * height;
  const n = (blk.r1 - blk.r0) * width;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  const out = new Float32Array(2 * n);
  const gamma = new Float32Array(n);
  const amplitude = blk.amplitude;
  for (const [d, fd] of slcFds.entries()) {
    // a block holds every date: the worker sees a cancel between dates (its flag is shared memory)
    throwIfCanceled(fb);
    if (d > 0) {
      scene.pairCoherenceRows(d - 1, blk, gamma);
      coherence.write(d - 1, blk.r0, gamma);
    }
    const speckle = new SimRng(scene.options.seed, 'speckle').skip(4 * (d * N + blk.r0 * width));
    for (let p = 0; p < n; p++) {
      const wr = speckle.normal() * Math.SQRT1_2;
      const wi = speckle.normal() * Math.SQRT1_2;
      let sr = wr,
        si = wi;
      if (d > 0) {
        const g = gamma[p] ?? NaN;
        const q = Math.sqrt(1 - g * g);
        sr = g * (re[p] ?? NaN) + q * wr;
        si = g * (im[p] ?? NaN) + q * wi;
      }
      re[p] = sr;
      im[p] = si;
      const a = amplitude[p] ?? NaN;
      out[2 * p] = a * sr;
      out[2 * p + 1] = a * si;
    }
    writeSync(fd, leBytes(out), 0, 8 * n, 8 * blk.r0 * width);
  }
}

function sceneJson(
  scene: Scene,
  aoiChips: SimulateResult['aoiChips'],
  dir: string,
  truth: { mask: string; landcover: string; coherence: string },
): object {
  const o = scene.options;
  const g = scene.grid;
  const grades: Record<string, number> = {};
  for (const b of scene.buildings) grades[b.grade] = (grades[b.grade] ?? 0) + 1;
  const corners = (
    [
      [0, 0],
      [0, g.width - 1],
      [g.height - 1, 0],
      [g.height - 1, g.width - 1],
    ] as const
  ).map(([r, c]) => scene.map.toLatLon(r, c));
  return {
    generator: GENERATOR,
    seed: o.seed,
    width: o.width,
    height: o.height,
    dates: scene.dates,
    intervals_days: consecutivePairs(scene.days).map(([a, b]) => b - a),
    pairs: Array.from({ length: scene.pairs }, (_, k) => scene.pairName(k)),
    event_date: scene.eventDate,
    event_index: o.eventIndex,
    co_event_pair: scene.pairName(o.eventIndex),
    co_event_band: o.eventIndex,
    pre_event_bands: o.eventIndex,
    chip: `${CHIP.range}x${CHIP.azimuth}`,
    train_window: formatWindow(scene.trainWindow),
    aoi_window: formatWindow(scene.aoiWindow),
    windows_note: 'r0:r1,c0:c1 in SLC pixels (rows = azimuth, columns = range), end exclusive',
    aoi_chips: { ...aoiChips, damaged_fraction_threshold: DAMAGED_CHIP_FRACTION, stride: '1x1' },
    classes: LANDCOVER_NAMES,
    landcover_pixels: scene.landcoverPixels,
    buildings: scene.buildings.length,
    buildings_by_grade: grades,
    fields: scene.fieldCount,
    damage_field: 'damage_grade',
    damage_grades: GRADES,
    damaged_values: DAMAGED_GRADES,
    damage_coherence_factor: DAMAGE_FACTOR,
    weather: scene.dates.map((d, i) => ({ date: d, factor: valueAt(scene.weather, i) })).filter((w) => w.factor < 1),
    geometry: {
      centre_lat: g.centreLat,
      centre_lon: g.centreLon,
      heading_deg: g.headingDeg,
      shear_deg: g.shearDeg,
      azimuth_spacing_m: g.azimuthSpacingM,
      ground_range_spacing_m: g.rangeSpacingM,
      corners_latlon: corners.map((p) => [round9(p.lat), round9(p.lon)]),
      note: 'rows = azimuth (flight direction, ascending), columns = ground range (right-looking); lat/lon of pixel centres in geom_reference',
    },
    coherence_model: {
      built_up_building: '(0.93 + 0.03 t + 0.015 n_k) · exp(−Δ/2000) · W_k; co-event × damage factor of the grade',
      built_up_open: '(0.80 + 0.06 t + 0.04 n_k) · exp(−Δ/600) · W_k',
      agriculture:
        'per field and pair: active (ploughing, harvest; prob. 0.28–0.5 per 12 days × season, peaks early June ' +
        'and mid November) → 0.03–0.27, else quiet (0.65–0.9 × (1 − 0.45 crop growth))^(Δ/12) − 0–0.05; then + 0.04 t + 0.03 n_k; · W_k',
      vegetation: '(0.36 + 0.10 cos(2π(doy − 20)/365) + 0.07 t + 0.05 n_k) · exp(−(Δ − 12)/45) · W_k',
      water: '0.02 + 0.01 (t + 1)',
      bare: '(0.84 + 0.04 t + 0.02 n_k) · exp(−Δ/1500) · W_k',
      clip: [0, 0.98],
      texture:
        "t: static smooth field in [−1, 1]; n_k: smooth field per pair; W_k: product of the two dates' weather factors",
      speckle:
        's_{k+1} = γ_k s_k + sqrt(1 − γ_k²) w_{k+1}, circular complex Gaussian, unit variance; written as amplitude × s_k',
    },
    files: {
      slc: scene.dates.map((d) => `${d}/${d}.slc.full`),
      lat: 'geom_reference/lat.rdr',
      lon: 'geom_reference/lon.rdr',
      damage: 'truth/damage.geojson',
      damage_mask: relative(dir, truth.mask),
      landcover: relative(dir, truth.landcover),
      coherence: relative(dir, truth.coherence),
    },
  };
}
