// Toolbox algorithm `validate-points`: papers/002 validation of DPM rasters against point measurements.
import type { Algorithm } from './algorithm.js';
import { validatePoints } from '../eval/points/validate.js';

export const algorithm: Algorithm<'validate-points'> = {
  id: 'validate-points',
  async run(p, feedback) {
    const r = await validatePoints(
      {
        points: p.points,
        columns: p.displacement,
        dpms: p.dpm,
        buffer: p.buffer,
        outDir: p['out-dir'],
        band: p.band,
        nodata: p.nodata,
        missing: p.missing,
        nonPositive: p.nonpositive,
        shift: p.shift,
        thresholds: p.thresholds,
      },
      feedback,
    );
    return { report: r.report, json: r.json, buffers: r.buffers, 'out-dir': p['out-dir'] };
  },
};
