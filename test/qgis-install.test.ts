// `dpm qgis install|uninstall` without QGIS: the plugin folder, runner.json and the QGIS3.ini key.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';
import { defaultProfile, pluginSource, setIniKey } from '../host/qgis/install.js';
import { manifestPath } from '../host/paths.js';

const cli = fileURLToPath(new URL('../host/cli.js', import.meta.url));

function dpm(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
}

test('setIniKey sets, replaces and removes one key and keeps everything else', () => {
  assert.equal(setIniKey('', 'PythonPlugins', 'insar_dpm', 'true'), '[PythonPlugins]\ninsar_dpm=true\n');
  assert.equal(setIniKey('[A]\nx=1\n', 'PythonPlugins', 'k', 'true'), '[A]\nx=1\n\n[PythonPlugins]\nk=true\n');
  assert.equal(
    setIniKey('[PythonPlugins]\nk=false\n\n[B]\ny=2\n', 'PythonPlugins', 'k', 'true'),
    '[PythonPlugins]\nk=true\n\n[B]\ny=2\n',
  );
  assert.equal(
    setIniKey('[PythonPlugins]\na=true\n\n[B]\nk=2\n', 'PythonPlugins', 'k', 'true'),
    '[PythonPlugins]\na=true\nk=true\n\n[B]\nk=2\n',
  );
  assert.equal(
    setIniKey('[PythonPlugins]\na=true\nk=true\n\n[B]\nk=2\n', 'PythonPlugins', 'k', undefined),
    '[PythonPlugins]\na=true\n\n[B]\nk=2\n',
  );
  assert.equal(setIniKey('[B]\nk=2\n', 'PythonPlugins', 'k', undefined), '[B]\nk=2\n');
  assert.equal(setIniKey('[PythonPlugins]\r\nk=false\r\n', 'PythonPlugins', 'k', 'true'), '[PythonPlugins]\nk=true\n');
});

test('defaultProfile: the "default" profile qgis_process reads, per platform and with QGIS_CUSTOM_CONFIG_PATH', () => {
  assert.equal(defaultProfile({ QGIS_CUSTOM_CONFIG_PATH: '/c' }, 'linux'), join('/c', 'profiles', 'default'));
  assert.equal(defaultProfile({ XDG_DATA_HOME: '/x' }, 'linux'), join('/x', 'QGIS', 'QGIS3', 'profiles', 'default'));
  assert.equal(
    defaultProfile({ APPDATA: 'C:/Users/u/AppData/Roaming' }, 'win32'),
    join('C:/Users/u/AppData/Roaming', 'QGIS', 'QGIS3', 'profiles', 'default'),
  );
  assert.match(defaultProfile({}, 'darwin'), /Library\/Application Support\/QGIS\/QGIS3\/profiles\/default$/);
});

test('dpm qgis install copies the plugin, records the runner and enables it; uninstall undoes only that', () => {
  const profile = mkdtempSync(join(tmpdir(), 'dpm-qgis-profile-'));
  try {
    mkdirSync(join(profile, 'QGIS'));
    const before = '[General]\nfoo=1\n\n[PythonPlugins]\nprocessing=true\n';
    writeFileSync(join(profile, 'QGIS', 'QGIS3.ini'), before);
    const r = dpm('qgis', 'install', '--profile', profile);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(profile, 'QGIS', 'QGIS3.ini'), 'utf8'), `${before}insar_dpm=true\n`);
    const dir = join(profile, 'python', 'plugins', 'insar_dpm');
    const py = readdirSync(pluginSource)
      .filter((f) => f.endsWith('.py') || f === 'metadata.txt')
      .sort();
    assert.deepEqual(
      readdirSync(dir)
        .filter((f) => py.includes(f))
        .sort(),
      py,
    );
    const rec = JSON.parse(readFileSync(join(dir, 'runner.json'), 'utf8'));
    assert.equal(rec.cli, cli);
    assert.equal(rec.node, process.execPath);
    assert.equal(rec.manifest, manifestPath);
    assert.deepEqual(
      JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')),
      JSON.parse(readFileSync(manifestPath, 'utf8')),
    );
    // metadata.txt: QGIS needs [general] name= (or no Python plugin loads at all) and hasProcessingProvider=yes
    const meta = readFileSync(join(dir, 'metadata.txt'), 'utf8');
    assert.match(meta, /^\[general\]$/m);
    assert.match(meta, /^name=\S/m);
    assert.match(meta, /^hasProcessingProvider=yes$/m);

    const u = dpm('qgis', 'uninstall', '--profile', profile);
    assert.equal(u.status, 0, u.stderr);
    assert.equal(readFileSync(join(profile, 'QGIS', 'QGIS3.ini'), 'utf8'), before);
    assert.ok(!existsSync(dir));
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
});

test('dpm qgis package --out FILE.zip: one insar_dpm/ folder with every plugin file and the manifest, no path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpm-zip-'));
  try {
    const zip = join(dir, 'sub', 'insar_dpm.zip');
    const r = dpm('qgis', 'package', '--out', zip);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Install from ZIP/);
    const entries = unzipSync(readFileSync(zip));
    const names = Object.keys(entries).sort();
    const shipped = (d: string, rel = ''): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) =>
        e.name === '__pycache__' || e.name.endsWith('.pyc') || e.name === 'runner.json'
          ? []
          : e.isDirectory()
            ? shipped(join(d, e.name), `${rel}${e.name}/`)
            : [`insar_dpm/${rel}${e.name}`],
      );
    assert.deepEqual(names, [...shipped(pluginSource), 'insar_dpm/manifest.json'].sort());
    const manifest = JSON.parse(Buffer.from(entries['insar_dpm/manifest.json']!).toString('utf8'));
    assert.deepEqual(manifest, JSON.parse(readFileSync(manifestPath, 'utf8')));
    assert.doesNotMatch(Buffer.from(entries['insar_dpm/metadata.txt']!).toString('utf8'), /example\.invalid/);
    const bad = dpm('qgis', 'package', '--out', join(dir, 'plugin.tar'));
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /must end in \.zip/);
    assert.ok(!existsSync(join(dir, 'plugin.tar')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
