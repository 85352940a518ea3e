// Toolbox algorithm `buildings`: damage proxy statistics per building footprint (issue 14; host/eval/buildings.ts).
import type { Algorithm } from './algorithm.js';
import { buildingDamage } from '../eval/buildings.js';

export const algorithm: Algorithm<'buildings'> = {
  id: 'buildings',
  async run(p, feedback) {
    const r = await buildingDamage(
      {
        scores: p.score,
        ...(p.names ? { names: p.names } : {}),
        footprints: p.footprints,
        out: p.out,
        threshold: p.threshold,
        statistic: p.statistic,
        ...(p['damage-field'] ? { damageField: p['damage-field'] } : {}),
        ...(p['damaged-values'] ? { damagedValues: p['damaged-values'] } : {}),
        beta: p.beta,
      },
      feedback,
    );
    return {
      out: r.out,
      report: r.report,
      buildings: r.buildings,
      damaged: r.damaged,
      'centroid-pixel': r.centroidPixel,
    };
  },
};
