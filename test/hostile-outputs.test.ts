// Output safety (issue 11): inputs are never replaced, an existing output only with --overwrite, one writer per
// output folder, no temporaries left on any exit we control (and stale ones removed by the next writer), errors that
// name the file; list parameters take paths verbatim; `dpm run` stage keys see a file rewritten inside a folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asUserError, DpmError, shortText } from '../host/core/errors.js';
import { lockOutputFolder, type OutputSet, withOutputPolicy, withOutputs } from '../host/io/outputs.js';
import { writeGeoTiff } from '../host/raster/geotiff.js';
import { fileId } from '../host/toolbox/run.js';
import { writeGoodStack } from './hostile-cases.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'host', 'cli.js');

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'dpm-outs-'));
}

/** The pid of a process that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

const write = (outs: OutputSet, path: string, text: string) => writeFileSync(outs.path(path), text);

test('an existing output needs overwrite; an input is never replaced, also through a link or inside an input folder', async () => {
  const dir = tmp();
  try {
    const input = join(dir, 'in.tif');
    writeFileSync(input, 'input');
    const inFolder = join(dir, 'stack');
    mkdirSync(inFolder);
    writeFileSync(join(inFolder, '20190101.slc'), 'slc');
    const out = join(dir, 'out.txt');
    writeFileSync(out, 'old');
    const inputs = [input, inFolder];
    await assert.rejects(
      withOutputPolicy({ inputs }, () => withOutputs(async (o) => write(o, out, 'new'))),
      (e: Error) => e instanceof DpmError && /out\.txt exists; pass --overwrite/.test(e.message),
    );
    assert.equal(readFileSync(out, 'utf8'), 'old');
    await withOutputPolicy({ inputs, overwrite: true }, () => withOutputs(async (o) => write(o, out, 'new')));
    assert.equal(readFileSync(out, 'utf8'), 'new');
    const link = join(dir, 'link.tif');
    symlinkSync(input, link);
    for (const target of [input, link, join(inFolder, '20190101.slc'), join(inFolder, 'new.tif')]) {
      await assert.rejects(
        withOutputPolicy({ inputs, overwrite: true }, () => withOutputs(async (o) => write(o, target, 'x'))),
        (e: Error) => e instanceof DpmError && /is an input|inside the input folder/.test(e.message),
        target,
      );
    }
    assert.equal(readFileSync(input, 'utf8'), 'input');
    assert.equal(readFileSync(join(inFolder, '20190101.slc'), 'utf8'), 'slc');
    assert.ok(!existsSync(join(inFolder, 'new.tif')));
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('.dpm-tmp-')),
      [],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("temporaries: a dead process's are removed by the next writer, a live one's kept; none left at exit", async () => {
  const dir = tmp();
  try {
    const dead = join(dir, `.dpm-tmp-${deadPid()}-0-map.tif`);
    const live = join(dir, `.dpm-tmp-${process.ppid}-0-map.tif`);
    const other = join(dir, `.dpm-tmp-${deadPid()}-0-other.tif`);
    for (const f of [dead, live, other]) writeFileSync(f, 'partial');
    await withOutputs(async (o) => write(o, join(dir, 'map.tif'), 'done'));
    assert.ok(!existsSync(dead), "a dead writer's temporary of the same output is removed");
    assert.ok(existsSync(live), "a live writer's temporary is left alone");
    assert.ok(existsSync(other), 'temporaries of other outputs are left to their own writers');
    // a process that quits at once (second Ctrl-C: process.exit) removes its temporaries on the way out
    const script =
      `import { OutputSet } from ${JSON.stringify(join(here, '..', 'host', 'io', 'outputs.js'))};\n` +
      `import { writeFileSync } from 'node:fs';\n` +
      `const o = new OutputSet(); writeFileSync(o.path(${JSON.stringify(join(dir, 'quit.tif'))}), 'partial');\n` +
      'process.exit(130);\n';
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script]);
    assert.equal(r.status, 130, r.stderr.toString());
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('quit')),
      [],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('output folder lock: a live holder is named and refused, a dead one taken over, this process re-enters', () => {
  const dir = tmp();
  try {
    const out = join(dir, 'run');
    mkdirSync(out);
    const lock = join(out, '.dpm-lock');
    writeFileSync(lock, JSON.stringify({ pid: process.ppid, host: hostname(), since: 'earlier', command: 'train' }));
    assert.throws(
      () => lockOutputFolder(out, 'forecast'),
      (e: Error) => e instanceof DpmError && new RegExp(`dpm train \\(pid ${process.ppid} `).test(e.message),
    );
    writeFileSync(lock, JSON.stringify({ pid: deadPid(), host: hostname(), since: 'earlier', command: 'train' }));
    const release = lockOutputFolder(out, 'forecast');
    assert.equal(JSON.parse(readFileSync(lock, 'utf8')).pid, process.pid);
    const again = lockOutputFolder(out, 'forecast'); // stages of `dpm run` share the lock
    again();
    assert.ok(existsSync(lock));
    release();
    assert.ok(!existsSync(lock));
    // a folder made only for the lock goes with it
    const fresh = join(dir, 'a', 'b');
    lockOutputFolder(fresh, 'x')();
    assert.ok(!existsSync(join(dir, 'a')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('errors: ENOSPC names the output, stack overflow and NUL become user errors, long text is cut', async () => {
  const dir = tmp();
  try {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    await assert.rejects(
      withOutputs(async (o) => {
        o.path(join(dir, 'big.tif'));
        throw enospc;
      }),
      (e: Error) => e instanceof DpmError && e.message === `${dir}: no space left on the device (ENOSPC)`,
    );
    const deep = (n: number): number => (n === 0 ? 0 : 1 + deep(n - 1));
    let overflow: unknown;
    try {
      deep(1e7);
    } catch (e) {
      overflow = e;
    }
    const user = asUserError(overflow, 'truth a.geojson');
    assert.ok(user instanceof DpmError && /truth a\.geojson: input nested too deeply/.test(user.message));
    let nul: unknown;
    try {
      readFileSync('a\0b');
    } catch (e) {
      nul = e;
    }
    assert.ok(asUserError(nul) instanceof DpmError);
    assert.equal(shortText({ a: 1 }), '{"a":1}');
    assert.match(shortText('x'.repeat(1000)), /^x{300}… \(700 more characters cut\)$/);
    const internal = new TypeError('boom');
    assert.equal(asUserError(internal), internal, 'a bug stays an internal error');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('list parameters take paths verbatim: commas and semicolons in names, repeated flags and JSON arrays', async () => {
  const dir = tmp();
  try {
    const odd = join(dir, 'a,b;c');
    mkdirSync(odd);
    const stack = join(odd, 'stack, v2.tif');
    await writeGoodStack(stack, {}, 8);
    const cliOut = join(dir, 'cli.tif');
    const r = spawnSync(process.execPath, [cli, 'baseline-ccd', '--coherence', stack, '--output', cliOut]);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.ok(existsSync(cliOut));
    // again without --overwrite: refused, the first result kept; with it: replaced
    const again = spawnSync(process.execPath, [cli, 'baseline-ccd', '--coherence', stack, '--output', cliOut]);
    assert.equal(again.status, 2);
    assert.match(again.stderr.toString(), /cli\.tif exists; pass --overwrite/);
    const over = spawnSync(process.execPath, [
      cli,
      'baseline-ccd',
      '--coherence',
      stack,
      '--output',
      cliOut,
      '--overwrite',
    ]);
    assert.equal(over.status, 0, over.stderr.toString());
    const workerOut = join(dir, 'worker.tif');
    const request = JSON.stringify({
      algorithm: 'baseline-ccd',
      parameters: { coherence: [stack], output: workerOut },
    });
    // stdin from a regular file: its end is not a cancel (a pipe's end would be)
    const requestFile = join(dir, 'request.json');
    writeFileSync(requestFile, `${request}\n`);
    const fd = openSync(requestFile, 'r');
    const w = spawnSync(process.execPath, [cli, 'worker'], { stdio: [fd, 'pipe', 'pipe'] });
    closeSync(fd);
    const last = JSON.parse(w.stdout.toString().trim().split('\n').at(-1) ?? '{}') as { type?: string };
    assert.equal(last.type, 'result', w.stdout.toString());
    assert.ok(existsSync(workerOut));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dpm run stage keys see a file rewritten inside an input folder', () => {
  const dir = tmp();
  try {
    mkdirSync(join(dir, '20190101'));
    const slc = join(dir, '20190101', '20190101.slc');
    writeFileSync(slc, 'aaaa');
    const before = JSON.stringify(fileId(dir));
    writeFileSync(slc, 'bbbb'); // same size, in place
    utimesSync(slc, new Date(), new Date(Date.now() + 5000));
    assert.notEqual(JSON.stringify(fileId(dir)), before);
    assert.equal(JSON.stringify(fileId(dir)), JSON.stringify(fileId(dir)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dpm run stage keys see a same-size same-mtime replacement (cp -p, mtime put back)', () => {
  const dir = tmp();
  try {
    mkdirSync(join(dir, '20190101'));
    const slc = join(dir, '20190101', '20190101.slc');
    writeFileSync(slc, 'aaaa');
    // whole milliseconds: a file system's sub-millisecond mtime would not survive utimes' Date (ms) round trip
    const when = new Date(1_700_000_000_000);
    utimesSync(slc, when, when);
    const { atime, mtime } = statSync(slc);
    const key = () => JSON.stringify(fileId(dir));
    const original = key();
    // cp -p of another file of the same size, renamed over the input: size and mtime both kept
    const copy = join(dir, 'replacement');
    writeFileSync(copy, 'bbbb');
    utimesSync(copy, atime, mtime);
    renameSync(copy, slc);
    assert.equal(statSync(slc).mtimeMs, mtime.getTime(), 'the mtime is kept (whole milliseconds, set above)');
    const replaced = key();
    assert.notEqual(replaced, original, 'a replacement keeping size and mtime must change the stage key');
    // rewritten in place, mtime put back: only the change time tells
    writeFileSync(slc, 'cccc');
    utimesSync(slc, atime, mtime);
    assert.notEqual(key(), replaced, 'an in-place rewrite with its mtime put back must change the stage key');
    assert.equal(key(), key());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs `dpm ARGS --json`, sends SIGINT (what Ctrl-C sends) once stdout matches `when`, and checks the outcome:
 *  the run got there, exit 130, no result, nothing left in `outDir`. */
