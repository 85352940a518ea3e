// Coherence outside [0, 1] or infinite is counted, reported and set missing; past 1 % the stack is refused; a stack
// without one usable pixel is an error; float rounding just past 0 or 1 is clipped without a word.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DpmError } from '../host/core/errors.js';
import { recordingFeedback } from '../host/core/feedback.js';
import { checkCoherenceRange, MAX_OUT_OF_RANGE } from '../host/raster/range.js';

test('coherence range: rounding clipped, a few bad values reported as missing, many refused, none usable refused', () => {
  const fb = recordingFeedback();
  const band = new Float32Array(1000).fill(0.5);
  band[0] = 1.000001; // float32 rounding of 1
  band[1] = -0.000001;
  band[2] = 7; // out of range
  band[3] = Infinity;
  band[4] = NaN; // nodata: not counted
  const r = checkCoherenceRange([band], ['20190101_20190113'], 'stack.tif', fb);
  assert.deepEqual(r, { outOfRange: 1, infinite: 1, usable: 997 });
  assert.deepEqual(Array.from(band.subarray(0, 5)), [1, 0, NaN, NaN, NaN]);
  const warning = fb.logs.find((l) => l.level === 'warning');
  assert.match(
    warning?.message ?? '',
    /stack\.tif: 1 values outside \[0, 1\] and 1 infinite .* first 7 in 20190101_20190113/,
  );

  const many = new Float32Array(100).fill(0.5);
  many.fill(2, 0, Math.ceil(100 * MAX_OUT_OF_RANGE) + 1);
  assert.throws(
    () => checkCoherenceRange([many], ['p'], 'big.tif'),
    (e: Error) => e instanceof DpmError && /big\.tif: not a coherence stack: 2 values outside/.test(e.message),
  );
  assert.throws(
    () => checkCoherenceRange([new Float32Array(10).fill(NaN)], ['p'], 'nan.tif'),
    (e: Error) => e instanceof DpmError && /nan\.tif: no usable pixel/.test(e.message),
  );
});
