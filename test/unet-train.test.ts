// The U-Net training loop (host/model/unet/train.ts) on the float64 reference engine: class weights, determinism, the
// scheduler and best weights as the history says, progress and cancellation, resume from a checkpoint.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CanceledError } from '../host/core/errors.js';
import type { Feedback } from '../host/core/feedback.js';
import { prAuc, prCurve } from '../host/eval/metrics.js';
import { Rng } from '../host/model/rng.js';
import { IGNORE_LABEL, type UNetConfig } from '../host/model/unet/config.js';
import { PAPER_UNET_ADAM, type SegmentationBatch } from '../host/model/unet/engine.js';
import { PAPER_PLATEAU, initialPlateauState, plateauStep } from '../host/model/unet/plateau.js';
import { createReferenceUNetEngine } from '../host/model/unet/reference-engine.js';
import {
  inverseFrequencyWeights,
  trainUNet,
  UNET_HISTORY_CSV_HEADER,
  validate,
  type UNetTrainOptions,
} from '../host/model/unet/train.js';

const CONFIG: UNetConfig = { inChannels: 2, classes: 2, width: 4, depth: 2 };

/** chips of a task a U-Net learns in a few epochs: landslide where input channel 0 > 0.5 */
function syntheticChips(B: number, size: number, seed: number): SegmentationBatch {
  const rng = new Rng(seed);
  const C = CONFIG.inChannels;
  const plane = size * size;
  const x = Float32Array.from({ length: B * C * plane }, () => rng.normal());
  const labels = Uint8Array.from({ length: B * plane }, (_, i) => {
    const b = Math.floor(i / plane);
    return x[b * C * plane + (i % plane)]! > 0.5 ? 1 : 0;
  });
  return { x, labels, B, H: size, W: size };
}

const DATA = { train: syntheticChips(12, 8, 1), validation: syntheticChips(4, 8, 2) };
const auprc = (p: Float32Array, l: Uint8Array) => prAuc(prCurve(p, l));
const OPTS: UNetTrainOptions = {
  epochs: 4,
  batchSize: 4,
  adam: PAPER_UNET_ADAM,
  plateau: { ...PAPER_PLATEAU, patience: 0 },
  seed: 3,
  validationScore: auprc,
};

/** records progress texts and can cancel on request */
function textFeedback(): Feedback & { texts: string[]; percents: number[]; cancel(): void } {
  let canceled = false;
  const texts: string[] = [];
  const percents: number[] = [];
  return {
    texts,
    percents,
    progress: (p, t) => {
      percents.push(p);
      if (t) texts.push(t);
    },
    log() {},
    isCanceled: () => canceled,
    cancel: () => void (canceled = true),
  };
}

test('inverse-frequency class weights: balanced over the labelled pixels, absent class 0, none labelled an error', () => {
  const labels = Uint8Array.from([0, 0, 0, 1, IGNORE_LABEL, IGNORE_LABEL]);
  // 4 labelled pixels, 2 classes: 4 / (2 · 3) and 4 / (2 · 1)
  assert.deepEqual(Array.from(inverseFrequencyWeights(labels, 2)), [Math.fround(4 / 6), 2]);
  assert.deepEqual(Array.from(inverseFrequencyWeights(Uint8Array.from([0, 0]), 2)), [0.5, 0]);
  assert.throws(() => inverseFrequencyWeights(Uint8Array.from([IGNORE_LABEL]), 2), /no labelled pixel/);
});

test('same seed and data → the same weights and history; the scheduler and best weights follow the history', async () => {
  const rows: string[] = [];
  const run = () =>
    trainUNet(createReferenceUNetEngine(CONFIG), DATA, { ...OPTS, onEpoch: (_, row) => rows.push(row) });
  const a = await run();
  const b = await run();
  assert.deepEqual(a.final.params, b.final.params);
  assert.deepEqual(
    a.history.map((e) => ({ ...e, seconds: 0 })),
    b.history.map((e) => ({ ...e, seconds: 0 })),
  );
  assert.equal(rows.length, 2 * OPTS.epochs);
  assert.equal(rows[0]!.split(',').length, UNET_HISTORY_CSV_HEADER.split(',').length);

  // the lr of epoch k + 1 is ReduceLROnPlateau's answer to the validation losses up to k
  let plateau = initialPlateauState(OPTS.adam.lr);
  for (const e of a.history) {
    assert.equal(e.lr, plateau.lr, `lr of epoch ${e.epoch}`);
    plateau = plateauStep(plateau, e.valLoss, OPTS.plateau);
  }
  // best = the first epoch with the lowest validation loss (strictly lower wins), and its weights give that loss
  const losses = a.history.map((e) => e.valLoss);
  assert.equal(a.bestEpoch, losses.indexOf(Math.min(...losses)) + 1);
  assert.equal(a.bestValLoss, Math.min(...losses));
  const engine = createReferenceUNetEngine(CONFIG);
  await engine.setParams(a.best.params);
  await engine.setBuffers(a.best.buffers);
  const again = await validate(engine, DATA.validation, a.classWeights, undefined, textFeedback());
  // float32 weights out of a float64 engine: the loss agrees to float32 rounding
  assert.ok(Math.abs(again.loss - a.bestValLoss) < 1e-5 * a.bestValLoss, `${again.loss} vs ${a.bestValLoss}`);
});

