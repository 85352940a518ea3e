// The QGIS Processing provider (host/qgis/insar_dpm) in real QGIS: Debian's qgis_process.bin (3.22) and QGIS's own
// Python, a throwaway profile (HOME, XDG dirs and QGIS_CUSTOM_CONFIG_PATH in a temp folder), the plugin installed and
// enabled by `dpm qgis install`. Inputs come from `dpm simulate` → coherence → train (tiny model, --device cpu), made
// by the CLI of this same build; QGIS results are compared with the CLI's on the same inputs.
// .ci/run installs QGIS; without /usr/bin/qgis_process.bin these tests are reported as skipped, with the reason.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadManifest, PARAM_TYPES, type ParamSpec } from '../host/toolbox/manifest.js';
import { packageRoot } from '../host/paths.js';
import { readRaster } from '../host/raster/geotiff.js';
import { at } from './at.js';
import { throwawayProfile } from './qgis-profile.js';

const QGIS = '/usr/bin/qgis_process.bin'; // not Debian's qgis_process wrapper: it always fails (QGIS_OPTS, qgis#57683)
const PYTHON = '/usr/bin/python3'; // QGIS's Python (the shell's python3 may be another one without the qgis module)
const skip = existsSync(QGIS) && existsSync(PYTHON) ? false : `${QGIS} not installed (.ci/run installs Debian's qgis)`;
const cli = fileURLToPath(new URL('../host/cli.js', import.meta.url));
const model3 = join(packageRoot, 'host', 'qgis', 'models', 'coherence_train_forecast.model3');

let root = '';
/** check_plugin.py's description of every algorithm as QGIS built it (set by the plugin test) */
let pluginReport: any;
let env: NodeJS.ProcessEnv = {};
const fx = { sim: '', coh: '', model: '', fc: '' };

interface Proc {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}, stdin = ''): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...env, ...extraEnv }, cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

function dpm(...args: string[]): void {
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, `dpm ${args.join(' ')}: ${r.stderr}`);
}

