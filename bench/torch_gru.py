#!/usr/bin/python3
"""The forecaster of insar-dpm in PyTorch, for bench/forecaster.bench.ts: the same model (nn.GRU(F, H) -> 3 x
(Linear + ReLU) -> Linear(M, 1) mu and logvar heads), the same alignment (training decodes h_0..h_{T-1}, forecast
h_0..h_T), loss (sum over batch and steps of 0.5 (log 2 pi + logvar + (x - mu)^2 e^-logvar)), clip_grad_norm_(10)
and Adam(lr 5e-4) as the authors' code and ../shared/fixtures/generator/model.py.

Prints one JSON object: train and forecast throughput in sequence-steps per second (B * T per step or call).
  /usr/bin/python3 bench/torch_gru.py --batch 256 --steps 48              # Debian's PyTorch, CPU
  bench/.venv-torch/bin/python bench/torch_gru.py --device cuda           # a CUDA build on a GPU machine (cuDNN GRU)
--train-iters 0 skips training (forecast only). On CUDA every timed region ends with torch.cuda.synchronize().
"""
import argparse
import json
import math
import os
import time

import torch
import torch.nn as nn

LOG_2PI = math.log(2.0 * math.pi)


class Forecaster(nn.Module):
    def __init__(self, hidden, mlp, features):
        super().__init__()
        self.hidden = hidden
        self.gru = nn.GRU(input_size=features, hidden_size=hidden, num_layers=1, bias=True, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(hidden, mlp), nn.ReLU(), nn.Linear(mlp, mlp), nn.ReLU(),
                                 nn.Linear(mlp, mlp), nn.ReLU())
        self.mu_head = nn.Linear(mlp, 1)
        self.logvar_head = nn.Linear(mlp, 1)

    def forward(self, x, forecast=False):
        B = x.shape[0]
        h, _ = self.gru(x)
        dec_in = torch.cat([h.new_zeros(B, 1, self.hidden), h], dim=1)
        if not forecast:
            dec_in = dec_in[:, :-1]
        feat = self.mlp(dec_in)
        return self.mu_head(feat).squeeze(-1), self.logvar_head(feat).squeeze(-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--hidden', type=int, default=256)
    ap.add_argument('--mlp', type=int, default=128)
    ap.add_argument('--features', type=int, default=1)
    ap.add_argument('--batch', type=int, default=256)
    ap.add_argument('--steps', type=int, default=48, help='sequence length T')
    ap.add_argument('--train-iters', type=int, default=5)
    ap.add_argument('--forecast-iters', type=int, default=5)
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    ap.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    ap.add_argument('--seed', type=int, default=128)
    a = ap.parse_args()
    if a.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('torch_gru.py: --device cuda but this PyTorch sees no CUDA device')
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    dev = torch.device(a.device)
    model = Forecaster(a.hidden, a.mlp, a.features).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=5e-4, betas=(0.9, 0.999), eps=1e-8)
    B, T, F = a.batch, a.steps, a.features
    x = (torch.randn(B, T, F) * 1.5 + 1.0).to(dev)

    def sync():
        if dev.type == 'cuda':
            torch.cuda.synchronize()

    def train_step():
        opt.zero_grad()
        mu, logvar = model(x)
        target = x[:, :, 0]
        loss = (0.5 * (LOG_2PI + logvar + (target - mu) ** 2 * torch.exp(-logvar))).sum()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
        opt.step()

    def forecast():
        with torch.no_grad():
            model(x, forecast=True)

    def timed(fn, iters):
        # the fastest of `iters` calls after a warm-up (cuDNN plans, allocator): on a shared machine load only ever
        # slows a call down, so the minimum is the least disturbed figure (bench/forecaster.bench.ts times alike)
        if iters <= 0:
            return None
        fn()
        sync()
        best = math.inf
        for _ in range(iters):
            t0 = time.perf_counter()
            fn()
            sync()
            best = min(best, time.perf_counter() - t0)
        return best

    t_train = timed(train_step, a.train_iters)
    t_fc = timed(forecast, a.forecast_iters)
    name = torch.cuda.get_device_name() if dev.type == 'cuda' else f'cpu, {a.threads} threads'
    extra = ' + cuDNN' if dev.type == 'cuda' and torch.backends.cudnn.is_available() else ''
    print(json.dumps({
        'engine': f'pytorch {torch.__version__}{extra}',
        'device': name,
        'params': sum(p.numel() for p in model.parameters()),
        'batch': B, 'T': T,
        'train_s_per_step': t_train, 'forecast_s_per_call': t_fc,
        'train_seq_steps_per_s': None if t_train is None else B * T / t_train,
        'forecast_seq_steps_per_s': None if t_fc is None else B * T / t_fc,
    }))


if __name__ == '__main__':
    main()