async function interruptCli(args: string[], when: RegExp, outDir: string): Promise<string> {
  const child = spawn(process.execPath, [cli, ...args, '--json']);
  let stdout = '';
  let signalled = false;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (!signalled && when.test(stdout)) {
      signalled = true;
      child.kill('SIGINT');
    }
  });
  child.stderr.on('data', () => {});
  const code = await new Promise<number | null>((res) => child.on('close', res));
  assert.ok(signalled, `the run never printed ${when}:\n${stdout.slice(-500)}`);
  assert.equal(code, 130, stdout.slice(-500));
  assert.doesNotMatch(stdout, /"type":"result"/);
  assert.ok(
    !existsSync(outDir) || readdirSync(outDir).length === 0,
    `left in ${outDir}: ${existsSync(outDir) && readdirSync(outDir)}`,
  );
  return stdout;
}

test('Ctrl-C while a long coherence stack is read: exit 130, nothing left in the output folder', async () => {
  const dir = tmp();
  try {
    // 400 dated single-pair files: reading them is the long part of baseline-ccd
    const stackDir = join(dir, 'stack');
    mkdirSync(stackDir);
    const day = (k: number) =>
      new Date(Date.UTC(2019, 0, 1) + k * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
    for (let k = 0; k < 400; k++)
      await writeGeoTiff(join(stackDir, `${day(k)}_${day(k + 1)}.tif`), {
        width: 64,
        height: 64,
        bands: [new Float32Array(64 * 64).fill(0.6)],
        descriptions: [''],
        georef: { geoTransform: [500000, 10, 0, 4000000, 0, -10], epsg: 32633 },
      });
    const outDir = join(dir, 'out');
    await interruptCli(
      ['baseline-ccd', '--coherence', stackDir, '--out', join(outDir, 'ccd.tif')],
      /reading coherence/,
      outDir,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Ctrl-C during a baseline over a large stack: exit 130, no result, nothing left in the output folder', async () => {
  const dir = tmp();
  try {
    // one 12-band 1000 × 1000 file: read in one go, so the signal lands in the percentile loop (or the write after)
    const stackPath = join(dir, 'stack.tif');
    const day = (k: number) =>
      new Date(Date.UTC(2019, 0, 1) + k * 12 * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
    const size = 1000;
    await writeGeoTiff(stackPath, {
      width: size,
      height: size,
      bands: Array.from({ length: 12 }, (_, k) => new Float32Array(size * size).fill(0.4 + 0.02 * k)),
      descriptions: Array.from({ length: 12 }, (_, k) => `${day(k)}_${day(k + 1)}`),
      georef: { geoTransform: [500000, 10, 0, 4000000, 0, -10], epsg: 32633 },
    });
    const outDir = join(dir, 'out');
    const args = ['baseline-percentile', '--coherence', stackPath, '--pre-event-bands', '11'];
    // the baseline stage reports its progress under the method's name
    const stdout = await interruptCli([...args, '--out', join(outDir, 'p.tif')], /"text":"percentile"/, outDir);
    assert.match(stdout, /"canceled":true/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
