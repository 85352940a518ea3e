// Every hostile input of test/hostile-cases.ts through the CLI and through the worker, as an attacker would run them,
// with a 10 s time limit and a 1 GiB resident-memory limit (VmRSS polled from /proc; an address-space limit such as
// prlimit --as would break WebAssembly's memory reservations). The 10 s are the runner's own CPU time (a spin); a
// runner blocked without using CPU (a FIFO) is stopped at 30 s of wall time: on a shared 2-core machine wall time
// alone measures the neighbours (a load of 7 once stretched a 1 s run past 10 s). Each run must: exit 2, print a message naming the
// input, leave every input file byte-identical, and leave nothing in the output location.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeHostileCases, type HostileCase } from './hostile-cases.js';

const cliPath = join(dirname(fileURLToPath(import.meta.url)), '..', 'host', 'cli.js');
const CPU_LIMIT_S = 10;
const WALL_LIMIT_MS = 30_000;
const RSS_LIMIT_KB = 1024 * 1024; // 1 GiB
// one runner per core: start-up is CPU work, and the rest of the suite runs beside this file
const PARALLEL = Math.max(2, availableParallelism());

interface Outcome {
  code: number | null;
  output: string;
  message: string;
  maxRssKb: number;
  killedFor?: string;
}

function hashOf(path: string): string {
  try {
    if (!statSync(path).isFile()) return 'not a file';
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return 'missing';
  }
}

function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) `pid` has used, from /proc/PID/stat. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], fields[12] = utime, stime (fields 14 and 15 of proc(5)), in clock ticks of 1/100 s
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function cliArgs(c: HostileCase): string[] {
  const args = [c.algorithm];
  for (const [k, v] of Object.entries(c.parameters)) {
    for (const x of Array.isArray(v) ? v : [v]) args.push(`--${k}`, String(x));
  }
  if (c.overwrite) args.push('--overwrite');
  return args;
}

function runOnce(c: HostileCase, mode: 'cli' | 'worker', cwd: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const args = mode === 'cli' ? cliArgs(c) : ['worker'];
    const child = spawn(process.execPath, [cliPath, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      if (out.length < 1 << 20) out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 1 << 20) err += d.toString();
    });
    child.stdin.on('error', () => {}); // the runner may exit before reading a long request
    let killedFor: string | undefined;
    let maxRssKb = 0;
    const poll = setInterval(() => {
      const kb = rssKb(child.pid ?? -1);
      maxRssKb = Math.max(maxRssKb, kb);
      if (kb > RSS_LIMIT_KB && !killedFor) {
        killedFor = `resident memory ${Math.round(kb / 1024)} MiB > 1 GiB`;
        child.kill('SIGKILL');
      }
      if (!killedFor && cpuSeconds(child.pid ?? -1) > CPU_LIMIT_S) {
        killedFor = `more than ${CPU_LIMIT_S} s of CPU time`;
        child.kill('SIGKILL');
      }
    }, 20);
    const timer = setTimeout(() => {
      killedFor ??= `no exit within ${WALL_LIMIT_MS / 1000} s (blocked)`;
      child.kill('SIGKILL');
    }, WALL_LIMIT_MS);
    if (mode === 'worker') {
      const request =
        c.request ??
        JSON.stringify({ algorithm: c.algorithm, parameters: c.parameters, overwrite: c.overwrite === true });
      // stdin stays open (EOF would be a cancel): the runner must answer the request on its own
      child.stdin.write(`${request}\n`);
    }
    // 'close', not 'exit': stdout and stderr may still hold data when the process has exited
    child.on('close', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      child.stdin.destroy();
      let message = err;
      if (mode === 'worker') {
        const last = out
          .trim()
          .split('\n')
          .map((l) => {
            try {
              return JSON.parse(l) as { type?: string; message?: string };
            } catch {
              return {};
            }
          })
          .find((m) => m.type === 'error');
        message = last?.message ?? '';
      }
      resolve({ code, output: `${out}\n${err}`, message, maxRssKb, ...(killedFor ? { killedFor } : {}) });
    });
  });
}

/** Problems with one run (none = pass). */
function judge(c: HostileCase, o: Outcome, before: Map<string, string>): string[] {
  const problems: string[] = [];
  if (o.killedFor) problems.push(`killed: ${o.killedFor}`);
  else if (o.code !== 2) problems.push(`exit ${o.code}, expected 2`);
  if (!o.message.includes(c.names)) problems.push(`message does not name ${c.names}`);
  if (o.message.length > 2500) problems.push(`message of ${o.message.length} characters`);
  if (/\[object Object\]|internal error|Maximum call stack|Cannot read properties/.test(o.message))
    problems.push('an internal error leaked');
  for (const [f, h] of before) if (hashOf(f) !== h) problems.push(`input ${f} changed`);
  for (const out of c.outputs) {
    if (existsSync(out)) problems.push(`output ${out} left behind`);
    const dir = dirname(out);
    if (existsSync(dir) && readdirSync(dir).some((e) => e.startsWith('.dpm-tmp-') && e.endsWith(basename(out))))
      problems.push(`a temporary of ${out} left behind`);
  }
  return problems;
}

test('hostile inputs: exit 2, a message naming the input, inputs unchanged, nothing written, < 10 s CPU, < 1 GiB', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dpm-hostile-'));
  try {
    const cases = await makeHostileCases(join(dir, 'cases'));
    const runs: { c: HostileCase; mode: 'cli' | 'worker' }[] = [];
    for (const c of cases) {
      if (!c.workerOnly) runs.push({ c, mode: 'cli' });
      runs.push({ c, mode: 'worker' });
    }
    // the CLI and worker runs of one case share its files: run them one after the other, cases in parallel
    const byCase = new Map<string, typeof runs>();
    for (const r of runs) byCase.set(r.c.id, [...(byCase.get(r.c.id) ?? []), r]);
    const queue = [...byCase.values()];
    const results: { c: HostileCase; mode: string; o: Outcome; problems: string[] }[] = [];
    const worker = async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        for (const { c, mode } of job) {
          const before = new Map(c.inputs.map((f) => [f, hashOf(f)]));
          const o = await runOnce(c, mode, join(dir, 'cases'));
          results.push({ c, mode, o, problems: judge(c, o, before) });
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const classes = new Set(cases.map((c) => c.cls));
    const passed = results.filter((r) => r.problems.length === 0).length;
    const maxRss = Math.max(...results.map((r) => r.o.maxRssKb));
    t.diagnostic(
      `${cases.length} cases in ${classes.size} classes (${[...classes].join(', ')}), ${results.length} runs ` +
        `(CLI and worker), ${passed} pass; largest resident memory ${Math.round(maxRss / 1024)} MiB`,
    );
    for (const r of results.sort((a, b) => a.c.id.localeCompare(b.c.id) || a.mode.localeCompare(b.mode))) {
      await t.test(`${r.c.cls} ${r.c.id} (${r.mode})`, () => {
        assert.deepEqual(r.problems, [], `${r.problems.join('; ')}\n--- output ---\n${r.o.output.slice(0, 2000)}`);
      });
    }
    // every class of the issue is covered
    for (const cls of [
      'tiff',
      'vrt',
      'isce-xml',
      'complex-tiff',
      'safetensors',
      'vector',
      'csv',
      'worker',
      'outputs',
      'range',
    ])
      assert.ok(classes.has(cls), `no hostile case of class ${cls}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
