// `dpm worker`: the runner protocol (docs/runner-protocol.md). One JSON request on stdin, JSON lines on stdout:
// progress, log, then exactly one result or one error. A {"type":"cancel"} line or EOF on stdin cancels the job.
//
// stdin is read by a small thread that raises a flag in shared memory, so a cancel is seen at the next
// Feedback.isCanceled() even when the algorithm runs long synchronous blocks (wasm) and never yields to the
// event loop (a stream 'data' handler on the main thread would only fire after the job).
import { Worker } from 'node:worker_threads';
import { fstatSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { execute } from './execute.js';
import { loadManifest, paramsFromEnv } from './manifest.js';
import { jsonFeedback, jsonLine } from './render.js';
import type { Feedback } from '../core/feedback.js';
import type { Outputs } from './algorithm.js';
import { asUserError, CanceledError, DpmError, exitCodeOf, MAX_ERROR_CHARS, shortText } from '../core/errors.js';
import type { RunOptions } from './invoke.js';

/** Bumped when a message changes meaning; the QGIS plugin checks it against `dpm worker --describe`. */
export const PROTOCOL_VERSION = 1;

/** Exit code of a cancelled job (as CanceledError). */
export const EXIT_CANCELED = 130;

/** Progress lines per second at most: a host needs no more, and a pixel loop could otherwise send thousands. */
const PROGRESS_INTERVAL_MS = 100;

// Cancel reasons stored in the shared flag (0 = running).
const CANCEL_LINE = 1;
const CANCEL_EOF = 2;
const CANCEL_SIGNAL = 3;
const CANCEL_STDOUT_CLOSED = 4;
const REASONS: Record<number, string> = {
  [CANCEL_LINE]: 'cancel requested by the host',
  [CANCEL_EOF]: 'stdin closed (the host has gone away)',
  [CANCEL_SIGNAL]: 'interrupted by a signal',
  [CANCEL_STDOUT_CLOSED]: 'stdout closed (the host has gone away)',
};

const MAX_LINE_CHARS = 4 * 2 ** 20;

// The stdin reader (CommonJS, run by worker_threads with eval). It posts the first line as the request and
// raises flags[0] on a cancel line or on EOF.
const READER = String.raw`
const { workerData, parentPort } = require('node:worker_threads');
const { readSync } = require('node:fs');
const net = require('node:net');
const tty = require('node:tty');
const flags = new Int32Array(workerData.sab);
let pending = '';
let haveRequest = false;
let skipping = false;
function raise(reason) {
  if (Atomics.compareExchange(flags, 0, 0, reason) === 0) parentPort.postMessage({ kind: 'cancel', reason });
}
function onLine(line) {
  if (line.trim() === '') return;
  if (!haveRequest) {
    haveRequest = true;
    parentPort.postMessage({ kind: 'request', line });
    return;
  }
  let msg;
  try { msg = JSON.parse(line); } catch { parentPort.postMessage({ kind: 'ignored', line }); return; }
  if (msg && msg.type === 'cancel') raise(${CANCEL_LINE});
  else parentPort.postMessage({ kind: 'ignored', line });
}
function onData(chunk) {
  pending += chunk;
  if (pending.length > ${MAX_LINE_CHARS} && pending.indexOf('\n') < 0) {
    // an endless line: hand over what fits (parseRequest refuses it by size) and drop the rest
    if (!haveRequest) { haveRequest = true; parentPort.postMessage({ kind: 'request', line: pending.slice(0, ${MAX_LINE_CHARS} + 1) }); }
    pending = '';
    skipping = true;
    return;
  }
  if (skipping) {
    const nl = pending.indexOf('\n');
    if (nl < 0) { pending = ''; return; }
    pending = pending.slice(nl + 1);
    skipping = false;
  }
  let i;
  while ((i = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, i);
    pending = pending.slice(i + 1);
    onLine(line);
  }
}
function onEnd() {
  if (!haveRequest && pending.trim() !== '') onLine(pending);
  if (!haveRequest) parentPort.postMessage({ kind: 'noRequest' });
  else if (!workerData.stdinIsFile) raise(${CANCEL_EOF});
}
// Pipes, sockets and terminals are read by this thread's own event loop (never a blocking read: a thread stuck
// in read() could not be stopped when the process exits). A regular file, /dev/null or the like is read at once.
let stream;
if (!workerData.stdinIsFile) {
  try {
    stream = tty.isatty(0) ? new tty.ReadStream(0) : new net.Socket({ fd: 0, readable: true, writable: false });
  } catch { stream = undefined; }
}
if (stream) {
  stream.setEncoding('utf8');
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('error', (e) => { parentPort.postMessage({ kind: 'readError', message: String(e.message) }); onEnd(); });
} else {
  const { StringDecoder } = require('node:string_decoder');
  const decoder = new StringDecoder('utf8');
  const buf = Buffer.alloc(65536);
  for (;;) {
    let n = 0;
    try { n = readSync(0, buf, 0, buf.length, null); }
    catch (e) { if (e.code !== 'EOF') parentPort.postMessage({ kind: 'readError', message: String(e.message) }); }
    if (n === 0) break;
    onData(decoder.write(buf.subarray(0, n)));
  }
  onData(decoder.end());
  onEnd();
}
`;

type ReaderMessage =
  | { kind: 'request'; line: string }
  | { kind: 'cancel'; reason: number }
  | { kind: 'ignored'; line: string }
  | { kind: 'readError'; message: string }
  | { kind: 'noRequest' };

export interface WorkerRequest {
  algorithm: string;
  parameters: Record<string, unknown>;
  /** replace existing outputs (the host asked the user, as QGIS does) */
  overwrite: boolean;
}

/** longest request line read (a 200 MB line once took 229 s and 2.3 GB); a real one is a few KB */
export const MAX_REQUEST_CHARS = MAX_LINE_CHARS;

/** Checks the request line; every problem is one DpmError that says what a valid request looks like. */
export function parseRequest(line: string): WorkerRequest {
  const shape = 'expected {"algorithm": "<id>", "parameters": {...}}';
  if (line.length > MAX_REQUEST_CHARS)
    throw new DpmError(
      `worker: the request line is ${line.length} characters (at most ${MAX_REQUEST_CHARS}); ${shape}`,
    );
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (err) {
    throw new DpmError(`worker: the request is not valid JSON (${shortText(err, 120)}); ${shape}`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    throw new DpmError(`worker: the request must be a JSON object; ${shape}`);
  const r = obj as Record<string, unknown>;
  if (r.protocol !== undefined && r.protocol !== PROTOCOL_VERSION) {
    throw new DpmError(
      `worker: protocol ${shortText(r.protocol, 40)} requested, this runner speaks protocol ${PROTOCOL_VERSION}`,
    );
  }
  if (typeof r.algorithm !== 'string' || r.algorithm === '')
    throw new DpmError(`worker: the request has no "algorithm"; ${shape}`);
  const parameters = r.parameters ?? {};
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) {
    throw new DpmError(`worker: "parameters" must be an object of parameter name → value; ${shape}`);
  }
  if (r.overwrite !== undefined && typeof r.overwrite !== 'boolean')
    throw new DpmError(`worker: "overwrite" must be true or false; ${shape}`);
  return { algorithm: r.algorithm, parameters: parameters as Record<string, unknown>, overwrite: r.overwrite === true };
}

export type Runner = (
  id: string,
  params: Record<string, unknown>,
  feedback: Feedback,
  options: RunOptions,
) => Promise<Outputs>;

/**
 * Serves one request from stdin and writes the protocol's JSON lines on stdout. Returns the exit code:
 * 0 result, 130 cancelled, 2 bad request or input (DpmError), 1 internal error. `run` is `execute` except in
 * tests of the protocol itself.
 */
export async function serveWorker(run: Runner = execute): Promise<number> {
  const sab = new SharedArrayBuffer(8);
  const flags = new Int32Array(sab);
  let stdinIsFile = false;
  try {
    stdinIsFile = fstatSync(0).isFile(); // `dpm worker < request.json`: EOF is normal there, not a cancel
  } catch {
    /* no stdin at all: the reader reports that */
  }
  const raise = (reason: number) => void Atomics.compareExchange(flags, 0, 0, reason);

  // A host that closed our stdout cannot read the result: stop the job instead of dying on EPIPE.
  process.stdout.on('error', () => raise(CANCEL_STDOUT_CLOSED));
  const onSignal = () => raise(CANCEL_SIGNAL);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const base = jsonFeedback();
  let lastAt = 0;
  let lastText: string | undefined;
  const fb: Feedback = {
    progress(percent, text) {
      const now = Date.now();
      if (now - lastAt < PROGRESS_INTERVAL_MS && text === lastText && percent < 100) return;
      lastAt = now;
      lastText = text;
      base.progress(percent, text);
    },
    log: (level, message) => base.log(level, message),
    isCanceled: () => Atomics.load(flags, 0) !== 0,
  };

  const reader = new Worker(READER, { eval: true, workerData: { sab, stdinIsFile } });
  reader.unref();
  const request = new Promise<string>((resolve, reject) => {
    reader.on('message', (m: ReaderMessage) => {
      if (m.kind === 'request') resolve(m.line);
      else if (m.kind === 'noRequest')
        reject(
          new DpmError(
            'worker: stdin ended before a request line; ' +
              'send {"algorithm": "<id>", "parameters": {...}} followed by a newline',
          ),
        );
      else if (m.kind === 'readError') reject(new DpmError(`worker: cannot read stdin: ${m.message}`));
      else if (m.kind === 'cancel') fb.log('debug', `worker: ${REASONS[m.reason]}`);
      else if (m.kind === 'ignored')
        fb.log('debug', `worker: ignored stdin line ${JSON.stringify(m.line.slice(0, 200))}`);
    });
    reader.on('error', (err) => reject(err));
  });

  try {
    const req = parseRequest(await request);
    fb.log(
      'debug',
      `worker: node ${process.version}, pid ${process.pid}, protocol ${PROTOCOL_VERSION}, algorithm ${req.algorithm}`,
    );
    // env defaults (DPM_DEVICE …) are read here, at the edge, as the CLI does
    const spec = loadManifest().algorithms.find((a) => a.id === req.algorithm);
    const params = spec ? paramsFromEnv(spec, req.parameters) : req.parameters;
    const outputs = await run(req.algorithm, params, fb, { overwrite: req.overwrite });
    jsonLine({ type: 'result', outputs });
    return 0;
  } catch (err) {
    if (err instanceof CanceledError) {
      const reason = Atomics.load(flags, 0);
      jsonLine({
        type: 'error',
        message: `canceled: ${REASONS[reason] ?? 'canceled by the algorithm'}`,
        canceled: true,
        exitCode: EXIT_CANCELED,
      });
      return EXIT_CANCELED;
    }
    const user = asUserError(err);
    const known = user instanceof DpmError;
    const message = shortText(user instanceof Error ? user.message : user, MAX_ERROR_CHARS);
    if (!known && err instanceof Error && err.stack) fb.log('debug', err.stack);
    const code = exitCodeOf(user);
    jsonLine({ type: 'error', message: known ? message : `internal error: ${message}`, exitCode: code });
    return code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** What `dpm worker --describe` prints: the protocol version and the manifest (one JSON document). */
export function describe(): Record<string, unknown> {
  const m = loadManifest();
  return { protocol: PROTOCOL_VERSION, provider: m.provider, algorithms: m.algorithms };
}

export const workerCommand: CommandModule = {
  command: 'worker',
  describe:
    'runner protocol for hosts such as QGIS: one JSON request on stdin, JSON lines on stdout (docs/runner-protocol.md)',
  builder: (y) =>
    y.option('describe', {
      type: 'boolean',
      describe: 'print the protocol version and the manifest as JSON, then exit',
    }),
  handler: async (argv) => {
    if (argv.describe) {
      jsonLine(describe());
      return;
    }
    const code = await serveWorker();
    // The stdin reader thread may sit in a blocking read, and algorithms may hold handles (GPU device):
    // leave now that the last line is written (stdout to a pipe or file is synchronous on POSIX).
    process.exit(code);
  },
};
