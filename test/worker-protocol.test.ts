// The runner protocol (docs/runner-protocol.md) without QGIS: JSON lines, exactly one result or error, exit codes,
// cancel by a stdin line and by EOF, no partial output. test/worker-harness.ts serves a fake algorithm whose blocks
// never yield to the event loop; the last tests go through the real `dpm worker` and execute().
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  openSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadManifest } from '../host/toolbox/manifest.js';
import { parseRequest, PROTOCOL_VERSION } from '../host/toolbox/worker.js';
import { at } from './at.js';

const harness = fileURLToPath(new URL('./worker-harness.js', import.meta.url));
const cli = fileURLToPath(new URL('../host/cli.js', import.meta.url));

interface Line {
  type: string;
  [k: string]: unknown;
}
interface Run {
  code: number | null;
  lines: Line[];
  stderr: string;
}

/**
 * Starts a runner, sends `request`, keeps stdin open; `onLine` may act on each stdout line (cancel, close stdin).
 * Every stdout line must be JSON: the protocol allows nothing else.
 */
function runWorker(
  args: string[],
  request: unknown,
  onLine?: (l: Line, stdin: NodeJS.WritableStream & { end(): void }) => void,
  closeStdin = false,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines: Line[] = [];
    let buf = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const l = JSON.parse(text) as Line;
        lines.push(l);
        onLine?.(l, child.stdin);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => {}); // the runner may exit before we close it
    child.on('error', reject);
    child.on('close', (code) => {
      assert.equal(buf, '', 'stdout ends with a complete line');
      resolve({ code, lines, stderr });
    });
    child.stdin.write(typeof request === 'string' ? request : `${JSON.stringify(request)}\n`);
    if (closeStdin) child.stdin.end();
  });
}

function finals(r: Run): Line[] {
  return r.lines.filter((l) => l.type === 'result' || l.type === 'error');
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'dpm-worker-'));
}

