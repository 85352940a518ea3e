// plugin-manifest.json is the single list of algorithms: it must equal what the code registers.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  isAlgorithmId,
  loadManifest,
  PARAM_TYPES as MANIFEST_PARAM_TYPES,
  resolveParams,
  type AlgorithmSpec,
} from '../host/toolbox/manifest.js';
import { registry, loadAlgorithm } from '../host/toolbox/registry.js';
import { packageRoot } from '../host/paths.js';
import { DpmError } from '../host/core/errors.js';

const PARAM_TYPES = new Set<string>(MANIFEST_PARAM_TYPES);
const OUTPUT_TYPES = new Set(['raster', 'vector', 'file', 'folder', 'number', 'string', 'html']);

test('manifest ids equal the registered algorithms', async () => {
  const ids = loadManifest()
    .algorithms.map((a) => a.id)
    .sort();
  assert.deepEqual(ids, Object.keys(registry).sort());
  for (const id of ids) {
    assert.ok(isAlgorithmId(id), `${id}: not in params.generated.ts (npm run gen:params)`);
    assert.equal((await loadAlgorithm(id)).id, id);
  }
});

test('host/toolbox/params.generated.ts is what scripts/gen-params.mjs makes of the manifest', async () => {
  const gen = (await import(pathToFileURL(join(packageRoot, 'scripts', 'gen-params.mjs')).href)) as {
    renderParamTypes(m: unknown): string;
    generatedPath: string;
  };
  const committed = readFileSync(gen.generatedPath, 'utf8');
  assert.equal(committed, gen.renderParamTypes(loadManifest()), 'stale: run npm run gen:params');
});

test('every manifest entry is well formed', () => {
  const seen = new Set<string>();
  for (const a of loadManifest().algorithms) {
    assert.ok(!seen.has(a.id), `duplicate id ${a.id}`);
    seen.add(a.id);
    assert.match(a.id, /^[a-z][a-z0-9-]*$/, a.id);
    assert.ok(a.name && a.group && a.help, `${a.id}: name, group and help are required`);
    const names = new Set<string>();
    for (const p of a.parameters) {
      assert.ok(PARAM_TYPES.has(p.type), `${a.id}.${p.name}: unknown type ${p.type}`);
      assert.match(p.name, /^[a-z][a-z0-9-]*$/, `${a.id}.${p.name}`);
      assert.ok(!names.has(p.name), `${a.id}: duplicate parameter ${p.name}`);
      names.add(p.name);
      if (p.type === 'enum') assert.ok(p.options && p.options.length > 0, `${a.id}.${p.name}: enum without options`);
      // QGIS shows the label beside the widget: short, no CLI flag (the description explains it)
      assert.ok(p.label && p.label.length <= 50 && !p.label.includes('--'), `${a.id}.${p.name}: label '${p.label}'`);
      if (p.optionLabels) assert.equal(p.optionLabels.length, p.options?.length, `${a.id}.${p.name}: optionLabels`);
      if (p.type === 'field')
        assert.ok(
          a.parameters.some((q) => q.name === p.parent && q.type === 'vector'),
          `${a.id}.${p.name}: parent`,
        );
      if (p.default !== undefined)
        assert.doesNotThrow(() => resolveParams({ ...a, parameters: [p] }, {}), `${a.id}.${p.name} default`);
    }
    for (const o of a.outputs) assert.ok(OUTPUT_TYPES.has(o.type), `${a.id} output ${o.name}: unknown type ${o.type}`);
  }
});

test('resolveParams converts, fills defaults and rejects bad values with the parameter named', () => {
  const spec: AlgorithmSpec = {
    id: 'demo-spec',
    name: 'x',
    group: 'g',
    help: 'h',
    outputs: [],
    parameters: [
      { name: 'epochs', type: 'integer', description: 'epochs', default: 20, min: 1 },
      { name: 'lr', type: 'number', description: 'lr', default: 5e-4 },
      { name: 'mode', type: 'enum', description: 'mode', options: ['a', 'b'], default: 'a' },
      { name: 'files', type: 'file', description: 'files', multiple: true },
      { name: 'flag', type: 'boolean', description: 'f', optional: true },
    ],
  };
  assert.deepEqual(resolveParams(spec, { files: ['x.tif', 'y.tif'], mode: 1, flag: 'true' }), {
    epochs: 20,
    lr: 5e-4,
    mode: 'b',
    files: ['x.tif', 'y.tif'],
    flag: true,
  });
  // paths are verbatim: a ',' or ';' is part of the name (repeat the flag or send a JSON list for several)
  assert.deepEqual(resolveParams(spec, { files: ['a,b.tif', 'c;d.tif'] }).files, ['a,b.tif', 'c;d.tif']);
  assert.deepEqual(resolveParams(spec, { files: 'x.tif,y.tif' }).files, ['x.tif,y.tif']);
  assert.throws(() => resolveParams(spec, { files: ['a\u0000b'] }), /NUL byte/);
  assert.throws(() => resolveParams(spec, { files: [{ x: 1 }] }), /must be a text value, got \{"x":1\}/);
  assert.throws(
    () => resolveParams(spec, {}),
    (e: Error) => e instanceof DpmError && /--files/.test(e.message),
  );
  assert.throws(() => resolveParams(spec, { files: 'a', epochs: '0' }), /--epochs must be ≥ 1/);
  assert.throws(() => resolveParams(spec, { files: 'a', epochs: '2.5' }), /whole number/);
  assert.throws(() => resolveParams(spec, { files: 'a', mode: 'c' }), /one of a, b/);
  assert.throws(() => resolveParams(spec, { files: 'a', bogus: 1 }), /unknown parameter 'bogus'/);
});
