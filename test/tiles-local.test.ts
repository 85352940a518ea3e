// Tiled `dpm run` on the local process pool (issue 16): tile plans with the chip halo; the 2 × 2 and 3 × 1 mosaics
// equal the untiled run; a re-run redoes only missing or failed tiles.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execute } from '../host/toolbox/execute.js';
import { recordingFeedback } from '../host/core/feedback.js';
import { CanceledError, DpmError } from '../host/core/errors.js';
import { parseTileSpec, planTiles } from '../host/tiles/plan.js';
import { sbatchArgs } from '../host/tiles/executors.js';
import { readRaster } from '../host/raster/geotiff.js';
import { readCoherenceStack, writeCoherenceStackOutputs } from '../host/raster/stack.js';
import { withOutputs } from '../host/io/outputs.js';
import { cogErrors } from './gdal.js';
import { assertSameAsUntiled, removeScene, type TileScene, tileScene } from './tiles-helpers.js';

test('tile plans cover the output grid once, each SLC window with the chip halo', () => {
  for (const spec of [{ rows: 2, cols: 2 }, { rows: 3, cols: 1 }, { size: 7 }, { rows: 1, cols: 1 }]) {
    const tiles = planTiles(31, 17, { r0: 5, c0: 10 }, { range: 14, azimuth: 4 }, spec);
    const hits = new Uint8Array(31 * 17);
    for (const t of tiles) {
      assert.ok(t.out.r1 > t.out.r0 && t.out.c1 > t.out.c0, 'no empty tile');
      for (let r = t.out.r0; r < t.out.r1; r++) for (let c = t.out.c0; c < t.out.c1; c++) hits[r * 31 + c]!++;
      // a stride-1 chip grid of W − 14 × H − 4 outputs needs exactly this SLC window
      assert.deepEqual(t.input, { r0: 5 + t.out.r0, r1: 5 + t.out.r1 + 4, c0: 10 + t.out.c0, c1: 10 + t.out.c1 + 14 });
    }
    assert.ok(
      hits.every((h) => h === 1),
      `${JSON.stringify(spec)}: every output pixel in exactly one tile`,
    );
  }
  assert.equal(planTiles(31, 17, { r0: 0, c0: 0 }, { range: 0, azimuth: 0 }, { size: 7 }).length, 5 * 3);
  assert.deepEqual(parseTileSpec(undefined, '3x1'), { rows: 3, cols: 1 });
  assert.equal(parseTileSpec(undefined, undefined), undefined);
  assert.throws(() => parseTileSpec(undefined, '3 by 1'), DpmError);
  assert.throws(() => parseTileSpec(64, '2x2'), DpmError);
  assert.throws(() => planTiles(3, 3, { r0: 0, c0: 0 }, { range: 0, azimuth: 0 }, { rows: 4, cols: 1 }), DpmError);
});

let scene: TileScene | undefined;
test.after(() => removeScene(scene));

test('local pool: 2 x 2 and 3 x 1 mosaics equal the untiled run; GDAL opens the VRT', async () => {
  scene = await tileScene('tiles-local');
  for (const tiles of ['2x2', '3x1']) {
    const out = join(scene.root, `tiled-${tiles}`);
    const r = await execute('run', scene.params(out, { tiles, executor: 'local', workers: 2 }), recordingFeedback());
    assert.ok(existsSync(String(r.png)), 'the map of the mosaic');
    await assertSameAsUntiled(scene.untiled, out);
    const info = JSON.parse(
      execFileSync('gdalinfo', ['-json', join(out, 'forecast', 'zscore.vrt')], { encoding: 'utf8' }),
    );
    assert.equal(info.files.length, 1 + Number(tiles[0]) * Number(tiles[2]), 'the VRT names every tile file');
  }
});

test('re-running redoes only the missing or failed tile, with the same result', async () => {
  assert.ok(scene, 'needs the scene of the test before');
  const out = join(scene.root, 'tiled-2x2');
  const tile = (k: number) => join(out, 'tiles', `tile-000${k}`);
  const untouched = statSync(join(tile(0), 'forecast', 'zscore.tif')).mtimeMs;
  rmSync(join(tile(2), 'done.json')); // as a tile killed before it finished leaves it
  rmSync(join(out, 'forecast', 'zscore.tif')); // and the mosaic of a run that stopped there
  const fb = recordingFeedback();
  await execute('run', scene.params(out, { tiles: '2x2', executor: 'local', workers: 2 }), fb);
  const logs = fb.logs.map((l) => l.message).join('\n');
  assert.match(logs, /3 of 4 already finished/);
  assert.match(logs, /running 1 of 4/);
  assert.equal(statSync(join(tile(0), 'forecast', 'zscore.tif')).mtimeMs, untouched, 'finished tiles are not redone');
  await assertSameAsUntiled(scene.untiled, out);
});

test('cancel stops the tile processes; the next run finishes the rest', async () => {
  assert.ok(scene, 'needs the scene of the test before');
  const out = join(scene.root, 'tiled-cancel');
  const params = scene.params(out, { tiles: '3x1', executor: 'local', workers: 1 });
  const fb = recordingFeedback();
  // cancel once the first tile has finished, while the second runs
  const watch = setInterval(() => {
    if (existsSync(join(out, 'tiles', 'tile-0000', 'done.json'))) fb.cancel();
  }, 50);
  try {
    await assert.rejects(execute('run', params, fb), CanceledError);
  } finally {
    clearInterval(watch);
  }
  assert.ok(!existsSync(join(out, 'tiles', 'tile-0002', 'done.json')), 'the last tile never ran');
  const again = recordingFeedback();
  await execute('run', params, again);
  assert.match(again.logs.map((l) => l.message).join('\n'), /[12] of 3 already finished/);
  await assertSameAsUntiled(scene.untiled, out);
});

