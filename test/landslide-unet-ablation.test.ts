// The ablation's files (host/landslide/ablation.ts) from known rows, and `dpm landslide-ablation` end to end on a small
// simulated cube with a tiny U-Net (every input set × passes, the unsupervised maps
// on the same test blocks, table, plot and models).
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentFeedback } from '../host/core/feedback.js';
import { ablationChartSpec, ablationCsv, ablationMarkdown, type AblationRow } from '../host/landslide/ablation.js';
import { ABLATION_SETS } from '../host/landslide/chips.js';
import { loadLandslideCube } from '../host/landslide/cube.js';
import { blockSplit } from '../host/landslide/evaluate.js';
import { decodeInputs, INPUTS_METADATA_KEY } from '../host/landslide/unet.js';
import { METHODS } from '../host/landslide/scores.js';
import { loadUNetModel } from '../host/model/unet/model-file.js';
import { execute } from '../host/toolbox/execute.js';
import { writeLandslideCube } from '../host/sar/simulate/landslide.js';

const rows: AblationRow[] = [
  { kind: 'unet', name: 'VV', passes: 1, auprcTest: 0.41234, prAucTest: 0.4, prevalenceTest: 0.08, bestEpoch: 3 },
  { kind: 'unet', name: 'VV', passes: 2, auprcTest: 0.5, prAucTest: 0.49, prevalenceTest: 0.08, trainChips: 7 },
  { kind: 'unet', name: 'VV+VH+DEM', passes: 1, auprcTest: NaN, prAucTest: NaN, prevalenceTest: 0.08 },
  { kind: 'unsupervised', name: 'log_ratio', passes: 2, auprcTest: 0.2, prAucTest: 0.19, prevalenceTest: 0.08 },
];

test('ablation table, markdown and chart from known rows', () => {
  const csv = ablationCsv(rows).trim().split('\n');
  assert.equal(
    csv[0],
    'kind,name,passes,auprc_test,pr_auc_test,prevalence_test,best_epoch,validation_loss,train_chips',
  );
  assert.equal(csv[1], 'unet,VV,1,0.4123,0.4,0.08,3,,');
  assert.equal(csv[2], 'unet,VV,2,0.5,0.49,0.08,,,7');
  assert.equal(csv[3], 'unet,VV+VH+DEM,1,,,0.08,,,'); // NaN left empty
  assert.equal(csv.length, 5);
  const md = ablationMarkdown(rows, ['# title']);
  assert.match(md, /landslide share, 0\.080/);
  assert.match(md, /\| inputs \| 1 \| 2 \|/);
  assert.match(md, /\| VV \| 0\.412 \| 0\.500 \|/);
  assert.match(md, /\| VV\+VH\+DEM \| — \| — \|/);
  assert.match(md, /\| log_ratio \| — \| 0\.200 \|/);
  const spec = ablationChartSpec(rows, 't') as { layer: { data: { values: { name: string; kind: string }[] } }[] };
  const values = spec.layer[0]!.data.values;
  assert.equal(values.length, 3); // the NaN cell is not drawn
  assert.deepEqual(
    values.map((v) => [v.name, v.kind]),
    [
      ['U-Net VV', 'U-Net'],
      ['U-Net VV', 'U-Net'],
      ['log_ratio', 'unsupervised'],
    ],
  );
  assert.equal(spec.layer.length, 2); // + the landslide share
});

interface CsvRow {
  kind: string;
  name: string;
  passes: number;
  auprc: number;
  prevalence: number;
}

test('dpm landslide-ablation: every input set × passes, unsupervised maps on the same test blocks', async () => {
  const root = mkdtempSync(join(tmpdir(), 'dpm-unet-ablation-'));
  // 64 × 64 px, 12 passes (event after pass 5: 6 before, 6 after): 16 blocks of 16 px
  const sim = await writeLandslideCube(
    { width: 64, height: 64, dates: 12, seed: 3 },
    join(root, 'sim'),
    silentFeedback,
  );
  const out = join(root, 'ablation');
  const r = await execute(
    'landslide-ablation',
    {
      cube: sim.cube,
      'out-dir': out,
      chip: 16,
      width: 2,
      depth: 1,
      epochs: 1,
      'batch-size': 4,
      device: 'cpu', // the GRU of the unsupervised maps on WebAssembly; the U-Net on what createUNetEngine gives
      'test-fraction': 0.3,
    },
    silentFeedback,
  );
  const lines = readFileSync(join(out, 'ablation.csv'), 'utf8').trim().split('\n').slice(1);
  const table: CsvRow[] = lines.map((l) => {
    const [kind = '', name = '', passes = '', auprc = '', , prevalence = ''] = l.split(',');
    return { kind, name, passes: Number(passes), auprc: Number(auprc), prevalence: Number(prevalence) };
  });
  const unet = table.filter((t) => t.kind === 'unet');
  assert.deepEqual(
    unet.map((t) => `${t.name}/${t.passes}`),
    ABLATION_SETS.flatMap((s) => [1, 2, 3, 4].map((n) => `${s.name}/${n}`)),
  );
  for (const t of unet) assert.ok(t.auprc > 0 && t.auprc <= 1, `${t.name}/${t.passes}: ${t.auprc}`);
  for (const m of METHODS)
    for (const n of [1, 2, 3, 4])
      assert.ok(
        table.some((t) => t.kind === 'unsupervised' && t.name === m.name && t.passes === n),
        `${m.name}/${n}`,
      );
  // the test blocks are dpm landslide's (block 16 = chip, seed 128): same landslide share for every row
  const { cube } = await loadLandslideCube(sim.cube);
  const test = blockSplit(64, 64, 16, 0.3, 128).test;
  let pos = 0,
    n = 0;
  for (let i = 0; i < test.length; i++)
    if (test[i]) {
      pos += cube.landslides![i]!;
      n++;
    }
  for (const t of table) assert.ok(Math.abs(t.prevalence - pos / n) < 1e-4, `${t.name}: ${t.prevalence} vs ${pos / n}`);
  assert.ok(Math.abs(Number(r.prevalence) - unet[0]!.prevalence) < 1e-4); // the CSV has 4 decimals
  for (const f of ['ablation.md', 'ablation.svg', 'ablation.png']) assert.ok(existsSync(join(out, f)), f);
  const model = loadUNetModel(join(out, 'models', 'VV_VH_DEM_3.safetensors'));
  const inputs = decodeInputs(model.metadata[INPUTS_METADATA_KEY], 'model');
  assert.deepEqual(inputs.sources, ['vv', 'vh', 'dem']);
  assert.equal(inputs.passes, 3);
  assert.equal(model.config.inChannels, 8);
});
