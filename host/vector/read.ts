// Ground-truth building footprints from GeoJSON, ESRI Shapefile or FlatGeobuf, split into damaged / undamaged by
// one attribute (e.g. Copernicus EMS grades). Only polygons count; other geometry types are reported and skipped.
import { existsSync, readFileSync } from 'node:fs';
import { regularFileSize } from '../io/files.js';
import { extname } from 'node:path';
import * as shapefile from 'shapefile';
import { readFlatGeobufFeatures } from './fgb-decode.js';
import type { Feature, Geometry } from 'geojson';
import { asUserError, DpmError, shortText } from '../core/errors.js';
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
  /** why features (or polygons of them) were left out, with counts */
  skippedWhy?: Record<string, number>;
  /** polygons whose feature lacks the damage field (or holds null there): classed undamaged */
  withoutField?: number;
  features: number;
}

export interface RawFeatures {
  features: Feature[];
  crs: string | undefined;
}

/** largest vector file read whole (GeoJSON is parsed in memory: about 10× its size) */
const MAX_VECTOR_BYTES = 1 << 30;

async function readGeoJson(path: string, what: string): Promise<RawFeatures> {
  // what readGeoJson looks at before trusting the features
  let doc: { type?: unknown; features?: unknown; crs?: { properties?: { name?: unknown } } } | null;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    const user = asUserError(e, `${what} ${path}`);
    if (user instanceof DpmError) throw user;
    throw new DpmError(`${what} ${path}: not valid JSON (${shortText(e, 160)})`);
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
    else throw new DpmError(`${what} ${path}: unsupported "crs" member '${shortText(name, 80)}'`);
  }
  return { features, crs };
}

async function readShapefile(path: string, what: string): Promise<RawFeatures> {
  const base = path.slice(0, -extname(path).length);
  const dbf = [`${base}.dbf`, `${base}.DBF`].find((p) => existsSync(p));
  if (!dbf) throw new DpmError(`${what} ${path}: the attribute table ${base}.dbf is missing`);
  const dbfBytes = readFileSync(dbf);
  const records = checkDbf(dbf, dbfBytes, `${what} ${path}: its attribute table`);
  let fc: Awaited<ReturnType<typeof shapefile.read>>;
  try {
    fc = await shapefile.read(readFileSync(path), dbfBytes);
  } catch (e) {
    throw new DpmError(`${what} ${path}: cannot read the shapefile (${shortText(e, 160)})`);
  }
  // a record without attributes would silently change class (a damaged building read as undamaged)
  if (fc.features.length !== records)
    throw new DpmError(
      `${what} ${path}: ${fc.features.length} shapes but ${records} attribute records in ${dbf}; ` +
        'one of the files is truncated or they do not belong together',
    );
  const prj = [`${base}.prj`, `${base}.PRJ`].find((p) => existsSync(p));
  return { features: fc.features, crs: prj ? readFileSync(prj, 'utf8').trim() : undefined };
}

/** A .dbf's record count, after checking the file holds its header and every record it declares. */
function checkDbf(dbf: string, b: Buffer, what: string): number {
  const bad = (why: string): never => {
    throw new DpmError(`${what} ${dbf}: ${why}`);
  };
  if (b.length < 32) bad(`truncated: ${b.length} bytes, a dBASE header needs 32`);
  const records = b.readUInt32LE(4);
  const headerLen = b.readUInt16LE(8);
  const recordLen = b.readUInt16LE(10);
  if (headerLen < 33 || recordLen < 1) bad(`not a dBASE file (header ${headerLen} bytes, records ${recordLen} bytes)`);
  const need = headerLen + records * recordLen;
  if (b.length < need)
    bad(
      `truncated: the header declares ${records} records of ${recordLen} bytes (${need} bytes), the file has ${b.length}`,
    );
  return records;
}

const FGB_MAGIC = [0x66, 0x67, 0x62, 0x03, 0x66, 0x67, 0x62]; // "fgb" 3 "fgb" (the 8th byte is the patch level)

