// One home for every default the paper fixes or the toolbox offers. plugin-manifest.json repeats the ones a user can
// change (the CLI and QGIS read them there); test/defaults.test.ts keeps the two equal. Change a default HERE and in
// the manifest, nowhere else.

/** The paper's model (papers/000): GRU hidden size H, decoder MLP width M, one feature (logit coherence). */
export const PAPER_MODEL = { hidden: 256, mlp: 128, features: 1 } as const;

/** The paper's optimiser: Adam, lr 5e-4, global gradient-norm clip 10. */
export const PAPER_ADAM = { lr: 5e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: 10 } as const;

/** The paper's training schedule: epochs, batch size, validation hold-out and seed. */
export const PAPER_TRAINING = { epochs: 20, batchSize: 256, valFraction: 0.2, seed: 128 } as const;

/** Model and training settings of each `dpm run` preset. `fast` is for the slow engines (WGSL on a software adapter, the float64 reference). */
export interface Preset {
  readonly hidden: number;
  readonly mlp: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  /** train on a seeded subsample of at most this many sequences (undefined: all) */
  readonly maxSequences: number | undefined;
}
export const PRESETS = {
  paper: {
    hidden: PAPER_MODEL.hidden,
    mlp: PAPER_MODEL.mlp,
    epochs: PAPER_TRAINING.epochs,
    batchSize: PAPER_TRAINING.batchSize,
    lr: PAPER_ADAM.lr,
    maxSequences: undefined,
  },
  fast: { hidden: 32, mlp: 32, epochs: 12, batchSize: 64, lr: 3e-3, maxSequences: 20_000 },
} as const satisfies Record<string, Preset>;
export type PresetName = keyof typeof PRESETS;
export const DEFAULT_PRESET: PresetName = 'paper';

/** Coherence chip, range columns × azimuth rows (papers/000: 15 × 5 SLC pixels); the text form the CLI takes. */
export const DEFAULT_CHIP = '15x5';

/** The paper's damage threshold on the forecast z-score (papers/000). */
export const DAMAGE_Z = 4.93;
/** Where DAMAGE_Z comes from, as logs and reports say it. */
export const DAMAGE_Z_SOURCE = 'the damage threshold of Stephenson et al. 2021, supplement (papers/000)';
/**
 * The one threshold of `dpm run`/`dpm demo`: the map is transparent below it, and the log and the report give the share
 * of pixels at or above it. The evaluation's optimum (max F_β against ground truth) is a different number, labelled so.
 */
export const MAP_Z_THRESHOLD = DAMAGE_Z;

/** Floor of a per-pixel standard deviation of coherence (baseline z-score, DPM2 σ_min). */
export const SIGMA_MIN = 0.02;

/** A chip counts as damaged when damaged buildings cover at least this fraction of its footprint. */
export const DAMAGED_FRACTION = 1 / 3;

/** Seed of the simulated scene (dpm simulate, dpm demo). */
export const SCENE_SEED = 1;

/** DPM2-style fit (host/baselines/dpm2.ts): least pre-event pairs per pixel, τ search bound (days), co-event pairs. */
export const DPM2_DEFAULTS = { minPairs: 10, tauMax: 3650, coEvent: 'shortest' } as const;

/**
 * Alert rules of `dpm monitor-init` (host/monitor/alerts.ts): anomalous when z ≥ DAMAGE_Z; an alert is confirmed by
 * its 3rd anomalous pass, an unconfirmed one dropped after 2 quiet passes in a row, a confirmed one finished after 2.
 */
export const MONITOR_RULES = { z: DAMAGE_Z, confirm: 3, drop: 2, finish: 2 } as const;

/** Held-out pairs scored by `dpm calibrate` (the last bands of the stack). */
export const CALIBRATION_HOLDOUT = 2;
