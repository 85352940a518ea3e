// CRS handling for ground truth and chip footprints: proj4 definitions by EPSG code or WKT, and a local
// equal-area projection for geographic data (areas and area ratios in square metres, not square degrees).
import proj4 from 'proj4';
import { DpmError } from '../core/errors.js';

/** A proj4 definition for an EPSG code; WGS84 UTM zones are defined here when proj4 lacks them. */
export function epsgDef(code: number): string {
  const name = `EPSG:${code}`;
  if (proj4.defs(name)) return name;
  if ((code > 32600 && code <= 32660) || (code > 32700 && code <= 32760)) {
    const zone = code % 100;
    proj4.defs(name, `+proj=utm +zone=${zone}${code > 32700 ? ' +south' : ''} +datum=WGS84 +units=m +no_defs`);
    return name;
  }
  throw new DpmError(
    `EPSG:${code} is not a CRS this tool knows (use WGS84 EPSG:4326, a WGS84 UTM zone, or give the file a WKT .prj)`,
  );
}

/** True when the definition is longitude/latitude. */
export function isGeographic(def: string): boolean {
  try {
    const p = proj4.Proj(def) as unknown as { projName?: string; units?: string };
    return p.projName === 'longlat' || p.units === 'degrees';
  } catch {
    throw new DpmError(`cannot parse the coordinate reference system '${def.slice(0, 80)}'`);
  }
}

/** Lambert azimuthal equal-area centred on a point: areas are exact, shapes near the centre nearly so. */
export function localEqualArea(lon: number, lat: number): string {
  return `+proj=laea +lat_0=${lat} +lon_0=${lon} +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs`;
}

/** A point transformer from one definition to another (identity when equal). */
export function transformer(from: string, to: string): (p: [number, number]) => [number, number] {
  if (from === to) return (p) => p;
  const make = () => proj4(from, to);
  let conv: ReturnType<typeof make>;
  try {
    conv = make(); // proj4 parses both definitions here: a bad .prj or crs member fails now, not mid-way
  } catch (e) {
    throw new DpmError(
      `cannot transform between the coordinate systems '${from.slice(0, 100)}' and '${to.slice(0, 100)}' (${(e as Error).message ?? 'unparseable'})`,
    );
  }
  return (p) => conv.forward(p) as [number, number];
}
