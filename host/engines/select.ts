// Picks the forecaster engine. This folder sits above model/ (the interface and the float64 reference), gpu/ (WGSL
// on WebGPU) and cpu/ (WebAssembly SIMD on worker threads), and below toolbox/. It reads no environment: the CLI and
// the worker turn env DPM_DEVICE into the `device` parameter (host/toolbox/manifest.ts paramsFromEnv).
//
//   gpu       WGSL on a hardware WebGPU adapter (an error when there is none); `hardware` is the old name
//   cpu       WebAssembly SIMD on worker threads (host/cpu/); before issue 10, `cpu` meant the float64 reference
//   software  WGSL on a software adapter (Mesa llvmpipe): slow, kept for testing the shaders
//   reference the float64 TypeScript model: slowest, the yardstick
//   auto      a hardware GPU when one exists, else cpu
import { availableParallelism } from 'node:os';
import { DpmError } from '../core/errors.js';
import type { ForecasterEngine } from '../model/engine.js';
import type { ModelConfig } from '../model/params.js';
import { ReferenceEngine } from '../model/reference.js';
import type { SimdChoice } from '../cpu/wasm.js';
import { BACKEND_CHOICES } from '../gpu/backends.js';
import type { GpuEngineOptions } from '../gpu/forecaster.js';

export type DeviceChoice = 'auto' | 'gpu' | 'cpu' | 'software' | 'reference';
export const DEVICE_CHOICES: readonly DeviceChoice[] = ['auto', 'gpu', 'cpu', 'software', 'reference'];
/** old names still accepted */
export const DEVICE_ALIASES: Readonly<Record<string, DeviceChoice>> = { hardware: 'gpu' };

/** The engine kinds a choice can end in (auto resolves to gpu or cpu). */
export type EngineKind = Exclude<DeviceChoice, 'auto'>;

/** where the choice is logged: the toolbox's Feedback fits (this layer sits below toolbox/ and does not import it) */
export interface EngineLog {
  log(level: 'info', message: string): void;
}

export interface EngineOptions {
  /** default auto */
  device?: string;
  /** CPU engine threads (default: os.availableParallelism()) */
  threads?: number;
  /** CPU engine SIMD build (default auto: relaxed where the runtime has it) */
  simd?: SimdChoice;
  /** passed through to createGpuEngine (e.g. workBytes; the GPU engine's own options) */
  gpu?: Omit<GpuEngineOptions, 'device'>;
  feedback?: EngineLog;
}

export interface Selection<E> {
  engine: E;
  kind: EngineKind;
  /** why this engine: "--device cpu", "no hardware GPU adapter (auto)" … */
  reason: string;
}

export type EngineSelection = Selection<ForecasterEngine>;

/** How one family of engines (the forecaster's, the U-Net's) opens on each kind of device. */
export interface EngineOpeners<E> {
  reference(): E;
  cpu(): Promise<E>;
  gpu(device: 'hardware' | 'software'): Promise<E>;
}

/** A device name → its choice; undefined → auto; an unknown name is a DpmError listing the choices. */
export function parseDevice(device: string | undefined): DeviceChoice {
  const d = device ?? 'auto';
  const choice = DEVICE_ALIASES[d] ?? d;
  if (!(DEVICE_CHOICES as readonly string[]).includes(choice)) {
    const choices = DEVICE_CHOICES.join(', ');
    throw new DpmError(`--device: '${d}' is not one of ${choices} (option --device or env DPM_DEVICE)`);
  }
  return choice as DeviceChoice;
}

/** Opens the engine the options ask for and logs which one runs and why. */
export async function createEngine(config: ModelConfig, opts: EngineOptions = {}): Promise<ForecasterEngine> {
  return (await selectEngine(config, opts)).engine;
}

export async function selectEngine(config: ModelConfig, opts: EngineOptions = {}): Promise<EngineSelection> {
  const choice = parseDevice(opts.device);
  const sel = await open(config, choice, opts);
  opts.feedback?.log('info', `forecaster engine: ${sel.engine.description} — ${sel.reason}`);
  return sel;
}

async function open(config: ModelConfig, choice: DeviceChoice, opts: EngineOptions): Promise<EngineSelection> {
  return openChoice(choice, {
    reference: () => new ReferenceEngine(config, { storeFloat32: true }),
    cpu: () => cpuEngine(config, opts),
    gpu: (device) => gpuEngine(config, device, opts),
  });
}

