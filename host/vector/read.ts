// Ground-truth building footprints from GeoJSON, ESRI Shapefile or FlatGeobuf, split into damaged / undamaged by
// one attribute (e.g. Copernicus EMS grades). Only polygons count; other geometry types are reported and skipped.
import { existsSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import * as shapefile from 'shapefile';
import { deserialize } from 'flatgeobuf/lib/mjs/geojson.js';
import type { HeaderMeta } from 'flatgeobuf/lib/mjs/header-meta.js';
import type { Feature, Geometry } from 'geojson';
import { DpmError } from '../core/errors.js';
import { epsgDef } from './crs.js';

export type Ring = [number, number][];
export type PolygonCoords = Ring[];

export interface TruthFootprints {
  /** proj4 definition (EPSG:xxxx or WKT) of the coordinates */
  crs: string;
  /** one entry per polygon (multipolygons split), with the damage class of its feature */
  polygons: { rings: PolygonCoords; damaged: boolean }[];
  /** attribute names seen in the file */
  fields: string[];
  /** features whose geometry is not a polygon (skipped) or that are empty */
  skipped: number;
  features: number;
}

export interface RawFeatures {
  features: Feature[];
  crs: string | undefined;
}

async function readGeoJson(path: string, what: string): Promise<RawFeatures> {
  // what readGeoJson looks at before trusting the features
  let doc: { type?: unknown; features?: unknown; crs?: { properties?: { name?: unknown } } } | null;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new DpmError(`${what} ${path}: not valid JSON (${(e as Error).message})`);
  }
  let features: Feature[];
  if (doc?.type === 'FeatureCollection' && Array.isArray(doc.features)) features = doc.features;
  else if (doc?.type === 'Feature') features = [doc as Feature];
  else throw new DpmError(`${what} ${path}: not a GeoJSON FeatureCollection or Feature`);
  // RFC 7946 GeoJSON is WGS84; the 2008 spec allowed a named "crs" member, which QGIS and GDAL still write.
  let crs: string | undefined = 'EPSG:4326';
  const name = doc.crs?.properties?.name;
  if (typeof name === 'string') {
    const m = /EPSG:{1,2}(\d+)$/i.exec(name);
    if (m) crs = epsgDef(Number(m[1]));
    else if (/CRS84$/i.test(name)) crs = 'EPSG:4326';
    else throw new DpmError(`${what} ${path}: unsupported "crs" member '${name}'`);
  }
  return { features, crs };
}

async function readShapefile(path: string, what: string): Promise<RawFeatures> {
  const base = path.slice(0, -extname(path).length);
  const dbf = [`${base}.dbf`, `${base}.DBF`].find((p) => existsSync(p));
  if (!dbf) throw new DpmError(`${what} ${path}: the attribute table ${base}.dbf is missing`);
  let fc: Awaited<ReturnType<typeof shapefile.read>>;
  try {
    fc = await shapefile.read(readFileSync(path), readFileSync(dbf));
  } catch (e) {
    throw new DpmError(`${what} ${path}: cannot read the shapefile (${(e as Error).message})`);
  }
  const prj = [`${base}.prj`, `${base}.PRJ`].find((p) => existsSync(p));
  return { features: fc.features, crs: prj ? readFileSync(prj, 'utf8').trim() : undefined };
}

async function readFlatGeobuf(path: string, what: string): Promise<RawFeatures> {
  const features: Feature[] = [];
  let header: HeaderMeta | undefined;
  try {
    for await (const f of deserialize(new Uint8Array(readFileSync(path)), {
      headerMetaFn: (h: HeaderMeta) => {
        header = h;
      },
    })) {
      features.push(f as unknown as Feature);
    }
  } catch (e) {
    throw new DpmError(`${what} ${path}: cannot read the FlatGeobuf file (${(e as Error).message})`);
  }
  let crs: string | undefined;
  if (header?.crs?.wkt) crs = header.crs.wkt;
  else if (header?.crs && header.crs.code > 0 && (header.crs.org ?? 'EPSG').toUpperCase() === 'EPSG')
    crs = epsgDef(header.crs.code);
  return { features, crs };
}