test('result: log lines of every level, progress, then exactly one result as the last line; exit 0', async () => {
  const dir = tempDir();
  try {
    const out = join(dir, 'out.txt');
    const r = await runWorker([harness], { algorithm: 'spin', parameters: { out, blocks: 4 } }, (l, stdin) => {
      if (l.type === 'result') stdin.end(); // a well-behaved host closes stdin after the result
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(finals(r).length, 1);
    assert.deepEqual(r.lines.at(-1), { type: 'result', outputs: { out, blocks: 4 } });
    const levels = r.lines.filter((l) => l.type === 'log').map((l) => l.level);
    for (const level of ['info', 'warning', 'debug', 'error']) assert.ok(levels.includes(level), `log level ${level}`);
    const progress = r.lines.filter((l) => l.type === 'progress');
    assert.ok(progress.length >= 1 && progress.every((l) => typeof l.percent === 'number'));
    assert.equal(progress.at(-1)!.percent, 100);
    assert.equal(at(progress, 0).text, 'spinning');
    assert.equal(readFileSync(out, 'utf8'), 'done 4');
    assert.deepEqual(readdirSync(dir), ['out.txt'], 'no temporaries left');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('errors: a DpmError exits 2, an internal error exits 1 with its stack as debug; no partial output', async () => {
  const dir = tempDir();
  try {
    const input = await runWorker([harness], {
      algorithm: 'spin',
      parameters: { out: join(dir, 'a.txt'), fail: 'input' },
    });
    assert.equal(input.code, 2);
    assert.deepEqual(finals(input), [{ type: 'error', message: 'spin: --fail input at block 1', exitCode: 2 }]);
    assert.equal(input.lines.at(-1)!.type, 'error');

    const internal = await runWorker([harness], {
      algorithm: 'spin',
      parameters: { out: join(dir, 'b.txt'), fail: 'internal' },
    });
    assert.equal(internal.code, 1);
    assert.deepEqual(finals(internal), [{ type: 'error', message: 'internal error: boom', exitCode: 1 }]);
    assert.ok(
      internal.lines.some((l) => l.type === 'log' && l.level === 'debug' && /TypeError: boom/.test(String(l.message))),
    );
    assert.deepEqual(readdirSync(dir), [], 'partial outputs removed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ~100 s of busy blocks if the cancel were missed: the test would time out instead of passing.
const LONG = { blocks: 10_000, 'block-ms': 10 };

test('cancel line: stops at the next block although the job never yields; exit 130, partial output removed', async () => {
  const dir = tempDir();
  try {
    let sent = false;
    const r = await runWorker(
      [harness],
      { algorithm: 'spin', parameters: { out: join(dir, 'c.txt'), ...LONG } },
      (l, stdin) => {
        if (l.type === 'progress' && !sent) {
          sent = true;
          stdin.write('{"type":"something-else"}\nnot json\n{"type":"cancel"}\n'); // unknown lines are ignored
        }
      },
    );
    assert.equal(r.code, 130, r.stderr);
    assert.deepEqual(finals(r), [
      { type: 'error', message: 'canceled: cancel requested by the host', canceled: true, exitCode: 130 },
    ]);
    assert.ok(Number(r.lines.filter((l) => l.type === 'progress').at(-1)!.percent) < 100);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('EOF on stdin (the host died): the job is cancelled, exit 130, partial output removed', async () => {
  const dir = tempDir();
  try {
    let closed = false;
    const r = await runWorker(
      [harness],
      { algorithm: 'spin', parameters: { out: join(dir, 'd.txt'), ...LONG } },
      (l, stdin) => {
        if (l.type === 'progress' && !closed) {
          closed = true;
          stdin.end();
        }
      },
    );
    assert.equal(r.code, 130, r.stderr);
    assert.deepEqual(finals(r), [
      { type: 'error', message: 'canceled: stdin closed (the host has gone away)', canceled: true, exitCode: 130 },
    ]);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stdin redirected from a file: EOF after the request is not a cancel', async () => {
  const dir = tempDir();
  try {
    const out = join(dir, 'e.txt');
    const req = join(dir, 'req.json');
    writeFileSync(req, JSON.stringify({ algorithm: 'spin', parameters: { out, blocks: 2 } })); // no newline: allowed at EOF
    const fd = openSync(req, 'r');
    const r = await new Promise<Run>((resolve) => {
      const child = spawn(process.execPath, [harness], { stdio: [fd, 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.on('close', (code) =>
        resolve({
          code,
          lines: stdout
            .trim()
            .split('\n')
            .map((t) => JSON.parse(t) as Line),
          stderr: '',
        }),
      );
    });
    closeSync(fd);
    assert.equal(r.code, 0);
    assert.deepEqual(r.lines.at(-1), { type: 'result', outputs: { out, blocks: 2 } });
    assert.ok(existsSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parseRequest: every malformed request is one DpmError that says what is expected', () => {
  assert.deepEqual(parseRequest('{"algorithm":"x"}'), { algorithm: 'x', parameters: {}, overwrite: false });
  assert.deepEqual(
    parseRequest(`{"protocol":${PROTOCOL_VERSION},"algorithm":"x","parameters":{"a":1},"overwrite":true}`),
    { algorithm: 'x', parameters: { a: 1 }, overwrite: true },
  );
  assert.throws(() => parseRequest('{"algorithm":"x","overwrite":"yes"}'), /"overwrite" must be true or false/);
  assert.throws(() => parseRequest(`{"algorithm":"${'x'.repeat(5 * 2 ** 20)}"}`), /request line is \d+ characters/);
  assert.throws(() => parseRequest('nope'), /not valid JSON.*expected \{"algorithm"/);
  assert.throws(() => parseRequest('[1]'), /must be a JSON object/);
  assert.throws(() => parseRequest('{"parameters":{}}'), /no "algorithm"/);
  assert.throws(() => parseRequest('{"algorithm":"x","parameters":[1]}'), /"parameters" must be an object/);
  assert.throws(
    () => parseRequest('{"algorithm":"x","protocol":99}'),
    /protocol 99 requested, this runner speaks protocol 1/,
  );
});

test('dpm worker (real execute): unknown algorithm, bad parameters, empty stdin, --describe', async () => {
  const unknown = await runWorker([cli, 'worker'], { algorithm: 'no-such-thing', parameters: {} });
  assert.equal(unknown.code, 2);
  assert.deepEqual(finals(unknown), [{ type: 'error', message: "unknown algorithm 'no-such-thing'", exitCode: 2 }]);

  // any manifest algorithm with a required parameter: the runner checks values exactly as the CLI does
  const alg = loadManifest().algorithms.find((a) => a.parameters.some((p) => !p.optional && p.default === undefined));
  if (alg) {
    const bad = await runWorker([cli, 'worker'], { algorithm: alg.id, parameters: { 'no-such-flag': 1 } });
    assert.equal(bad.code, 2);
    assert.match(String(at(finals(bad), 0).message), new RegExp(`^${alg.id}: unknown parameter 'no-such-flag'`));
  }

  // stdin closed before any request: one clear error, exit 2 (not a hang, not a cancel)
  const empty = await runWorker([cli, 'worker'], '', undefined, true);
  assert.equal(empty.code, 2);
  assert.match(String(at(finals(empty), 0).message), /stdin ended before a request line/);

  const described = await new Promise<string>((resolve) => {
    const child = spawn(process.execPath, [cli, 'worker', '--describe'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (s += d));
    child.on('close', () => resolve(s));
  });
  const d = JSON.parse(described);
  assert.equal(d.protocol, PROTOCOL_VERSION);
  assert.deepEqual(d.algorithms, loadManifest().algorithms);
});