/** Opens the engine a device choice names, with the reason; `auto` takes a hardware GPU when one opens, else cpu. */
export async function openChoice<E>(choice: DeviceChoice, openers: EngineOpeners<E>): Promise<Selection<E>> {
  const asked = `--device ${choice}`;
  switch (choice) {
    case 'reference':
      return { engine: openers.reference(), kind: 'reference', reason: `${asked} (float64, slow)` };
    case 'cpu':
      return { engine: await openers.cpu(), kind: 'cpu', reason: asked };
    case 'software':
      return {
        engine: await openers.gpu('software'),
        kind: 'software',
        reason: `${asked} (WGSL on a software adapter, slow)`,
      };
    case 'gpu':
      return { engine: await openers.gpu('hardware'), kind: 'gpu', reason: asked };
    case 'auto': {
      const probe = await hardwareGpuProbe(() => openers.gpu('hardware'));
      if (probe.value) return { engine: probe.value, kind: 'gpu', reason: 'a hardware GPU adapter (auto)' };
      return { engine: await openers.cpu(), kind: 'cpu', reason: `${probe.why} (auto)` };
    }
  }
}

async function cpuEngine(config: ModelConfig, opts: EngineOptions): Promise<ForecasterEngine> {
  // loaded lazily, as the GPU engine: only the engine that runs is loaded
  const { createCpuEngine } = await import('../cpu/engine.js');
  return createCpuEngine(config, { threads: opts.threads, simd: opts.simd });
}

async function gpuEngine(
  config: ModelConfig,
  device: 'hardware' | 'software',
  opts: EngineOptions,
): Promise<ForecasterEngine> {
  // Dawn starts only when a GPU engine is wanted
  const { createGpuEngine } = await import('../gpu/forecaster.js');
  return createGpuEngine(config, { ...opts.gpu, device });
}

/**
 * Runs `open` (which opens a hardware adapter) and says why not when it cannot: no adapter (a DpmError from the
 * device layer) or Dawn not loading at all. Other failures on a real adapter are errors, not a reason to fall back.
 */
async function hardwareGpuProbe<T>(open: () => Promise<T>): Promise<{ value?: T; why: string }> {
  try {
    return { value: await open(), why: '' };
  } catch (err) {
    if (err instanceof DpmError) return { why: 'no hardware GPU adapter' };
    const code = (err as { code?: string }).code ?? '';
    if (err instanceof Error && /Cannot find|ERR_DLOPEN|dlopen|webgpu/i.test(`${err.message} ${code}`)) {
      return { why: `WebGPU (Dawn) did not load: ${err.message.split('\n')[0]}` };
    }
    throw err;
  }
}

/** What `auto` would pick here and why, without building an engine (for `dpm gpu-info`). */
export async function autoChoice(): Promise<{ kind: 'gpu' | 'cpu'; engine: string; reason: string }> {
  const probe = await hardwareGpuProbe(async () => {
    const { openGpu } = await import('../gpu/device.js');
    const gpu = await openGpu({ device: 'hardware' });
    const name = gpu.description;
    gpu.destroy();
    return name;
  });
  if (probe.value) return { kind: 'gpu', engine: probe.value, reason: 'a hardware GPU adapter' };
  const { relaxedSimdSupported } = await import('../cpu/wasm.js');
  const n = availableParallelism();
  const engine = `WebAssembly SIMD (${relaxedSimdSupported() ? 'relaxed' : 'plain'}), ${n} thread${n === 1 ? '' : 's'}`;
  return { kind: 'cpu', engine, reason: probe.why };
}

/** The preset that suits an engine kind: the paper model on a hardware GPU or the CPU engine, `fast` elsewhere. */
export function presetAdvice(kind: EngineKind): { preset: 'paper' | 'fast'; why: string } {
  if (kind === 'gpu') return { preset: 'paper', why: 'a hardware GPU runs the paper model' };
  if (kind === 'cpu') return { preset: 'paper', why: 'the WebAssembly engine trains the paper model at CPU speed' };
  return { preset: 'fast', why: `the ${kind} engine is slow: the fast preset (H 32, M 32) suits it` };
}

/** The engine options of an algorithm's `device` and `threads` parameters (already checked by the manifest). */
export function engineOptions(
  params: { device?: unknown; threads?: unknown; backend?: unknown },
  feedback?: EngineLog,
): EngineOptions {
  const backend = BACKEND_CHOICES.find((b) => b === params.backend && b !== 'auto');
  return {
    device: typeof params.device === 'string' ? params.device : undefined,
    threads: typeof params.threads === 'number' ? params.threads : undefined,
    ...(backend ? { gpu: { backend } } : {}),
    feedback,
  };
}
