// `dpm run` end to end on a small simulated scene (issue 4 item 7): the RNN beats single-pair CCD where agriculture
// varies, GDAL reads every output, stages are reused on re-runs, and bad inputs fail before anything is written.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execute } from '../host/toolbox/execute.js';
import { recordingFeedback } from '../host/core/feedback.js';
import { CanceledError, DpmError } from '../host/core/errors.js';
import { needsShared, sharedPath } from './shared.js';

const root = mkdtempSync(join(tmpdir(), 'dpm-run-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
const sceneDir = join(root, 'scene');

function tifsUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tifsUnder(p) : /\.tif$/.test(n) ? [p] : [];
  });
}

interface Scene {
  event_date: string;
  aoi_window: string;
  train_window: string;
  damage_field: string;
}
let scene: Scene;
const runParams = (out: string, extra: Record<string, unknown> = {}) => ({
  slc: sceneDir,
  'event-date': scene.event_date,
  'train-window': scene.train_window,
  'aoi-window': scene.aoi_window,
  preset: 'fast',
  device: 'software',
  truth: join(sceneDir, 'truth', 'damage.geojson'),
  'damage-field': scene.damage_field,
  'damaged-values': 'Destroyed,Damaged',
  'out-dir': out,
  ...extra,
});

test('simulated scene', async () => {
  await execute('simulate', { out: sceneDir, seed: 1, width: 480, height: 240, dates: 18 }, recordingFeedback());
  scene = JSON.parse(readFileSync(join(sceneDir, 'scene.json'), 'utf8'));
});

test('dpm run: RNN PR AUC above CCD, every GeoTIFF readable by GDAL, stages reused', async () => {
  const out = join(root, 'run');
  const fb = recordingFeedback();
  const r = await execute('run', runParams(out), fb);
  const ev = JSON.parse(readFileSync(join(out, 'evaluation', 'evaluation.json'), 'utf8')) as {
    methods: { name: string; prAucTrapezoid: number }[];
  };
  const auc = (prefix: string) => ev.methods.find((m) => m.name.startsWith(prefix))!.prAucTrapezoid;
  // the paper's claim (Table I): forecasting each pixel from its history beats single-pair change detection
  assert.ok(auc('RNN') > auc('CCD'), `RNN PR AUC ${auc('RNN')} should exceed CCD's ${auc('CCD')}`);
  assert.ok(existsSync(String(r.png)) && existsSync(String(r.report)));

  const tifs = tifsUnder(out);
  assert.ok(tifs.length >= 15, `expected the run's GeoTIFFs, found ${tifs.length}`);
  for (const tif of tifs) {
    const info = JSON.parse(execFileSync('gdalinfo', ['-json', tif], { encoding: 'utf8' }));
    const rgba = /dpm_overlay/.test(tif);
    for (const b of info.bands) {
      assert.ok(b.description && b.description.length > 0, `${tif}: band ${b.band} has no description`);
      assert.deepEqual(b.block, [256, 256], `${tif}: tiled 256×256`);
      if (!rgba) assert.equal(String(b.noDataValue), 'NaN', `${tif}: nodata NaN`);
    }
    assert.equal(info.metadata?.IMAGE_STRUCTURE?.COMPRESSION, 'DEFLATE', `${tif}: DEFLATE`);
    if (tif.includes('/geocoded/'))
      assert.match(info.coordinateSystem?.wkt ?? '', /WGS 84/, `${tif}: geocoded to WGS84`);
    else if (!/\.(lat|lon)\.tif$/.test(tif))
      assert.ok(info.metadata?.GEOLOCATION?.X_DATASET, `${tif}: radar geometry carries GDAL geolocation arrays`);
  }

  const again = recordingFeedback();
  await execute('run', runParams(out), again);
  const reused = again.logs.filter((l) => /reusing the finished stage/.test(l.message)).length;
  assert.ok(reused >= 8, `a re-run reuses every stage (${reused} reused)`);
});

