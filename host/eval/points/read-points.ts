// Point measurements for validation: CSV with lon/lat columns (WGS84 degrees) or GeoJSON Point features.
// Displacement columns are read as magnitudes (|value|): the paper bins offsets by size, and a right- or
// left-lateral (or up/down) sign says nothing about coherence loss. Negative values are counted and reported.
import { existsSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse } from 'csv-parse/sync';
import { asUserError, DpmError, shortText } from '../../core/errors.js';
import { regularFileSize } from '../../io/files.js';

export interface PointSet {
  source: string;
  lon: Float64Array;
  lat: Float64Array;
  /** identifier of each point (an id/name column or property, else the 1-based record number) */
  ids: string[];
  /** per requested column: |displacement|, NaN where the cell was empty (see `missing`) */
  columns: Map<string, Float64Array>;
  /** per column: how many cells were empty, and how many values were negative (taken as magnitudes) */
  empty: Map<string, number>;
  negative: Map<string, number>;
}

export type MissingPolicy = 'drop' | 'zero';

/** largest point file read (parsed in memory) */
const MAX_POINTS_BYTES = 1 << 30;

/** Reads points and the requested displacement columns; empty cells become NaN ('drop') or 0 ('zero'). */
export function readPoints(path: string, columnNames: string[], missing: MissingPolicy = 'drop'): PointSet {
  let text: string;
  if (!existsSync(path)) throw new DpmError(`--points ${path}: no such file`);
  try {
    if (regularFileSize(path, '--points') > MAX_POINTS_BYTES)
      throw new DpmError(`--points ${path}: larger than ${MAX_POINTS_BYTES} bytes; not a point file`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof DpmError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new DpmError(
      `--points ${path}: ${code === 'ENOENT' ? 'no such file' : `cannot read the file (${(e as Error).message})`}`,
    );
  }
  // a raster or other binary file: say so instead of echoing its bytes as a CSV header
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a NUL byte is how a binary file is told from a CSV
  if (/\u0000/.test(text.slice(0, 4096)))
    throw new DpmError(`--points ${path}: not a text file (expected a CSV with lon,lat columns or GeoJSON)`);
  const ext = extname(path).toLowerCase();
  const looksJson = ext === '.geojson' || ext === '.json' || /^\s*\{/.test(text);
  const rows = looksJson ? geojsonRows(path, text) : csvRows(path, text);
  if (rows.records.length === 0) throw new DpmError(`--points ${path}: no points in the file`);
  const n = rows.records.length;
  const lon = new Float64Array(n),
    lat = new Float64Array(n);
  const ids: string[] = [];
  const columns = new Map<string, Float64Array>();
  const empty = new Map<string, number>();
  const negative = new Map<string, number>();
  for (const c of columnNames) {
    if (!rows.fields.includes(c)) {
      throw new DpmError(
        `--points ${path}: no column '${c}' (--displacement); the file has: ${shortText(rows.fields.join(', '), 200) || 'none'}`,
      );
    }
    columns.set(c, new Float64Array(n));
    empty.set(c, 0);
    negative.set(c, 0);
  }
  const idField = rows.fields.find((f) => /^(id|fid|name|point_?id)$/i.test(f));
  rows.records.forEach((r, i) => {
    lon[i] = r.lon;
    lat[i] = r.lat;
    if (!(Math.abs(r.lat) <= 90 && Math.abs(r.lon) <= 360)) {
      throw new DpmError(`--points ${path}: ${r.where} has lon ${r.lon}, lat ${r.lat}, not WGS84 degrees`);
    }
    ids.push(
      idField !== undefined && r.props[idField] !== undefined && r.props[idField] !== ''
        ? String(r.props[idField])
        : String(i + 1),
    );
    for (const c of columnNames) {
      const raw = r.props[c];
      const col = columns.get(c)!;
      if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
        empty.set(c, empty.get(c)! + 1);
        col[i] = missing === 'zero' ? 0 : NaN;
        continue;
      }
      const v = typeof raw === 'number' ? raw : Number(String(raw).trim());
      if (!Number.isFinite(v))
        throw new DpmError(`--points ${path}: ${r.where}, column '${c}': '${shortText(raw, 60)}' is not a number`);
      if (v < 0) negative.set(c, negative.get(c)! + 1);
      col[i] = Math.abs(v);
    }
  });
  return { source: path, lon, lat, ids, columns, empty, negative };
}

interface RawRecord {
  lon: number;
  lat: number;
  props: Record<string, unknown>;
  where: string;
}

function geojsonRows(path: string, text: string): { fields: string[]; records: RawRecord[] } {
  let doc: { type?: string; features?: unknown[] };
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const user = asUserError(e, `--points ${path}`);
    if (user instanceof DpmError) throw user;
    throw new DpmError(`--points ${path}: not valid JSON (${shortText(e, 160)})`);
  }
  if (typeof doc !== 'object' || doc === null)
    throw new DpmError(`--points ${path}: expected a GeoJSON FeatureCollection of Point features`);
  const features =
    doc.type === 'FeatureCollection' && Array.isArray(doc.features)
      ? doc.features
      : doc.type === 'Feature'
        ? [doc]
        : undefined;
  if (!features) throw new DpmError(`--points ${path}: expected a GeoJSON FeatureCollection of Point features`);
  const fields = new Set<string>();
  const records = features.map((f, i) => {
    if (typeof f !== 'object' || f === null)
      throw new DpmError(`--points ${path}: feature ${i + 1} is not a GeoJSON Feature object`);
    const feat = f as {
      geometry?: { type?: string; coordinates?: unknown };
      properties?: Record<string, unknown> | null;
    };
    const g = feat.geometry;
    const where = `feature ${i + 1}`;
    if (g?.type !== 'Point' || !Array.isArray(g.coordinates) || g.coordinates.length < 2) {
      throw new DpmError(
        `--points ${path}: ${where} is not a Point (geometry type ${shortText(g?.type ?? 'none', 40)}); ` +
          'only Point features are supported',
      );
    }
    const [x, y] = g.coordinates as unknown[];
    if (typeof x !== 'number' || typeof y !== 'number')
      throw new DpmError(`--points ${path}: ${where} has non-numeric coordinates`);
    const props = feat.properties ?? {};
    for (const k of Object.keys(props)) fields.add(k);
    return { lon: x, lat: y, props, where };
  });
  return { fields: [...fields], records };
}

