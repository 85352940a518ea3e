// Toolbox algorithm `coherence`: SLC stack → coherence stack GeoTIFF (ARCHITECTURE.md contract).
import type { Algorithm } from './algorithm.js';
import { parseChipLayout } from '../core/chip.js';
import { withOutputs } from '../io/outputs.js';
import { writeCoherenceStackOutputs } from '../raster/stack.js';
import { greyQml, writeStyle } from '../io/qml.js';
import { coherenceStackFromSlc } from '../sar/coherence-job.js';

export const algorithm: Algorithm<'coherence'> = {
  id: 'coherence',
  async run(params, feedback) {
    const out = params.out;
    return withOutputs(async (outs) => {
      const { stack, grid } = await coherenceStackFromSlc(
        {
          slc: params.slc,
          layout: parseChipLayout(params.chip, params.stride),
          window: params.window,
          lat: params.lat,
          lon: params.lon,
          pairs: params.pairs,
          maxSpan: params['max-span'],
          blockMb: params['block-mb'],
        },
        feedback,
      );
      feedback.progress(100, 'writing');
      const files = await writeCoherenceStackOutputs(outs, out, stack);
      writeStyle(outs, out, greyQml(0, 1)); // coherence 0 (black) … 1 (white)
      feedback.log(
        'debug',
        `row blocks of ${grid.blockRows} lines, ${grid.slots} SLC slots, ${(grid.wasmBytes / 2 ** 20).toFixed(0)} MiB wasm memory`,
      );
      return { out, files: files.join(','), bands: stack.bands.length, width: stack.width, height: stack.height };
    }, feedback);
  },
};
