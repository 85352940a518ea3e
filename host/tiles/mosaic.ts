// Mosaic of the tiles' rasters: one cloud-optimized GeoTIFF on the whole area-of-interest grid (the same file an
// untiled run writes) and a GDAL VRT beside it that points at the tile files (no copy; GDAL and QGIS open it
// directly). Streamed: rows in blocks of MOSAIC_ROWS, read from the tile files that hold them (only those rows) and
// handed to a streaming COG writer, band after band; memory is a block of rows, not the area (nor a band of it).
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Feedback } from '../core/feedback.js';
import { checkpoint } from '../core/feedback.js';
import { withOutputs } from '../io/outputs.js';
import { qmlPath } from '../io/qml.js';
import {
  companionPaths,
  openRasterRows,
  type RasterRows,
  RasterRowWriter,
  type RasterShape,
  readRasterInfo,
} from '../raster/geotiff.js';
import type { Tile } from './plan.js';
import { isEmptyTile, type TilePlan, tileDir } from './job.js';
import { DpmError } from '../core/errors.js';

/** Rows per block: one row of the COG's 256 × 256 tiles. */
export const MOSAIC_ROWS = 256;

/**
 * Mosaics tile rasters `file` (relative to each tile folder) into <run>/`file` (a COG, with lat/lon companions in
 * radar geometry) and writes <run>/`file`.vrt; returns the GeoTIFF's path.
 */
export async function mosaicProduct(plan: TilePlan, file: string, fb: Feedback): Promise<string> {
  const { outW, outH } = plan;
  const out = join(plan.dir, file);
  const tilePath = (t: Tile, f = file) => join(tileDir(plan, t.index), f);
  // the first tile that has the file (top left, unless empty) gives descriptions, metadata, CRS and the geotransform
  const first = plan.tiles.find((t) => !isEmptyTile(plan, t.index) || existsSync(tilePath(t)));
  if (!first) throw new DpmError('no usable pixel in the area of interest (every tile window is empty)');
  const info = await readRasterInfo(tilePath(first));
  const g = info.georef;
  const companions = companionPaths(file);
  const radar = !g.geoTransform && existsSync(tilePath(first, companions.lat));
  const shape: RasterShape = {
    width: outW,
    height: outH,
    bandCount: info.bandCount,
    descriptions: info.descriptions,
    metadata: info.metadata,
    georef: { geoTransform: g.geoTransform, epsg: g.epsg },
  };
  const passes = info.bandCount + (radar ? 1 : 0);
  let pass = 0;
  const progress = (p: number) => (f: number, text: string) => fb.progress((100 * (p + f)) / passes, text);
  await withOutputs(async (outs) => {
    const writer = new RasterRowWriter(outs, out, shape, radar, { nodata: NaN });
    try {
      // band after band: a block of one band at a time, whatever the band count (a frame's coherence stack)
      for (let k = 0; k < info.bandCount; k++, pass++) {
        await mosaicRows(plan, [file], k, fb, progress(pass), (rows, n) => writer.write(rows, n, k));
      }
      if (radar) {
        await mosaicRows(plan, [companions.lat, companions.lon], 0, fb, progress(pass), ([lat, lon], n) =>
          writer.latLon(lat!, lon!, n),
        );
      }
      writer.finish();
    } catch (err) {
      writer.abort();
      throw err;
    }
    writeFileSync(outs.path(vrtPath(out)), vrt(plan, file, shape));
  }, fb);
  // the tiles' QGIS style, when they have one
  const style = qmlPath(tilePath(first));
  if (existsSync(style)) copyFileSync(style, qmlPath(out));
  return out;
}

/**
 * Streams band `band` of the tile files `files` (each relative to a tile folder) over the whole output grid in
 * blocks of MOSAIC_ROWS rows: `sink` gets, per file, the block's rows (outW wide) and the block's row count.
 * Tile files are opened one row of tiles at a time.
 */
