// The authors' datasets (dpm-rnn-public): a dataset.json of named entries
//   { "NAME": { "path": "cube.npy", "shape": [rows, cols], "length": L, "event_index": E, "pre_num": P? } }
// and a .npy coherence cube of shape (rows, cols, L): band k = sequential coherence k, band E the co-event one
// (bands after it are not used, as in the authors' code), the P bands before it (default all E) pre-event.
// Input `dataset.json#NAME` selects an entry; plain `dataset.json` takes the one entry whose data file exists. A
// relative path is taken from the JSON's folder, and an absolute one that does not exist (the authors' own machine)
// from the file of that name beside the JSON. The cube has no dates: bands are labelled with 12-day steps from
// 2000-01-01 (Sentinel-1's repeat), which keeps the stack contract; the log says so.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { DpmError } from '../../core/errors.js';
import { entryKind } from '../entries.js';
import type { PairReader, PairSource } from '../pairs.js';
import { fullWindow, type Window } from '../window.js';
import { type NpyArray, readNpy } from './npy.js';

interface Entry {
  path: string;
  shape: [number, number];
  length: number;
  event_index: number;
  pre_num?: number;
}

/** `a/dataset.json#name` → the JSON file and the entry name (undefined: pick the one whose data exists). */
export function splitDatasetInput(input: string): { json: string; name?: string } {
  const m = /^(.*\.json)#([^/\\]+)$/i.exec(input);
  return m?.[1] && m[2] ? { json: m[1], name: m[2] } : { json: input };
}

function readEntries(json: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(json, 'utf8'));
  } catch (err) {
    throw new DpmError(`${json}: not valid JSON (${(err as Error).message})`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new DpmError(`${json}: not a dataset.json object`);
  return doc as Record<string, unknown>;
}

const isEntry = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && 'path' in v && 'event_index' in v;

function dataPath(json: string, path: string): string {
  if (!isAbsolute(path)) return join(dirname(json), path);
  return existsSync(path) ? path : join(dirname(json), basename(path));
}

function checkedEntry(json: string, name: string, raw: Record<string, unknown>): Entry {
  const where = `${json}#${name}`;
  const int = (key: string, v: unknown) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new DpmError(`${where}: '${key}' must be a whole number`);
    return v;
  };
  if (typeof raw.path !== 'string' || !/\.npy$/i.test(raw.path))
    throw new DpmError(`${where}: 'path' must name a .npy file`);
  const shape = raw.shape;
  if (!Array.isArray(shape) || shape.length !== 2) throw new DpmError(`${where}: 'shape' must be [rows, columns]`);
  const e: Entry = {
    path: dataPath(json, raw.path),
    shape: [int('shape', shape[0]), int('shape', shape[1])],
    length: int('length', raw.length),
    event_index: int('event_index', raw.event_index),
    ...(raw.pre_num !== undefined ? { pre_num: int('pre_num', raw.pre_num) } : {}),
  };
  if (e.event_index < 1 || e.event_index >= e.length)
    throw new DpmError(`${where}: event_index ${e.event_index} must lie in 1…${e.length - 1} (length ${e.length})`);
  if (e.pre_num !== undefined && (e.pre_num < 2 || e.pre_num > e.event_index))
    throw new DpmError(`${where}: pre_num ${e.pre_num} must lie in 2…event_index (${e.event_index})`);
  return e;
}

/** The entry an input names, or the one entry whose data file exists. */
function selectEntry(input: string): { name: string; entry: Entry; json: string } {
  const { json, name } = splitDatasetInput(input);
  const doc = readEntries(json);
  if (name !== undefined) {
    const raw = doc[name];
    if (!isEntry(raw)) throw new DpmError(`${json}: no dataset '${name}' (it has ${Object.keys(doc).join(', ')})`);
    return { name, entry: checkedEntry(json, name, raw), json };
  }
  const present = Object.entries(doc).filter(
    ([, v]) => isEntry(v) && typeof v.path === 'string' && existsSync(dataPath(json, v.path)),
  );
  const [only] = present;
  if (!only || present.length > 1) {
    throw new DpmError(
      `${json}: ${present.length === 0 ? 'no entry whose data file exists' : `${present.length} entries with data (${present.map(([n]) => n).join(', ')})`}; name one as ${json}#NAME`,
    );
  }
  const [key, raw] = only;
  if (!isEntry(raw)) throw new Error('internal: filtered entry');
  return { name: key, entry: checkedEntry(json, key, raw), json };
}

/** YYYYMMDD of 2000-01-01 + 12·k days. */
function syntheticDate(k: number): string {
  return new Date(Date.UTC(2000, 0, 1 + 12 * k)).toISOString().slice(0, 10).replace(/-/g, '');
}

const cubes = new Map<string, { cube: NpyArray; entry: Entry }>();

/** Band k of the cube (the whole cube is in memory: a window only copies less). */
function bandOf(c: { cube: NpyArray; entry: Entry }, k: number, nodata: number | undefined, window?: Window) {
  const [rows, cols] = c.entry.shape;
  const { r0, r1, c0, c1 } = window ?? fullWindow(cols, rows);
  const L = c.entry.length;
  const out = new Float32Array((r1 - r0) * (c1 - c0));
  const { data, fortranOrder } = c.cube;
  for (let r = r0; r < r1; r++) {
    for (let col = c0; col < c1; col++) {
      const v = data[fortranOrder ? r + rows * (col + cols * k) : (r * cols + col) * L + k] ?? NaN;
      out[(r - r0) * (c1 - c0) + col - c0] = v === nodata ? NaN : v;
    }
  }
  return out;
}

export const dpmDatasetReader: PairReader = {
  name: 'dpm-rnn-public dataset.json',
  accepts: (input) => {
    const { json } = splitDatasetInput(input);
    return /\.json$/i.test(json) && entryKind(json) === 'file' && Object.values(readEntries(json)).some(isEntry);
  },
  async findPairs(input, fb) {
    const { name, entry, json } = selectEntry(input);
    const file = `${json}#${name}`;
    const cube = readNpy(entry.path, `${file} (${entry.path})`);
    const want = [...entry.shape, entry.length];
    if (cube.shape.length !== 3 || cube.shape.some((s, k) => s !== want[k]))
      throw new DpmError(
        `${entry.path}: shape (${cube.shape.join(', ')}), but ${file} says (${want.join(', ')}) (rows, columns, length)`,
      );
    cubes.set(file, { cube, entry });
    const first = entry.event_index - (entry.pre_num ?? entry.event_index);
    const bands = Array.from({ length: entry.event_index - first + 1 }, (_, k) => first + k);
    fb.log(
      'info',
      `${file}: ${entry.path}, ${entry.shape[0]}×${entry.shape[1]}, bands ${first}…${entry.event_index - 1} pre-event, ` +
        `band ${entry.event_index} co-event; no dates in the dataset: labelled with 12-day steps from 2000-01-01`,
    );
    const info = {
      width: entry.shape[1],
      height: entry.shape[0],
      bandCount: entry.length,
      georef: {},
      metadata: {},
      source: file,
    };
    return bands.map(
      (band): PairSource => ({
        file,
        band,
        pair: { first: syntheticDate(band), second: syntheticDate(band + 1) },
        info,
        reader: dpmDatasetReader,
      }),
    );
  },
  async readBands(file, bands, nodata, window) {
    const c = cubes.get(file);
    if (!c) throw new Error(`internal: ${file} read before it was found`);
    return { bands: bands.map((k) => bandOf(c, k, nodata, window)), georef: {} };
  },
};
