// Where the package's own files live, whatever folder the compiled code runs from (dist/, dist-<name>/).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'insar-dpm') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`insar-dpm: cannot find the package root above ${start}`);
    dir = up;
  }
}

/** Folder holding package.json, shaders/, build/ and plugin-manifest.json. */
export const packageRoot = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/** The team's shared folder (fixtures, real data, papers): ../shared beside the repo, or $DPM_SHARED. */
export const sharedRoot = resolve(process.env.DPM_SHARED ?? join(packageRoot, '..', 'shared'));

export const shadersDir = join(packageRoot, 'shaders');
export const wasmDir = join(packageRoot, 'build');
export const manifestPath = join(packageRoot, 'plugin-manifest.json');
/** The package's version (package.json): every report names it. */
export const packageVersion: string = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).version;
