// The WebGPU device from Dawn (npm `webgpu`): a hardware adapter when one exists, else Mesa's llvmpipe through
// Dawn's OpenGL ES backend (ARCHITECTURE.md "Running WebGPU without a GPU"). Dawn reports validation and
// out-of-memory errors asynchronously and never throws them, so every pipeline creation and every submit goes
// through `checked()`, which turns them into a thrown GpuError naming the kernel.
import { create, globals } from 'webgpu';
import { DpmError } from '../core/errors.js';
import {
  BACKEND_CHOICES,
  DEVICE_CHOICES,
  filterNativeStderr,
  platformBackends,
  prepareDawnEnvironment,
  SOFTWARE_NAMES,
  vulkanLoaderPresent,
  type BackendChoice,
  type BackendName,
  type DeviceChoice,
} from './backends.js';

export { DEVICE_CHOICES } from './backends.js';
export type { BackendChoice, DeviceChoice } from './backends.js';

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

function resolveChoice(
  choice: DeviceChoice | undefined,
  backend: BackendChoice | undefined,
): [DeviceChoice, BackendChoice] {
  const c = choice ?? 'auto';
  if (!DEVICE_CHOICES.includes(c)) {
    throw new DpmError(`device: '${c}' is not one of ${DEVICE_CHOICES.join(', ')} (option --device or env DPM_DEVICE)`);
  }
  const b = backend ?? 'auto';
  if (!BACKEND_CHOICES.includes(b)) {
    throw new DpmError(
      `backend: '${b}' is not one of ${BACKEND_CHOICES.join(', ')} (option --backend or env DPM_BACKEND)`,
    );
  }
  return [c, b];
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
  s.software =
    fallback ||
    backend === 'opengles' ||
    SOFTWARE_NAMES.test(`${s.vendor} ${s.device} ${s.description} ${s.architecture}`);
  return s;
}

// Dawn's instance must outlive its devices: if the GPU object is garbage-collected, the device's threads crash the
// process (seen here as 'std::system_error: Invalid argument'). Keep every instance reachable.
const instances: GPU[] = [];

type Found = { adapter: GPUAdapter; backend: BackendName };

/** the first adapter of one backend (OpenGL ES at the compatibility feature level, the others at core) */
async function adapterOf(backend: BackendName, dawnFlags: readonly string[]): Promise<Found | undefined> {
  let gpu: GPU;
  try {
    gpu = create([`backend=${backend}`, ...dawnFlags]);
    instances.push(gpu);
  } catch {
    return undefined;
  }
  const options =
    backend === 'opengles'
      ? ({ featureLevel: 'compatibility' } as GPURequestAdapterOptions)
      : { powerPreference: 'high-performance' as const };
  const adapter = await gpu.requestAdapter(options).catch(() => null);
  return adapter ? { adapter, backend } : undefined;
}

/** the adapter for a device and backend choice: 'auto' tries the platform's GPU backends for a hardware adapter
 *  (Vulkan where a loader is installed), then OpenGL ES (Mesa's llvmpipe) */
async function findAdapter(
  choice: DeviceChoice,
  backend: BackendChoice,
  dawnFlags: readonly string[],
): Promise<Found | undefined> {
  const accept = (f: Found | undefined) => {
    if (!f) return undefined;
    const software = summarize(f.adapter, f.backend).software;
    return (choice === 'hardware' && software) || (choice === 'software' && !software) ? undefined : f;
  };
  if (backend !== 'auto') return accept(await adapterOf(backend, dawnFlags));
  if (choice !== 'software') {
    for (const b of platformBackends()) {
      if (b === 'vulkan' && !vulkanLoaderPresent()) continue;
      const f = await adapterOf(b, dawnFlags);
      if (f && !summarize(f.adapter, b).software) return f;
    }
  }
  return choice === 'hardware' ? undefined : adapterOf('opengles', dawnFlags);
}

const INSTALL_HINT =
  "install a GPU driver, or Mesa's software GPU for Dawn's OpenGL ES path (Debian/Ubuntu: " +
  "apt-get install -y libegl1 libgles2 libegl-mesa0; Vulkan: mesa-vulkan-drivers or the GPU vendor's driver); " +
  'choose with --device auto|hardware|software or env DPM_DEVICE, and the backend with env DPM_BACKEND';

export interface OpenGpuOptions {
  device?: DeviceChoice;
  /** the Dawn backend (default 'auto': the platform's GPU backend, else OpenGL ES) */
  backend?: BackendChoice;
  /** extra Dawn instance options, e.g. 'enable-dawn-features=dump_shaders' */
  dawnFlags?: readonly string[];
  /** limits the kernels would like (capped at what the adapter allows) */
  want?: Partial<Record<(typeof LIMIT_NAMES)[number], number>>;
}

/** Opens a WebGPU device on the chosen adapter and backend. */
export async function openGpu(opts: OpenGpuOptions = {}): Promise<Gpu> {
  const [choice, backendChoice] = resolveChoice(opts.device, opts.backend);
  prepareDawnEnvironment();
  installGlobals();
  const found = await filterNativeStderr(() => findAdapter(choice, backendChoice, opts.dawnFlags ?? []));
  const what = `device: ${choice}${backendChoice === 'auto' ? '' : `, backend: ${backendChoice}`}`;
  if (!found && choice === 'hardware') throw new DpmError(`no hardware GPU adapter found (${what}); ${INSTALL_HINT}`);
  if (!found) throw new DpmError(`no WebGPU adapter found (${what}); ${INSTALL_HINT}`);
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
    throw new DpmError(
      `could not open the WebGPU device on ${summary.description || summary.device || backend}: ${(err as Error).message}`,
    );
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
    // the scopes are popped whether fn throws or not; a GPU error outranks fn's own (it usually explains it)
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: fn() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    const errors = [await device.popErrorScope(), await device.popErrorScope(), await device.popErrorScope()];
    const err = errors.find((e) => e !== null);
    if (err) {
      const kind =
        err instanceof GPUOutOfMemoryError
          ? 'out of memory'
          : err instanceof GPUValidationError
            ? 'validation error'
            : 'internal error';
      throw new GpuError(`GPU ${kind} in ${label}: ${err.message}`);
    }
    if (!outcome.ok) throw outcome.error;
    throwIfFailed(label);
    return outcome.value;
  }
}
