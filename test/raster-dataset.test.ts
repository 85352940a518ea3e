// The authors' datasets (dpm-rnn-public dataset.json + .npy cube) as coherence stacks (issue 14): float16/32/64,
// C and Fortran order, event_index/pre_num, entry selection, and a cube written by NumPy itself when it is there.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DpmError } from '../host/core/errors.js';
import { recordingFeedback } from '../host/core/feedback.js';
import { halfToNumber } from '../host/core/float16.js';
import { readCoherenceStack } from '../host/raster/stack.js';
import { writeNpy } from './products.js';
import { assertWindowsEqualCrop } from './stack-windows.js';

const dir = mkdtempSync(join(tmpdir(), 'dpm-dataset-'));
const [R, C, L] = [5, 6, 8];
/** cube[r, c, k] in C order: coherence-like values exactly representable in float16 (multiples of 1/64) */
const cube = Float64Array.from({ length: R * C * L }, (_, i) => ((i * 7) % 61) / 64);
const value = (r: number, c: number, k: number) => cube[(r * C + c) * L + k] ?? NaN;

async function rejects(p: Promise<unknown>, re: RegExp) {
  await assert.rejects(p, (e: unknown) => (e instanceof DpmError && re.test(e.message)) || assert.fail(String(e)));
}

const entry = (path: string, extra: Record<string, unknown> = {}) => ({
  path,
  shape: [R, C],
  length: L,
  event_index: 6,
  ...extra,
});

for (const [dtype, fortran] of [
  ['<f4', false],
  ['<f4', true],
  ['<f2', false],
  ['<f8', true],
  ['>f4', false],
] as const) {
  test(`dataset.json + ${dtype} ${fortran ? 'Fortran' : 'C'}-order cube: bands up to event_index, pre_num of them pre-event`, async () => {
    const npy = join(dir, `cube-${dtype.replace(/\W/g, '')}-${fortran}.npy`);
    writeNpy(npy, [R, C, L], cube, dtype, fortran);
    const json = join(dir, `dataset-${dtype.replace(/\W/g, '')}-${fortran}.json`);
    writeFileSync(json, JSON.stringify({ default: entry('<path to .npy file>'), mine: entry(npy, { pre_num: 4 }) }));
    const fb = recordingFeedback();
    const s = await readCoherenceStack(json, { feedback: fb });
    // pre_num 4 before event_index 6: cube bands 2…5, then the co-event band 6; band 7 is not used
    assert.equal(s.bands.length, 5);
    assert.deepEqual([s.width, s.height], [C, R]);
    for (const [b, k] of [2, 3, 4, 5, 6].entries())
      for (const [r, c] of [
        [0, 0],
        [4, 5],
        [2, 3],
      ] as const)
        assert.equal(s.bands[b]?.[r * C + c], Math.fround(value(r, c, k)), `band ${k} pixel (${r}, ${c})`);
    assert.deepEqual(s.pairs[0], { first: '20000125', second: '20000206' }, '12-day steps from 2000-01-01');
    assert.ok(fb.logs.some((l) => /band 6 co-event; no dates in the dataset/.test(l.message)));
    await assertWindowsEqualCrop(json, {}); // both orders: a window copies the same values
  });
}

test('dataset.json: #NAME selects, an author-machine path falls back beside the JSON, bad entries are named', async () => {
  const npy = join(dir, 'test_dataset.npy');
  writeNpy(npy, [R, C, L], cube);
  const json = join(dir, 'two.json');
  writeFileSync(
    json,
    JSON.stringify({
      a: entry('/home/ezhan/dpm-rnn-public/test_dataset.npy'),
      b: entry('test_dataset.npy', { event_index: 7 }),
    }),
  );
  await rejects(readCoherenceStack(json), /2 entries with data \(a, b\); name one as .*two\.json#NAME/);
  assert.equal((await readCoherenceStack(`${json}#a`)).bands.length, 7, 'all 6 bands before event_index 6, and it');
  assert.equal((await readCoherenceStack(`${json}#b`)).bands.length, 8);
  await rejects(readCoherenceStack(`${json}#c`), /no dataset 'c' \(it has a, b\)/);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ x: { ...entry('test_dataset.npy'), shape: [R, C + 1] } }));
  await rejects(readCoherenceStack(bad), /test_dataset\.npy: shape \(5, 6, 8\), but .*bad\.json#x says \(5, 7, 8\)/);
  writeFileSync(bad, JSON.stringify({ x: entry('test_dataset.npy', { pre_num: 1 }) }));
  await rejects(readCoherenceStack(bad), /pre_num 1 must lie in 2…event_index/);
  await rejects(readCoherenceStack(join(dir, 'none.json#x')), /none\.json: no such file or folder/);
});

test('float16 decodes as IEEE half: normal, subnormal, largest, infinity, NaN', () => {
  assert.equal(halfToNumber(0x3c00), 1);
  assert.equal(halfToNumber(0xc000), -2);
  assert.equal(halfToNumber(0x0001), 2 ** -24); // smallest subnormal
  assert.equal(halfToNumber(0x7bff), 65504); // largest normal
  assert.equal(halfToNumber(0x7c00), Infinity);
  assert.ok(Number.isNaN(halfToNumber(0x7e00)));
});

// NumPy's own writer, where a python3 with numpy exists (skipped otherwise: our writer above covers the layout)
const numpyPython = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'import numpy']).status === 0);
test('a cube written by NumPy (float16, Fortran order) reads as written', {
  skip: numpyPython ? false : 'no python3 with numpy',
}, async () => {
  const npy = join(dir, 'numpy.npy');
  const py =
    'import numpy as np, sys\n' +
    `a = (np.arange(${R * C * L}, dtype=np.float64).reshape(${R}, ${C}, ${L}) * 7 % 61) / 64\n` +
    'np.save(sys.argv[1], np.asfortranarray(a.astype(np.float16)))\n';
  const r = spawnSync(numpyPython ?? 'python3', ['-c', py, npy], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const json = join(dir, 'numpy.json');
  writeFileSync(json, JSON.stringify({ np: entry('numpy.npy') }));
  const s = await readCoherenceStack(json);
  for (let k = 0; k <= 6; k++) assert.equal(s.bands[k]?.[3 * C + 4], Math.fround(value(3, 4, k)), `band ${k}`);
});