test('it learns the synthetic task: validation loss falls and AUPRC rises over the epochs', async () => {
  const data = { train: syntheticChips(16, 16, 5), validation: syntheticChips(4, 16, 6) };
  const r = await trainUNet(createReferenceUNetEngine(CONFIG), data, { ...OPTS, epochs: 12, plateau: PAPER_PLATEAU });
  const first = r.history[0]!;
  const last = r.history[r.history.length - 1]!;
  assert.ok(last.valLoss < 0.6 * first.valLoss, `validation loss ${first.valLoss} → ${last.valLoss}`);
  assert.ok(last.valAuprc > 0.9, `validation AUPRC ${last.valAuprc}`);
  assert.ok(last.trainLoss < first.trainLoss);
});

test('progress reaches 100 with an ETA; cancel stops between batches; resume continues to the same result', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'unet-train-'));
  try {
    const checkpoint = join(dir, 'ck.safetensors');
    const straight = await trainUNet(createReferenceUNetEngine(CONFIG), DATA, OPTS);

    const fb = textFeedback();
    const cancelAfter2 = { ...OPTS, checkpoint, onEpoch: (e: { epoch: number }) => e.epoch === 2 && fb.cancel() };
    await assert.rejects(trainUNet(createReferenceUNetEngine(CONFIG), DATA, cancelAfter2, fb), CanceledError);
    // the ETA's value depends on the machine: only its form is checked (formatDuration's three forms)
    const form = /^epoch \d\/4, ETA (\d+ s|\d+ min \d+ s|\d+ h \d+ min)$/;
    assert.ok(fb.texts.length === 6 && fb.texts.every((t) => form.test(t)), fb.texts.join('; '));

    assert.deepEqual(
      fb.percents,
      [1, 2, 3, 4, 5, 6].map((k) => (100 * k) / 12),
      'one tick per batch, 12 in all',
    );
    const fb2 = textFeedback();
    const resumed = await trainUNet(
      createReferenceUNetEngine(CONFIG),
      DATA,
      { ...OPTS, checkpoint, resume: true },
      fb2,
    );
    assert.equal(resumed.resumedFrom, 2);
    assert.equal(fb2.percents[fb2.percents.length - 1], 100);
    assert.deepEqual(
      resumed.history.map((e) => [e.epoch, e.lr, e.best]),
      straight.history.map((e) => [e.epoch, e.lr, e.best]),
    );
    // the reference engine keeps float64 state; a checkpoint holds float32, so the resumed run starts from weights
    // rounded once: the rest agrees to well under a training step's size (lr 0.01)
    let worst = 0;
    for (let i = 0; i < straight.final.params.length; i++)
      worst = Math.max(worst, Math.abs(straight.final.params[i]! - resumed.final.params[i]!));
    assert.ok(worst < 1e-4, `resumed weights differ by ${worst}`);
    resumed.history.forEach((e, k) => {
      const s = straight.history[k]!;
      assert.ok(Math.abs(e.valLoss - s.valLoss) < 1e-5, `validation loss of epoch ${e.epoch}`);
    });

    const other = { ...OPTS, checkpoint, resume: true, seed: 4 };
    await assert.rejects(trainUNet(createReferenceUNetEngine(CONFIG), DATA, other), /other data or settings/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without validation chips: best = final, the lr stays, and nothing is scored', async () => {
  const r = await trainUNet(createReferenceUNetEngine(CONFIG), { train: DATA.train }, { ...OPTS, epochs: 2 });
  assert.deepEqual(r.best.params, r.final.params);
  assert.equal(r.bestEpoch, 2);
  assert.ok(r.history.every((e) => Number.isNaN(e.valLoss) && Number.isNaN(e.valAuprc) && e.lr === OPTS.adam.lr));
});
