// GDAL from the tests: its COG validator (Debian python3-gdal, installed by .ci/run).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/** A Python with GDAL's bindings: PATH's python3 may be another one. */
const python = ['python3', '/usr/bin/python3'].find(
  (p) => spawnSync(p, ['-c', 'import osgeo_utils.samples.validate_cloud_optimized_geotiff']).status === 0,
);

/** GDAL's COG validator with --full-check: '' when valid, else its messages. */
export function cogErrors(path: string): string {
  if (!python) assert.fail('no python3 with GDAL bindings (apt-get install python3-gdal)');
  const r = spawnSync(
    python,
    ['-m', 'osgeo_utils.samples.validate_cloud_optimized_geotiff', '--full-check=yes', '-q', path],
    { encoding: 'utf8' },
  );
  return r.status === 0 ? '' : `${r.stdout}${r.stderr}`;
}
