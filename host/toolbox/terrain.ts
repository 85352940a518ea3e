// `dpm terrain --dem DEM.tif --out-dir O`: slope, aspect and curvature on the DEM grid (host/raster/terrain.ts).
import { join } from 'node:path';
import type { Algorithm } from './algorithm.js';
import { DpmError } from '../core/errors.js';
import { withOutputs } from '../io/outputs.js';
import { readRaster, writeGeoTiff } from '../raster/geotiff.js';
import { terrain } from '../raster/terrain.js';
import type { Raster } from '../raster/types.js';
import { openDatacube } from '../raster/zarr.js';

async function demOf(p: { dem?: string; cube?: string }): Promise<Raster> {
  if ((p.dem === undefined) === (p.cube === undefined)) throw new DpmError('give exactly one of --dem or --cube');
  if (p.dem !== undefined) return { ...(await readRaster(p.dem)), source: p.dem };
  const c = await openDatacube(p.cube!);
  if (!c.has('dem')) throw new DpmError(`${p.cube}: no dem variable`);
  const dem = await c.readGrid('dem');
  return { width: c.width, height: c.height, bands: [dem], descriptions: ['dem'], georef: c.georef, source: p.cube };
}

export const algorithm: Algorithm<'terrain'> = {
  id: 'terrain',
  async run(p, fb) {
    const dem = await demOf(p);
    const t = terrain(dem);
    const dir = p['out-dir'];
    const files = {
      slope: [t.slope, 'slope, degrees (Horn)'],
      aspect: [t.aspect, 'aspect, degrees clockwise from north, downslope'],
      curvature: [t.curvature, 'curvature, 1/m, positive = convex'],
    } as const;
    const out: Record<string, string> = {};
    await withOutputs(async (outs) => {
      for (const [name, [band, what]] of Object.entries(files)) {
        const path = join(dir, `${name}.tif`);
        const raster = {
          width: dem.width,
          height: dem.height,
          bands: [band],
          descriptions: [what],
          georef: dem.georef,
        };
        await writeGeoTiff(outs.path(path), raster);
        out[name] = path;
      }
    }, fb);
    fb.log('info', `slope, aspect and curvature of ${dem.source} (${dem.width} × ${dem.height}) in ${dir}`);
    return out;
  },
};