export interface VectorPolygons {
  /** proj4 definition (EPSG:xxxx or WKT) of the coordinates */
  crs: string;
  /** one entry per polygon (multipolygons split), with its feature's attributes */
  polygons: { rings: PolygonCoords; properties: Record<string, unknown> }[];
  /** attribute names seen in the file */
  fields: string[];
  /** features whose geometry is not a polygon (skipped) or that are empty */
  skipped: number;
  features: number;
}

/** Every feature of a GeoJSON, Shapefile or FlatGeobuf file as GeoJSON, with the CRS the file states (or none). */
export async function readFeatures(path: string, what: string): Promise<RawFeatures> {
  if (!existsSync(path)) throw new DpmError(`${what} ${path}: file not found`);
  const ext = extname(path).toLowerCase();
  if (ext === '.shp') return readShapefile(path, what);
  if (ext === '.fgb') return readFlatGeobuf(path, what);
  if (ext === '.geojson' || ext === '.json') return readGeoJson(path, what);
  throw new DpmError(`${what} ${path}: unknown vector format '${ext}' (use .geojson, .shp or .fgb)`);
}

/** The polygons of a feature's geometry (a multipolygon's parts), or undefined for any other geometry. */
export function polygonsOf(g: Geometry | null | undefined): PolygonCoords[] | undefined {
  if (!g) return undefined;
  if (g.type === 'Polygon') return [g.coordinates as PolygonCoords];
  if (g.type === 'MultiPolygon') return g.coordinates as PolygonCoords[];
  return undefined;
}

/** The file's CRS, or EPSG:4326 when it states none and every coordinate fits longitude/latitude. */
export function featuresCrs(raw: RawFeatures, path: string, what: string): string {
  if (raw.crs) return raw.crs;
  const degrees = raw.features.every((f) =>
    (polygonsOf(f.geometry) ?? []).every((p) =>
      (p[0] ?? []).every(([x, y]) => Math.abs(x) <= 180 && Math.abs(y) <= 90),
    ),
  );
  if (!degrees)
    throw new DpmError(`${what} ${path}: the file states no CRS and its coordinates are not longitude/latitude`);
  return 'EPSG:4326'; // no CRS stated but every coordinate fits lon/lat: the only sensible reading
}

/** Reads the polygons of a GeoJSON, Shapefile or FlatGeobuf file; `what` names the file's role in messages. */
export async function readPolygons(path: string, what = 'truth'): Promise<VectorPolygons> {
  const raw = await readFeatures(path, what);
  const fields = new Set<string>();
  let skipped = 0;
  const polygons: VectorPolygons['polygons'] = [];
  for (const f of raw.features) {
    const properties = (f.properties ?? {}) as Record<string, unknown>;
    for (const k of Object.keys(properties)) fields.add(k);
    const polys = polygonsOf(f.geometry);
    if (!polys) {
      skipped++;
      continue;
    }
    for (const rings of polys) {
      const [outer] = rings;
      if (!outer || outer.length < 4) continue;
      polygons.push({ rings, properties });
    }
  }
  if (raw.features.length === 0) throw new DpmError(`${what} ${path}: the file holds no features`);
  return { crs: featuresCrs(raw, path, what), polygons, fields: [...fields], skipped, features: raw.features.length };
}

/** Reads footprints and classes them: a feature is damaged when String(its field value) is one of `damagedValues`
 *  (compared trimmed and case-insensitively). A field no feature has, or an unreadable file, is a DpmError. */
export async function readTruthVector(
  path: string,
  damageField: string,
  damagedValues: string[],
): Promise<TruthFootprints> {
  const wanted = new Set(damagedValues.map((v) => v.trim().toLowerCase()));
  if (wanted.size === 0)
    throw new DpmError('--damaged-values is empty: name the attribute values that count as damaged');
  const v = await readPolygons(path, 'truth');
  if (v.polygons.length === 0)
    throw new DpmError(`truth ${path}: no polygon footprints (${v.skipped} features of other geometry types)`);
  if (!v.polygons.some((p) => Object.hasOwn(p.properties, damageField))) {
    throw new DpmError(
      `truth ${path}: no feature has the damage field '${damageField}' (fields: ${v.fields.join(', ') || 'none'})`,
    );
  }
  const polygons = v.polygons.map(({ rings, properties }) => {
    const value = properties[damageField];
    return { rings, damaged: value !== null && value !== undefined && wanted.has(String(value).trim().toLowerCase()) };
  });
  return { crs: v.crs, polygons, fields: v.fields, skipped: v.skipped, features: v.features };
}
