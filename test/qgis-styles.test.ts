// The .qml styles written beside GeoTIFFs (host/io/qml.ts) as QGIS draws them: the damage proxy map in dpm.png's
// colours and transparent below the threshold, coherence in grey over [0, 1], CCD diverging around 0 (red = loss).
// QGIS applies <name>.qml by itself when it opens <name>.tif. Skipped without QGIS.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../host/paths.js';
import { withOutputs } from '../host/io/outputs.js';
import { divergingQml, greyQml, writeStyle } from '../host/io/qml.js';
import { writeRaster } from '../host/raster/geotiff.js';
import { dpmColor, dpmStyleQml } from '../host/raster/png-map.js';
import { DAMAGE_Z } from '../host/core/defaults.js';

const PYTHON = '/usr/bin/python3';
const skip = existsSync('/usr/bin/qgis_process.bin') ? false : 'QGIS not installed (.ci/run installs Debian qgis)';

test('QGIS draws the written styles: DPM as dpm.png with its threshold, coherence grey, CCD diverging', {
  skip,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpm-qml-'));
  try {
    const raster = { width: 2, height: 2, bands: [new Float32Array([0, 0.5, 1, NaN])], descriptions: ['probe'] };
    const georef = {
      geoTransform: [10, 0.001, 0, 40, 0, -0.001] as [number, number, number, number, number, number],
      epsg: 4326,
    };
    const files = {
      z: join(dir, 'zscore.tif'),
      z3: join(dir, 'zscore_t3.tif'),
      coh: join(dir, 'coh.tif'),
      ccd: join(dir, 'ccd.tif'),
    };
    await withOutputs(async (outs) => {
      for (const f of Object.values(files)) await writeRaster(outs, f, { ...raster, georef }, { nodata: NaN });
      writeStyle(outs, files.z, dpmStyleQml(DAMAGE_Z));
      writeStyle(outs, files.z3, dpmStyleQml(3));
      writeStyle(outs, files.coh, greyQml(0, 1));
      writeStyle(outs, files.ccd, divergingQml(0.5));
    });
    const zs = [-2, 0, 3, 4.9, DAMAGE_Z, 6, 8.5, 12, 30];
    const cases = [
      { tif: files.z, values: zs },
      { tif: files.z3, values: zs },
      { tif: files.coh },
      { tif: files.ccd, values: [-0.5, -0.1, 0, 0.1, 0.5, 0.9] },
    ];
    const r = spawnSync(PYTHON, [join(packageRoot, 'host', 'qgis', 'testing', 'style_check.py')], {
      input: JSON.stringify(cases),
      encoding: 'utf8',
      env: { ...process.env, QT_QPA_PLATFORM: 'offscreen', HOME: dir },
    });
    const line = r.stdout.split('\n').find((l) => l.startsWith('@@RESULT@@'));
    assert.ok(line, `style_check.py failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    const [z, z3, coh, ccd] = JSON.parse(line.slice('@@RESULT@@'.length));
    for (const [got, threshold] of [
      [z, DAMAGE_Z],
      [z3, 3],
    ] as const) {
      assert.equal(got.renderer, 'singlebandpseudocolor');
      zs.forEach((v, k) => {
        const want = dpmColor(v, threshold);
        const [red, green, blue, alpha] = got.colours[k];
        if (!want) assert.equal(alpha, 0, `z = ${v}: transparent below ${threshold}`);
        else {
          assert.equal(alpha, 255, `z = ${v}: opaque at or above ${threshold}`);
          // ±1: QGIS rounds the interpolated channel its own way
          for (const [c, w] of [
            [red, want[0]],
            [green, want[1]],
            [blue, want[2]],
          ])
            assert.ok(Math.abs(c - w) <= 1, `z = ${v}: QGIS ${got.colours[k]} vs dpm.png ${want}`);
        }
      });
    }
    assert.equal(coh.renderer, 'singlebandgray');
    assert.deepEqual(coh.range, [0, 1]);
    assert.equal(ccd.renderer, 'singlebandpseudocolor');
    const [neg, , zero, , pos] = ccd.colours as number[][];
    assert.ok(neg![2]! > neg![0]!, 'coherence gain is blue');
    assert.ok(pos![0]! > pos![2]!, 'coherence loss is red');
    assert.deepEqual(zero!.slice(0, 3), [247, 247, 247], 'no change is white');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
