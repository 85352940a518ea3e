// Toolbox algorithm `dpm2`: the DPM2-style temporal decorrelation index (host/baselines/dpm2.ts; not ARIA's DPM2).
import type { Algorithm } from './algorithm.js';
import { stage } from '../core/feedback.js';
import { withOutputs } from '../io/outputs.js';
import { readPairStack } from '../raster/stack.js';
import { writeRaster } from '../raster/geotiff.js';
import { DPM2_NAME, dpm2Stack } from '../baselines/dpm2.js';

export const algorithm: Algorithm<'dpm2'> = {
  id: 'dpm2',
  async run(p, feedback) {
    const stack = await readPairStack(p.stack, {
      nodata: p.nodata,
      align: p['align-grids'],
      feedback: stage(feedback, 0, 20, 'reading the pair stack'),
    });
    const res = await dpm2Stack(
      stack,
      {
        eventDate: p['event-date'].replace(/-/g, ''),
        minPairs: p['min-pairs'],
        sigmaMin: p['sigma-min'],
        coEvent: p['co-event'],
        tauMax: p['tau-max'],
      },
      stage(feedback, 20, 95, 'fitting the decorrelation model'),
    );
    const co = res.coPairs.map((c) => `${c.first}_${c.second}`).join(',');
    feedback.log(
      'info',
      `${DPM2_NAME}: ${res.prePairs} pre-event pairs, co-event ${co}; ${res.masked} pixel(s) without enough valid pairs (NaN); ${res.tauAtBound} pixel(s) with tau at the edge of [1, ${p['tau-max']}] days (decay not resolved by the spans)`,
    );
    const metadata = {
      DPM_METHOD: DPM2_NAME,
      DPM_MODEL:
        'gamma(dt) = gamma0*((1-rho)*exp(-dt/tau) + rho); P = T_{n-3}((model - observed)/max(sigma, sigma_min))',
      EVENT_DATE: p['event-date'],
      CO_EVENT_PAIRS: co,
      PRE_EVENT_PAIRS: String(res.prePairs),
    };
    const base = { width: stack.width, height: stack.height, georef: stack.georef, metadata };
    const output = p.output;
    const paramsOut = p.parameters;
    await withOutputs(async (outs) => {
      await writeRaster(outs, output, {
        ...base,
        bands: [res.probability],
        descriptions: ['DPM2-style probability that the co-event coherence is anomalously low'],
      });
      if (paramsOut) {
        await writeRaster(outs, paramsOut, {
          ...base,
          bands: [res.gamma0, res.tau, res.floor, res.sigma, res.residual, res.preCount],
          descriptions: [
            'gamma0 (coherence as dt -> 0)',
            'tau (days)',
            'rho (floor / gamma0)',
            'sigma (residual std)',
            'co-event residual (observed - model)',
            'valid pre-event pairs',
          ],
        });
      }
    }, feedback);
    feedback.progress(100);
    let finite = 0,
      high = 0;
    for (const v of res.probability)
      if (Number.isFinite(v)) {
        finite++;
        if (v > 0.75) high++;
      }
    return {
      output,
      parameters: paramsOut ?? '',
      'pre-event-pairs': res.prePairs,
      'co-event-pairs': co,
      'flagged-fraction': finite ? high / finite : NaN,
    };
  },
};
