// `dpm gpu-info`: which WebGPU adapter the forecaster would use (hardware or Mesa's software path), its backend and
// the limits granted to the device. Dawn is loaded only when the command runs.
import type { CommandModule } from 'yargs';
import { DpmError } from '../core/errors.js';
import { BACKEND_CHOICES, DEVICE_CHOICES, type BackendChoice, type DeviceChoice } from './backends.js';

export interface GpuInfo {
  description: string;
  vendor: string;
  architecture: string;
  device: string;
  adapterDescription: string;
  backend: string;
  software: boolean;
  limits: Record<string, number>;
}

export interface GpuInfoOptions {
  device?: DeviceChoice;
  backend?: BackendChoice;
  dawnFlags?: readonly string[];
}

/** DPM_DEVICE names an engine (host/engines/select.ts); the adapter each one implies */
const DPM_DEVICE_NAMES = ['auto', 'gpu', 'hardware', 'cpu', 'software', 'reference'] as const;
function adapterOfDevice(name: (typeof DPM_DEVICE_NAMES)[number] | undefined): DeviceChoice | undefined {
  if (name === undefined) return undefined;
  return name === 'software' ? 'software' : name === 'gpu' || name === 'hardware' ? 'hardware' : 'auto';
}

/** the choices the environment makes when the command line does not (read here, at the CLI edge only) */
export function gpuChoicesFromEnv(env: NodeJS.ProcessEnv = process.env): GpuInfoOptions {
  const pick = <T extends string>(name: string, choices: readonly T[]): T | undefined => {
    const value = env[name];
    if (value === undefined || value === '') return undefined;
    const c = choices.find((choice) => choice === value);
    if (c === undefined) throw new DpmError(`env ${name}: '${value}' is not one of ${choices.join(', ')}`);
    return c;
  };
  return {
    device: adapterOfDevice(pick('DPM_DEVICE', DPM_DEVICE_NAMES)),
    backend: pick('DPM_BACKEND', BACKEND_CHOICES),
    // ';'-separated Dawn instance options (debugging: e.g. enable-dawn-features=dump_shaders)
    dawnFlags: (env.DPM_DAWN_FLAGS ?? '').split(';').filter(Boolean),
  };
}

export async function gpuInfo(opts: GpuInfoOptions = {}): Promise<GpuInfo> {
  const { openGpu } = await import('./device.js');
  const gpu = await openGpu(opts);
  try {
    const a = gpu.adapter;
    return {
      description: gpu.description,
      vendor: a.vendor,
      architecture: a.architecture,
      device: a.device,
      adapterDescription: a.description,
      backend: a.backend,
      software: a.software,
      limits: { ...gpu.limits },
    };
  } finally {
    gpu.destroy();
  }
}

export const gpuInfoCommand: CommandModule = {
  command: 'gpu-info',
  describe: 'show the WebGPU adapter the forecaster uses (hardware or software), its backend and limits',
  builder: (y) =>
    y
      .option('device', {
        choices: ['auto', 'hardware', 'software'] as const,
        describe: 'which adapter to open (default: env DPM_DEVICE, else auto = hardware when present)',
      })
      .option('backend', {
        choices: BACKEND_CHOICES,
        describe: 'which Dawn backend (default: env DPM_BACKEND, else auto = the GPU backend, else opengles)',
      }),
  handler: async (argv) => {
    const json = Boolean(argv.json);
    try {
      const env = gpuChoicesFromEnv();
      const info = await gpuInfo({
        ...env,
        device: DEVICE_CHOICES.find((c) => c === argv.device) ?? env.device,
        backend: BACKEND_CHOICES.find((c) => c === argv.backend) ?? env.backend,
      });
      if (json) {
        process.stdout.write(`${JSON.stringify({ type: 'result', outputs: info })}\n`);
        return;
      }
      const rows: [string, string][] = [
        ['adapter', info.device || '(unnamed)'],
        ['description', info.adapterDescription || '-'],
        ['vendor', info.vendor || '-'],
        ['architecture', info.architecture || '-'],
        ['backend', info.backend],
        ['software', info.software ? 'yes (slow: use small models or a GPU)' : 'no'],
        ...Object.entries(info.limits).map(([k, v]): [string, string] => [k, String(v)]),
      ];
      const w = Math.max(...rows.map(([k]) => k.length));
      process.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')}\n`);
    } catch (err) {
      const msg = (err as Error).message;
      if (json) process.stdout.write(`${JSON.stringify({ type: 'error', message: msg })}\n`);
      else process.stderr.write(`dpm: ${msg}\n`);
      process.exitCode = err instanceof DpmError ? err.exitCode : 1;
    }
  },
};
