// PyTorch rows for bench/forecaster.bench.ts: bench/torch_gru.py under every interpreter that has torch, tuned the
// way a careful user tunes a CPU run (bench/README.md): OMP_WAIT_POLICY=PASSIVE (idle OpenMP threads sleep instead of
// spinning against our own threads) and tcmalloc preloaded when installed (libgoogle-perftools4).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../host/paths.js';

export interface TorchResult {
  engine: string;
  device: string;
  train_seq_steps_per_s: number | null;
  forecast_seq_steps_per_s: number | null;
}

const TCMALLOC = ['/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4', '/usr/lib/aarch64-linux-gnu/libtcmalloc.so.4'];

/**
 * The environment a PyTorch bench runs in (bench/README.md): OMP_WAIT_POLICY=PASSIVE, and on the CPU tcmalloc
 * preloaded when installed (`tcmalloc`: whether it is). The forecaster's and the U-Net's PyTorch rows.
 */
export function torchEnv(device: 'cpu' | 'cuda'): { env: NodeJS.ProcessEnv; tcmalloc: boolean } {
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' };
  const lib = device === 'cpu' ? TCMALLOC.find((p) => existsSync(p)) : undefined;
  if (lib) env.LD_PRELOAD = [lib, env.LD_PRELOAD].filter(Boolean).join(':');
  return { env, tcmalloc: lib !== undefined };
}

/** Debian's python3-torch and the venv made by bench/setup-torch.sh (or the interpreters in $DPM_TORCH_PYTHON). */
export function torchInterpreters(): string[] {
  const fromEnv = process.env.DPM_TORCH_PYTHON;
  if (fromEnv) return fromEnv.split(':').filter(Boolean);
  return ['/usr/bin/python3', join(packageRoot, 'bench', '.venv-torch', 'bin', 'python')].filter((p) => existsSync(p));
}

export interface TorchRun {
  python: string;
  device: 'cpu' | 'cuda';
  batch: number;
  T: number;
  trainIters: number;
  forecastIters: number;
  /** torch.set_num_threads (default: every core) */
  threads?: number;
}

/** One run of torch_gru.py; an interpreter without torch (or CUDA) gives an error string instead of a result. */
export function runTorch(r: TorchRun): TorchResult | string {
  const script = join(packageRoot, 'bench', 'torch_gru.py');
  const args = [
    script,
    '--batch',
    String(r.batch),
    '--steps',
    String(r.T),
    '--device',
    r.device,
    '--train-iters',
    String(r.trainIters),
    '--forecast-iters',
    String(r.forecastIters),
    ...(r.threads === undefined ? [] : ['--threads', String(r.threads)]),
  ];
  const { env, tcmalloc } = torchEnv(r.device);
  const p = spawnSync(r.python, args, { encoding: 'utf8', env, maxBuffer: 1 << 20 });
  if (p.error) return `${r.python} could not run (${p.error.message})`;
  if (p.status !== 0) {
    if (/No module named 'torch'/.test(p.stderr)) return `${r.python} has no PyTorch`;
    return `torch_gru.py under ${r.python} failed: ${p.stderr.trim().split('\n').pop() ?? `exit ${p.status}`}`;
  }
  const last = p.stdout.trim().split('\n').pop() ?? '';
  const j = JSON.parse(last) as TorchResult;
  return { ...j, engine: `${j.engine}${tcmalloc ? ', tcmalloc' : ''}` };
}
