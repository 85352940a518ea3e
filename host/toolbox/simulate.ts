// Toolbox algorithm `simulate`: a realistic scene with known truth (host/sar/simulate/).
import type { Algorithm } from './algorithm.js';
import { simulate } from '../sar/simulate/simulate.js';

export const algorithm: Algorithm<'simulate'> = {
  id: 'simulate',
  async run(params, feedback) {
    const r = await simulate(
      {
        seed: params.seed,
        width: params.width,
        height: params.height,
        dates: params.dates,
        eventIndex: params['event-index'],
      },
      params.out,
      feedback,
    );
    feedback.log(
      'info',
      `scene written to ${r.dir}: event ${r.eventDate}, co-event pair ${r.dates[r.eventIndex]}_${r.dates[r.eventIndex + 1]}; ` +
        `AOI ${r.aoiWindow} (${r.aoiChips.damaged} damaged / ${r.aoiChips.undamaged} undamaged 15x5 chips), training window ${r.trainWindow}`,
    );
    return {
      folder: r.dir,
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
