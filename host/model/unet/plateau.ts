// torch.optim.lr_scheduler.ReduceLROnPlateau, mode 'min' with a relative threshold, ported line by line so the learning
// rates are PyTorch's to the last bit (test/unet-train-plateau.test.ts against scripts/plateau-fixture.py). papers/003:
// factor 0.1, patience 10, threshold 1e-4, from lr 0.01.

export interface PlateauOptions {
  factor: number;
  /** epochs without improvement tolerated; the lr drops on the (patience + 1)-th */
  patience: number;
  /** relative: a loss counts as better when below best · (1 − threshold) */
  threshold: number;
  /** epochs after a drop during which bad epochs are not counted */
  cooldown: number;
  minLr: number;
}

export const PAPER_PLATEAU: PlateauOptions = { factor: 0.1, patience: 10, threshold: 1e-4, cooldown: 0, minLr: 0 };

/** PyTorch's eps: a drop smaller than this is not applied */
const LR_EPS = 1e-8;

/** Everything the scheduler remembers (a training checkpoint stores it to resume). */
export interface PlateauState {
  lr: number;
  best: number;
  numBadEpochs: number;
  cooldownCounter: number;
  lastEpoch: number;
}

export function initialPlateauState(lr: number): PlateauState {
  return { lr, best: Infinity, numBadEpochs: 0, cooldownCounter: 0, lastEpoch: 0 };
}

/** One scheduler.step(loss) after an epoch: returns the next state (its `lr` is the one for the next epoch). */
export function plateauStep(s: PlateauState, loss: number, o: PlateauOptions): PlateauState {
  const next = { ...s, lastEpoch: s.lastEpoch + 1 };
  // NaN is never better (the comparison is false), as in Python
  if (loss < next.best * (1 - o.threshold)) {
    next.best = loss;
    next.numBadEpochs = 0;
  } else {
    next.numBadEpochs++;
  }
  if (next.cooldownCounter > 0) {
    next.cooldownCounter--;
    next.numBadEpochs = 0;
  }
  if (next.numBadEpochs > o.patience) {
    const reduced = Math.max(next.lr * o.factor, o.minLr);
    if (next.lr - reduced > LR_EPS) next.lr = reduced;
    next.cooldownCounter = o.cooldown;
    next.numBadEpochs = 0;
  }
  return next;
}
