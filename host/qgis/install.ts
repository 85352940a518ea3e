// `dpm qgis install|uninstall [--profile DIR]`: copies the Processing plugin (host/qgis/insar_dpm) into a QGIS
// profile, records where this package's runner and Node are (runner.json), and enables it in QGIS3.ini.
// `dpm qgis package --out FILE.zip`: the plugin as a ZIP for QGIS's Plugin Manager ("Install from ZIP"); that copy
// records no path: it finds the runner through `dpm` on PATH or `npm root -g` (runner.py find_runner).
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync, type Zippable } from 'fflate';
import type { CommandModule } from 'yargs';
import { manifestPath, packageRoot } from '../paths.js';
import { loadManifest } from '../toolbox/manifest.js';
import { PROTOCOL_VERSION } from '../toolbox/worker.js';
import { DpmError } from '../core/errors.js';

/** Folder name = QGIS plugin id = Python package name (so no dashes). */
export const PLUGIN_ID = 'insar_dpm';
export const pluginSource = join(packageRoot, 'host', 'qgis', PLUGIN_ID);
/** The CLI of the build this code runs from (dist/host/cli.js, or dist-<name>/host/cli.js in development). */
export const runnerPath = fileURLToPath(new URL('../cli.js', import.meta.url));

/**
 * The profile qgis_process uses: always the one named "default", under $QGIS_CUSTOM_CONFIG_PATH when set,
 * else the platform's QGIS3 folder.
 */
export function defaultProfile(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  const base = env.QGIS_CUSTOM_CONFIG_PATH
    ? env.QGIS_CUSTOM_CONFIG_PATH
    : platform === 'win32'
      ? join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'QGIS', 'QGIS3')
      : platform === 'darwin'
        ? join(homedir(), 'Library', 'Application Support', 'QGIS', 'QGIS3')
        : join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'QGIS', 'QGIS3');
  return join(base, 'profiles', 'default');
}

/**
 * Sets (value) or removes (undefined) `key` in `[section]` of an INI text, keeping everything else as it is.
 * QSettings' INI files are plain `key=value` lines under `[section]` headers.
 */
