// Evaluation on a small simulated scene (dpm simulate → dpm coherence at stride 1x1 over the AOI → baselines →
// dpm evaluate). The simulator counts its damaged AOI chips itself (exact integer test on its own mask), so the
// raster-truth labelling must reproduce that count exactly; the vector footprints (lat/lon polygons, chip footprints
// from float32 chip-centre lookups) must agree to within a few chips that sit exactly on the 1/3 boundary.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execute } from '../host/toolbox/execute.js';
import { silentFeedback } from '../host/core/feedback.js';
import { evaluateFiles } from '../host/toolbox/evaluate.js';
import { tempDir } from './eval-helpers.js';
import { parseChipLayout } from '../host/core/chip.js';

test("simulated scene: mask labels equal the simulator's own count; baselines beat a random scorer", async () => {
  const dir = tempDir('evalsim');
  const scene = join(dir, 'scene');
  await execute('simulate', { out: scene, width: 240, height: 100, dates: 8, seed: 1 }, silentFeedback);
  const info = JSON.parse(readFileSync(join(scene, 'scene.json'), 'utf8'));
  const coh = join(dir, 'aoi.tif');
  await execute(
    'coherence',
    { slc: scene, out: coh, chip: '15x5', stride: '1x1', window: info.aoi_window },
    silentFeedback,
  );
  const scores = ['ccd', 'zscore'].map((m) => join(dir, `${m}.tif`));
  await execute('baseline-ccd', { coherence: coh, 'event-date': info.event_date, output: scores[0] }, silentFeedback);
  await execute(
    'baseline-zscore',
    { coherence: coh, 'event-date': info.event_date, output: scores[1] },
    silentFeedback,
  );
  const layout = parseChipLayout('15x5', '1x1');

  const byMask = await evaluateFiles(
    { scores, truthRaster: join(scene, 'truth', 'damage_mask.tif'), fraction: 1 / 3, beta: 0.5, layout },
    silentFeedback,
  );
  assert.equal(byMask.labels.damaged, info.aoi_chips.damaged);
  assert.equal(byMask.labels.damaged + byMask.labels.undamaged, info.aoi_chips.total);

  const byVector = await evaluateFiles(
    {
      scores,
      truth: join(scene, 'truth', 'damage.geojson'),
      damageField: info.damage_field,
      damagedValues: info.damaged_values,
      fraction: 1 / 3,
      beta: 0.5,
      layout,
    },
    silentFeedback,
  );
  // building edges coincide with chip edges in the simulator, so fractions of exactly 1/3 are common; float32
  // chip-centre lat/lon (~0.3 m) tips a few of them either way: allow 2 % of the damaged chips
  assert.ok(
    Math.abs(byVector.labels.damaged - info.aoi_chips.damaged) <= 0.02 * info.aoi_chips.damaged,
    `vector ${byVector.labels.damaged} vs simulator ${info.aoi_chips.damaged}`,
  );
  // without --chip/--stride the layout comes from the metadata `dpm coherence` wrote and the baselines carried
  const byMetadata = await evaluateFiles(
    { scores, truthRaster: join(scene, 'truth', 'damage_mask.tif'), fraction: 1 / 3, beta: 0.5 },
    silentFeedback,
  );
  assert.deepEqual(byMetadata.labels, byMask.labels);
  byMetadata.evals.forEach((e, k) => assert.deepEqual(e.curve, byMask.evals[k]?.curve)); // same labels, same curves
  for (const e of byMask.evals) {
    // a damage proxy with any skill beats the damaged fraction (what a random scorer gets) by a wide margin here
    assert.ok(e.prAucTrapezoid > 2 * e.prevalence, `${e.name}: PR AUC ${e.prAucTrapezoid} vs random ${e.prevalence}`);
  }
});
