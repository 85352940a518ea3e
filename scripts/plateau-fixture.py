#!/usr/bin/env python3
"""torch.optim.lr_scheduler.ReduceLROnPlateau's learning rates for a hand-made loss series: the expected values of
test/unet-train-plateau.test.ts, written to test/fixtures/unet/plateau.json (committed).
Run: /work/venv-torch/bin/python scripts/plateau-fixture.py"""
import json
import math
import os

import torch


def series():
    # 0..14: falls, then flat, then falls by less than the 1e-4 relative threshold (counts as no improvement),
    # then a real improvement, long plateaus (several reductions), a NaN (never better), and a rise
    s = [1.0, 0.9, 0.8, 0.8, 0.8, 0.79995, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]
    s += [0.7] + [0.70001] * 12 + [0.69995] + [0.69] + [0.7] * 25 + [math.nan] + [0.5] + [0.6] * 30
    return s


def lrs(losses, **kw):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=kw.pop('lr'))
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    out = []
    for v in losses:
        sched.step(v)
        out.append(opt.param_groups[0]['lr'])
    return out


if __name__ == '__main__':
    s = series()
    paper = dict(lr=0.01, mode='min', factor=0.1, patience=10, threshold=1e-4, threshold_mode='rel', cooldown=0,
                 min_lr=0)
    other = dict(lr=0.01, mode='min', factor=0.5, patience=2, threshold=1e-2, threshold_mode='rel', cooldown=3,
                 min_lr=0.002)
    out = {'torch': torch.__version__, 'losses': [None if math.isnan(v) else v for v in s],
           'paper': lrs(s, **paper), 'other': lrs(s, **other)}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'unet', 'plateau.json')
    with open(path, 'w') as f:
        json.dump(out, f)
        f.write('\n')
