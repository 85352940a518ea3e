// A small element tree over fast-xml-parser for the XML we read (GDAL VRT, ISCE2 image headers, GDAL_METADATA).
// Why a real parser: the regular expressions it replaces were quadratic on hostile input (a 1.5 MB VRT took 27 s).
// Bounded: the text size is checked by the caller, nesting by the parser (maxNestedTags), and DOCTYPE declarations
// are refused outright (no entity is ever expanded beyond the five predefined ones).
import { XMLParser } from 'fast-xml-parser';
import { DpmError, shortText } from '../core/errors.js';

export interface XmlElement {
  name: string;
  attrs: Map<string, string>;
  children: XmlElement[];
  /** the element's own text, concatenated (child elements' text excluded) */
  text: string;
}

/** deepest element nesting accepted (GDAL writes at most ~6 levels) */
const MAX_DEPTH = 64;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: MAX_DEPTH,
});

type OrderedNode = Record<string, unknown>;

/** Parses `text` (from file `where`) into a tree under a synthetic root named ''. Errors are one short DpmError. */
export function parseXml(text: string, where: string): XmlElement {
  if (/<!DOCTYPE/i.test(text)) throw new DpmError(`${where}: XML with a DOCTYPE (entity declarations) is not read`);
  let nodes: OrderedNode[];
  try {
    nodes = parser.parse(text) as OrderedNode[];
  } catch (err) {
    throw new DpmError(`${where}: not well-formed XML (${shortText(err instanceof Error ? err.message : err)})`);
  }
  return { name: '', attrs: new Map(), children: convert(nodes), text: '' };
}

function convert(nodes: OrderedNode[]): XmlElement[] {
  const out: XmlElement[] = [];
  // iterative over siblings, recursive over depth (bounded by MAX_DEPTH)
  for (const node of nodes) {
    const name = Object.keys(node).find((k) => k !== ':@');
    if (name === undefined || name === '#text' || name.startsWith('?') || name === '#comment') continue;
    const raw = node[name];
    const kids = Array.isArray(raw) ? (raw as OrderedNode[]) : [];
    const attrs = new Map<string, string>();
    const a = node[':@'];
    if (a && typeof a === 'object') for (const [k, v] of Object.entries(a)) attrs.set(k, String(v));
    let text = '';
    for (const k of kids) if ('#text' in k) text += String(k['#text']);
    out.push({ name, attrs, children: convert(kids), text });
  }
  return out;
}

/** The first child element named `name` (case-insensitive, as GDAL reads VRT). */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  const n = name.toLowerCase();
  return el.children.find((c) => c.name.toLowerCase() === n);
}

/** Every child element whose name is one of `names` (case-insensitive), in document order. */
export function childrenNamed(el: XmlElement, ...names: string[]): XmlElement[] {
  const set = new Set(names.map((n) => n.toLowerCase()));
  return el.children.filter((c) => set.has(c.name.toLowerCase()));
}

/** Attribute `name` (case-insensitive). */
export function attrOf(el: XmlElement, name: string): string | undefined {
  const n = name.toLowerCase();
  for (const [k, v] of el.attrs) if (k.toLowerCase() === n) return v;
  return undefined;
}

/** The first element named `name` anywhere below `el` (breadth first). */
export function findDeep(el: XmlElement, name: string): XmlElement | undefined {
  const n = name.toLowerCase();
  const queue = [...el.children];
  for (let i = 0; i < queue.length; i++) {
    const e = queue[i]!;
    if (e.name.toLowerCase() === n) return e;
    queue.push(...e.children);
  }
  return undefined;
}
