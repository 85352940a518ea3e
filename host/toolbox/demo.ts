// `dpm demo` (`npm run demo`): simulate a scene with known damage, run the whole pipeline on it with the fast preset,
// evaluate every method against the simulator's truth and say where everything is. Re-running reuses what is done.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Algorithm, AlgorithmParams } from './algorithm.js';
import { stage, type Feedback } from '../core/feedback.js';
import { invoke } from './invoke.js';
import { ownFolder, withOutputPolicy } from '../io/outputs.js';
import { algorithm as runAlgorithm } from './run.js';
import { algorithm as simulateAlgorithm } from './simulate.js';
import { DAMAGED_FRACTION, DEFAULT_CHIP, PAPER_TRAINING } from '../core/defaults.js';

interface SceneInfo {
  event_date: string;
  aoi_window: string;
  train_window: string;
  damage_field: string;
  seed: number;
  width: number;
  height: number;
  dates: string[];
}

/** A demo folder (new, empty, or holding its scene/scene.json) is the demo's own: re-running updates it in place, no --overwrite needed. */
function demo(p: AlgorithmParams['demo'], fb: Feedback) {
  const ours = ownFolder(p['out-dir'], join('scene', 'scene.json'));
  return ours ? withOutputPolicy({ overwrite: true }, () => demoRun(p, fb)) : demoRun(p, fb);
}

async function demoRun(p: AlgorithmParams['demo'], fb: Feedback) {
  const dir = resolve(p['out-dir']);
  const sceneDir = join(dir, 'scene');
  const sim = { seed: p.seed, width: p.width, height: p.height, dates: p.dates };
  const sceneFile = join(sceneDir, 'scene.json');
  const same =
    existsSync(sceneFile) &&
    (() => {
      const s = JSON.parse(readFileSync(sceneFile, 'utf8')) as SceneInfo;
      return s.seed === sim.seed && s.width === sim.width && s.height === sim.height && s.dates.length === sim.dates;
    })();
  if (same && !p.force) fb.log('info', `reusing the simulated scene in ${sceneDir}`);
  else await invoke(simulateAlgorithm, { out: sceneDir, ...sim }, stage(fb, 0, 10, 'simulating'));
  const scene = JSON.parse(readFileSync(sceneFile, 'utf8')) as SceneInfo;

  // auto: a hardware GPU when there is one, else the WebAssembly engine, so the demo runs on any machine
  const device = p.device;

  const out = await invoke(
    runAlgorithm,
    {
      slc: [sceneDir],
      'event-date': scene.event_date,
      'train-window': scene.train_window,
      'aoi-window': scene.aoi_window,
      chip: DEFAULT_CHIP,
      preset: 'fast',
      seed: PAPER_TRAINING.seed,
      device,
      threshold: p.threshold,
      geocode: 'wgs84',
      force: p.force,
      truth: join(sceneDir, 'truth', 'damage.geojson'),
      'damage-field': scene.damage_field,
      'damaged-values': 'Destroyed,Damaged',
      fraction: DAMAGED_FRACTION,
      'out-dir': join(dir, 'run'),
    },
    stage(fb, 10, 100), // no name of its own: the terminal shows run's stages (training, forecast …)
  );

  const evaluation = JSON.parse(readFileSync(join(dir, 'run', 'evaluation', 'evaluation.json'), 'utf8')) as {
    methods: { name: string; prAucTrapezoid: number }[];
  };
  const auc = (name: string) => evaluation.methods.find((m) => m.name.startsWith(name))?.prAucTrapezoid ?? NaN;
  const rnn = auc('RNN'),
    ccd = auc('CCD');
  fb.log('info', readFileSync(join(dir, 'run', 'report.md'), 'utf8'));
  fb.log(
    rnn > ccd ? 'info' : 'warning',
    `RNN PR AUC ${rnn.toFixed(3)} vs CCD ${ccd.toFixed(3)}: ${rnn > ccd ? 'the forecast beats single-pair change detection, as in the paper' : 'the RNN did NOT beat CCD on this scene'}`,
  );
  fb.log(
    'info',
    `Outputs in ${join(dir, 'run')}. In QGIS: Layer ▸ Add Layer ▸ Add Raster Layer… and pick ` +
      `${join(dir, 'run', 'geocoded', 'dpm_overlay.tif')} (RGBA overlay) or geocoded/zscore.tif; the truth polygons are ` +
      `${join(sceneDir, 'truth', 'damage.geojson')} (Add Vector Layer). The figure is ${join(dir, 'run', 'dpm.png')}.`,
  );
  return { ...out, scene: sceneDir, 'rnn-pr-auc': rnn, 'ccd-pr-auc': ccd };
}

export const algorithm: Algorithm<'demo'> = { id: 'demo', run: demo };
