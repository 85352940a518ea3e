// `dpm gpu-info`: which WebGPU adapter the forecaster would use (hardware or Mesa's software path), its backend and
// the limits granted to the device. Dawn is loaded only when the command runs.
import type { CommandModule } from 'yargs';
import { DpmError } from '../errors.js';

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

export async function gpuInfo(device?: string): Promise<GpuInfo> {
  const { openGpu } = await import('./device.js');
  const gpu = await openGpu({ device: device as 'auto' | 'hardware' | 'software' | undefined });
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
    y.option('device', {
      choices: ['auto', 'hardware', 'software'] as const,
      describe: 'which adapter to open (default: env DPM_DEVICE, else auto = hardware when present)',
    }),
  handler: async (argv) => {
    const json = Boolean(argv.json);
    try {
      const info = await gpuInfo(argv.device as string | undefined);
      if (json) {
        process.stdout.write(JSON.stringify({ type: 'result', outputs: info }) + '\n');
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
      process.stdout.write(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n');
    } catch (err) {
      const msg = (err as Error).message;
      if (json) process.stdout.write(JSON.stringify({ type: 'error', message: msg }) + '\n');
      else process.stderr.write(`dpm: ${msg}\n`);
      process.exitCode = err instanceof DpmError ? err.exitCode : 1;
    }
  },
};