export function setIniKey(text: string, section: string, key: string, value: string | undefined): string {
  const lines = text.length ? text.replace(/\r\n/g, '\n').split('\n') : [];
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const header = `[${section}]`;
  const start = lines.findIndex((l) => l.trim() === header);
  if (start < 0) {
    if (value === undefined) return text;
    if (lines.length && lines.at(-1)?.trim() !== '') lines.push('');
    lines.push(header, `${key}=${value}`);
    return `${lines.join('\n')}\n`;
  }
  let end = start + 1;
  while (end < lines.length && !/^\s*\[.*\]\s*$/.test(lines[end] ?? '')) end++;
  const at = lines.slice(start + 1, end).findIndex((l) => (l.split('=')[0] ?? '').trim() === key);
  if (at >= 0) {
    if (value === undefined) lines.splice(start + 1 + at, 1);
    else lines[start + 1 + at] = `${key}=${value}`;
  } else if (value !== undefined) {
    let insert = end;
    while (insert > start + 1 && lines[insert - 1]?.trim() === '') insert--;
    lines.splice(insert, 0, `${key}=${value}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface InstallResult {
  pluginDir: string;
  iniPath: string;
  runner: string;
  node: string;
}

export function installPlugin(profile: string, node = process.execPath): InstallResult {
  if (!existsSync(join(pluginSource, 'metadata.txt')))
    throw new DpmError(`qgis install: plugin sources missing at ${pluginSource}`);
  if (!existsSync(runnerPath)) throw new DpmError(`qgis install: runner ${runnerPath} missing (run npm run build)`);
  const profileDir = resolve(profile);
  if (existsSync(profileDir) && !statSync(profileDir).isDirectory())
    throw new DpmError(`qgis install: --profile ${profile} is a file, not a QGIS profile folder`);
  const pluginDir = join(profileDir, 'python', 'plugins', PLUGIN_ID);
  try {
    rmSync(pluginDir, { recursive: true, force: true });
    mkdirSync(join(profileDir, 'python', 'plugins'), { recursive: true });
    cpSync(pluginSource, pluginDir, { recursive: true, filter: shipped });
    // the plugin reads the live manifest from the package; this copy keeps the algorithms listed if it moves
    writeFileSync(join(pluginDir, 'manifest.json'), `${JSON.stringify(loadManifest(), null, 1)}\n`);
    const record = {
      packageRoot,
      cli: runnerPath,
      node,
      manifest: manifestPath,
      protocol: PROTOCOL_VERSION,
      version: loadManifest().provider.version,
    };
    writeFileSync(join(pluginDir, 'runner.json'), `${JSON.stringify(record, null, 1)}\n`);
    const iniPath = join(profileDir, 'QGIS', 'QGIS3.ini');
    mkdirSync(join(profileDir, 'QGIS'), { recursive: true });
    const ini = existsSync(iniPath) ? readFileSync(iniPath, 'utf8') : '';
    writeFileSync(iniPath, setIniKey(ini, 'PythonPlugins', PLUGIN_ID, 'true'));
    return { pluginDir, iniPath, runner: runnerPath, node };
  } catch (err) {
    if (err instanceof DpmError) throw err;
    throw new DpmError(`qgis install into ${profileDir}: ${(err as Error).message}`);
  }
}

/** Plugin files that belong in a copy: no byte code, no install record of this machine. */
const shipped = (path: string) => !/__pycache__|\.pyc$|runner\.json$/.test(path);

/** Writes the plugin ZIP: one top folder insar_dpm/ (what the Plugin Manager looks for), the manifest copied in. */
export function packagePlugin(out: string): { zip: string; files: number } {
  if (!existsSync(join(pluginSource, 'metadata.txt')))
    throw new DpmError(`qgis package: plugin sources missing at ${pluginSource}`);
  if (!out.toLowerCase().endsWith('.zip')) throw new DpmError(`qgis package: --out ${out} must end in .zip`);
  const entries: Zippable = {};
  const add = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (!shipped(path)) continue;
      if (statSync(path).isDirectory()) add(path);
      else entries[`${PLUGIN_ID}/${relative(pluginSource, path).split('\\').join('/')}`] = readFileSync(path);
    }
  };
  add(pluginSource);
  // the algorithms stay listed before the package is found; the package's own manifest wins once it is
  entries[`${PLUGIN_ID}/manifest.json`] = Buffer.from(`${JSON.stringify(loadManifest(), null, 1)}\n`);
  const zip = resolve(out);
  try {
    mkdirSync(dirname(zip), { recursive: true });
    const tmp = `${zip}.dpm-tmp`;
    writeFileSync(tmp, zipSync(entries, { level: 9, mtime: new Date('2020-01-01T00:00:00Z') }));
    renameSync(tmp, zip); // nothing half-written under the final name
  } catch (err) {
    throw new DpmError(`qgis package --out ${out}: ${(err as Error).message}`);
  }
  return { zip, files: Object.keys(entries).length };
}

export function uninstallPlugin(profile: string): { pluginDir: string; removed: boolean } {
  const profileDir = resolve(profile);
  const pluginDir = join(profileDir, 'python', 'plugins', PLUGIN_ID);
  const removed = existsSync(pluginDir);
  try {
    rmSync(pluginDir, { recursive: true, force: true });
    const iniPath = join(profileDir, 'QGIS', 'QGIS3.ini');
    if (existsSync(iniPath))
      writeFileSync(iniPath, setIniKey(readFileSync(iniPath, 'utf8'), 'PythonPlugins', PLUGIN_ID, undefined));
  } catch (err) {
    throw new DpmError(`qgis uninstall from ${profileDir}: ${(err as Error).message}`);
  }
  return { pluginDir, removed };
}

export const qgisCommand: CommandModule = {
  command: 'qgis <action>',
  describe: 'install or uninstall the QGIS plugin in a QGIS profile, or package it as a ZIP for the Plugin Manager',
  builder: (y) =>
    y
      .positional('action', { choices: ['install', 'uninstall', 'package'] as const, describe: 'what to do' })
      .option('out', { type: 'string', describe: 'package: the ZIP to write (e.g. insar_dpm.zip)' })
      .option('profile', {
        type: 'string',
        describe: 'QGIS profile folder (qgis_process only reads the profile named "default")',
        defaultDescription: defaultProfile(),
      })
      .option('node', { type: 'string', describe: 'Node.js the plugin runs (default: this one)' }),
  handler: (argv) => {
    const profile = (argv.profile as string | undefined) ?? defaultProfile();
    try {
      if (argv.action === 'package') {
        const out = argv.out as string | undefined;
        if (!out) throw new DpmError('qgis package needs --out FILE.zip');
        const r = packagePlugin(out);
        process.stdout.write(
          `wrote ${r.zip} (${r.files} files)\nIn QGIS: Plugins ▸ Manage and Install Plugins ▸ Install from ZIP. ` +
            'The plugin runs the dpm command: npm install -g insar-dpm (or a packed insar-dpm-*.tgz) first.\n',
        );
      } else if (argv.action === 'install') {
        const r = installPlugin(profile, (argv.node as string | undefined) ?? process.execPath);
        process.stdout.write(
          `installed ${r.pluginDir}\nenabled in ${r.iniPath}\nrunner ${r.node} ${r.runner} worker\n` +
            'restart QGIS; the algorithms are under "InSAR damage proxy maps" in the Processing toolbox\n',
        );
      } else {
        const r = uninstallPlugin(profile);
        process.stdout.write(r.removed ? `removed ${r.pluginDir}\n` : `not installed in ${profile}\n`);
      }
    } catch (err) {
      process.stderr.write(`dpm: ${(err as Error).message}\n`);
      process.exitCode = err instanceof DpmError ? err.exitCode : 1;
    }
  },
};
