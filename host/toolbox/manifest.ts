// plugin-manifest.json is the single list of algorithms: the CLI and the QGIS provider are both built from it.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { manifestPath } from '../paths.js';
import { DpmError, shortText } from '../core/errors.js';
import { ALGORITHM_IDS, type AlgorithmId, type AlgorithmParams } from './params.generated.js';

/** every parameter type the manifest may use (the CLI, the worker and the QGIS plugin map each one) */
export const PARAM_TYPES = [
  'raster',
  'vector',
  'file',
  'folder',
  'number',
  'integer',
  'enum',
  'boolean',
  'string',
  /** a calendar day: YYYYMMDD on the CLI (YYYY-MM-DD accepted), a date widget in QGIS */
  'date',
  /** an attribute of the vector parameter named by `parent`: a field picker in QGIS */
  'field',
  'extent',
  'rasterDestination',
  'vectorDestination',
  'fileDestination',
  'folderDestination',
] as const;
export type ParamType = (typeof PARAM_TYPES)[number];

export interface ParamSpec {
  /** kebab-case; the CLI flag is --<name>, the QGIS parameter name is the same with '-' → '_' upper-cased. */
  name: string;
  type: ParamType;
  /** what QGIS shows beside the widget: short (≤ 50 characters), no CLI flag; `description` explains it */
  label?: string;
  /** the explanation: CLI --help, and the QGIS help panel (there with every --flag written as its label) */
  description: string;
  default?: unknown;
  min?: number;
  max?: number;
  optional?: boolean;
  /** enum choices */
  options?: string[];
  /** enum: what QGIS shows for each option (same order as `options`) */
  optionLabels?: string[];
  /** field: the vector parameter whose attributes it picks from */
  parent?: string;
  /** raster/file list: a folder (of dated single-pair files) is accepted too */
  folders?: boolean;
  /** file: a state the algorithm advances (monitor-update's state): not protected as an input, replaced atomically */
  updatedInPlace?: boolean;
  /** enum: old names still accepted, e.g. {"hardware": "gpu"} */
  aliases?: Record<string, string>;
  /** an environment variable that gives the value when none is passed (read by the CLI and the worker only) */
  env?: string;
  /** several values: comma-separated on the CLI, a multi-layer / list in QGIS */
  multiple?: boolean;
  /** shown under "Advanced parameters" in QGIS */
  advanced?: boolean;
  /** file filter for file parameters, e.g. "safetensors" */
  extension?: string;
}

export interface OutputSpec {
  name: string;
  type: 'raster' | 'vector' | 'file' | 'folder' | 'number' | 'string' | 'html';
  description: string;
}

export interface AlgorithmSpec {
  id: string;
  name: string;
  group: string;
  help: string;
  parameters: ParamSpec[];
  outputs: OutputSpec[];
}

export interface Manifest {
  provider: { id: string; name: string; version: string };
  algorithms: AlgorithmSpec[];
}

let cached: Manifest | undefined;
export function loadManifest(): Manifest {
  cached ??= JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  return cached;
}

export function isAlgorithmId(id: string): id is AlgorithmId {
  return (ALGORITHM_IDS as readonly string[]).includes(id);
}

export function algorithmSpec(id: string): AlgorithmSpec {
  const spec = loadManifest().algorithms.find((a) => a.id === id);
  if (!spec) throw new DpmError(`unknown algorithm '${id}'`);
  return spec;
}

/**
 * Checks and converts raw values (CLI strings, JSON from QGIS, typed inputs) against the manifest of algorithm `id`;
 * fills defaults. The result has the type params.generated.ts derives from the same manifest entry.
 */
export function resolveAlgorithmParams<Id extends AlgorithmId>(
  id: Id,
  raw: Record<string, unknown>,
): AlgorithmParams[Id] {
  // the one place where checked values meet their static type: convert() made each value what the manifest says
  return resolveParams(algorithmSpec(id), raw) as unknown as AlgorithmParams[Id];
}

/** `raw` with the values of parameters that name an env variable filled from it where not given (CLI, worker) */
export function paramsFromEnv(spec: AlgorithmSpec, raw: Record<string, unknown>): Record<string, unknown> {
  const out = { ...raw };
  for (const p of spec.parameters) {
    const v = p.env !== undefined ? process.env[p.env] : undefined;
    if (v !== undefined && v !== '' && (out[p.name] === undefined || out[p.name] === null || out[p.name] === ''))
      out[p.name] = v;
  }
  return out;
}

