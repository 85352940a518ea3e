#!/usr/bin/env python3
"""PyTorch reference outputs for the landslide U-Net (issue 18, papers/003), the yardstick of every U-Net engine.

Writes test/fixtures/unet/<case>.safetensors (float32 tensors; labels as float32 0/1 and 255 = ignored) with:
  input [B, C, H, W], labels [B, H, W], class_weights [K]
  param.<name>, buffer.<name>           initial parameters and BatchNorm buffers (named_parameters / named_buffers
                                        order, num_batches_tracked left out), after torch.manual_seed(seed)
  act.<node>, dact.<node>               every intermediate of one training-mode forward (names in NODES below) and
                                        d loss / d node
  loss [1], grad.<name>                 weighted mean cross-entropy and every parameter gradient
  after1.buffer.<name>                  BatchNorm running statistics after that one training-mode forward
  eval.logits                           eval-mode forward (running statistics after1) of the same input
  adam.loss [S]                         loss before each of S Adam steps (lr, weight decay in __metadata__) on the batch
  adam.param.<name>, adam.buffer.<name> parameters and buffers after the S steps
__metadata__: config (JSON: in_channels, classes, width, depth), lr, weight_decay, steps, seed, torch version.

Run: bench/.venv-torch/bin/python scripts/unet-fixtures.py  (any torch >= 1.13; results are committed)
"""
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

IGNORE = 255


class Block(nn.Module):
    """Two (3x3 convolution without bias, BatchNorm, ReLU)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x, nodes, name):
        x = record(nodes, f'{name}.conv1', self.conv1(x))
        x = record(nodes, f'{name}.bn1', self.bn1(x))
        x = record(nodes, f'{name}.relu1', F.relu(x))
        x = record(nodes, f'{name}.conv2', self.conv2(x))
        x = record(nodes, f'{name}.bn2', self.bn2(x))
        return record(nodes, f'{name}.relu2', F.relu(x))


class UNet(nn.Module):
    """U-Net: `depth` levels of Block + 2x2 max-pool (widths width * 2^i), a bottom Block, then per level a 2x2
    stride-2 transposed convolution, concatenation [skip, up] on channels and a Block; a 1x1 convolution head."""

    def __init__(self, in_channels, classes=2, width=16, depth=3):
        super().__init__()
        w = [width * 2**i for i in range(depth + 1)]
        self.down = nn.ModuleList([Block(in_channels if i == 0 else w[i - 1], w[i]) for i in range(depth)])
        self.bottom = Block(w[depth - 1], w[depth])
        self.up = nn.ModuleList([nn.ConvTranspose2d(w[i + 1], w[i], 2, stride=2) for i in reversed(range(depth))])
        self.dec = nn.ModuleList([Block(2 * w[i], w[i]) for i in reversed(range(depth))])
        self.head = nn.Conv2d(width, classes, 1)

    def forward(self, x, nodes=None):
        nodes = {} if nodes is None else nodes
        skips = []
        for i, block in enumerate(self.down):
            x = block(x, nodes, f'down.{i}')
            skips.append(x)
            x = record(nodes, f'pool.{i}', F.max_pool2d(x, 2))
        x = self.bottom(x, nodes, 'bottom')
        for j, (up, block) in enumerate(zip(self.up, self.dec)):
            x = record(nodes, f'up.{j}', up(x))
            x = record(nodes, f'cat.{j}', torch.cat([skips[len(skips) - 1 - j], x], dim=1))
            x = block(x, nodes, f'dec.{j}')
        return record(nodes, 'head', self.head(x))


def record(nodes, name, t):
    if t.requires_grad:
        t.retain_grad()
    nodes[name] = t
    return t


def loss_of(logits, labels, weights):
    # weighted mean over the pixels that are not ignored: sum w_y * -log p_y / sum w_y (PyTorch's definition)
    return F.cross_entropy(logits, labels, weight=weights, ignore_index=IGNORE)


def write_safetensors(path, tensors, metadata):
    header = {'__metadata__': metadata}
    blobs, offset = [], 0
    for name, t in tensors:
        data = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':'))
    text += ' ' * (-len(text) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text.encode())
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def case(name, in_channels, width, depth, batch, size, seed, steps=3, lr=0.01, weight_decay=1e-4):
    torch.manual_seed(seed)
    net = UNet(in_channels, 2, width, depth)
    x = torch.randn(batch, in_channels, size, size)
    labels = (torch.rand(batch, size, size) < 0.3).long()
    labels[torch.rand(batch, size, size) < 0.1] = IGNORE
    weights = torch.tensor([0.4, 1.6])
    out = [('input', x), ('labels', labels.float()), ('class_weights', weights)]
    out += [(f'param.{n}', p.clone()) for n, p in net.named_parameters()]
    buffers = [(n, b) for n, b in net.named_buffers() if not n.endswith('num_batches_tracked')]
    out += [(f'buffer.{n}', b.clone()) for n, b in buffers]

    net.train()
    nodes = {}
    xin = x.clone().requires_grad_(True)
    logits = net(xin, nodes)
    loss = loss_of(logits, labels, weights)
    loss.backward()
    out += [(f'act.{n}', t) for n, t in nodes.items()]
    out += [(f'dact.{n}', t.grad) for n, t in nodes.items() if t.grad is not None]
    out += [('dact.input', xin.grad), ('loss', loss.reshape(1))]
    out += [(f'grad.{n}', p.grad.clone()) for n, p in net.named_parameters()]
    out += [(f'after1.buffer.{n}', b.clone()) for n, b in buffers]
    net.eval()
    with torch.no_grad():
        out.append(('eval.logits', net(x)))

    # Adam steps from the initial state (a fresh copy of the same seed's model)
    torch.manual_seed(seed)
    net = UNet(in_channels, 2, width, depth)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        step_loss = loss_of(net(x), labels, weights)
        step_loss.backward()
        opt.step()
        losses.append(step_loss.item())
    out.append(('adam.loss', torch.tensor(losses)))
    out += [(f'adam.param.{n}', p.clone()) for n, p in net.named_parameters()]
    out += [(f'adam.buffer.{n}', b.clone()) for n, b in net.named_buffers() if not n.endswith('num_batches_tracked')]

    config = {'in_channels': in_channels, 'classes': 2, 'width': width, 'depth': depth}
    metadata = {'config': json.dumps(config), 'lr': str(lr), 'weight_decay': str(weight_decay),
                'steps': str(steps), 'seed': str(seed), 'torch': torch.__version__}
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, '..', 'test', 'fixtures', 'unet', f'{name}.safetensors')
    write_safetensors(path, out, metadata)
    print(f'{path}: {len(out)} tensors, {sum(p.numel() for p in net.parameters())} parameters', file=sys.stderr)


if __name__ == '__main__':
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    case('small', in_channels=3, width=4, depth=2, batch=2, size=16, seed=7)
    case('medium', in_channels=8, width=8, depth=3, batch=3, size=24, seed=11)
