// Mosaic of the tiles' rasters: one GeoTIFF on the whole area-of-interest grid (the same file an untiled run
// writes) and a GDAL VRT beside it that points at the tile files (no copy; GDAL and QGIS open it directly).
// One product at a time: memory is one product's bands (and its lat/lon lookups) for the whole area.
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Feedback } from '../core/feedback.js';
import { throwIfCanceled } from '../core/feedback.js';
import { withOutputs } from '../io/outputs.js';
import { qmlPath } from '../io/qml.js';
import { readRaster, writeRaster } from '../raster/geotiff.js';
import type { Raster } from '../raster/types.js';
import { type TilePlan, tileDir } from './job.js';

/** A whole-grid GeoTIFF larger than this (all its bands) is left out; its VRT alone joins the tiles. */
export const MOSAIC_MAX_BYTES = 1 << 30;

/**
 * Copies tile rasters `file` (relative to each tile folder) into <run>/`file` and writes <run>/`file`.vrt; returns
 * the GeoTIFF, or the VRT alone when the GeoTIFF would exceed `maxBytes` in memory (a frame's multi-band coherence).
 */
export async function mosaicProduct(
  plan: TilePlan,
  file: string,
  fb: Feedback,
  maxBytes = MOSAIC_MAX_BYTES,
): Promise<string> {
  const { outW, outH } = plan;
  let full: Raster | undefined;
  const n = outW * outH;
  const out = join(plan.dir, file);
  for (const t of plan.tiles) {
    throwIfCanceled(fb);
    const part = await readRaster(join(tileDir(plan, t.index), file));
    if (!full && n * part.bands.length * 4 > maxBytes) {
      const gt = part.georef.geoTransform;
      const shape = { ...part, width: outW, height: outH, georef: { epsg: part.georef.epsg, geoTransform: gt } };
      await withOutputs(async (outs) => writeFileSync(outs.path(vrtPath(out)), vrt(plan, file, shape)), fb);
      fb.log('info', `${file}: ${outW} × ${outH} × ${part.bands.length} bands is over ${maxBytes >> 20} MiB: VRT only`);
      return vrtPath(out);
    }
    const w = t.out.c1 - t.out.c0,
      h = t.out.r1 - t.out.r0;
    if (part.width !== w || part.height !== h)
      throw new Error(`internal: tile ${t.index} ${file} is ${part.width} × ${part.height}, planned ${w} × ${h}`);
    if (!full) {
      // the first tile (top left) gives descriptions, metadata, CRS and the geotransform's origin
      const g = part.georef;
      full = {
        ...part,
        width: outW,
        height: outH,
        bands: part.bands.map(() => new Float32Array(n)),
        georef: {
          ...g,
          lat: g.lat ? new Float32Array(n) : undefined,
          lon: g.lon ? new Float32Array(n) : undefined,
        },
      };
    }
    const place = (from: Float32Array, to: Float32Array) => {
      for (let i = 0; i < h; i++) to.set(from.subarray(i * w, (i + 1) * w), (t.out.r0 + i) * outW + t.out.c0);
    };
    part.bands.forEach((b, k) => place(b, full!.bands[k]!));
    if (part.georef.lat && full.georef.lat) place(part.georef.lat, full.georef.lat);
    if (part.georef.lon && full.georef.lon) place(part.georef.lon, full.georef.lon);
  }
  if (!full) throw new Error('internal: a tile plan without tiles');
  const mosaic = full;
  await withOutputs(async (outs) => {
    await writeRaster(outs, out, mosaic, { nodata: NaN });
    writeFileSync(outs.path(vrtPath(out)), vrt(plan, file, mosaic));
  }, fb);
  // the tiles' QGIS style, when they have one
  const style = qmlPath(join(tileDir(plan, 0), file));
  if (existsSync(style)) copyFileSync(style, qmlPath(out));
  return out;
}

const vrtPath = (tif: string) => tif.replace(/\.tif$/, '.vrt');
const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A GDAL VRT of the tile files: one SimpleSource per tile and band. */
function vrt(plan: TilePlan, file: string, r: Raster): string {
  const at = dirname(join(plan.dir, file));
  const lines = [`<VRTDataset rasterXSize="${r.width}" rasterYSize="${r.height}">`];
  if (r.georef.epsg) lines.push(`  <SRS>EPSG:${r.georef.epsg}</SRS>`);
  if (r.georef.geoTransform) lines.push(`  <GeoTransform>${r.georef.geoTransform.join(', ')}</GeoTransform>`);
  r.bands.forEach((_, k) => {
    lines.push(`  <VRTRasterBand dataType="Float32" band="${k + 1}">`);
    lines.push(`    <Description>${xml(r.descriptions[k] ?? '')}</Description>`, '    <NoDataValue>nan</NoDataValue>');
    for (const t of plan.tiles) {
      const w = t.out.c1 - t.out.c0,
        h = t.out.r1 - t.out.r0;
      const src = relative(at, join(tileDir(plan, t.index), file));
      lines.push(
        '    <SimpleSource>',
        `      <SourceFilename relativeToVRT="1">${xml(src)}</SourceFilename>`,
        `      <SourceBand>${k + 1}</SourceBand>`,
        `      <SrcRect xOff="0" yOff="0" xSize="${w}" ySize="${h}"/>`,
        `      <DstRect xOff="${t.out.c0}" yOff="${t.out.r0}" xSize="${w}" ySize="${h}"/>`,
        '    </SimpleSource>',
      );
    }
    lines.push('  </VRTRasterBand>');
  });
  lines.push('</VRTDataset>', '');
  return lines.join('\n');
}
