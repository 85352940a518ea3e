// The one optimizer-state check (checkOptimizerState of host/model/engine.ts) as every engine of both models must
// show it: a negative or fractional step count and moments of the wrong length are refused with its message.
import assert from 'node:assert/strict';
import { DpmError } from '../host/core/errors.js';
import type { OptimizerState } from '../host/model/engine.js';

/** `e` holds `n` parameters */
export async function checkOptimizerStateRefused(
  e: { setOptimizerState(state: OptimizerState | undefined): Promise<unknown> },
  n: number,
): Promise<void> {
  const says = (re: RegExp) => (err: Error) => err instanceof DpmError && re.test(err.message);
  const moments = new Float32Array(n);
  const wanted = `optimizer state: expected a whole step count ≥ 0 and Adam moments m, v of ${n} values each, `;
  await assert.rejects(
    e.setOptimizerState({ step: -1, m: moments, v: moments }),
    says(new RegExp(`^${wanted}got step -1, m of ${n} and v of ${n} values$`)),
  );
  await assert.rejects(e.setOptimizerState({ step: 2.5, m: moments, v: moments }), says(/got step 2\.5,/));
  await assert.rejects(
    e.setOptimizerState({ step: 3, m: moments, v: new Float32Array(n + 1) }),
    says(new RegExp(`got step 3, m of ${n} and v of ${n + 1} values$`)),
  );
  await assert.rejects(
    e.setOptimizerState({ step: 3, m: new Float32Array(2), v: moments }),
    says(new RegExp(`got step 3, m of 2 and v of ${n} values$`)),
  );
}
