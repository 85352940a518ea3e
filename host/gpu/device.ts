// The WebGPU device from Dawn (npm `webgpu`): a hardware adapter when one exists, else Mesa's llvmpipe through
// Dawn's OpenGL ES backend (ARCHITECTURE.md "Running WebGPU without a GPU"). Dawn reports validation and
// out-of-memory errors asynchronously and never throws them, so every pipeline creation and every submit goes
// through `checked()`, which turns them into a thrown GpuError naming the kernel.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { create, globals } from 'webgpu';
import { DpmError } from '../errors.js';

export type DeviceChoice = 'auto' | 'hardware' | 'software';

export const DEVICE_CHOICES: readonly DeviceChoice[] = ['auto', 'hardware', 'software'];

/** A GPU failure (validation, out of memory, internal, device lost), its message naming the kernel. */
export class GpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuError';
  }
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  backend: string;
  software: boolean;
}

export interface Gpu {
  readonly device: GPUDevice;
  readonly adapter: AdapterSummary;
  /** the limits granted to the device */
  readonly limits: Record<string, number>;
  /** e.g. "webgpu: llvmpipe (LLVM 15.0.6, 256 bits) (opengles, software)" */
  readonly description: string;
  /** runs `fn` inside validation/out-of-memory/internal error scopes; a captured error is thrown naming `label` */
  checked<T>(label: string, fn: () => T): Promise<T>;
  /** throws the first uncaptured error or device loss seen so far, naming `label` */
  throwIfFailed(label: string): void;
  destroy(): void;
}

const LIMIT_NAMES = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxUniformBufferBindingSize',
  'maxDynamicUniformBuffersPerPipelineLayout',
  'maxBindGroups',
  'minStorageBufferOffsetAlignment',
  'minUniformBufferOffsetAlignment',
] as const;

const SOFTWARE_NAMES = /llvmpipe|lavapipe|swiftshader|software|softpipe/i;

function resolveChoice(choice: DeviceChoice | undefined): DeviceChoice {
  const c = choice ?? (process.env.DPM_DEVICE as DeviceChoice | undefined) ?? 'auto';
  if (!DEVICE_CHOICES.includes(c)) {
    throw new DpmError(`device: '${c}' is not one of ${DEVICE_CHOICES.join(', ')} (option --device or env DPM_DEVICE)`);
  }
  return c;
}

let globalsInstalled = false;
function installGlobals(): void {
  if (globalsInstalled) return;
  // GPUBufferUsage, GPUMapMode, GPUShaderStage … as in a browser
  Object.assign(globalThis, globals);
  globalsInstalled = true;
}

function summarize(adapter: GPUAdapter, backend: string): AdapterSummary {
  const info = adapter.info;
  const s = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    backend,
    software: false,
  };
  const fallback = (info as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  s.software = fallback || backend === 'opengles' || SOFTWARE_NAMES.test(`${s.vendor} ${s.device} ${s.description} ${s.architecture}`);
  return s;
}

/** extra Dawn options (e.g. enable-dawn-features=…), comma-separated lists separated by ';' in DPM_DAWN_FLAGS */
function dawnFlags(): string[] {
  return (process.env.DPM_DAWN_FLAGS ?? '').split(';').filter(Boolean);
}

/** Linux without a Vulkan loader: skip Dawn's Vulkan probe (it only prints a warning and finds nothing) */
function vulkanLoaderPresent(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib', '/lib/x86_64-linux-gnu', '/lib64',
  ];
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

// Dawn's instance must outlive its devices: if the GPU object is garbage-collected, the device's threads crash the
// process (seen here as 'std::system_error: Invalid argument'). Keep every instance reachable.
const instances: GPU[] = [];

async function hardwareAdapter(): Promise<{ adapter: GPUAdapter; backend: string } | undefined> {
  for (const backend of ['vulkan', 'metal', 'd3d12']) {
    if (backend === 'metal' && process.platform !== 'darwin') continue;
    if (backend === 'd3d12' && process.platform !== 'win32') continue;
    if (backend === 'vulkan' && (process.platform === 'darwin' || !vulkanLoaderPresent())) continue;
    let gpu: GPU;
    try {
      gpu = create([`backend=${backend}`, ...dawnFlags()]);
      instances.push(gpu);
    } catch {
      continue;
    }
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
    if (adapter && !summarize(adapter, backend).software) return { adapter, backend };
  }
  return undefined;
}