test('mosaics are COGs (GDAL validates them, lat/lon companions too); the VRT of the tiles reads as untiled', async () => {
  assert.ok(scene, 'needs the scene of the test before');
  const out = join(scene.root, 'tiled-2x2');
  const made = join(out, 'coherence_aoi.tif');
  for (const f of ['coherence_aoi.tif', 'coherence_aoi.lat.tif', 'coherence_aoi.lon.tif', 'forecast/zscore.tif'])
    assert.equal(cogErrors(join(out, f)), '', f);
  const copy = join(scene.root, 'from-vrt.tif');
  execFileSync('gdal_translate', ['-q', join(out, 'coherence_aoi.vrt'), copy]);
  const [a, b] = [await readRaster(join(scene.untiled, 'coherence_aoi.tif')), await readRaster(copy)];
  assert.deepEqual([b.width, b.height, b.descriptions], [a.width, a.height, a.descriptions]);
  assert.deepEqual(b.bands, a.bands, 'the VRT joins the tiles into the untiled coherence');
  const mosaic = await readRaster(made);
  assert.deepEqual(mosaic.bands, a.bands, 'the mosaic is the untiled coherence');
});

test('sbatch options: the unfinished tiles as the array, one log per task, the pass-through settings', () => {
  assert.deepEqual(
    sbatchArgs('/runs/a', [1, 3], {
      partition: 'gpu',
      time: '01:00:00',
      mem: '4G',
      gpus: 1,
      extra: ' --account=x  --qos=y',
    }),
    [
      '--parsable',
      '--array=1,3',
      '--job-name=dpm-tiles',
      '--output=/runs/a/tiles/slurm-%A_%a.out',
      '--chdir=/runs/a',
      '--partition=gpu',
      '--time=01:00:00',
      '--mem=4G',
      '--gpus=1',
      '--account=x',
      '--qos=y',
    ],
  );
  assert.deepEqual(sbatchArgs('/runs/a', [0], { gpus: 0 }).slice(-1), ['--chdir=/runs/a'], 'no GPUs asked: no --gpus');
});

test('a coherence stack as input: the 2 x 2 tiled run equals the untiled one', async () => {
  assert.ok(scene, 'needs the scene of the test before');
  const s = scene;
  // the untiled SLC run's AOI coherence as the input stack (no chip halo: one value per pixel)
  const params = (out: string, extra: Record<string, unknown> = {}) => ({
    ...s.params(out, extra),
    slc: undefined,
    'aoi-window': '5:70,10:140',
    coherence: [join(s.untiled, 'coherence_aoi.tif')],
  });
  const untiled = join(s.root, 'coherence-untiled');
  const tiled = join(s.root, 'coherence-2x2');
  await execute('run', params(untiled), recordingFeedback());
  await execute('run', params(tiled, { tiles: '2x2', workers: 2 }), recordingFeedback());
  await assertSameAsUntiled(untiled, tiled);
});

test("a tile without any data (a frame's sea or no-data border) gives NaN there, as the untiled run does", async () => {
  assert.ok(scene, 'needs the scene of the test before');
  const s = scene;
  // the AOI coherence with a no-data block over the first of the 2 x 2 tiles (and parts of two others)
  const stack = await readCoherenceStack(join(s.untiled, 'coherence_aoi.tif'));
  for (const band of stack.bands) for (let r = 0; r < 41; r++) band.fill(NaN, r * stack.width, r * stack.width + 79);
  const holey = join(s.root, 'holey.tif');
  await withOutputs((outs) => writeCoherenceStackOutputs(outs, holey, stack), recordingFeedback());
  const params = (out: string, extra: Record<string, unknown> = {}) => ({
    ...s.params(out, extra),
    slc: undefined,
    'aoi-window': '5:70,10:140',
    'train-window': '40:,:',
    coherence: [holey],
  });
  const untiled = join(s.root, 'holey-untiled');
  const tiled = join(s.root, 'holey-2x2');
  await execute('run', params(untiled), recordingFeedback());
  await execute('run', params(tiled, { tiles: '2x2', workers: 2 }), recordingFeedback());
  await assertSameAsUntiled(untiled, tiled);
});

test('dpm run: bad tiling options are refused before anything is written', async () => {
  assert.ok(scene, 'needs the scene of the tests before');
  const out = join(scene.root, 'bad');
  const base = { ...scene.params(out), slc: undefined, coherence: [join(scene.untiled, 'coherence_aoi.tif')] };
  for (const [extra, message] of [
    [{ tiles: '3 by 1' }, /--tiles must look like RxC/],
    [{ tiles: '2x2', 'tile-size': 64 }, /either --tile-size or --tiles/],
    [{ executor: 'slurm' }, /--executor slurm runs tiles/],
  ] as const) {
    await assert.rejects(execute('run', { ...base, ...extra }, recordingFeedback()), message);
    assert.ok(!existsSync(out), 'nothing written');
  }
  // the SLC scene's area of interest has 76 rows of output pixels: 100 tile rows cannot each hold one (refused
  // before training, so nothing is written)
  await assert.rejects(
    execute('run', { ...scene.params(out), tiles: '100x1' }, recordingFeedback()),
    /--tiles 100x1: more tiles than the area of interest's 76 rows × 146 columns/,
  );
  assert.ok(!existsSync(out), 'nothing written');
});