/** Checks and converts raw values (CLI strings, JSON from QGIS) against the manifest; fills defaults. */
export function resolveParams(spec: AlgorithmSpec, raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const known = new Set(spec.parameters.map((p) => p.name));
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) throw new DpmError(`${spec.id}: unknown parameter '${shortText(key, 80)}'`);
  }
  for (const p of spec.parameters) {
    let v = raw[p.name];
    if (v === undefined || v === null || v === '') {
      if (p.default !== undefined) v = p.default;
      else if (p.optional) continue;
      else throw new DpmError(`${spec.id}: missing required parameter --${p.name} (${p.description})`);
    }
    out[p.name] = p.multiple
      ? toList(v, PATH_TYPES.has(p.type)).map((x) => convert(spec.id, p, x))
      : convert(spec.id, p, v);
  }
  checkDestinations(spec, out);
  return out;
}

/**
 * Output paths are checked before any work: a folder where a file goes (or a file where a folder goes), a raster
 * output that is not named .tif/.tiff (only GeoTIFF is written), two outputs on one path.
 */
function checkDestinations(spec: AlgorithmSpec, values: Record<string, unknown>): void {
  const seen = new Map<string, string>();
  for (const p of spec.parameters) {
    const v = values[p.name];
    if (typeof v !== 'string' || !p.type.endsWith('Destination')) continue;
    const where = `${spec.id}: --${p.name} ${v}`;
    const isDir = existsSync(v) && statSync(v).isDirectory();
    if (p.type === 'folderDestination') {
      if (existsSync(v) && !isDir) throw new DpmError(`${where} exists and is not a folder`);
    } else {
      if (isDir) throw new DpmError(`${where} is a folder; give a file name`);
      if (p.type === 'rasterDestination' && !/\.tiff?$/i.test(v)) {
        throw new DpmError(`${where}: the output is a GeoTIFF; give a name ending in .tif`);
      }
    }
    const key = resolve(v);
    const other = seen.get(key);
    if (other) throw new DpmError(`${where}: the same path as --${other}; give each output its own path`);
    seen.set(key, p.name);
  }
}

/** Parameter types whose values are paths: taken verbatim (a path may hold ',' or ';'), never split. */
const PATH_TYPES = new Set<ParamType>(['raster', 'vector', 'file', 'folder']);

/**
 * A list parameter's values. Paths are verbatim: one per element of a JSON array or per repeated CLI flag. Other
 * lists (numbers, names) may also be given as one ','/';'-separated string.
 */
function toList(v: unknown, verbatim: boolean): unknown[] {
  if (Array.isArray(v)) return v.flatMap((x) => toList(x, verbatim));
  if (typeof v === 'string' && verbatim) return v === '' ? [] : [v];
  if (typeof v === 'string')
    return v
      .split(/[,;]/)
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  return [v];
}

function convert(alg: string, p: ParamSpec, v: unknown): unknown {
  const where = `${alg}: --${p.name}`;
  switch (p.type) {
    case 'number':
    case 'integer': {
      const n = typeof v === 'number' ? v : Number(String(v).trim());
      // the CLI parser turns a non-numeric word into NaN before it gets here: the word itself is gone
      if (!Number.isFinite(n))
        throw new DpmError(`${where} must be a number${Number.isNaN(v) ? '' : `, got '${shortText(v, 80)}'`}`);
      if (p.type === 'integer' && !Number.isInteger(n)) throw new DpmError(`${where} must be a whole number, got ${n}`);
      if (p.min !== undefined && n < p.min) throw new DpmError(`${where} must be ≥ ${p.min}, got ${n}`);
      if (p.max !== undefined && n > p.max) throw new DpmError(`${where} must be ≤ ${p.max}, got ${n}`);
      return n;
    }
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (/^(true|1|yes)$/i.test(String(v))) return true;
      if (/^(false|0|no)$/i.test(String(v))) return false;
      throw new DpmError(`${where} must be true or false, got '${shortText(v, 80)}'`);
    case 'enum': {
      const s = String(v);
      // QGIS sends enum values as indices
      const byIndex = typeof v === 'number' ? p.options?.[v] : undefined;
      const choice = byIndex ?? p.aliases?.[s] ?? s;
      if (!p.options?.includes(choice))
        throw new DpmError(`${where} must be one of ${p.options?.join(', ')}, got '${shortText(s, 80)}'`);
      return choice;
    }
    case 'date': {
      const s = String(v).trim();
      // QGIS's date widget sends ISO dates; the CLI and the rest of the code use YYYYMMDD
      const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(s);
      if (!m) throw new DpmError(`${where} must be a date YYYYMMDD (or YYYY-MM-DD), got '${s}'`);
      return `${m[1]}${m[2]}${m[3]}`;
    }
    default: {
      if (typeof v === 'object' && v !== null)
        throw new DpmError(`${where} must be a text value, got ${shortText(v, 80)}`);
      const s = String(v);
      if (s.includes('\0')) throw new DpmError(`${where}: ${JSON.stringify(shortText(s, 80))} contains a NUL byte`);
      return s;
    }
  }
}