async function softwareAdapter(): Promise<{ adapter: GPUAdapter; backend: string } | undefined> {
  // Mesa's EGL needs a platform without a display server
  process.env.EGL_PLATFORM ??= 'surfaceless';
  let gpu: GPU;
  try {
    gpu = create(['backend=opengles', ...dawnFlags()]);
    instances.push(gpu);
  } catch {
    return undefined;
  }
  const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions).catch(() => null);
  return adapter ? { adapter, backend: 'opengles' } : undefined;
}

const INSTALL_HINT =
  'install a GPU driver, or Mesa\'s software GPU for Dawn\'s OpenGL ES path (Debian/Ubuntu: ' +
  'apt-get install -y libegl1 libgles2 libegl-mesa0); choose with --device auto|hardware|software or env DPM_DEVICE';

/** Opens a WebGPU device. `want` names limits the kernels would like (capped at what the adapter allows). */
export async function openGpu(opts: { device?: DeviceChoice; want?: Partial<Record<(typeof LIMIT_NAMES)[number], number>> } = {}): Promise<Gpu> {
  const choice = resolveChoice(opts.device);
  installGlobals();
  let found: { adapter: GPUAdapter; backend: string } | undefined;
  if (choice !== 'software') found = await hardwareAdapter();
  if (!found && choice === 'hardware') throw new DpmError(`no hardware GPU adapter found (device: hardware); ${INSTALL_HINT}`);
  if (!found) found = await softwareAdapter();
  if (!found) throw new DpmError(`no WebGPU adapter found (device: ${choice}); ${INSTALL_HINT}`);
  const { adapter, backend } = found;
  const summary = summarize(adapter, backend);

  // ask for everything the kernels can use, up to the adapter's maxima
  const requiredLimits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) {
    if (name.startsWith('min')) continue;
    const have = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof have !== 'number') continue;
    const want = opts.want?.[name];
    requiredLimits[name] = want !== undefined ? Math.min(want, have) : have;
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, label: 'insar-dpm' });
  } catch (err) {
    throw new DpmError(`could not open the WebGPU device on ${summary.description || summary.device || backend}: ${(err as Error).message}`);
  }

  let failure: string | undefined;
  device.addEventListener('uncapturederror', (ev) => {
    const e = (ev as GPUUncapturedErrorEvent).error;
    failure ??= `${e.constructor.name}: ${e.message}`;
  });
  let destroyed = false;
  void device.lost.then((info) => {
    if (!destroyed) failure ??= `device lost (${info.reason}): ${info.message}`;
  });

  const limits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) limits[name] = (device.limits as unknown as Record<string, number>)[name]!;
  const name = summary.device || summary.description || summary.vendor || 'unknown adapter';
  const description = `webgpu: ${name} (${backend}${summary.software ? ', software' : ''})`;

  let queue: Promise<void> = Promise.resolve();
  const throwIfFailed = (label: string) => {
    if (failure !== undefined) throw new GpuError(`GPU error in ${label}: ${failure}`);
  };

  return {
    device,
    adapter: summary,
    limits,
    description,
    throwIfFailed,
    checked<T>(label: string, fn: () => T): Promise<T> {
      // error scopes are a per-device stack: calls are serialized so that concurrent ones cannot interleave
      const run = queue.then(() => scoped(label, fn));
      queue = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      device.destroy();
    },
  };

  async function scoped<T>(label: string, fn: () => T): Promise<T> {
      throwIfFailed(label);
      device.pushErrorScope('internal');
      device.pushErrorScope('out-of-memory');
      device.pushErrorScope('validation');
      let result: T;
      try {
        result = fn();
      } finally {
        const errors = [await device.popErrorScope(), await device.popErrorScope(), await device.popErrorScope()];
        const err = errors.find((e) => e !== null);
        if (err) {
          const kind = err instanceof GPUOutOfMemoryError ? 'out of memory' : err instanceof GPUValidationError ? 'validation error' : 'internal error';
          // eslint-disable-next-line no-unsafe-finally
          throw new GpuError(`GPU ${kind} in ${label}: ${err.message}`);
        }
      }
      throwIfFailed(label);
      return result;
  }
}
