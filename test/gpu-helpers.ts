// Helpers for the GPU engine tests: reading the shared PyTorch fixtures (../shared/fixtures, README there) and the
// error measure of the tolerance guidance (max |a − b| over max |b|, per tensor).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedRoot } from '../host/paths.js';
import { paramLayout, paramCount, type ModelConfig } from '../host/model/params.js';
import { PLAN_NAMES, type PlanName } from '../host/gpu/ops/plan.js';
import type { Rng } from '../host/model/rng.js';

export const fixturesRoot = join(sharedRoot, 'fixtures');

interface TensorJson {
  shape: number[];
  data: number[];
}
interface FixtureFile {
  scalars?: Record<string, number>;
  tensors: Record<string, TensorJson>;
  forecast?: { tensors: Record<string, TensorJson> };
}

export function readFixture(cfg: string, file: string): FixtureFile {
  return JSON.parse(readFileSync(join(fixturesRoot, cfg, file), 'utf8')) as FixtureFile;
}

/** f32 fixture numbers decode exactly with Math.fround (fixtures README) */
export const f32 = (a: number[]): Float32Array => Float32Array.from(a, (v) => Math.fround(v));

export function fixtureConfig(cfg: string): { config: ModelConfig; T: number; B: number } {
  const m = JSON.parse(readFileSync(join(fixturesRoot, 'manifest.json'), 'utf8')).configs[cfg];
  const input = readFixture(cfg, 'input.json');
  const [B, T] = input.tensors.x!.shape as [number, number];
  return { config: { hidden: m.hidden, mlp: m.mlp, features: 1 }, T, B };
}

/** a fixture parameter file packed in host/model/params.ts order */
export function packParams(config: ModelConfig, file: FixtureFile): Float32Array {
  const out = new Float32Array(paramCount(config));
  for (const slot of paramLayout(config)) {
    const t = file.tensors[slot.fixtureName];
    if (!t || t.data.length !== slot.size)
      throw new Error(`fixture tensor ${slot.fixtureName} missing or of the wrong size`);
    out.set(f32(t.data), slot.offset);
  }
  return out;
}

/** max |a − b| / max |b| (the fixtures' tolerance measure); NaN anywhere → Infinity */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(d)) return Infinity;
    err = Math.max(err, d);
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? err : err / scale;
}

export function maxAbsErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let err = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(d)) return Infinity;
    err = Math.max(err, d);
  }
  return err;
}

/** the columns [0, cols) of a row-major [rows, stride] matrix */
export function columns(a: Float32Array, rows: number, stride: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) out.set(a.subarray(r * stride, r * stride + cols), r * cols);
  return out;
}

/** random sequences [B, T, F] uniform in [−2, 3); feature 0 gets NaN at the listed (b, k) */
export function randomX(rng: Rng, B: number, T: number, F: number, nan: [number, number][]): Float32Array {
  const x = new Float32Array(B * T * F);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform(-2, 3);
  for (const [b, k] of nan) x[(b * T + k) * F] = NaN;
  return x;
}

/** One backend × kernel plan the engine tests run on; `skip` says why it cannot run here (false: it can). */
export interface EngineTarget {
  backend: 'opengles' | 'vulkan';
  plan: PlanName;
  skip: false | string;
  /** a short label for test names */
  label: string;
}

/** false when the backend opens an adapter here, else why a test on it is skipped (probed once per backend) */
export async function backendSkip(backend: 'opengles' | 'vulkan'): Promise<false | string> {
  const { openGpu } = await import('../host/gpu/device.js');
  try {
    (await openGpu({ backend })).destroy();
    return false;
  } catch (err) {
    return backend === 'vulkan'
      ? `no Vulkan adapter (Debian 12: mesa-vulkan-drivers from bookworm-backports, see .ci/run): ${(err as Error).message}`
      : `no OpenGL ES adapter: ${(err as Error).message}`;
  }
}

/** Every Dawn backend the tests cover (OpenGL ES on llvmpipe, Vulkan on lavapipe or a GPU) × every kernel plan; a
 *  backend without an adapter here is skipped with the reason. */
export async function engineTargets(): Promise<EngineTarget[]> {
  const out: EngineTarget[] = [];
  for (const backend of ['opengles', 'vulkan'] as const) {
    const skip = await backendSkip(backend);
    for (const plan of PLAN_NAMES) out.push({ backend, plan, skip, label: `${backend}/${plan}` });
  }
  return out;
}

/** skip option for tests that read ../shared/fixtures */
export const fixturesSkip: false | string = existsSync(join(fixturesRoot, 'manifest.json'))
  ? false
  : `needs ${fixturesRoot}`;
