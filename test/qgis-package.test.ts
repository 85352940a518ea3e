// The plugin as a user installs it, with no clone in sight: `npm pack` of this package, `npm install -g` of the
// tarball into a temporary prefix (so the package must ship its build), `dpm qgis package --out insar_dpm.zip`, the
// ZIP installed into a throwaway profile by the Plugin Manager's own code ("Install from ZIP") in the desktop app
// under Xvfb, where the `run` and `forecast` dialogs open at 1200 × 800 without a horizontal scroll bar and the pixel
// time-series tool gives the numbers of `dpm inspect`; then qgis_process.bin runs `simulate` with the runner found
// through `dpm` on PATH, and through `npm root -g`. Skipped without QGIS, Xvfb or npm.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packageRoot } from '../host/paths.js';
import { throwawayProfile } from './qgis-profile.js';
import { loadManifest } from '../host/toolbox/manifest.js';
import { readRaster } from '../host/raster/geotiff.js';

const QGIS = '/usr/bin/qgis_process.bin';
const XVFB = '/usr/bin/xvfb-run';
const npm = spawnSync('npm', ['--version'], { encoding: 'utf8' }).status === 0;
const skip = !existsSync(QGIS)
  ? `${QGIS} not installed (.ci/run installs Debian's qgis)`
  : !existsSync(XVFB)
    ? `${XVFB} not installed (.ci/run installs xvfb)`
    : !npm
      ? 'npm not on PATH'
      : false;

let root = '';
let env: NodeJS.ProcessEnv = {};
/** PATH with the temporary npm prefix's bin (the global `dpm`) first, Node's own folder and the system's */
let pathWithDpm = '';
const pathWithoutDpm = `${dirname(process.execPath)}:/usr/bin:/bin`;
const fx = { prefix: '', zip: '', sim: '', coh: '', model: '' };

function sh(cmd: string, args: string[], extra: NodeJS.ProcessEnv = {}, timeout = 300_000) {
  const r = spawnSync(cmd, args, { env: { ...env, ...extra }, cwd: root, encoding: 'utf8', timeout });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function run(cmd: string, args: string[], extra: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...env, ...extra }, cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

before(() => {
  if (skip) return;
  const profile = throwawayProfile('dpm-qgis-zip-');
  root = profile.root;
  mkdirSync(join(root, 'pack'));
  fx.prefix = join(root, 'prefix');
  pathWithDpm = `${join(fx.prefix, 'bin')}:${pathWithoutDpm}`;
  env = {
    ...profile.env,
    // npm's cache stays the user's (offline installs of the dependencies CI has already fetched)
    npm_config_cache: process.env.npm_config_cache ?? join(process.env.HOME ?? '/root', '.npm'),
    PATH: pathWithDpm,
  };
  for (const k of ['DPM_NODE', 'npm_config_prefix']) delete env[k];
  // the package as npm would publish it: `files` must include the build (dist/host, build/*.wasm, shaders)
  sh('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', join(root, 'pack'), packageRoot]);
  const tgz = readdirSync(join(root, 'pack')).find((f) => f.endsWith('.tgz'));
  assert.ok(tgz, 'npm pack wrote no tarball');
  sh(
    'npm',
    ['install', '-g', '--prefix', fx.prefix, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'].concat([
      join(root, 'pack', tgz),
    ]),
  );
  fx.zip = join(root, 'insar_dpm.zip');
  fx.sim = join(root, 'sim');
  fx.coh = join(root, 'coh.tif');
  fx.model = join(root, 'model.safetensors');
  sh('dpm', ['qgis', 'package', '--out', fx.zip]);
  sh('dpm', ['simulate', '--out', fx.sim, '--width', '180', '--height', '90', '--dates', '8']);
  sh('dpm', ['coherence', '--slc', fx.sim, '--out', fx.coh]);
  sh(
    'dpm',
    ['train', '--coherence', fx.coh, '--out', fx.model, '--hidden', '8', '--mlp', '8', '--epochs', '2'].concat([
      '--device',
      'cpu',
    ]),
  );
});