async function readFlatGeobuf(path: string, what: string): Promise<RawFeatures> {
  const bytes = new Uint8Array(readFileSync(path));
  // flatgeobuf.js spins forever on a file cut after its magic bytes (8 bytes: 100 % CPU, deaf to signals)
  if (bytes.length < 12 || FGB_MAGIC.some((m, i) => bytes[i] !== m))
    throw new DpmError(`${what} ${path}: not a FlatGeobuf file (no fgb v3 magic and header, ${bytes.length} bytes)`);
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  if (headerLen === 0 || 12 + headerLen > bytes.length)
    throw new DpmError(`${what} ${path}: truncated FlatGeobuf (header of ${headerLen} bytes, file of ${bytes.length})`);
  // each feature takes at least its 4-byte size prefix and a table: more than this means a decoder going round
  const { features, header } = await readFlatGeobufFeatures(bytes, `${what} ${path}`, Math.ceil(bytes.length / 8));
  const declared = Number(header?.featuresCount ?? 0);
  if (declared > 0 && declared !== features.length)
    throw new DpmError(
      `${what} ${path}: truncated FlatGeobuf (its header declares ${declared} features, ${features.length} were read)`,
    );
  let crs: string | undefined;
  if (header?.crs?.wkt) crs = header.crs.wkt;
  else if (header?.crs && header.crs.code > 0 && (header.crs.org ?? 'EPSG').toUpperCase() === 'EPSG')
    crs = epsgDef(header.crs.code);
  return { features, crs };
}

/** A feature's polygons, or why it has none we can use. Coordinates are checked, never trusted. */
export function polygonsOf(g: Geometry | null | undefined): PolygonCoords[] | string {
  if (g === null || g === undefined) return 'no geometry';
  if (typeof g !== 'object' || typeof (g as { type?: unknown }).type !== 'string') return 'invalid geometry';
  const coords = (g as { coordinates?: unknown }).coordinates;
  if (g.type === 'Polygon') return isPolygon(coords) ? [coords] : 'invalid polygon coordinates';
  if (g.type === 'MultiPolygon')
    return Array.isArray(coords) && coords.every(isPolygon)
      ? (coords as PolygonCoords[])
      : 'invalid polygon coordinates';
  return `${shortText(g.type, 40)} geometry (not a polygon)`;
}

function isPolygon(c: unknown): c is PolygonCoords {
  return (
    Array.isArray(c) &&
    c.every(
      (ring) =>
        Array.isArray(ring) &&
        ring.every((pt) => Array.isArray(pt) && pt.length >= 2 && Number.isFinite(pt[0]) && Number.isFinite(pt[1])),
    )
  );
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
  /** why features (or polygons of them) were left out, with counts */
  skippedWhy: Record<string, number>;
  features: number;
}

/** "3 no geometry, 1 invalid polygon coordinates" */
export function skippedSummary(why: Record<string, number> | undefined): string {
  return Object.entries(why ?? {})
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ');
}

/** Every feature of a GeoJSON, Shapefile or FlatGeobuf file as GeoJSON, with the CRS the file states (or none). */
export async function readFeatures(path: string, what: string): Promise<RawFeatures> {
  if (!existsSync(path)) throw new DpmError(`${what} ${path}: file not found`);
  const size = regularFileSize(path, what);
  if (size > MAX_VECTOR_BYTES)
    throw new DpmError(`${what} ${path}: ${size} bytes, more than the ${MAX_VECTOR_BYTES} read`);
  const ext = extname(path).toLowerCase();
  const raw =
    ext === '.shp'
      ? await readShapefile(path, what)
      : ext === '.fgb'
        ? await readFlatGeobuf(path, what)
        : ext === '.geojson' || ext === '.json'
          ? await readGeoJson(path, what)
          : (() => {
              throw new DpmError(`${what} ${path}: unknown vector format '${ext}' (use .geojson, .shp or .fgb)`);
            })();
  if (raw.features.length === 0) throw new DpmError(`${what} ${path}: the file holds no features`);
  return raw;
}

