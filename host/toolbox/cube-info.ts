// `dpm cube-info CUBE`: what a Zarr datacube holds (host/raster/zarr.ts openDatacube).
import type { Algorithm } from './algorithm.js';
import { openDatacube, type Datacube } from '../raster/zarr.js';
import { attrDate } from '../landslide/cube.js';

export function describeCube(c: Datacube): string {
  const g = c.georef.geoTransform;
  const lines = [
    `${c.source}: Zarr v${c.zarrFormat}, grid ${c.width} × ${c.height}` +
      (g ? `, origin (${g[0]}, ${g[3]}), pixel ${g[1]} × ${g[5]}` : ', no geotransform') +
      (c.georef.epsg ? `, EPSG:${c.georef.epsg}` : ', CRS unknown'),
    'variables:',
    ...c.variables.map(
      (v) =>
        `  ${v.name.padEnd(20)} (${v.dims.join(', ')}) [${v.shape.join(', ')}] ${v.dtype}` +
        (v.fill !== undefined ? `, fill ${v.fill}` : ''),
    ),
  ];
  if (c.timesteps.length) {
    lines.push(`timesteps (${c.timesteps.length}):`);
    lines.push(...c.timesteps.map((d, k) => `  ${k}: ${d}${c.orbits[k] ? ` ${c.orbits[k]}` : ''}`));
  }
  if (c.pairs.length)
    lines.push(`pairs (${c.pairs.length}): ${c.pairs.map((p) => `${p.first}_${p.second}`).join(' ')}`);
  const attrs = Object.entries(c.attrs);
  if (attrs.length) lines.push('attributes:', ...attrs.map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`));
  return lines.join('\n');
}

export const algorithm: Algorithm<'cube-info'> = {
  id: 'cube-info',
  async run(p, fb) {
    const c = await openDatacube(p.cube);
    const summary = describeCube(c);
    fb.log('info', summary);
    return {
      summary,
      timesteps: c.timesteps.length,
      pairs: c.pairs.length,
      event_date: attrDate(c.attrs.event_date) ?? '',
    };
  },
};
