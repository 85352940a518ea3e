// host/core/defaults.ts is the one home of every default; plugin-manifest.json repeats the ones users can change.
// This keeps the two equal (a default changed in one place only fails here).
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  DAMAGED_FRACTION,
  DEFAULT_CHIP,
  DEFAULT_PRESET,
  DPM2_DEFAULTS,
  CALIBRATION_HOLDOUT,
  MONITOR_RULES,
  MAP_Z_THRESHOLD,
  PAPER_ADAM,
  PAPER_MODEL,
  PAPER_TRAINING,
  PRESETS,
  SCENE_SEED,
  SIGMA_MIN,
} from '../host/core/defaults.js';
import { PAPER_CONFIG } from '../host/model/params.js';
import { DEFAULT_TRAIN } from '../host/model/train.js';
import { algorithmSpec } from '../host/toolbox/manifest.js';

function manifestDefault(id: string, name: string): unknown {
  const p = algorithmSpec(id).parameters.find((q) => q.name === name);
  assert.ok(p, `${id} has no parameter --${name}`);
  return p.default;
}

test('plugin-manifest.json defaults are the values of host/core/defaults.ts', () => {
  const expected: [string, string, unknown][] = [
    ['train', 'epochs', PAPER_TRAINING.epochs],
    ['train', 'batch-size', PAPER_TRAINING.batchSize],
    ['train', 'val-fraction', PAPER_TRAINING.valFraction],
    ['train', 'seed', PAPER_TRAINING.seed],
    ['train', 'lr', PAPER_ADAM.lr],
    ['train', 'clip-norm', PAPER_ADAM.clipNorm],
    ['run', 'chip', DEFAULT_CHIP],
    ['run', 'preset', DEFAULT_PRESET],
    ['run', 'seed', PAPER_TRAINING.seed],
    ['run', 'threshold', MAP_Z_THRESHOLD],
    ['run', 'fraction', DAMAGED_FRACTION],
    ['demo', 'threshold', MAP_Z_THRESHOLD],
    ['demo', 'seed', SCENE_SEED],
    ['simulate', 'seed', SCENE_SEED],
    ['coherence', 'chip', DEFAULT_CHIP],
    ['evaluate', 'fraction', DAMAGED_FRACTION],
    ['baseline-zscore', 'sigma-min', SIGMA_MIN],
    ['dpm2', 'sigma-min', SIGMA_MIN],
    ['dpm2', 'min-pairs', DPM2_DEFAULTS.minPairs],
    ['dpm2', 'tau-max', DPM2_DEFAULTS.tauMax],
    ['dpm2', 'co-event', DPM2_DEFAULTS.coEvent],
    ['monitor-init', 'alert-z', MONITOR_RULES.z],
    ['monitor-init', 'confirm', MONITOR_RULES.confirm],
    ['monitor-init', 'drop', MONITOR_RULES.drop],
    ['monitor-init', 'finish', MONITOR_RULES.finish],
    ['calibrate', 'holdout', CALIBRATION_HOLDOUT],
    ['train', 'time-baseline', false],
  ];
  for (const [id, name, value] of expected) assert.equal(manifestDefault(id, name), value, `${id} --${name}`);
  const presets = algorithmSpec('run').parameters.find((q) => q.name === 'preset')?.options;
  assert.deepEqual(presets, Object.keys(PRESETS), 'run --preset choices are the presets');
});

test('the model and training defaults are the paper configuration', () => {
  assert.deepEqual(PAPER_CONFIG, { ...PAPER_MODEL });
  assert.deepEqual(DEFAULT_TRAIN, { ...PAPER_TRAINING, adam: { ...PAPER_ADAM } });
  assert.deepEqual(PRESETS.paper, {
    hidden: PAPER_MODEL.hidden,
    mlp: PAPER_MODEL.mlp,
    epochs: PAPER_TRAINING.epochs,
    batchSize: PAPER_TRAINING.batchSize,
    lr: PAPER_ADAM.lr,
    maxSequences: undefined,
  });
});
