// Tiled `dpm run` on a real Slurm (issue 16): a 2 × 2 job array whose mosaic equals the untiled run; one array task
// killed mid-run with scancel → the run fails naming that tile, and re-running completes only that tile; a canceled
// run scancels its array.
// Needs a running slurmctld/slurmd (.ci/slurm.sh start, as .ci/run does); skips with the reason otherwise.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execute } from '../host/toolbox/execute.js';
import { recordingFeedback } from '../host/core/feedback.js';
import { CanceledError, DpmError } from '../host/core/errors.js';
import { assertSameAsUntiled, removeScene, type TileScene, tileScene } from './tiles-helpers.js';

function slurmMissing(): string | false {
  try {
    const states = execFileSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return /idle|mixed|alloc/.test(states) ? false : `no Slurm node is up (sinfo: ${states.trim()})`;
  } catch (e) {
    return `no running Slurm (start one with .ci/slurm.sh start): ${(e as Error).message.split('\n')[0]}`;
  }
}
const skip = slurmMissing();

let scene: TileScene | undefined;
test.after(() => removeScene(scene));

test('slurm: a 2 x 2 job array gives the untiled run', { skip }, async () => {
  scene = await tileScene('tiles-slurm');
  const out = join(scene.root, 'slurm-2x2');
  const fb = recordingFeedback();
  await execute('run', scene.params(out, { tiles: '2x2', executor: 'slurm', 'slurm-options': '--nodes=1' }), fb);
  assert.match(fb.logs.map((l) => l.message).join('\n'), /Slurm job array \d+ \(4 tasks\)/);
  await assertSameAsUntiled(scene.untiled, out);
});

test('slurm: scancel of one array task mid-run, then a re-run completes only that tile', { skip }, async () => {
  assert.ok(scene, 'needs the scene of the test before');
  const out = join(scene.root, 'slurm-3x1');
  const params = scene.params(out, { tiles: '3x1', executor: 'slurm' });
  const jobFile = join(out, 'tiles', 'slurm-job');
  let killed = '';
  // kill task 1 as soon as it has started (its log exists), while the run follows the array
  const watch = setInterval(() => {
    if (killed || !existsSync(jobFile)) return;
    const id = readFileSync(jobFile, 'utf8').trim();
    if (!existsSync(join(out, 'tiles', `slurm-${id}_1.out`))) return;
    killed = `${id}_1`;
    execFileSync('scancel', [killed]);
  }, 50);
  try {
    await assert.rejects(execute('run', params, recordingFeedback()), (e: unknown) => {
      assert.ok(e instanceof DpmError, String(e));
      assert.match(e.message, /1 of 3 tiles failed/);
      assert.match(e.message, /tile 1 \(log .*slurm-\d+_1\.out\)/);
      return true;
    });
  } finally {
    clearInterval(watch);
  }
  assert.ok(killed, 'task 1 was canceled');
  assert.ok(!existsSync(join(out, 'tiles', 'tile-0001', 'done.json')), 'the killed tile did not finish');
  const fb = recordingFeedback();
  await execute('run', params, fb);
  const logs = fb.logs.map((l) => l.message).join('\n');
  assert.match(logs, /2 of 3 already finished/);
  assert.match(logs, /Slurm job array \d+ \(1 tasks\)/);
  await assertSameAsUntiled(scene.untiled, out);
});

test('slurm: canceling the run scancels its job array', { skip }, async () => {
  assert.ok(scene, 'needs the scene of the tests before');
  const out = join(scene.root, 'slurm-cancel');
  const jobFile = join(out, 'tiles', 'slurm-job');
  const fb = recordingFeedback();
  const watch = setInterval(() => {
    if (existsSync(jobFile)) fb.cancel();
  }, 50);
  try {
    await assert.rejects(execute('run', scene.params(out, { tiles: '3x1', executor: 'slurm' }), fb), CanceledError);
  } finally {
    clearInterval(watch);
  }
  const id = readFileSync(jobFile, 'utf8').trim();
  // scancel returns at once; the controller ends the tasks within moments
  let left = 'pending';
  for (let i = 0; i < 50 && left; i++) {
    left = execFileSync('squeue', ['-h', '-j', id, '-o', '%i %T'], { encoding: 'utf8' }).trim();
    if (left) await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(left, '', `job ${id} still queued or running after the cancel`);
});
