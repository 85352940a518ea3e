// Toolbox algorithm `validate-points`: papers/002 validation of DPM rasters against point measurements.
import type { Algorithm } from './algorithm.js';
import { validatePoints } from '../eval/points/validate.js';
import type { MissingPolicy } from '../eval/points/read-points.js';
import type { NonPositivePolicy } from '../eval/points/analyse.js';

export const algorithm: Algorithm = {
  id: 'validate-points',
  async run(p, feedback) {
    const r = await validatePoints({
      points: p['points'] as string,
      columns: p['displacement'] as string[],
      dpms: p['dpm'] as string[],
      buffer: p['buffer'] as number,
      outDir: p['out-dir'] as string,
      band: p['band'] as number,
      nodata: p['nodata'] as number | undefined,
      missing: p['missing'] as MissingPolicy,
      nonPositive: p['nonpositive'] as NonPositivePolicy,
      shift: p['shift'] as number | undefined,
      thresholds: p['thresholds'] as number[] | undefined,
    }, feedback);
    return { report: r.report, json: r.json, buffers: r.buffers, 'out-dir': p['out-dir'] };
  },
};
