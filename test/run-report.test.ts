// What `dpm run` tells a user: report.md names only files that exist (no geocoded/ folder or chip when there is
// none), the package version and the engine, and one threshold: the map's transparency, the share in the log and in
// the report use the same default from host/core/defaults.ts and say where it comes from.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execute } from '../host/toolbox/execute.js';
import { recordingFeedback } from '../host/core/feedback.js';
import { DAMAGE_Z, DAMAGE_Z_SOURCE, MAP_Z_THRESHOLD } from '../host/core/defaults.js';
import { packageVersion } from '../host/paths.js';

const root = mkdtempSync(join(tmpdir(), 'dpm-report-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

/** Every `relative/path` named in report.md's Outputs section exists under the run folder. */
function outputsNamed(md: string, dir: string): string[] {
  const section = md.slice(md.indexOf('## Outputs'), md.indexOf('## Open in QGIS'));
  const named = [...section.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).filter((p) => !p.includes('*'));
  for (const p of named) assert.ok(existsSync(join(dir, p)), `report.md names ${p}, which does not exist`);
  return named;
}

test('dpm run: one threshold explained everywhere; the report names what exists, the version and the engine', async () => {
  assert.equal(MAP_Z_THRESHOLD, DAMAGE_Z, 'the map and the damage share use one default');
  const scene = join(root, 'scene');
  await execute('simulate', { out: scene, seed: 2, width: 150, height: 75, dates: 8 }, recordingFeedback());
  const s = JSON.parse(readFileSync(join(scene, 'scene.json'), 'utf8'));
  const common = { 'event-date': s.event_date, preset: 'fast', device: 'cpu', threads: 1, epochs: 2 } as const;

  // from SLCs: chipped, geocoded, with ground truth
  const slcDir = join(root, 'slc');
  const fb = recordingFeedback();
  await execute(
    'run',
    {
      ...common,
      slc: scene,
      'aoi-window': s.aoi_window,
      truth: join(scene, 'truth', 'damage.geojson'),
      'damage-field': s.damage_field,
      'damaged-values': 'Destroyed,Damaged',
      'out-dir': slcDir,
    },
    fb,
  );
  const rep = JSON.parse(readFileSync(join(slcDir, 'report.json'), 'utf8'));
  assert.equal(rep.version, packageVersion);
  assert.match(rep.engine, /WebAssembly/);
  assert.equal(rep.threshold.value, DAMAGE_Z);
  assert.equal(rep.threshold.source, DAMAGE_Z_SOURCE);
  // the forecast's log line and the report count the same pixels at the same threshold
  const logged = fb.logs.find((l) => l.message.includes(`with z ≥ ${DAMAGE_Z}, ${DAMAGE_Z_SOURCE}`));
  assert.ok(logged, 'the log names the threshold and its source');
  assert.equal(Number(/ (\d+) \([\d.]+ %\) with z/.exec(logged.message)?.[1]), rep.threshold.pixelsAbove);
  assert.equal(rep.forecast['anomalous-fraction'], rep.threshold.share);
  const md = readFileSync(join(slcDir, 'report.md'), 'utf8');
  assert.match(md, new RegExp(`insar-dpm ${packageVersion.replace(/\./g, '\\.')}; forecaster engine: WebAssembly`));
  assert.match(md, /in 15x5 chips/);
  assert.match(md, /optimum threshold below is where its F-score against this ground truth peaks/);
  assert.ok(outputsNamed(md, slcDir).some((p) => p.startsWith('geocoded/')));
  assert.ok(existsSync(join(slcDir, 'model.history.csv')));
  // a QGIS style beside each product QGIS users open (test/qgis-styles.test.ts checks how QGIS draws them)
  for (const f of [
    'coherence_aoi',
    'forecast/zscore',
    'forecast/expected_coherence',
    'baselines/ccd',
    'geocoded/zscore',
  ])
    assert.ok(existsSync(join(slcDir, `${f}.qml`)), `${f}.qml`);

  // from a coherence stack, no geocoding, a threshold of its own: no chip, no geocoded/ folder, the given threshold
  const cohDir = join(root, 'coh');
  await execute(
    'run',
    { ...common, coherence: [join(slcDir, 'coherence_aoi.tif')], geocode: 'none', threshold: 3, 'out-dir': cohDir },
    recordingFeedback(),
  );
  const md2 = readFileSync(join(cohDir, 'report.md'), 'utf8');
  assert.doesNotMatch(md2, /chips/);
  assert.doesNotMatch(md2, /`geocoded\//);
  assert.ok(!existsSync(join(cohDir, 'geocoded')));
  assert.match(md2, /threshold z ≥ 3 \(given with --threshold; default 4\.93\)/);
  assert.doesNotMatch(md2, /Comparison against ground truth/);
  outputsNamed(md2, cohDir);
  const rep2 = JSON.parse(readFileSync(join(cohDir, 'report.json'), 'utf8'));
  assert.equal(rep2.chip, null);
  assert.equal(rep2.threshold.value, 3);
  // the map's style follows the run's threshold: transparent below 3
  assert.match(
    readFileSync(join(cohDir, 'forecast', 'zscore.qml'), 'utf8'),
    /<item value="3" color="#fed976" alpha="255"/,
  );
});
