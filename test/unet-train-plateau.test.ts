// ReduceLROnPlateau's port (host/model/unet/plateau.ts) against PyTorch's learning rates for a hand-made loss series
// (falls, flat stretches, improvements below the threshold, a NaN, several drops, min_lr and the 1e-8 eps). The
// expected values come from scripts/plateau-fixture.py (test/fixtures/unet/plateau.json).
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initialPlateauState, PAPER_PLATEAU, plateauStep, type PlateauOptions } from '../host/model/unet/plateau.js';

/** scripts/plateau-fixture.py's output: the losses (null = NaN) and PyTorch's lr after each scheduler step */
const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'unet', 'plateau.json'), 'utf8'),
) as { losses: (number | null)[]; paper: number[]; other: number[] };
const LOSSES = fixture.losses.map((v) => v ?? Number.NaN);
const TORCH_PAPER_LRS = fixture.paper;
const TORCH_OTHER_LRS = fixture.other;

function lrsOf(losses: number[], lr: number, o: PlateauOptions): number[] {
  let state = initialPlateauState(lr);
  return losses.map((loss) => {
    state = plateauStep(state, loss, o);
    return state.lr;
  });
}

test("the paper's scheduler (factor 0.1, patience 10, threshold 1e-4) gives PyTorch's learning rates exactly", () => {
  // exact: the same float64 products in the same order as Python
  assert.deepEqual(lrsOf(LOSSES, 0.01, PAPER_PLATEAU), TORCH_PAPER_LRS);
});

test("cooldown, min_lr and another factor also give PyTorch's learning rates exactly", () => {
  const other = { factor: 0.5, patience: 2, threshold: 1e-2, cooldown: 3, minLr: 0.002 };
  assert.deepEqual(lrsOf(LOSSES, 0.01, other), TORCH_OTHER_LRS);
});

test('the state survives a JSON round trip (resume): the rest of the sequence is unchanged', () => {
  let state = initialPlateauState(0.01);
  for (const loss of LOSSES.slice(0, 20)) state = plateauStep(state, loss, PAPER_PLATEAU);
  // JSON has no Infinity/NaN: the checkpoint stores `best` as a string
  const restored = { ...JSON.parse(JSON.stringify(state)), best: Number(String(state.best)) };
  const rest = LOSSES.slice(20).map((loss) => {
    state = plateauStep(state, loss, PAPER_PLATEAU);
    return state.lr;
  });
  let r = restored;
  const restRestored = LOSSES.slice(20).map((loss) => {
    r = plateauStep(r, loss, PAPER_PLATEAU);
    return r.lr;
  });
  assert.deepEqual(restRestored, rest);
  assert.deepEqual(rest, TORCH_PAPER_LRS.slice(20));
});
