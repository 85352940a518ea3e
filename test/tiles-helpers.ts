// Shared by the tiled-run tests: one small simulated scene, its untiled run, and the comparison of a tiled run's
// mosaic with it (coherence and baselines identical, forecast within 1e-6).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execute } from '../host/toolbox/execute.js';
import { recordingFeedback } from '../host/core/feedback.js';
import { readRaster } from '../host/raster/geotiff.js';
import { loadModel } from '../host/model/safetensors.js';

export interface TileScene {
  root: string;
  params: (out: string, extra?: Record<string, unknown>) => Record<string, unknown>;
  untiled: string;
}

/** A 200 × 100 SLC scene with 10 dates, and its untiled run (fast preset, cpu engine, one thread). */
export async function tileScene(name: string): Promise<TileScene> {
  const root = mkdtempSync(join(tmpdir(), `dpm-${name}-`));
  const sceneDir = join(root, 'scene');
  await execute('simulate', { out: sceneDir, seed: 3, width: 200, height: 100, dates: 10 }, recordingFeedback());
  const scene = JSON.parse(readFileSync(join(sceneDir, 'scene.json'), 'utf8')) as { event_date: string };
  const params = (out: string, extra: Record<string, unknown> = {}) => ({
    slc: sceneDir,
    'event-date': scene.event_date,
    'aoi-window': '10:90,20:180',
    preset: 'fast',
    epochs: 2,
    device: 'cpu',
    threads: 1, // one thread: the same weights in every run (ARCHITECTURE.md)
    'out-dir': out,
    ...extra,
  });
  const untiled = join(root, 'untiled');
  await execute('run', params(untiled), recordingFeedback());
  return { root, params, untiled };
}

export const removeScene = (s: TileScene | undefined) => s && rmSync(s.root, { recursive: true, force: true });

/** Products compared pixel by pixel; `tolerance` 0 = identical. */
const PRODUCTS: [string, number][] = [
  ['coherence_aoi.tif', 0],
  ['baselines/ccd.tif', 0],
  ['baselines/nd.tif', 0],
  ['baselines/zscore_mt.tif', 0],
  ['baselines/percentile.tif', 0],
  ['baselines/coevent_coherence.tif', 0],
  // the same model on the same pixels; 1e-6 (issue 16) leaves room for an engine whose batch split differs
  ['forecast/zscore.tif', 1e-6],
  ['forecast/mu.tif', 1e-6],
  ['forecast/sigma.tif', 1e-6],
];

export async function assertSameAsUntiled(untiled: string, tiled: string): Promise<void> {
  // one training, from the same sample: the same weights (the metadata holds times and paths)
  const model = (dir: string) => loadModel(join(dir, 'model.safetensors')).params;
  assert.deepEqual(model(tiled), model(untiled), 'trained weights');
  for (const [file, tolerance] of PRODUCTS) {
    const a = await readRaster(join(untiled, file));
    const b = await readRaster(join(tiled, file));
    assert.deepEqual([b.width, b.height, b.descriptions], [a.width, a.height, a.descriptions], file);
    assert.deepEqual(b.georef.geoTransform, a.georef.geoTransform, `${file}: geotransform`);
    assert.deepEqual(b.georef.lat, a.georef.lat, `${file}: latitudes`);
    assert.deepEqual(b.georef.lon, a.georef.lon, `${file}: longitudes`);
    for (const [k, band] of a.bands.entries()) {
      const other = b.bands[k]!;
      let worst = 0,
        finite = 0;
      for (let i = 0; i < band.length; i++) {
        const [x, y] = [band[i]!, other[i]!];
        if (Number.isNaN(x) || Number.isNaN(y)) assert.ok(Number.isNaN(x) && Number.isNaN(y), `${file} NaN at ${i}`);
        else {
          worst = Math.max(worst, Math.abs(x - y));
          finite++;
        }
      }
      assert.ok(finite > band.length / 2, `${file} band ${k + 1}: only ${finite} of ${band.length} values`);
      assert.ok(worst <= tolerance, `${file} band ${k + 1}: largest difference ${worst} > ${tolerance}`);
    }
  }
}