/** The file's CRS, or EPSG:4326 when it states none and every coordinate of its `polygons` (outer rings read)
 *  fits longitude/latitude. */
export function featuresCrs(raw: RawFeatures, polygons: PolygonCoords[], path: string, what: string): string {
  if (raw.crs) return raw.crs;
  const degrees = polygons.every((p) => (p[0] ?? []).every(([x, y]) => Math.abs(x) <= 180 && Math.abs(y) <= 90));
  if (!degrees)
    throw new DpmError(`${what} ${path}: the file states no CRS and its coordinates are not longitude/latitude`);
  return 'EPSG:4326'; // no CRS stated but every coordinate fits lon/lat: the only sensible reading
}

/** Reads the polygons of a GeoJSON, Shapefile or FlatGeobuf file; `what` names the file's role in messages. */
export async function readPolygons(path: string, what = 'truth'): Promise<VectorPolygons> {
  const raw = await readFeatures(path, what);
  const fields = new Set<string>();
  const skippedWhy: Record<string, number> = {};
  const skip = (why: string) => {
    skippedWhy[why] = (skippedWhy[why] ?? 0) + 1;
  };
  const polygons: VectorPolygons['polygons'] = [];
  for (const f of raw.features) {
    if (typeof f !== 'object' || f === null) {
      skip('not a feature object');
      continue;
    }
    const props = f.properties ?? {};
    if (typeof props !== 'object' || Array.isArray(props)) {
      skip('properties not an object');
      continue;
    }
    const properties = props as Record<string, unknown>;
    for (const k of Object.keys(properties)) fields.add(k);
    const polys = polygonsOf(f.geometry);
    if (typeof polys === 'string') {
      skip(polys);
      continue;
    }
    for (const rings of polys) {
      const [outer] = rings;
      if (!outer || outer.length < 4) {
        skip('polygon ring with fewer than 4 positions');
        continue;
      }
      polygons.push({ rings, properties });
    }
    if (polys.length === 0) skip('empty geometry');
  }
  const skipped = Object.values(skippedWhy).reduce((a, b) => a + b, 0);
  return {
    crs: featuresCrs(
      raw,
      polygons.map((p) => p.rings),
      path,
      what,
    ),
    polygons,
    fields: [...fields],
    skipped,
    skippedWhy,
    features: raw.features.length,
  };
}

/** What was read of a truth file, for reports: used footprints, what was left out and why, unclassified ones. */
export function truthAccount(t: TruthFootprints, damageField: string): string {
  const parts = [`${t.features} features → ${t.polygons.length} footprints`];
  if (t.skipped > 0) parts.push(`left out: ${skippedSummary(t.skippedWhy)}`);
  if (t.withoutField) parts.push(`${t.withoutField} without '${damageField}' (counted undamaged)`);
  return parts.join('; ');
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
    throw new DpmError(`truth ${path}: no polygon footprints (left out: ${skippedSummary(v.skippedWhy) || 'none'})`);
  if (!v.polygons.some((p) => Object.hasOwn(p.properties, damageField))) {
    throw new DpmError(
      `truth ${path}: no feature has the damage field '${damageField}' ` +
        `(fields: ${shortText(v.fields.join(', '), 200) || 'none'})`,
    );
  }
  let withoutField = 0;
  const polygons = v.polygons.map(({ rings, properties }) => {
    const value = properties[damageField];
    if (value === null || value === undefined) withoutField++;
    return { rings, damaged: value !== null && value !== undefined && wanted.has(String(value).trim().toLowerCase()) };
  });
  return {
    crs: v.crs,
    polygons,
    fields: v.fields,
    skipped: v.skipped,
    skippedWhy: v.skippedWhy,
    withoutField,
    features: v.features,
  };
}
