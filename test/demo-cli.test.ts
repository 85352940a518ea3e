// `npm run demo` is the quick start: the command must run end to end from the CLI and say where the outputs are.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../host/paths.js';

test('dpm demo (small scene) runs, reports RNN vs CCD and says how to open the outputs in QGIS; re-running works', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpm-demo-'));
  try {
    const demo = () =>
      spawnSync(
        process.execPath,
        [
          join(packageRoot, 'dist', 'host', 'cli.js'),
          'demo',
          '--out-dir',
          dir,
          '--width',
          '240',
          '--height',
          '120',
          '--dates',
          '10',
        ],
        { encoding: 'utf8', env: { ...process.env, DPM_DEVICE: 'software' } },
      );
    const r = demo();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /RNN PR AUC \d\.\d{3} vs CCD \d\.\d{3}/);
    assert.match(r.stderr, /In QGIS: Layer ▸ Add Layer/);
    assert.match(r.stdout, /rnn-pr-auc: 0\.\d+/);
    for (const f of [
      'run/dpm.png',
      'run/report.md',
      'run/evaluation/evaluation.md',
      'run/geocoded/zscore.tif',
      'scene/truth/damage.geojson',
    ]) {
      assert.ok(existsSync(join(dir, f)), `${f} written`);
    }
    // `npm run demo` again: the demo's own folder is updated in place (no --overwrite), finished stages reused
    const again = demo();
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /reusing the simulated scene/);
    assert.match(again.stderr, /reusing the finished stage/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