async function mosaicRows(
  plan: TilePlan,
  files: string[],
  band: number,
  fb: Feedback,
  progress: (fraction: number, text: string) => void,
  sink: (rows: Float32Array[], count: number) => void,
): Promise<void> {
  const { outW, outH } = plan;
  const tileRows = [...new Set(plan.tiles.map((t) => t.out.r0))].sort((a, b) => a - b);
  const block = files.map(() => new Float32Array(MOSAIC_ROWS * outW));
  let row = 0; // rows handed to the sink
  let held = 0; // rows of the current block filled
  for (const r0 of tileRows) {
    const tiles = plan.tiles.filter((t) => t.out.r0 === r0);
    const r1 = tiles[0]?.out.r1 ?? r0;
    const open: (RasterRows | undefined)[][] = [];
    try {
      for (const t of tiles) {
        const row: (RasterRows | undefined)[] = [];
        open.push(row);
        for (const f of files) {
          const path = tileFile(plan, t, f);
          row.push(path ? await openRasterRows(path) : undefined);
        }
      }
      for (let a = r0; a < r1; ) {
        await checkpoint(fb);
        const n = Math.min(r1 - a, MOSAIC_ROWS - held);
        for (const [i, t] of tiles.entries()) {
          const w = t.out.c1 - t.out.c0;
          for (const [f, src] of (open[i] ?? []).entries()) {
            const to = block[f]!;
            if (!src) {
              for (let r = 0; r < n; r++) to.fill(NaN, (held + r) * outW + t.out.c0, (held + r) * outW + t.out.c1);
              continue;
            }
            if (src.width !== w || src.height !== r1 - r0)
              throw new Error(
                `internal: tile ${t.index} ${files[f]} is ${src.width} × ${src.height}, planned ${w} × ${r1 - r0}`,
              );
            const [part] = await src.read(a - r0, a - r0 + n, band);
            for (let r = 0; r < n; r++) to.set(part!.subarray(r * w, (r + 1) * w), (held + r) * outW + t.out.c0);
          }
        }
        held += n;
        a += n;
        if (held === MOSAIC_ROWS || row + held === outH) {
          sink(
            block.map((b) => b.subarray(0, held * outW)),
            held,
          );
          row += held;
          held = 0;
          progress(row / outH, `rows ${row}/${outH}`);
        }
      }
    } finally {
      for (const row of open) for (const src of row) await src?.close();
    }
  }
  if (row !== outH) throw new Error(`internal: the tiles' rows give ${row} of ${outH} rows`);
}

/**
 * A tile's file, or for an empty tile (no usable value in its window: only its coherence was written) where it has
 * it: lat/lon companions from its coherence's (the same grid), none for a product (NaN).
 */
function tileFile(plan: TilePlan, t: Tile, file: string): string | undefined {
  const path = join(tileDir(plan, t.index), file);
  if (existsSync(path) || !isEmptyTile(plan, t.index)) return path; // a missing file of a full tile fails loudly
  const companion = /\.(lat|lon)\.tif$/.exec(file);
  return companion ? join(tileDir(plan, t.index), `coherence_aoi.${companion[1]}.tif`) : undefined;
}

const vrtPath = (tif: string) => tif.replace(/\.tif$/, '.vrt');
const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A GDAL VRT of the tile files: one SimpleSource per tile and band. */
function vrt(plan: TilePlan, file: string, r: RasterShape): string {
  const at = dirname(join(plan.dir, file));
  const lines = [`<VRTDataset rasterXSize="${r.width}" rasterYSize="${r.height}">`];
  if (r.georef.epsg) lines.push(`  <SRS>EPSG:${r.georef.epsg}</SRS>`);
  if (r.georef.geoTransform) lines.push(`  <GeoTransform>${r.georef.geoTransform.join(', ')}</GeoTransform>`);
  for (let k = 0; k < r.bandCount; k++) {
    lines.push(`  <VRTRasterBand dataType="Float32" band="${k + 1}">`);
    lines.push(`    <Description>${xml(r.descriptions[k] ?? '')}</Description>`, '    <NoDataValue>nan</NoDataValue>');
    // an empty tile has no source: the VRT's nodata (NaN) fills it
    for (const t of plan.tiles.filter((t) => existsSync(join(tileDir(plan, t.index), file)))) {
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
  }
  lines.push('</VRTDataset>', '');
  return lines.join('\n');
}
