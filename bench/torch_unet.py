#!/usr/bin/python3
"""The landslide U-Net of insar-dpm in PyTorch, for bench/unet.bench.ts: the UNet class of scripts/unet-fixtures.py
(the fixtures' definition), weighted cross-entropy with ignore_index 255 and torch.optim.Adam(lr 0.01,
weight_decay 1e-4) as docs/unet.md. Times training steps (zero_grad, forward, loss, backward, Adam) on one batch of
random chips: one warm-up step, then the fastest of --iters.

Prints one JSON object: {"engine", "threads", "ms_per_step", "images_per_s"}.
  /usr/bin/python3 bench/torch_unet.py --batch 8 --size 128 --width 16 --depth 3 --in-channels 4 [--device cuda]
"""
import argparse
import importlib.util
import json
import os
import time

import torch


def load_unet_module():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, '..', 'scripts', 'unet-fixtures.py')
    spec = importlib.util.spec_from_file_location('unet_fixtures', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    # the fixtures' forward records every intermediate with retain_grad(); a training run keeps none of them
    mod.record = lambda nodes, name, t: t
    return mod


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--size', type=int, default=128)
    ap.add_argument('--width', type=int, default=16)
    ap.add_argument('--depth', type=int, default=3)
    ap.add_argument('--in-channels', type=int, default=4)
    ap.add_argument('--iters', type=int, default=3)
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    ap.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    a = ap.parse_args()
    if a.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('this torch has no CUDA device')
    dev = torch.device(a.device)
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    uf = load_unet_module()
    net = uf.UNet(a.in_channels, 2, a.width, a.depth).to(dev)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=1e-4)
    x = torch.randn(a.batch, a.in_channels, a.size, a.size)
    labels = (torch.rand(a.batch, a.size, a.size) < 0.3).long()
    labels[torch.rand(a.batch, a.size, a.size) < 0.1] = uf.IGNORE
    weights = torch.tensor([0.4, 1.6])
    x, labels, weights = x.to(dev), labels.to(dev), weights.to(dev)

    def sync():
        # CUDA runs asynchronously: a step is over when the device is done
        if a.device == 'cuda':
            torch.cuda.synchronize()

    def step():
        opt.zero_grad()
        loss = uf.loss_of(net(x), labels, weights)
        loss.backward()
        opt.step()

    step()
    best = float('inf')
    for _ in range(a.iters):
        sync()
        t = time.perf_counter()
        step()
        sync()
        best = min(best, time.perf_counter() - t)
    name = 'CPU' if a.device == 'cpu' else f'CUDA {torch.cuda.get_device_name()}'
    print(json.dumps({'engine': f'PyTorch {torch.__version__} {name}', 'threads': a.threads,
                      'ms_per_step': best * 1e3, 'images_per_s': a.batch / best}))


if __name__ == '__main__':
    main()
