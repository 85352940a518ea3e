// Vector outputs: FlatGeobuf and GeoJSON feature collections (issue 14, `dpm buildings`).
// FlatGeobuf: flatgeobuf's own serialize takes every column type from the FIRST feature (a null there becomes a text
// column; a key it lacks is dropped), so the header is built here from the first non-null value of each attribute
// over all features, and every feature gets every attribute (null where it had none).
import type { FeatureCollection } from 'geojson';
import { magicbytes } from 'flatgeobuf/lib/mjs/constants.js';
import { buildFeature } from 'flatgeobuf/lib/mjs/generic/feature.js';
import { buildHeader, mapColumn } from 'flatgeobuf/lib/mjs/generic/featurecollection.js';
import { inferGeometryType } from 'flatgeobuf/lib/mjs/generic/header.js';
import { parseGeometry } from 'flatgeobuf/lib/mjs/geojson/geometry.js';
import type { HeaderMeta } from 'flatgeobuf/lib/mjs/header-meta.js';
import { DpmError } from '../core/errors.js';

/** The EPSG code of a proj4 definition 'EPSG:n' or of a WKT whose last AUTHORITY is EPSG; 0 when none. */
export function epsgOf(crs: string): number {
  return Number(/^EPSG:(\d+)$/i.exec(crs.trim())?.[1] ?? /AUTHORITY\["EPSG","(\d+)"\]\]\s*$/i.exec(crs)?.[1] ?? 0);
}

export function encodeFlatGeobuf(fc: FeatureCollection, crs: string, what: string): Uint8Array {
  const keys = [...new Set(fc.features.flatMap((f) => Object.keys(f.properties ?? {})))];
  const sample: Record<string, unknown> = {};
  for (const k of keys)
    sample[k] = fc.features.map((f) => f.properties?.[k]).find((v) => v !== null && v !== undefined) ?? null;
  const features = fc.features.map((f, n) => {
    if (!f.geometry || f.geometry.type === 'GeometryCollection')
      throw new DpmError(`${what}: feature ${n + 1} has no simple geometry; FlatGeobuf cannot hold it (use .geojson)`);
    return { geometry: f.geometry, properties: Object.fromEntries(keys.map((k) => [k, f.properties?.[k] ?? null])) };
  });
  const meta = {
    geometryType: inferGeometryType(features as never),
    columns: keys.map((k) => mapColumn(sample as never, k)),
    envelope: null,
    featuresCount: features.length,
    indexNodeSize: 0,
    crs: null,
    title: null,
    description: null,
    metadata: null,
  } as unknown as HeaderMeta;
  const header = buildHeader(meta, epsgOf(crs));
  const parts = features.map((f) => buildFeature(parseGeometry(f.geometry as never), f.properties as never, meta));
  const out = new Uint8Array(magicbytes.length + header.length + parts.reduce((s, p) => s + p.length, 0));
  out.set(magicbytes);
  out.set(header, magicbytes.length);
  let offset = magicbytes.length + header.length;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** GeoJSON text; a CRS other than WGS84 is named in the 2008-style "crs" member GDAL and QGIS read. */
export function encodeGeoJson(fc: FeatureCollection, crs: string): string {
  const epsg = epsgOf(crs);
  const named =
    epsg && epsg !== 4326 ? { crs: { type: 'name', properties: { name: `urn:ogc:def:crs:EPSG::${epsg}` } } } : {};
  return JSON.stringify({ ...fc, ...named });
}
