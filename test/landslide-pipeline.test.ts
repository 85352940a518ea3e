// `dpm simulate --kind landslide` + `dpm landslide` end to end on the default simulated cube with the CPU engine and
// the fast preset (what `npm run demo:landslide` runs): every method's map on the cube grid, the early-detection
// table after 1–4 passes, the report and plots, and the papers/003 claims this simulator should reproduce.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execute } from '../host/toolbox/execute.js';
import { silentFeedback } from '../host/core/feedback.js';
import { readRaster } from '../host/raster/geotiff.js';
import { METHODS } from '../host/landslide/scores.js';
import { DpmError } from '../host/core/errors.js';
import { packageRoot } from '../host/paths.js';

const root = mkdtempSync(join(tmpdir(), 'dpm-landslide-run-'));

interface Row {
  name: string;
  passes: number;
  auprcTest: number;
  auprcAll: number;
  prevalenceAll: number;
}

test('the default simulated landslide cube through dpm landslide (cpu engine, fast preset)', async () => {
  const sim = await execute('simulate', { kind: 'landslide', out: join(root, 'cube') }, silentFeedback);
  const cube = String(sim.cube);
  // a second simulate into the same folder replaces the cube
  await execute('simulate', { kind: 'landslide', out: join(root, 'cube') }, silentFeedback);
  const out = join(root, 'run');
  const r = await execute('landslide', { cube, 'out-dir': out, device: 'cpu' }, silentFeedback);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
    table: Row[];
    eventDate: string;
    passes: { post: number; maps: number };
  };
  assert.equal(report.eventDate, sim.event_date);
  assert.equal(report.passes.post, 6);
  assert.equal(report.passes.maps, 4);
  const grid = await readRaster(join(out, 'maps', 'gru_vvvh.tif'));
  for (const m of METHODS) {
    const map = await readRaster(join(out, 'maps', `${m.name}.tif`));
    assert.deepEqual([map.width, map.height, map.bands.length], [128, 128, 1], m.name);
    assert.deepEqual(map.georef, grid.georef);
    assert.ok(existsSync(join(out, 'maps', `${m.name}.qml`)));
    for (const n of [1, 2, 3, 4]) {
      const row = report.table.find((t) => t.name === m.name && t.passes === n);
      assert.ok(row && Number.isFinite(row.auprcTest) && Number.isFinite(row.auprcAll), `${m.name} after ${n}`);
    }
  }
  assert.equal(grid.georef.epsg, 32654);
  assert.deepEqual(grid.georef.geoTransform, [530000, 10, 0, 4730000, 0, -10]);
  for (const f of ['early_detection.csv', 'early_detection.png', 'early_detection.svg', 'pr_curves.png', 'report.md'])
    assert.ok(existsSync(join(out, f)), f);
  const auprc = (name: string, n: number) => report.table.find((t) => t.name === name && t.passes === n)!.auprcAll;
  const random = report.table[0]!.prevalenceAll;
  assert.ok(random > 0.05 && random < 0.12, `landslide share ${random} (papers/003: ~0.09)`);
  // papers/003: more passes, better maps; SAR beats terrain alone
  assert.ok(auprc('gru_combined', 4) > auprc('gru_combined', 1));
  assert.ok(auprc('gru_combined', 4) > 3 * random);
  assert.ok(auprc('gru_vvvh', 4) > auprc('dem_slope', 4));
  // the question: the forecast against the log-ratio after one post-event pass (measured in the note)
  assert.ok(auprc('gru_vvvh', 1) > auprc('log_ratio', 1), `${auprc('gru_vvvh', 1)} vs ${auprc('log_ratio', 1)}`);
  assert.equal(r['gru-auprc-1'], report.table.find((t) => t.name === 'gru_vvvh' && t.passes === 1)!.auprcTest);
});

test('a cube too short for the forecaster, or without an event date, is a clear error and writes nothing', async () => {
  const cube = join(packageRoot, 'test', 'fixtures', 'landslide-xarray.zarr');
  const out = join(root, 'bad');
  // one pre-event pass per orbit: nothing to forecast from
  await assert.rejects(
    execute('landslide', { cube, 'out-dir': out, device: 'cpu' }, silentFeedback),
    (e: Error) => e instanceof DpmError && /no orbit has 2 pre-event passes/.test(e.message),
  );
  await assert.rejects(
    execute('landslide', { cube, 'out-dir': out, 'event-date': '20180801', device: 'cpu' }, silentFeedback),
    /no pass after the event date 20180801/,
  );
  assert.ok(!existsSync(out), 'nothing written');
});
