// `dpm export-model` (issue 14): the state_dict file loads in PyTorch (torch.load with weights_only, then
// load_state_dict(strict=True) into a module laid out as the authors' RNN) with every value exact. Runs under each
// interpreter that has torch (Debian's python3-torch, bench/.venv-torch); skipped when there is none.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../host/paths.js';
import { initParams } from '../host/model/init.js';
import { paramLayout } from '../host/model/params.js';
import { Rng } from '../host/model/rng.js';
import { saveModel } from '../host/model/safetensors.js';

const dir = mkdtempSync(join(tmpdir(), 'dpm-export-'));
const cli = join(packageRoot, 'dist', 'host', 'cli.js');
const torchPythons = ['/usr/bin/python3', 'python3', join(packageRoot, 'bench', '.venv-torch', 'bin', 'python')].filter(
  (p) => (p.includes('/') ? existsSync(p) : true) && spawnSync(p, ['-c', 'import torch']).status === 0,
);

// the authors' RNN (rnn_model.py): module names rnn, dec_fc (Linear, ReLU ×3), dec_mean, dec_logvar
const LOAD = `
import json, sys, torch, torch.nn as nn
H, M = int(sys.argv[2]), int(sys.argv[3])
class RNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(1, H, batch_first=True)
        self.dec_fc = nn.Sequential(nn.Linear(H, M), nn.ReLU(), nn.Linear(M, M), nn.ReLU(), nn.Linear(M, M), nn.ReLU())
        self.dec_mean = nn.Linear(M, 1)
        self.dec_logvar = nn.Linear(M, 1)
sd = torch.load(sys.argv[1], weights_only=True)
m = RNN()
m.load_state_dict(sd, strict=True)
print(json.dumps({k: v.flatten().tolist() for k, v in m.state_dict().items()}))
`;

test('export-model: the state_dict loads in PyTorch (weights_only, strict) with every value exact', {
  skip: torchPythons.length ? false : 'no python3 with torch',
}, () => {
  const config = { hidden: 8, mlp: 6, features: 1 };
  const params = initParams(config, new Rng(9));
  const model = join(dir, 'model.safetensors');
  saveModel(model, config, params);
  const out = join(dir, 'model.pth');
  const r = spawnSync(process.execPath, [cli, 'export-model', '--model', model, '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /parameters: 416/); // GRU 264 + decoder 54 + 2·42 + heads 2·7
  for (const py of torchPythons) {
    const l = spawnSync(py, ['-c', LOAD, out, '8', '6'], { encoding: 'utf8' });
    assert.equal(l.status, 0, `${py}: ${l.stderr}`);
    const got: Record<string, number[]> = JSON.parse(l.stdout);
    for (const slot of paramLayout(config)) {
      const want = Array.from(params.subarray(slot.offset, slot.offset + slot.size));
      assert.deepEqual(got[slot.name], want, `${py}: ${slot.name}`);
    }
  }
});

test('export-model: a missing model is one clear error and nothing is written', () => {
  const out = join(dir, 'none.pth');
  const r = spawnSync(process.execPath, [cli, 'export-model', '--model', join(dir, 'none.safetensors'), '--out', out], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /none\.safetensors/);
  assert.ok(!existsSync(out));
});
