// What a terminal user sees: one bar per stage with its name, a job percent that never goes back, an ETA that never
// grows, each log line once. ProgressModel is checked with a fake clock; `dpm demo` runs under `script` (a real pty).
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatSeconds, ProgressModel } from '../host/toolbox/render.js';

const cli = fileURLToPath(new URL('../host/cli.js', import.meta.url));
const SCRIPT = '/usr/bin/script';

test('ProgressModel: percent never goes back, ETA never grows, stages split at ": ", log lines once', () => {
  let now = 0;
  const m = new ProgressModel(() => now);
  now = 2;
  assert.deepEqual(m.update(10, 'coherence: reading'), {});
  assert.equal(m.stage, 'coherence');
  assert.equal(m.detail, 'reading');
  const eta1 = m.eta();
  assert.equal(eta1, 18); // 2 s for 10 %: 18 s for the other 90 %
  now = 3;
  m.update(5, 'coherence: writing'); // a stage restarting its own count does not move the job back
  assert.equal(m.percent, 10);
  assert.equal(m.eta(), 17); // the mean rate now says 27 s, but the shown time only counts down
  assert.deepEqual(m.update(40, 'training: epoch 1/20'), { ended: 'coherence' });
  now = 4;
  assert.ok((m.eta() ?? Infinity) <= 16);
  assert.equal(m.firstTime('chip-centre coordinates from a.rdr'), true);
  assert.equal(m.firstTime('chip-centre coordinates from a.rdr'), false);
  assert.equal(formatSeconds(185), '3m05s');
  assert.equal(formatSeconds(3720), '1h02m');
});

/** The pieces a terminal shows, in order: each redraw of a bar and each printed line, without colour codes. */
function pieces(raw: string): string[] {
  return (
    raw
      // biome-ignore lint/suspicious/noControlCharactersInRegex: cursor-to-column-1 starts a redraw
      .split(/\x1b\[1G|\r|\n/)
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the rest of the escape codes
      .map((s) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').trimEnd())
      .filter((s) => s.trim().length > 0)
  );
}

test('dpm demo on a TTY (under script): no repeated log line, a monotone percent, an ETA that never grows', {
  skip: existsSync(SCRIPT) ? false : `${SCRIPT} missing (util-linux)`,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpm-tty-'));
  try {
    const typescript = join(dir, 'typescript');
    const cmd = [process.execPath, cli, 'demo', '--out-dir', join(dir, 'demo'), '--width', '150', '--height', '75']
      .concat(['--dates', '8', '--device', 'cpu'])
      .map((a) => `'${a}'`)
      .join(' ');
    const r = spawnSync(SCRIPT, ['-qfec', cmd, typescript], {
      encoding: 'utf8',
      env: { ...process.env, COLUMNS: '160' },
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const all = pieces(readFileSync(typescript, 'utf8')).filter((s) => !s.startsWith('Script '));
    const bar = /^ (\S.*?)\s+[█░]+\s+(\d+)% \| ETA (\S+)/;
    const bars = all.filter((s) => bar.test(s)).map((s) => bar.exec(s)!);
    assert.ok(bars.length >= 6, `too few progress redraws:\n${all.join('\n')}`);
    const percents = bars.map((b) => Number(b[2]));
    for (let k = 1; k < percents.length; k++)
      assert.ok(percents[k]! >= percents[k - 1]!, `percent went back: ${percents.slice(0, k + 1).join(' ')}`);
    const stages = new Set(bars.map((b) => b[1]));
    for (const s of ['simulating', 'coherence_train', 'training', 'forecast', 'evaluation'])
      assert.ok(stages.has(s), `no bar for ${s}: ${[...stages]}`);
    const secs = (t: string) => {
      const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(t);
      return m ? Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0) : undefined;
    };
    const etas = bars.map((b) => secs(b[3]!)).filter((s): s is number => s !== undefined);
    for (let k = 1; k < etas.length; k++) assert.ok(etas[k]! <= etas[k - 1]!, `ETA grew: ${etas.join(' ')}`);
    // log lines: every printed line that is not a bar redraw (a stage's closing line included) appears once
    const lines = all.filter((s) => !bar.test(s));
    const seen = new Set<string>();
    for (const l of lines) {
      assert.ok(!seen.has(l), `repeated line: ${l}`);
      seen.add(l);
    }
    assert.ok(
      [...seen].some((l) => /^ training\s+done at \d+% \(/.test(l)),
      'a finished stage leaves one line',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