after(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

test('the packed package ships its build; the ZIP holds one plugin folder, no install record, real metadata', {
  skip,
}, () => {
  const pkg = join(fx.prefix, 'lib', 'node_modules', 'insar-dpm');
  for (const f of ['dist/host/cli.js', 'build/release.wasm', 'shaders', 'plugin-manifest.json', 'host/qgis/insar_dpm'])
    assert.ok(existsSync(join(pkg, f)), `the installed package lacks ${f}`);
  const names = sh('/usr/bin/python3', [
    '-c',
    'import sys,zipfile;print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))',
    fx.zip,
  ])
    .trim()
    .split('\n');
  assert.ok(
    names.every((n) => n.startsWith('insar_dpm/')),
    names.join(' '),
  );
  for (const f of ['metadata.txt', '__init__.py', 'timeseries.py', 'manifest.json', 'icons/provider.svg'])
    assert.ok(names.includes(`insar_dpm/${f}`), `ZIP lacks ${f}`);
  assert.ok(!names.some((n) => /runner\.json|__pycache__/.test(n)), 'the ZIP carries a path of this machine');
  const meta = readFileSync(join(packageRoot, 'host', 'qgis', 'insar_dpm', 'metadata.txt'), 'utf8');
  assert.doesNotMatch(meta, /example\.(invalid|com|org)|localhost/);
  assert.match(meta, new RegExp(`^version=${loadManifest().provider.version}$`, 'm'));
});

test('desktop QGIS: Install from ZIP, the run and forecast dialogs at 1200 × 800, the pixel tool equals dpm inspect', {
  skip,
}, async () => {
  const coh = await readRaster(fx.coh);
  const [lat, lon] = [
    await readRaster(`${fx.coh.replace(/\.tif$/, '')}.lat.tif`),
    await readRaster(`${fx.coh.replace(/\.tif$/, '')}.lon.tif`),
  ];
  const picks = [
    { row: 3, col: 4 },
    { row: 10, col: 9 },
  ];
  const places = picks.map(({ row, col }) => [
    lon.bands[0]![row * coh.width + col]!,
    lat.bands[0]![row * coh.width + col]!,
  ]);
  const cfg = {
    zip: fx.zip,
    result: join(root, 'gui.json'),
    dialogs: ['insardpm:run', 'insardpm:forecast'],
    forecast: { COHERENCE: [fx.coh], MODEL: fx.model, OUT_DIR: join(root, 'gui-fc'), DEVICE: 3 },
    shots: root,
    pixel: { layer: fx.coh, model: fx.model, places, csv: join(root, 'pixels.csv'), png: join(root, 'pixels.png') },
  };
  const r = await run(
    XVFB,
    ['-a', '-s', '-screen 0 1600x1000x24', 'qgis', '--noversioncheck', '--nologo', '--code'].concat([
      join(packageRoot, 'host', 'qgis', 'testing', 'gui_zip_check.py'),
    ]),
    {
      DPM_GUI_CHECK: JSON.stringify(cfg),
      QT_QPA_PLATFORM: 'xcb', // the desktop app crashes on offscreen (clipboard)
    },
  );
  assert.ok(existsSync(cfg.result), `desktop QGIS wrote no result (${r.code}):\n${r.stdout}\n${r.stderr}`);
  const out = JSON.parse(readFileSync(cfg.result, 'utf8'));
  assert.deepEqual(out.errors, []);
  assert.equal(out.installed, true, 'the Plugin Manager did not unpack the ZIP');
  assert.equal(out.started, true, 'the Plugin Manager did not start the plugin');
  assert.equal(out.algorithms, loadManifest().algorithms.length);
  assert.ok(!existsSync(join(out.pluginDir, 'runner.json')), 'a ZIP install records no path');
  for (const alg of cfg.dialogs) {
    const d = out.dialogs[alg];
    assert.ok(d && d.scrollAreas > 0, `${alg}: dialog not shown: ${JSON.stringify(d)}`);
    assert.deepEqual(d.size, [1200, 800]);
    assert.deepEqual(d.horizontalBars, [], `${alg}: a horizontal scroll bar at 1200 × 800`);
  }

  // results added to the project with their styles: the z-score as dpm.png, the expected coherence in grey
  assert.equal(out.loaded['z-score of the co-event coherence'], 'singlebandpseudocolor', JSON.stringify(out.loaded));
  assert.equal(out.loaded['forecast mean mapped back to coherence'], 'singlebandgray', JSON.stringify(out.loaded));

  // the pixel tool: what the chart draws and the CSV hold are `dpm inspect --pixel` for the same pixels
  assert.deepEqual(out.pixel.failed, []);
  assert.equal(out.pixel.tool, 'PixelMapTool');
  const series: any[] = out.pixel.series;
  assert.deepEqual(
    series.map((s) => `${s.row},${s.col}`).sort(),
    picks.map((p) => `${p.row},${p.col}`).sort(),
    'the clicked places are not the pixels they lie in',
  );
  const ref = join(root, 'inspect-cli');
  sh(
    'dpm',
    ['inspect', '--coherence', fx.coh, '--model', fx.model, '--out-dir', ref, '--device', 'cpu'].concat(
      picks.flatMap((p) => ['--pixel', `${p.row},${p.col}`]),
    ),
  );
  const cli: any[] = JSON.parse(readFileSync(join(ref, 'inspect.json'), 'utf8')).pixels;
  const csv = readFileSync(cfg.pixel.csv, 'utf8')
    .trim()
    .split(/\r?\n/) // Python's csv module ends rows with \r\n
    .map((l) => l.split(','));
  const header = csv[0]!;
  const col = (row: string[], name: string) => row[header.indexOf(name)] ?? '';
  const num = (s: string) => (s === '' ? null : Number(s));
  for (const c of cli) {
    const plotted = series.find((s) => s.row === c.row && s.col === c.col);
    for (const k of ['pairs', 'coherence', 'x', 'mu', 'sigma', 'z'])
      assert.deepEqual(plotted[k], c[k], `pixel ${c.row},${c.col}: the chart's ${k} differs from dpm inspect`);
    const rows = csv.slice(1).filter((r) => col(r, 'row') === String(c.row) && col(r, 'col') === String(c.col));
    assert.equal(rows.length, c.pairs.length);
    rows.forEach((r, k) => {
      for (const name of ['coherence', 'x', 'mu', 'sigma', 'z'])
        assert.equal(num(col(r, name)), c[name][k], `CSV ${name} of pixel ${c.row},${c.col} step ${k}`);
      const [mu, sigma] = [c.mu[k], c.sigma[k]];
      if (mu !== null && sigma !== null) {
        assert.equal(num(col(r, 'mu_plus_2sigma')), mu + 2 * sigma);
        assert.equal(num(col(r, 'mu_minus_sigma')), mu - sigma);
      }
      assert.equal(col(r, 'co_event'), k === c.pairs.length - 1 ? '1' : '0');
    });
  }
  assert.ok(
    out.pixel.list.every((t: string) => /^P\d \(row \d+, col \d+\) at [\d.]+° N, [\d.]+° E: co-event z = /.test(t)),
  );
});

test('qgis_process.bin with the ZIP-installed plugin finds the runner through dpm on PATH, then npm root -g', {
  skip,
}, async () => {
  const simulate = (out: string) =>
    ['--json', 'run', 'insardpm:simulate', `--OUT=${out}`, '--WIDTH=120', '--HEIGHT=60'].concat([
      '--DATES=5',
      '--SEED=3',
    ]);
  const viaPath = await run(QGIS, simulate(join(root, 'qp-path')), { QT_QPA_PLATFORM: 'offscreen', PATH: pathWithDpm });
  assert.equal(viaPath.code, 0, `${viaPath.stdout}\n${viaPath.stderr}`);
  assert.ok(existsSync(join(root, 'qp-path', 'scene.json')));
  // without dpm on PATH, and npm's global folder elsewhere: a clear message naming where it looked
  const none = await run(QGIS, simulate(join(root, 'qp-none')), {
    QT_QPA_PLATFORM: 'offscreen',
    PATH: pathWithoutDpm,
    npm_config_prefix: join(root, 'no-prefix'),
  });
  assert.notEqual(none.code, 0);
  assert.match(none.stdout + none.stderr, /insar-dpm runner was not found \(looked at: .*dpm on PATH, npm root -g\)/);
  // npm's global folder is the prefix (its bin folder not on PATH): found through `npm root -g`
  const viaNpm = await run(QGIS, simulate(join(root, 'qp-npm')), {
    QT_QPA_PLATFORM: 'offscreen',
    PATH: pathWithoutDpm,
    npm_config_prefix: fx.prefix,
  });
  assert.equal(viaNpm.code, 0, `${viaNpm.stdout}\n${viaNpm.stderr}`);
  assert.ok(existsSync(join(root, 'qp-npm', 'scene.json')));
});
