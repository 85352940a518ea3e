// Toolbox algorithm `simulate`: a realistic scene with known truth (host/sar/simulate/): an SLC stack with damaged
// buildings (--kind insar) or a landslide datacube (--kind landslide, host/sar/simulate/landslide.ts).
import type { Algorithm } from './algorithm.js';
import { simulate } from '../sar/simulate/simulate.js';
import { DEFAULT_OPTIONS } from '../sar/simulate/scene.js';
import { LANDSLIDE_DEFAULTS, writeLandslideCube } from '../sar/simulate/landslide.js';

export const algorithm: Algorithm<'simulate'> = {
  id: 'simulate',
  async run(params, feedback) {
    const defaults = params.kind === 'landslide' ? LANDSLIDE_DEFAULTS : DEFAULT_OPTIONS;
    const options = {
      seed: params.seed,
      width: params.width ?? defaults.width,
      height: params.height ?? defaults.height,
      dates: params.dates ?? defaults.dates,
      eventIndex: params['event-index'],
    };
    if (params.kind === 'landslide') {
      const r = await writeLandslideCube(options, params.out, feedback);
      // the SLC scene's outputs do not exist here: empty, as optional outputs that were not made
      const none = { damage: '', damage_mask: '', coherence: '', landcover: '', aoi_window: '', train_window: '' };
      return { folder: r.dir, cube: r.cube, scene: r.scene, event_date: r.eventDate, ...none };
    }
    const r = await simulate(options, params.out, feedback);
    feedback.log(
      'info',
      `scene written to ${r.dir}: event ${r.eventDate}, co-event pair ${r.dates[r.eventIndex]}_${r.dates[r.eventIndex + 1]}; ` +
        `AOI ${r.aoiWindow} (${r.aoiChips.damaged} damaged / ${r.aoiChips.undamaged} undamaged 15x5 chips), training window ${r.trainWindow}`,
    );
    return {
      folder: r.dir,
      cube: '',
      scene: r.scene,
      damage: r.damage,
      damage_mask: r.mask,
      coherence: r.coherence,
      landcover: r.landcover,
      event_date: r.eventDate,
      aoi_window: r.aoiWindow,
      train_window: r.trainWindow,
    };
  },
};
