// The co-event pair of a coherence stack as a product of its own (baselines/coevent_coherence.tif, grey style). The
// untiled run writes it from the AOI stack and each tile from its own crop: one piece of code, so the mosaic of the
// tiles equals the untiled file.
import type { Feedback } from '../core/feedback.js';
import { withOutputs } from '../io/outputs.js';
import { greyQml, writeStyle } from '../io/qml.js';
import { type BandSplit, splitBands } from '../model/series.js';
import { writeRaster } from '../raster/geotiff.js';
import { chipLayoutMetadata } from '../raster/stack.js';
import type { CoherenceStack } from '../raster/types.js';

export interface CoEventPair {
  split: BandSplit;
  band: Float32Array;
  /** the pair's band description, e.g. 20190105_20190117 */
  label: string;
}

/** The stack's pre-event bands and its co-event band (the event date must fall inside one pair: DpmError if not). */
export function coEventPair(stack: CoherenceStack, eventDate: string): CoEventPair {
  const split = splitBands(stack, { eventDate }, true);
  const band = split.coEvent === undefined ? undefined : stack.bands[split.coEvent];
  const label = split.coEvent === undefined ? undefined : stack.descriptions[split.coEvent];
  if (!band || label === undefined) throw new Error('internal: splitBands(…, true) returned no co-event band');
  return { split, band, label };
}

/** Writes the co-event coherence of `stack` to `path` with its QGIS style. */
export async function writeCoEventCoherence(
  path: string,
  stack: CoherenceStack,
  co: CoEventPair,
  fb: Feedback,
): Promise<void> {
  const raster = {
    width: stack.width,
    height: stack.height,
    bands: [co.band],
    descriptions: [`co-event coherence ${co.label}`],
    georef: stack.georef,
    metadata: chipLayoutMetadata(stack.metadata),
  };
  await withOutputs(async (outs) => {
    await writeRaster(outs, path, raster, { nodata: NaN });
    writeStyle(outs, path, greyQml(0, 1));
  }, fb);
}
