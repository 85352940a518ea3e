// A throwaway QGIS profile for the QGIS tests: HOME, the XDG folders and QGIS_CUSTOM_CONFIG_PATH in a temporary
// folder (qgis_process and the desktop app read the "default" profile under it), no runner or manifest of the
// developer's environment.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function throwawayProfile(prefix: string): { root: string; env: NodeJS.ProcessEnv } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  for (const d of ['home', 'config', 'data', 'cache', 'qgis']) mkdirSync(join(root, d));
  mkdirSync(join(root, 'runtime'), { mode: 0o700 });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: join(root, 'home'),
    XDG_CONFIG_HOME: join(root, 'config'),
    XDG_DATA_HOME: join(root, 'data'),
    XDG_CACHE_HOME: join(root, 'cache'),
    XDG_RUNTIME_DIR: join(root, 'runtime'),
    QGIS_CUSTOM_CONFIG_PATH: join(root, 'qgis'),
  };
  for (const k of ['DPM_RUNNER', 'DPM_MANIFEST']) delete env[k];
  return { root, env };
}
