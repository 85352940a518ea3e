// Toolbox algorithm `coherence`: SLC stack → coherence stack GeoTIFF (ARCHITECTURE.md contract).
import type { Algorithm } from './algorithm.js';
import { withOutputs } from '../io/outputs.js';
import { writeCoherenceStackOutputs } from '../raster/stack.js';
import { coherenceStackFromSlc } from '../sar/coherence-job.js';
import type { PairMode } from '../sar/coherence-stack.js';

export const algorithm: Algorithm = {
  id: 'coherence',
  async run(params, feedback) {
    const out = params['out'] as string;
    return withOutputs(async (outs) => {
      const { stack, grid } = await coherenceStackFromSlc({
        slc: params['slc'] as string[],
        chip: params['chip'] as string | undefined,
        stride: params['stride'] as string | undefined,
        window: params['window'] as string | undefined,
        lat: params['lat'] as string | undefined,
        lon: params['lon'] as string | undefined,
        pairs: params['pairs'] as PairMode | undefined,
        maxSpan: params['max-span'] as number | undefined,
        blockMb: params['block-mb'] as number | undefined,
      }, feedback);
      feedback.progress(100, 'writing');
      const files = await writeCoherenceStackOutputs(outs, out, stack);
      feedback.log('debug', `row blocks of ${grid.blockRows} lines, ${grid.slots} SLC slots, ${(grid.wasmBytes / 2 ** 20).toFixed(0)} MiB wasm memory`);
      return { out, files: files.join(','), bands: stack.bands.length, width: stack.width, height: stack.height };
    }, feedback);
  },
};
