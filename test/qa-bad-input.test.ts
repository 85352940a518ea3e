// QA: bad input gives one clear message (exit 2, JSON error line with --json) and leaves nothing behind.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OutputSet, withOutputs } from '../host/io/outputs.js';
import { algorithmSpec, resolveParams } from '../host/toolbox/manifest.js';
import { readSafetensors } from '../host/model/safetensors.js';
import { readPoints } from '../host/eval/points/read-points.js';
import { DpmError } from '../host/core/errors.js';
import { execute } from '../host/toolbox/execute.js';
import { recordingFeedback, silentFeedback } from '../host/core/feedback.js';
import { CanceledError } from '../host/core/errors.js';

// the CLI next to this compiled test (dist/ or dist-<name>/)
const cli = fileURLToPath(new URL('../host/cli.js', import.meta.url));
const dpm = (args: string[], cwd: string) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd, env: { ...process.env, DPM_DEVICE: 'cpu' } });

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'dpm-qa-'));
}

test('OutputSet: a failed job removes the folders it created, keeps the ones that existed; a folder is no file', async () => {
  const dir = tmp();
  try {
    mkdirSync(join(dir, 'kept'));
    await assert.rejects(
      withOutputs(async (outs) => {
        writeFileSync(outs.path(join(dir, 'new', 'deeper', 'a.tif')), 'x');
        writeFileSync(outs.path(join(dir, 'kept', 'b.tif')), 'x');
        throw new DpmError('boom');
      }),
      /boom/,
    );
    assert.deepEqual(readdirSync(dir), ['kept']);
    assert.deepEqual(readdirSync(join(dir, 'kept')), [], 'no .dpm-tmp-* leftovers');
    assert.throws(
      () => new OutputSet().path(join(dir, 'kept')),
      (e: Error) => e instanceof DpmError && /is a folder/.test(e.message),
    );
    writeFileSync(join(dir, 'file'), 'x');
    assert.throws(
      () => new OutputSet().path(join(dir, 'file', 'c.tif')),
      (e: Error) => e instanceof DpmError && /not a folder/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('withOutputs: a cancel that arrives during the last synchronous work still cancels: nothing is committed', async () => {
  const dir = tmp();
  try {
    const fb = recordingFeedback();
    await assert.rejects(
      withOutputs(async (outs) => {
        writeFileSync(outs.path(join(dir, 'out', 'a.tif')), 'x');
        setImmediate(() => fb.cancel()); // as a SIGINT handler would, once the event loop gets a turn
        const t = Date.now();
        while (Date.now() - t < 20) {
          /* synchronous encoding */
        }
        return 1;
      }, fb),
      CanceledError,
    );
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resolveParams: output paths are checked before any work', () => {
  const dir = tmp();
  try {
    writeFileSync(join(dir, 'file.txt'), 'x');
    const ccd = algorithmSpec('baseline-ccd');
    const bad = (spec: string, raw: Record<string, unknown>, re: RegExp) =>
      assert.throws(
        () => resolveParams(algorithmSpec(spec), raw),
        (e: Error) => e instanceof DpmError && re.test(e.message),
        JSON.stringify(raw),
      );
    bad('baseline-ccd', { coherence: 'c.tif', output: dir }, /--output .* is a folder/);
    bad('baseline-ccd', { coherence: 'c.tif', output: join(dir, 'ccd.png') }, /ending in \.tif/);
    bad(
      'forecast',
      { coherence: 'c.tif', model: 'm.safetensors', 'out-dir': join(dir, 'file.txt') },
      /--out-dir .* exists and is not a folder/,
    );
    bad(
      'dpm2',
      { stack: 's.tif', 'event-date': '20190101', output: join(dir, 'a.tif'), parameters: join(dir, '.', 'a.tif') },
      /same path as --output/,
    );
    bad(
      'train',
      { coherence: 'c.tif', out: join(dir, 'm.safetensors'), checkpoint: join(dir, 'm.safetensors') },
      /same path as --out/,
    );
    bad(
      'train',
      { coherence: 'c.tif', out: 'm.safetensors', epochs: Number('abc') },
      /^train: --epochs must be a number$/,
    );
    assert.equal(
      resolveParams(ccd, { coherence: 'c.tif', output: join(dir, 'ccd.TIFF') }).output,
      join(dir, 'ccd.TIFF'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readers: a missing model, a folder as model, a GeoTIFF as points give plain messages', () => {
  const dir = tmp();
  try {
    assert.throws(() => readSafetensors(join(dir, 'none.safetensors')), /none\.safetensors: no such file$/);
    assert.throws(() => readSafetensors(dir), /is a folder, not a model file/);
    writeFileSync(join(dir, 'p.tif'), Buffer.from([0x49, 0x49, 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00, 0xff]));
    assert.throws(() => readPoints(join(dir, 'p.tif'), ['d']), /not a text file/);
    assert.throws(() => readPoints(join(dir, 'none.csv'), ['d']), /none\.csv: no such file$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CLI --json: a parser error is one {"type":"error"} line on stdout, exit 2; plain mode says dpm: …', () => {
  const dir = tmp();
  try {
    for (const args of [['train', '--bogus', '1', '--json'], ['--json'], ['coherence', '--pairs', 'foo', '--json']]) {
      const r = dpm(args, dir);
      assert.equal(r.status, 2, args.join(' '));
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 1, r.stdout);
      assert.equal(JSON.parse(lines[0]!).type, 'error');
      assert.equal(r.stderr, '');
    }
    const r = dpm(['train', '--bogus', '1'], dir);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^dpm: Unknown argument: bogus/);
    // --out is accepted for --output (and back): the three spellings of the commands' outputs
    assert.match(dpm(['baseline-ccd', '--out', 'x.tif', '--help'], dir).stdout, /--output, --out/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dpm run: bad windows, chip and --nodata with --slc are refused before anything is written', async () => {
  const dir = tmp();
  try {
    const scene = join(dir, 'scene');
    await execute('simulate', { out: scene, width: 240, height: 120, dates: 4 }, silentFeedback);
    const runDir = join(dir, 'run', 'nested');
    const cases: [string[], RegExp][] = [
      [['--aoi-window', 'abc'], /^dpm: --aoi-window must look like r0:r1,c0:c1/],
      [['--train-window', '0:9999,0:10'], /^dpm: --train-window 0:9999,0:10 is empty or outside the 240 × 120/],
      [['--aoi-window', '0:3,0:100'], /^dpm: --aoi-window 0:3,0:100: 100 × 3 SLC pixels .* smaller than one 15x5 chip/],
      [['--chip', '15by5'], /^dpm: --chip must look like 15x5/],
      [['--nodata', '0'], /^dpm: --nodata applies to a --coherence input only/],
      [['--aoi', join(dir, 'town.geojson')], /^dpm: --aoi .*town\.geojson: not valid JSON/],
    ];
    writeFileSync(join(dir, 'town.geojson'), 'not json');
    for (const [extra, re] of cases) {
      const r = dpm(
        [
          'run',
          '--slc',
          scene,
          '--event-date',
          '20190205',
          '--out-dir',
          runDir,
          '--preset',
          'fast',
          '--device',
          'cpu',
          ...extra,
        ],
        dir,
      );
      assert.equal(r.status, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(!existsSync(join(dir, 'run')), `${extra.join(' ')}: nothing written`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
