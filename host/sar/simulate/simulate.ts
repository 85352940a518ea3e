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
//   DIR/truth/damage_mask.tif, landcover.tif, coherence.tif (radar geometry, lat/lon companions beside each)
//   DIR/scene.json                                       what was simulated, windows for dpm run/demo
import { consecutivePairs, valueAt } from '../../core/arrays.js';
import {
  existsSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
  openSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { DpmError } from '../../core/errors.js';
import { isBookkeeping, withOutputPolicy, withOutputs, type OutputSet } from '../../io/outputs.js';
import { writeRaster } from '../../raster/geotiff.js';
import { throwIfCanceled, type Feedback } from '../../core/feedback.js';
import { SimRng } from './rng.js';
import { isceXml, rawVrt, type RawType } from './isce.js';
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

function writeRawWithHeaders(
  outs: OutputSet,
  dataPath: string,
  bytes: Uint8Array,
  width: number,
  height: number,
  type: RawType,
  imageType: string,
): void {
  const base = basename(dataPath);
  writeFileSync(outs.path(dataPath), bytes);
  writeFileSync(outs.path(`${dataPath}.vrt`), rawVrt(base, width, height, type));
  writeFileSync(outs.path(`${dataPath}.xml`), isceXml(base, width, height, type, imageType));
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

function damageGeoJson(scene: Scene): object {
  const m = scene.map;
  const pixelArea = Math.abs(m.rowE * m.colN - m.colE * m.rowN);
  const features = scene.buildings.map((b) => {
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
  });
  return { type: 'FeatureCollection', name: 'damage', features };
}

/** Simulates the scene of `options` into `outDir`. Progress 0–100, cancellable between dates. */
export async function simulate(options: SimOptions, outDir: string, fb: Feedback): Promise<SimulateResult> {
  const checked = checkOptions(options); // bad options fail before anything else happens
  const dir = resolve(outDir);
  const previousDates = checkOutDir(dir);
  fb.progress(0, 'laying out the scene');
  const scene = new Scene(checked, { isCanceled: () => fb.isCanceled() });
  const { width, height, eventIndex, seed } = scene.options;
  const N = width * height;
  const aoiChips = scene.chipCounts(scene.aoiWindow);
  if (aoiChips.damaged < MIN_AOI_CHIPS || aoiChips.undamaged < MIN_AOI_CHIPS) {
    throw new DpmError(
      `simulate: a ${width}×${height} scene (seed ${seed}) gives only ${aoiChips.damaged} damaged and ${aoiChips.undamaged} ` +
        `undamaged ${CHIP.range}x${CHIP.azimuth} chips in its area of interest (at least ${MIN_AOI_CHIPS} of each are needed); ` +
        `use a larger --width/--height or another --seed`,
    );
  }
  throwIfCanceled(fb);
  fb.log(
    'info',
    `simulate: ${width}×${height} pixels, ${scene.dates.length} dates ${scene.dates[0]}…${scene.dates.at(-1)}, ` +
      `event ${scene.eventDate} (co-event pair ${scene.pairName(eventIndex)}), ${scene.buildings.length} buildings, ${scene.fieldCount} fields`,
  );

  const createdDirs = [
    dir,
    join(dir, 'geom_reference'),
    join(dir, 'truth'),
    ...scene.dates.map((d) => join(dir, d)),
  ].filter((d) => !existsSync(d));
  const { lat, lon } = scene.map.lookups();
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
        // geometry lookups (float64 as ISCE2 writes them; the GeoTIFF companions below are float32)
        writeRawWithHeaders(
          outs,
          join(dir, 'geom_reference', 'lat.rdr'),
          leBytes(lat),
          width,
          height,
          'Float64',
          'lat',
        );
        writeRawWithHeaders(
          outs,
          join(dir, 'geom_reference', 'lon.rdr'),
          leBytes(lon),
          width,
          height,
          'Float64',
          'lon',
        );

        // SLCs date by date: memory is one date's speckle (float64) plus the truth stack
        const speckle = new SimRng(seed, 'speckle');
        const re = new Float64Array(N);
        const im = new Float64Array(N);
        const out = new Float32Array(2 * N);
        const truth: Float32Array[] = [];
        const nDates = scene.dates.length;
        for (let d = 0; d < nDates; d++) {
          throwIfCanceled(fb);
          const gamma = d > 0 ? truth[d - 1] : undefined;
          for (let p = 0; p < N; p++) {
            const wr = speckle.normal() * Math.SQRT1_2;
            const wi = speckle.normal() * Math.SQRT1_2;
            if (gamma) {
              const g = valueAt(gamma, p);
              const q = Math.sqrt(1 - g * g);
              re[p] = g * valueAt(re, p) + q * wr;
              im[p] = g * valueAt(im, p) + q * wi;
            } else {
              re[p] = wr;
              im[p] = wi;
            }
            const a = valueAt(scene.amplitude, p);
            out[2 * p] = a * valueAt(re, p);
            out[2 * p + 1] = a * valueAt(im, p);
          }
          const date = scene.dates[d];
          if (date === undefined) throw new Error(`internal: no date ${d} of ${nDates}`);
          const { data } = slcPaths(dir, date);
          const fd = openSync(outs.path(data), 'w');
          try {
            writeSync(fd, leBytes(out));
          } finally {
            closeSync(fd);
          }
          writeFileSync(outs.path(`${data}.vrt`), rawVrt(`${date}.slc.full`, width, height, 'CFloat32'));
          writeFileSync(outs.path(`${data}.xml`), isceXml(`${date}.slc.full`, width, height, 'CFloat32', 'slc'));
          if (d + 1 < nDates) truth.push(scene.pairCoherence(d));
          fb.progress((85 * (d + 1)) / nDates, `SLC ${date}`);
        }

        // truth
        throwIfCanceled(fb);
        fb.progress(88, 'truth');
        writeFileSync(outs.path(paths.damage), `${JSON.stringify(damageGeoJson(scene))}\n`);
        const common = { width, height, georef: { lat: Float32Array.from(lat), lon: Float32Array.from(lon) } };
        await writeRaster(
          outs,
          paths.mask,
          {
            ...common,
            bands: [Float32Array.from(scene.damageMask)],
            descriptions: ['damage (1 = building graded Destroyed or Damaged, 0 = not)'],
            metadata: { EVENT_DATE: scene.eventDate, DAMAGED_GRADES: DAMAGED_GRADES.join(',') },
          },
          { type: 'uint8' },
        );
        await writeRaster(
          outs,
          paths.landcover,
          {
            ...common,
            bands: [Float32Array.from(scene.landcover)],
            descriptions: [
              `land cover (${Object.entries(LANDCOVER_NAMES)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ')})`,
            ],
            metadata: Object.fromEntries(Object.entries(LANDCOVER_NAMES).map(([k, v]) => [`CLASS_${k}`, v])),
          },
          { type: 'uint8' },
        );
        throwIfCanceled(fb);
        await writeRaster(outs, paths.coherence, {
          ...common,
          bands: truth,
          descriptions: truth.map((_, k) => scene.pairName(k)),
          metadata: { EVENT_DATE: scene.eventDate, CO_EVENT_PAIR: scene.pairName(eventIndex), TRUE_COHERENCE: 'yes' },
        });
        fb.progress(97, 'scene.json');
        writeFileSync(outs.path(paths.scene), `${JSON.stringify(sceneJson(scene, aoiChips), null, 2)}\n`);
        throwIfCanceled(fb);
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

function sceneJson(scene: Scene, aoiChips: SimulateResult['aoiChips']): object {
  const o = scene.options;
  const g = scene.grid;
  const counts: Record<string, number> = {};
  for (const v of scene.landcover) {
    const name = LANDCOVER_NAMES[v] ?? `class ${v}`;
    counts[name] = (counts[name] ?? 0) + 1;
  }
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
    landcover_pixels: counts,
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
      damage_mask: 'truth/damage_mask.tif',
      landcover: 'truth/landcover.tif',
      coherence: 'truth/coherence.tif',
    },
  };
}