/**
 * RFC 4180 CSV through csv-parse: comma or semicolon separated (semicolon when the first line has one and no comma),
 * double-quoted fields with "" escapes, CRLF or LF, a UTF-8 BOM. Broken quoting or a row with another number of
 * fields than the header is an error naming the line (an unbalanced quote once swallowed 40 of 80 points).
 */
export function parseCsv(text: string, where = 'CSV'): string[][] {
  const firstLine = text.slice(0, Math.max(0, text.indexOf('\n')) || text.length);
  const delimiter = firstLine.includes(';') && !firstLine.includes(',') ? ';' : ',';
  try {
    return parse(text, { delimiter, bom: true, skip_empty_lines: true, relax_column_count: false }) as string[][];
  } catch (e) {
    const err = e as { code?: string; lines?: number; message?: string };
    const line = err.lines !== undefined ? `line ${err.lines}: ` : '';
    const what =
      err.code === 'CSV_QUOTE_NOT_CLOSED'
        ? 'a quoted field is never closed (unbalanced ")'
        : err.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH' || err.code === 'CSV_RECORD_DONT_MATCH_COLUMNS_LENGTH'
          ? 'a row has another number of fields than the header'
          : err.code === 'CSV_INVALID_CLOSING_QUOTE' || err.code === 'INVALID_OPENING_QUOTE'
            ? 'a quote inside an unquoted field or after a closing quote'
            : shortText(err.message ?? e, 160);
    throw new DpmError(`${where}: ${line}${what}`);
  }
}

function csvRows(path: string, text: string): { fields: string[]; records: RawRecord[] } {
  const [header, ...body] = parseCsv(text, `--points ${path}`);
  if (!header) throw new DpmError(`--points ${path}: empty file`);
  const fields = header.map((h) => h.trim());
  const find = (re: RegExp) => fields.findIndex((f) => re.test(f));
  const iLon = find(/^(lon|long|longitude)$/i);
  const iLat = find(/^(lat|latitude)$/i);
  if (iLon < 0 || iLat < 0)
    throw new DpmError(
      `--points ${path}: a CSV needs 'lon' and 'lat' columns (WGS84 degrees); ` +
        `the header has: ${shortText(fields.join(', '), 200)}`,
    );
  const records = body.map((r, k) => {
    const where = `line ${k + 2}`;
    if (r.length !== fields.length)
      throw new DpmError(`--points ${path}: ${where} has ${r.length} fields, the header has ${fields.length}`);
    // the row has as many fields as the header (checked above), so both columns are there
    const lonText = r[iLon] ?? '',
      latText = r[iLat] ?? '';
    const lon = Number(lonText),
      lat = Number(latText);
    if (!Number.isFinite(lon) || !Number.isFinite(lat) || lonText.trim() === '' || latText.trim() === '') {
      throw new DpmError(
        `--points ${path}: ${where} has no valid lon/lat ('${shortText(lonText, 40)}', '${shortText(latText, 40)}')`,
      );
    }
    const props: Record<string, unknown> = {};
    fields.forEach((f, j) => (props[f] = r[j]));
    return { lon, lat, props, where };
  });
  return { fields, records };
}