test('dpm run: an interrupted training resumes from its checkpoint on the next run', async () => {
  const out = join(root, 'resume');
  const fb = recordingFeedback();
  // cancel as soon as the third epoch is logged: coherence is finished, training is half-way
  const canceling = {
    ...fb,
    log: (level: 'info' | 'warning' | 'debug' | 'error', message: string) => {
      fb.log(level, message);
      if (/^epoch 3\//.test(message)) fb.cancel();
    },
  };
  await assert.rejects(
    execute(
      'run',
      runParams(out, { truth: undefined, 'damage-field': undefined, 'damaged-values': undefined }),
      canceling,
    ),
    CanceledError,
  );
  assert.ok(!existsSync(join(out, 'model.safetensors')), 'no model after a cancelled training');
  const again = recordingFeedback();
  await execute(
    'run',
    runParams(out, { truth: undefined, 'damage-field': undefined, 'damaged-values': undefined }),
    again,
  );
  assert.ok(
    again.logs.some((l) => /coherence_aoi: reusing/.test(l.message)),
    'finished coherence stages are reused',
  );
  assert.ok(
    again.logs.some((l) => /resuming from .* after epoch 3/.test(l.message)),
    'training resumes after epoch 3',
  );
  assert.ok(existsSync(join(out, 'forecast', 'zscore.tif')));
});

async function failsCleanly(params: Record<string, unknown>, pattern: RegExp) {
  const out = String(params['out-dir']);
  await assert.rejects(
    execute('run', params, recordingFeedback()),
    (e: Error) => e instanceof DpmError && pattern.test(e.message),
  );
  assert.ok(!existsSync(out) || readdirSync(out).length === 0, `${out} must stay empty`);
}

test('dpm run: bad inputs fail before anything is written', async () => {
  await failsCleanly(runParams(join(root, 'bad-date'), { 'event-date': '20300101' }), /spans the event date 20300101/);
  await failsCleanly(runParams(join(root, 'bad-field'), { 'damage-field': 'no_such_field' }), /no_such_field/);
  const far = JSON.parse(readFileSync(join(sceneDir, 'truth', 'damage.geojson'), 'utf8'));
  const shift = (c: unknown): unknown =>
    typeof c === 'number'
      ? c
      : Array.isArray(c) && typeof c[0] === 'number'
        ? [c[0] + 20, c[1]]
        : (c as unknown[]).map(shift);
  for (const f of far.features) f.geometry.coordinates = shift(f.geometry.coordinates);
  const farFile = join(root, 'far.geojson');
  writeFileSync(farFile, JSON.stringify(far));
  await failsCleanly(runParams(join(root, 'bad-truth'), { truth: farFile }), /outside the scene/);
  await failsCleanly({ ...runParams(join(root, 'both')), coherence: 'x.tif' }, /exactly one of --slc/);
});

test(
  'dpm run --coherence on real GAMMA coherence (PyRate Mexico City): map-grid outputs keep the input CRS',
  needsShared('data', 'real', 'pyrate-mexico-coherence'),
  async () => {
    const out = join(root, 'pyrate');
    const data = sharedPath('data', 'real', 'pyrate-mexico-coherence');
    // 7 consecutive pairs 0106→0518; an event on 0512 makes 0506_0518 the co-event pair and the 6 before pre-event
    const r = await execute(
      'run',
      {
        coherence: data,
        nodata: 0,
        'event-date': '20180512',
        preset: 'fast',
        epochs: 2,
        device: 'cpu',
        'out-dir': out,
      },
      recordingFeedback(),
    );
    const info = JSON.parse(execFileSync('gdalinfo', ['-json', String(r.zscore)], { encoding: 'utf8' }));
    assert.deepEqual(info.size, [100, 60]);
    assert.match(info.coordinateSystem.wkt, /WGS 84/);
    assert.ok(Math.abs(info.geoTransform[0] - -99.19106978) < 1e-6, 'same upper-left corner as the input files');
    assert.ok(existsSync(join(out, 'dpm_overlay.tif')) && existsSync(String(r.png)));
  },
);