/** `qgis_process.bin --json run …`: the parsed document (results, log). */
async function qgisJson(args: string[]): Promise<{ results: Record<string, unknown>; log?: unknown }> {
  const r = await run(QGIS, ['--json', 'run', ...args]);
  assert.equal(r.code, 0, `qgis_process run ${args[0]} failed:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function sameRaster(a: string, b: string): Promise<void> {
  const [ra, rb] = await Promise.all([readRaster(a), readRaster(b)]);
  assert.equal(ra.width, rb.width);
  assert.equal(ra.height, rb.height);
  assert.equal(ra.bands.length, rb.bands.length);
  // bit for bit: the same code on the same inputs (float64 CPU reference, seeded), only the host differs
  ra.bands.forEach((band, k) =>
    assert.ok(
      Buffer.from(band.buffer).equals(Buffer.from(at(rb.bands, k).buffer)),
      `${a} band ${k + 1} differs from ${b}`,
    ),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The (first) child process of `pid`, from /proc so that procps need not be installed; '' if none. */
function childOf(pid: number): string {
  return (
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .find((d) => {
        try {
          return (
            readFileSync(`/proc/${d}/stat`, 'utf8')
              .replace(/^.*\) /s, '')
              .split(' ')[1] === String(pid)
          );
        } catch {
          return false; // gone meanwhile
        }
      }) ?? ''
  );
}

/** Still running: exists and is not a zombie (an exited orphan stays a zombie where PID 1 does not reap). */
function running(pid: string): boolean {
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

before(async () => {
  if (skip) return;
  const profile = throwawayProfile('dpm-qgis-');
  root = profile.root;
  env = {
    ...profile.env,
    QT_QPA_PLATFORM: 'offscreen', // no display: without it qgis_process aborts
    DPM_NODE: process.execPath,
  };
  // `dpm qgis install` with no --profile: $QGIS_CUSTOM_CONFIG_PATH/profiles/default, enabled in its QGIS3.ini
  dpm('qgis', 'install');
  fx.sim = join(root, 'sim');
  fx.coh = join(root, 'coh.tif');
  fx.model = join(root, 'model.safetensors');
  fx.fc = join(root, 'fc-cli');
  dpm('simulate', '--out', fx.sim, '--width', '180', '--height', '90', '--dates', '8');
  dpm('coherence', '--slc', fx.sim, '--out', fx.coh);
  dpm(
    'train',
    '--coherence',
    fx.coh,
    '--out',
    fx.model,
    '--hidden',
    '8',
    '--mlp',
    '8',
    '--epochs',
    '1',
    '--device',
    'cpu',
  );
  dpm('forecast', '--coherence', fx.coh, '--model', fx.model, '--out-dir', fx.fc, '--device', 'cpu');
});

after(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** What each manifest type must become in QGIS (QgsProcessingParameterDefinition.type()). */
function expectedType(p: ParamSpec): Record<string, unknown> {
  if (p.multiple) {
    if (p.type === 'raster') return { type: 'multilayer', layerType: 3 }; // QgsProcessing.TypeRaster
    if (p.type === 'vector') return { type: 'multilayer', layerType: -1 }; // TypeVectorAnyGeometry
    if (p.type === 'file') return { type: 'multilayer', layerType: 4 }; // TypeFile
    if (p.type === 'enum') return { type: 'enum', allowMultiple: true };
    return { type: 'string' }; // numbers, strings, folders: a list separated by , or ;
  }
  switch (p.type) {
    case 'date':
      return { type: 'datetime', dataType: 1 }; // QgsProcessingParameterDateTime.Date
    case 'field':
      return { type: 'field', parent: qname(p.parent ?? '') };
    case 'file':
      return { type: 'file', folder: false };
    case 'folder':
      return { type: 'file', folder: true };
    case 'number':
      return { type: 'number', integer: false };
    case 'integer':
      return { type: 'number', integer: true };
    case 'enum':
      return { type: 'enum', allowMultiple: false };
    default:
      return { type: p.type };
  }
}

const OUTPUT_TYPES: Record<string, string> = {
  raster: 'outputRaster',
  vector: 'outputVector',
  file: 'outputFile',
  folder: 'outputFolder',
  number: 'outputNumber',
  string: 'outputString',
  html: 'outputHtml',
};
const DEST_OUTPUT: Record<string, string> = {
  rasterDestination: 'outputRaster',
  vectorDestination: 'outputVector',
  fileDestination: 'outputFile',
  folderDestination: 'outputFolder',
};
const qname = (n: string) => n.replace(/-/g, '_').toUpperCase();

test('qgis_process.bin list shows the provider and every manifest algorithm; help shows the parameters', {
  skip,
}, async () => {
  const list = await run(QGIS, ['list']);
  assert.equal(list.code, 0, list.stderr);
  const block = list.stdout.split(/\n(?=\S)/).find((b) => b.startsWith(loadManifest().provider.name));
  assert.ok(
    block,
    `provider "${loadManifest().provider.name}" missing from qgis_process list:\n${list.stdout}\n${list.stderr}`,
  );
  const listed = [...block.matchAll(/insardpm:(\S+)/g)].map((m) => m[1]).sort();
  assert.deepEqual(
    listed,
    loadManifest()
      .algorithms.map((a) => a.id.replace(/-/g, '_'))
      .sort(),
  );

  const forecast = loadManifest().algorithms.find((a) => a.id === 'forecast')!;
  const help = await run(QGIS, ['help', 'insardpm:forecast']);
  assert.equal(help.code, 0, help.stderr);
  assert.ok(help.stdout.includes(forecast.name));
  for (const p of forecast.parameters)
    assert.match(help.stdout, new RegExp(`^${qname(p.name)}: `, 'm'), `help lacks ${p.name}`);
  for (const o of forecast.outputs)
    assert.match(help.stdout, new RegExp(`^${qname(o.name)}: <output`, 'm'), `help lacks output ${o.name}`);
});

test('QGIS Python: plugin compiles and loads as under qgis_process; every manifest type and output maps; bad input gives clear errors and no orphan runner', {
  skip,
}, async () => {
  const plugins = join(root, 'qgis', 'profiles', 'default', 'python', 'plugins');
  // fake runners: one that crashes, one killed by a signal, one that ignores the cancel line (and SIGTERM)
  const crash = join(root, 'crash.js');
  writeFileSync(
    crash,
    'process.stdout.write(\'{"type":"progress","percent":5}\\n\');\nsetTimeout(() => { throw new Error(\'simulated crash in the runner\'); }, 50);\n',
  );
  const killed = join(root, 'killed.js');
  writeFileSync(
    killed,
    'process.stdout.write(\'{"type":"log","level":"info","message":"about to die"}\\n\');\nsetTimeout(() => process.kill(process.pid, \'SIGKILL\'), 50);\n',
  );
  const deaf = join(root, 'deaf.js');
  writeFileSync(
    deaf,
    [
      "const { writeFileSync } = require('node:fs'); const { dirname, join } = require('node:path');",
      "process.on('SIGTERM', () => {}); let buf = '';",
      "process.stdin.on('data', (d) => { buf += d; const i = buf.indexOf('\\n'); if (i < 0 || buf.startsWith('#')) return;",
      "  const req = JSON.parse(buf.slice(0, i)); buf = '#';",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the script text holds a template literal of its own
      "  writeFileSync(join(dirname(req.parameters['out-dir']), `.dpm-tmp-${process.pid}-0-partial.tif`), 'partial');",
      '  process.stdout.write(\'{"type":"progress","percent":1}\\n\'); });',
      'setInterval(() => {}, 1000);',
    ].join('\n'),
  );
  const deafOut = join(root, 'deaf', 'ev');
  mkdirSync(join(root, 'deaf'));
  const ev = (extra: Record<string, unknown>) => ({
    SCORE: [join(fx.fc, 'zscore.tif')],
    TRUTH_RASTER: join(fx.sim, 'truth', 'damage_mask.tif'),
    OUT_DIR: join(root, 'ev-py'),
    ...extra,
  });
  // every manifest type, single and multiple, in one synthetic spec
  const types = PARAM_TYPES;
  const synthetic = {
    id: 'synthetic',
    name: 'Synthetic',
    group: 'Test',
    help: 'every type',
    parameters: [
      ...types.map((t) => ({
        name: `p-${t.toLowerCase()}`,
        type: t,
        description: t,
        ...(t === 'enum' ? { options: ['a', 'b'], default: 'b' } : {}),
        ...(t === 'integer' ? { default: 3, min: 1, max: 9 } : {}),
        ...(t === 'field' ? { parent: 'p-vector' } : {}),
        ...(t === 'folderDestination' ? { optional: true } : {}),
      })),
      ...(['raster', 'vector', 'file', 'folder', 'number', 'string', 'enum'] as const).map((t) => ({
        name: `m-${t}`,
        type: t,
        multiple: true,
        description: t,
        ...(t === 'enum' ? { options: ['x', 'y', 'z'], default: ['x', 'z'] } : {}),
      })),
    ],
    outputs: Object.keys(OUTPUT_TYPES).map((t) => ({ name: `o-${t}`, type: t, description: t })),
  };
  const cases = {
    synthetic,
    runs: [
      { id: 'input', alg: 'insardpm:evaluate', params: ev({ NAMES: 'a,b' }) },
      { id: 'missing-raster', alg: 'insardpm:evaluate', params: ev({ SCORE: [join(root, 'no-such.tif')] }) },
      { id: 'wrong-type', alg: 'insardpm:evaluate', params: ev({ FRACTION: 'abc' }) },
      { id: 'crash', alg: 'insardpm:evaluate', params: ev({}), env: { DPM_RUNNER: crash } },
      { id: 'killed', alg: 'insardpm:evaluate', params: ev({}), env: { DPM_RUNNER: killed } },
      { id: 'no-node', alg: 'insardpm:evaluate', params: ev({}), env: { DPM_NODE: join(root, 'no', 'node') } },
      { id: 'no-runner', alg: 'insardpm:evaluate', params: ev({}), env: { DPM_RUNNER: join(root, 'no', 'cli.js') } },
      {
        id: 'deaf',
        alg: 'insardpm:evaluate',
        params: ev({ OUT_DIR: deafOut }),
        env: { DPM_RUNNER: deaf },
        cancelAfter: 1.0,
      },
    ],
  };
  const r = await run(
    PYTHON,
    [join(packageRoot, 'host', 'qgis', 'testing', 'check_plugin.py'), plugins],
    {},
    JSON.stringify(cases),
  );
  const line = r.stdout.split('\n').find((l) => l.startsWith('@@RESULT@@'));
  assert.ok(line, `check_plugin.py failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  const out = JSON.parse(line.slice('@@RESULT@@'.length));

  assert.deepEqual(
    out.compiled.sort(),
    readdirSync(join(packageRoot, 'host', 'qgis', 'insar_dpm'))
      .filter((f) => f.endsWith('.py'))
      .sort(),
  );
  assert.equal(out.provider, loadManifest().provider.name);

  const checkAlg = (
    spec: { id: string; parameters: ParamSpec[]; outputs: { name: string; type: string }[] },
    got: any,
  ) => {
    assert.ok(got, `${spec.id} not loaded by the provider`);
    const byName = new Map<string, any>(got.params.map((p: any) => [p.name, p]));
    assert.deepEqual(
      [...byName.keys()],
      spec.parameters.map((p) => qname(p.name)),
      `${spec.id}: parameter names and order`,
    );
    for (const p of spec.parameters) {
      const q = byName.get(qname(p.name));
      const where = `${spec.id}.${p.name}`;
      for (const [k, v] of Object.entries(expectedType(p))) assert.equal(q[k], v, `${where}: ${k}`);
      assert.equal(q.optional, Boolean(p.optional), `${where}: optional`);
      assert.equal(q.advanced, Boolean(p.advanced), `${where}: advanced`);
      if (q.type === 'number') {
        if (p.default !== undefined) assert.equal(q.default, p.default, `${where}: default`);
        if (p.min !== undefined) assert.equal(q.min, p.min, `${where}: min`);
        if (p.max !== undefined) assert.equal(q.max, p.max, `${where}: max`);
      }
      if (q.type === 'enum') {
        assert.deepEqual(q.options, p.optionLabels ?? p.options, `${where}: options`);
        if (p.default !== undefined) {
          const want = (Array.isArray(p.default) ? p.default : [p.default]).map((d) => p.options!.indexOf(String(d)));
          assert.deepEqual(Array.isArray(q.default) ? q.default : [q.default], want, `${where}: default`);
        }
      }
      if (q.type === 'boolean' && p.default !== undefined) assert.equal(q.default, p.default, `${where}: default`);
    }
    const outs = new Map<string, string>(got.outputs.map((o: any) => [o.name, o.type]));
    for (const p of spec.parameters)
      if (DEST_OUTPUT[p.type])
        assert.equal(outs.get(qname(p.name)), DEST_OUTPUT[p.type], `${spec.id}: output of ${p.name}`);
    for (const o of spec.outputs) {
      const t = outs.get(qname(o.name));
      // an output named like a destination parameter is that parameter's output
      const dest = spec.parameters.find((p) => qname(p.name) === qname(o.name) && DEST_OUTPUT[p.type]);
      assert.equal(t, dest ? DEST_OUTPUT[dest.type] : OUTPUT_TYPES[o.type], `${spec.id}: output ${o.name}`);
    }
  };
  for (const spec of loadManifest().algorithms)
    checkAlg(spec, out.algorithms[`insardpm:${spec.id.replace(/-/g, '_')}`]);
  checkAlg(synthetic as any, out.synthetic);
  pluginReport = out;

  const cs = new Map<string, any>(out.cases.map((c: any) => [c.id, c]));
  const errorOf = (id: string) => {
    const c = cs.get(id);
    assert.ok(
      c && c.error !== undefined && c.exception === undefined,
      `${id}: expected a QgsProcessingException, got ${JSON.stringify(c)}`,
    );
    assert.deepEqual(c.runnersAlive, [], `${id}: runner process group still alive`);
    assert.doesNotMatch(c.error, /Traceback/);
    return c.error as string;
  };
  // the runner's own DpmError, word for word
  assert.equal(errorOf('input'), '--names gives 2 names for 1 score rasters');
  assert.match(errorOf('missing-raster'), /SCORE/);
  assert.match(errorOf('wrong-type'), /Incorrect parameter value for FRACTION/);
  assert.match(
    errorOf('crash'),
    /runner \(.*crash\.js worker\) exited with code 1 without a result[\s\S]*simulated crash in the runner/,
  );
  assert.match(errorOf('killed'), /was killed by signal SIGKILL without a result/);
  assert.match(errorOf('no-node'), /Node\.js not found at .*no\/node \(from the \$DPM_NODE\)/);
  assert.match(errorOf('no-runner'), /insar-dpm runner was not found \(looked at: .*no\/cli\.js \(DPM_RUNNER\)/);
  // a runner that ignores the cancel is killed after the grace period, and its temporaries are removed
  assert.match(errorOf('deaf'), /^Canceled by user/);
  assert.ok(cs.get('deaf').log.some((l: string[]) => /did not stop within .* killing it/.test(at(l, 1))));
  assert.deepEqual(readdirSync(join(root, 'deaf')), [], 'temporaries of the killed runner removed');
  for (const c of cs.values()) assert.ok(c.runners <= 1);
});

test('QGIS parameter definitions read like QGIS: short labels, no CLI flag, date and field widgets, folders accepted', {
  skip,
}, () => {
  assert.ok(pluginReport, 'the plugin test above did not run');
  const algs = Object.values(pluginReport.algorithms) as any[];
  assert.equal(algs.length, loadManifest().algorithms.length);
  assert.match(String(pluginReport.providerIcon), /icons\/provider\.svg$/);
  let coherenceInputs = 0;
  for (const a of algs) {
    assert.doesNotMatch(a.displayName, /papers\/|Fig\./, `${a.name}: paper reference in the name`);
    assert.ok(a.iconOk && existsSync(a.icon), `${a.name}: icon ${a.icon}`);
    assert.doesNotMatch(a.help, /--[a-z]/, `${a.name}: CLI flag in the help panel`);
    for (const p of a.params) {
      const where = `${a.name}.${p.name}`;
      assert.ok(p.description.length <= 50, `${where}: label longer than 50 characters: ${p.description}`);
      assert.ok(!p.description.includes('--'), `${where}: label with a CLI flag: ${p.description}`);
      assert.ok(!p.help.includes('--'), `${where}: help with a CLI flag: ${p.help}`);
      if (p.name === 'EVENT_DATE') {
        assert.equal(p.type, 'datetime', where);
        assert.equal(p.dataType, 1, `${where}: a date, not a date-time`);
        assert.ok(p.acceptsYYYYMMDD && p.acceptsIso, `${where}: YYYYMMDD (CLI, old models) and ISO dates`);
      }
      if (p.name === 'DAMAGE_FIELD') {
        assert.equal(p.type, 'field', where);
        // tied to the algorithm's damage-graded layer: the truth (run, evaluate) or the footprints (buildings)
        assert.equal(p.parent, a.name === 'buildings' ? 'FOOTPRINTS' : 'TRUTH', `${where}: tied to the truth layer`);
      }
      if (p.name === 'COHERENCE' || (a.name === 'dpm2' && p.name === 'STACK')) {
        coherenceInputs++;
        assert.ok(p.acceptsFolder && p.cloneAcceptsFolder, `${where}: a folder is refused`);
      }
    }
  }
  assert.equal(
    coherenceInputs,
    12,
    'run, train, forecast, the four baselines, inspect, dpm2, calibrate, monitor-init and monitor-update take a stack',
  );
});

test("qgis_process.bin run: forecast and evaluate give the CLI's outputs", { skip }, async () => {
  const fcDir = join(root, 'fc-qgis');
  const fc = await qgisJson([
    'insardpm:forecast',
    `--COHERENCE=${fx.coh}`,
    `--MODEL=${fx.model}`,
    `--OUT_DIR=${fcDir}`,
    '--DEVICE=3',
  ]);
  assert.equal(fc.results.OUT_DIR, fcDir);
  assert.equal(fc.results.ZSCORE, join(fcDir, 'zscore.tif'));
  const coh = await readRaster(fx.coh);
  assert.equal(fc.results.PIXELS, coh.width * coh.height);
  for (const f of ['zscore.tif', 'mu.tif', 'sigma.tif', 'expected_coherence.tif'])
    await sameRaster(join(fcDir, f), join(fx.fc, f));

  // evaluate the QGIS z-scores against the simulated footprints (a vector layer through QGIS)
  const truth = join(fx.sim, 'truth', 'damage.geojson');
  const evArgs = (score: string, dir: string): Record<string, string> => ({
    score,
    truth,
    'damage-field': 'damage_grade',
    'damaged-values': 'Destroyed,Damaged',
    chip: '15x5',
    'out-dir': dir,
  });
  const evDir = join(root, 'ev-qgis');
  const ev = await qgisJson([
    'insardpm:evaluate',
    ...Object.entries(evArgs(String(fc.results.ZSCORE), evDir)).map(([k, v]) => `--${qname(k)}=${v}`),
  ]);
  dpm(
    'evaluate',
    ...Object.entries(evArgs(join(fx.fc, 'zscore.tif'), join(root, 'ev-cli'))).flatMap(([k, v]) => [`--${k}`, v]),
  );
  const q = JSON.parse(readFileSync(String(ev.results.JSON), 'utf8'));
  const c = JSON.parse(readFileSync(join(root, 'ev-cli', 'evaluation.json'), 'utf8'));
  assert.deepEqual(q.methods, c.methods);
  assert.ok(q.methods[0].positives > 0 && q.methods[0].negatives > 0);
  assert.match(String(ev.results.TABLE), /\| zscore \|/);
  for (const k of ['REPORT', 'PR_PLOT', 'FBETA_PLOT', 'TRUTH_FRACTION'])
    assert.ok(existsSync(String(ev.results[k])), k);
});

test('qgis_process.bin run: COHERENCE may be a folder of single-pair files; EVENT_DATE an ISO date', {
  skip,
}, async () => {
  // the stack's bands as dated single-band files, the way HyP3/ISCE deliver them
  const pairs = join(root, 'pairs');
  mkdirSync(pairs);
  const coh = await readRaster(fx.coh);
  coh.descriptions.forEach((label, k) => {
    const r = spawnSync('gdal_translate', ['-q', '-b', String(k + 1), fx.coh, join(pairs, `coh_${label}.tif`)]);
    assert.equal(r.status, 0, `gdal_translate: ${r.stderr}`);
  });
  // EVENT_DATE as QGIS's date widget gives it (ISO): the day after the last pair's first acquisition, so the last
  // pair is the co-event pair, as by default
  const first = /^(\d{4})(\d{2})(\d{2})_/.exec(coh.descriptions.at(-1) ?? '');
  assert.ok(first, `band labels: ${coh.descriptions}`);
  const event = new Date(Date.UTC(Number(first[1]), Number(first[2]) - 1, Number(first[3]) + 1))
    .toISOString()
    .slice(0, 10);
  const out = join(root, 'fc-folder');
  const fc = await qgisJson([
    'insardpm:forecast',
    `--COHERENCE=${pairs}`,
    `--MODEL=${fx.model}`,
    `--OUT_DIR=${out}`,
    `--EVENT_DATE=${event}`,
  ]);
  assert.equal(fc.results.ZSCORE, join(out, 'zscore.tif'));
  await sameRaster(join(out, 'zscore.tif'), join(fx.fc, 'zscore.tif'));
  // the date reaches the runner as YYYYMMDD: one outside the stack is refused in the CLI's words
  const late = await run(
    QGIS,
    ['run', 'insardpm:forecast', `--COHERENCE=${pairs}`, `--MODEL=${fx.model}`].concat([
      `--OUT_DIR=${join(root, 'fc-late')}`,
      '--EVENT_DATE=2030-01-01',
    ]),
  );
  assert.notEqual(late.code, 0);
  assert.match(late.stdout + late.stderr, /no band's pair spans the event date 20300101/);
});

test('qgis_process.bin runs the Model Builder model coherence → train → forecast', { skip }, async () => {
  const dir = join(root, 'model-run');
  const r = await qgisJson([
    model3,
    `--slc=${fx.sim}`,
    '--epochs=1',
    '--hidden=8',
    '--mlp=8',
    '--device=3',
    `--train:model=${join(dir, 'model.safetensors')}`,
    `--forecast:maps=${join(dir, 'maps')}`,
  ]);
  assert.equal(r.results['forecast:maps'], join(dir, 'maps'));
  assert.ok(existsSync(join(dir, 'model.safetensors')));
  // the same chain by the CLI (fixtures) gives the same maps: seeded training on the float64 CPU reference
  for (const f of ['zscore.tif', 'sigma.tif']) await sameRaster(join(dir, 'maps', f), join(fx.fc, f));
});

test('Ctrl-C (SIGINT) to qgis_process.bin stops the runner within 2 s and leaves no partial output', {
  skip,
}, async () => {
  const parent = join(root, 'sigint');
  mkdirSync(parent);
  const scene = join(parent, 'scene');
  // 120 SLCs of 600×600: ~30 s of work, checked for cancel after every SLC (~0.15 s each)
  const child = spawn(
    QGIS,
    ['run', 'insardpm:simulate', `--OUT=${scene}`, '--WIDTH=600', '--HEIGHT=600', '--DATES=120'],
    { env, cwd: root },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const runnerPid = () => childOf(child.pid!);
  // wait until the runner is writing the scene (its temporaries exist), for 60 s at most
  for (let i = 0; i < 600 && !(existsSync(scene) && readdirSync(scene).length > 0); i++) await sleep(100);
  const pid = runnerPid();
  assert.ok(pid, `no runner under qgis_process:\n${output}`);
  const alive = () => running(pid);
  assert.ok(alive());
  const t0 = Date.now();
  child.kill('SIGINT');
  while (alive() && Date.now() - t0 < 10_000) await sleep(20);
  const stoppedAfter = Date.now() - t0;
  const code = await exited;
  // the bound the issue asks for; the plugin kills the runner's group 1.2 s after the cancel line at the latest
  assert.ok(stoppedAfter < 2000, `runner still alive ${stoppedAfter} ms after SIGINT`);
  assert.notEqual(code, 0);
  assert.match(output, /Canceled by user/);
  assert.match(output, /runner exited with code 130/); // it stopped by itself, through the protocol
  assert.doesNotMatch(output, /Traceback/);
  assert.deepEqual(readdirSync(parent), [], 'no partial output (not even the empty scene folder)');
});

test('qgis_process.bin killed (SIGKILL) during a job: the runner sees EOF, stops and removes its partial output', {
  skip,
}, async () => {
  const parent = join(root, 'sigkill');
  mkdirSync(parent);
  const scene = join(parent, 'scene');
  const child = spawn(
    QGIS,
    ['run', 'insardpm:simulate', `--OUT=${scene}`, '--WIDTH=600', '--HEIGHT=600', '--DATES=120'],
    { env, cwd: root, stdio: 'ignore' },
  );
  const exited = new Promise((resolve) => child.on('close', resolve));
  for (let i = 0; i < 600 && !(existsSync(scene) && readdirSync(scene).length > 0); i++) await sleep(100);
  const pid = childOf(child.pid!);
  assert.ok(pid && running(pid), 'runner started');
  child.kill('SIGKILL'); // the host dies without a word: no cancel line, only EOF on the runner's stdin
  await exited;
  for (let i = 0; i < 100 && running(pid); i++) await sleep(50);
  assert.ok(!running(pid), 'runner still running 5 s after its host died');
  // the runner's OutputSet removed its temporaries; only the (empty) folders it made may be left
  const files = readdirSync(parent, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory());
  assert.deepEqual(
    files.map((e) => e.name),
    [],
  );
});

test("qgis_process.bin run with a missing model file: the runner's message, no traceback", { skip }, async () => {
  const missing = join(root, 'no-such-model.safetensors');
  const r = await run(QGIS, [
    'run',
    'insardpm:forecast',
    `--COHERENCE=${fx.coh}`,
    `--MODEL=${missing}`,
    `--OUT_DIR=${join(root, 'fc-bad')}`,
    '--DEVICE=3',
  ]);
  assert.notEqual(r.code, 0);
  assert.match(r.stdout + r.stderr, new RegExp(`ERROR:.*${missing.replace(/[.]/g, '\\.')}`));
  assert.doesNotMatch(r.stdout + r.stderr, /Traceback/);
  assert.ok(!existsSync(join(root, 'fc-bad')), 'no output folder left');
});

const xvfb = '/usr/bin/xvfb-run';
test('desktop QGIS (under Xvfb): the plugin loads through initGui; a job runs on a task thread; Cancel stops one', {
  skip: skip || (existsSync(xvfb) ? false : `${xvfb} not installed (.ci/run installs xvfb)`),
}, async () => {
  const result = join(root, 'gui.json');
  const parent = join(root, 'gui-cancel');
  mkdirSync(parent);
  const cfg = {
    result,
    run: {
      alg: 'insardpm:forecast',
      params: { COHERENCE: [fx.coh], MODEL: fx.model, OUT_DIR: join(root, 'gui-fc'), DEVICE: 3 },
    },
    cancel: {
      alg: 'insardpm:simulate',
      params: { OUT: join(parent, 'scene'), WIDTH: 600, HEIGHT: 600, DATES: 120 },
      cancelAfter: 4,
    },
  };
  const r = await run(
    xvfb,
    [
      '-a',
      'qgis',
      '--noversioncheck',
      '--nologo',
      '--code',
      join(packageRoot, 'host', 'qgis', 'testing', 'gui_check.py'),
    ],
    { DPM_GUI_CHECK: JSON.stringify(cfg), QT_QPA_PLATFORM: 'xcb' },
  ); // the desktop app crashes on offscreen (clipboard)
  assert.ok(existsSync(result), `desktop QGIS wrote no result (${r.code}):\n${r.stdout}\n${r.stderr}`);
  const out = JSON.parse(readFileSync(result, 'utf8'));
  assert.equal(out.loaded, true);
  assert.equal(out.iface, true);
  assert.equal(out.algorithms, loadManifest().algorithms.length);
  assert.equal(out.run.ok, true, JSON.stringify(out.run));
  await sameRaster(out.run.results.ZSCORE, join(fx.fc, 'zscore.tif'));
  assert.equal(out.cancel.ok, false);
  assert.deepEqual(readdirSync(parent), [], 'no partial output after Cancel');
});
