// The DPM picture: colouring against an independent reference, the figure PNG (map, colour bar, text), the RGBA
// overlay GeoTIFF checked with GDAL.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { dpmColor, dpmFigureSvg, writeDpmOverlay, writeDpmPng } from '../host/raster/png-map.js';
import { svgToPng } from '../host/io/svg-png.js';
import { DpmError } from '../host/core/errors.js';
import type { Raster } from '../host/raster/types.js';
import { at } from './at.js';

const dir = mkdtempSync(join(tmpdir(), 'dpm-raster-png-'));
// The palette (ColorBrewer YlOrRd without its palest step), written out here as the reference
const PALETTE = [
  [254, 217, 118],
  [254, 178, 76],
  [253, 141, 60],
  [252, 78, 42],
  [227, 26, 28],
  [177, 0, 38],
];
function refColor(z: number, thr: number, zMax: number): number[] | undefined {
  if (Number.isNaN(z) || z < thr) return undefined;
  const t = Math.min(1, (z - thr) / (zMax - thr)) * (PALETTE.length - 1);
  const k = Math.min(PALETTE.length - 2, Math.floor(t));
  return at(PALETTE, k).map((v, i) => Math.round(v + (t - k) * (at(at(PALETTE, k + 1), i) - v)));
}

/** z rises to the right: column c holds z = c / 4 (0 … 14.75); row 0 is NaN. */
function ramp(): Raster {
  const w = 60,
    h = 20;
  const z = Float32Array.from({ length: w * h }, (_, i) => (i < w ? NaN : (i % w) / 4));
  return {
    width: w,
    height: h,
    bands: [z],
    descriptions: ['z'],
    georef: { geoTransform: [500000, 30, 0, 4000000, 0, -30], epsg: 32611 },
    source: 'ramp',
  };
}

test('colour scale: transparent below the threshold and for NaN, threshold → yellow, ≥ 12 → dark red', () => {
  for (const z of [-3, 0, 4.92, 4.93, 5, 7.3, 11.99, 12, 40, NaN, Infinity])
    assert.deepEqual(dpmColor(z, 4.93), refColor(z, 4.93, 12), `z=${z}`);
  assert.deepEqual(dpmColor(4.93, 4.93), PALETTE[0]);
  assert.deepEqual(dpmColor(12, 4.93), PALETTE[5]);
  assert.deepEqual(dpmColor(1e9, 4.93), PALETTE[5]);
});

test('RGBA overlay GeoTIFF: GDAL sees Byte RGBA on the z grid, values equal the colouring', async () => {
  const r = ramp();
  const p = join(dir, 'overlay.tif');
  await writeDpmOverlay(p, r, 4.93);
  const j = JSON.parse(execFileSync('gdalinfo', ['-json', p], { encoding: 'utf8' }));
  assert.deepEqual(
    j.bands.map((b: any) => [b.type, b.colorInterpretation]),
    [
      ['Byte', 'Red'],
      ['Byte', 'Green'],
      ['Byte', 'Blue'],
      ['Byte', 'Alpha'],
    ],
  );
  assert.deepEqual(j.geoTransform, [500000, 30, 0, 4000000, 0, -30]);
  assert.match(j.coordinateSystem.wkt, /ID\["EPSG",32611\]\]$/);
  assert.equal(j.metadata[''].DPM_THRESHOLD, '4.93');
  assert.equal(j.metadata.IMAGE_STRUCTURE.COMPRESSION, 'DEFLATE');
  const raw = join(dir, 'overlay.bin');
  execFileSync('gdal_translate', ['-q', '-of', 'ENVI', '-co', 'INTERLEAVE=BIP', p, raw]);
  const px = readFileSync(raw);
  at(r.bands, 0).forEach((z, i) => {
    const c = refColor(z, 4.93, 12);
    assert.deepEqual(Array.from(px.subarray(i * 4, i * 4 + 4)), c ? [...c, 255] : [0, 0, 0, 0], `pixel ${i} z=${z}`);
  });

  const radar: Raster = {
    ...r,
    georef: { lat: new Float32Array(r.width * r.height), lon: new Float32Array(r.width * r.height) },
  };
  const pr = join(dir, 'radar-overlay.tif');
  await writeDpmOverlay(pr, radar, 4.93, radar.georef, {
    geolocation: { lat: join(dir, 'zscore.lat.tif'), lon: join(dir, 'zscore.lon.tif') },
  });
  const geo = JSON.parse(execFileSync('gdalinfo', ['-json', pr], { encoding: 'utf8' })).metadata.GEOLOCATION;
  assert.equal(geo.X_DATASET, join(dir, 'zscore.lon.tif'));
  await assert.rejects(writeDpmOverlay(join(dir, 'x.tif'), r, 13), DpmError); // threshold above the colour scale
});

test('figure PNG: map pixels coloured and transparent as z says, colour bar and text drawn', async () => {
  const r = ramp();
  const p = join(dir, 'dpm.png');
  await writeDpmPng(p, r, { threshold: 4.93, title: 'DPM test', mapSize: 600 });
  const png = decode(readFileSync(p));
  const svg = dpmFigureSvg(r, { threshold: 4.93, title: 'DPM test', mapSize: 600 });
  assert.equal(png.width, Number(/width="(\d+)"/.exec(svg)![1]));
  assert.equal(png.channels, 4);
  const pixel = (x: number, y: number) =>
    Array.from(png.data.slice((y * png.width + x) * 4, (y * png.width + x) * 4 + 4));
  // map: 60×20 z pixels drawn 10× at (24, 64); the centre of z pixel (row 10, col c) is at (24 + 10c + 5, 64 + 105)
  const centre = (c: number) => pixel(24 + 10 * c + 5, 64 + 105);
  assert.equal(centre(10)[3], 0, 'z = 2.5 is transparent');
  assert.deepEqual(centre(59), [...at(PALETTE, 5), 255], 'z = 14.75 is the top colour');
  assert.deepEqual(centre(30), [...refColor(7.5, 4.93, 12)!, 255]);
  assert.equal(
    at(pixel(24 + 5, 64 + 5), 3) > 0 && at(pixel(24 + 5, 64 + 5), 3) < 255,
    true,
    'no-data row is faint grey',
  );
  // text: dark, opaque pixels in the title band and in the legend (none would appear without a font)
  const dark = (x0: number, y0: number, x1: number, y1: number) => {
    let n = 0;
    for (let y = y0; y < y1; y++)
      for (let x = x0; x < x1; x++) {
        const [R = 0, G = 0, B = 0, A = 0] = pixel(x, y);
        if (A > 200 && R + G + B < 200) n++;
      }
    return n;
  };
  assert.ok(dark(20, 8, 300, 36) > 100, 'title text');
  assert.ok(dark(24 + 600 + 24, 64, png.width, png.height) > 200, 'colour bar labels and legend text');
  assert.throws(() => dpmFigureSvg(r, { threshold: NaN }), DpmError);
});

test('svgToPng renders text with the bundled font settings', () => {
  const png = decode(
    svgToPng(
      '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" fill="#fff"/><text x="4" y="28" font-size="24" font-family="DejaVu Sans">Hello</text></svg>',
    ),
  );
  assert.deepEqual([png.width, png.height], [120, 40]);
  let darkPx = 0;
  for (let i = 0; i < png.data.length; i += 4) if (at(png.data, i) < 100) darkPx++;
  assert.ok(darkPx > 50, `${darkPx} dark pixels`);
});
