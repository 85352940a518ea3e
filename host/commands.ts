// CLI commands that are tools rather than toolbox algorithms (not in plugin-manifest.json).
import type { CommandModule } from 'yargs';
import { workerCommand } from './toolbox/worker.js';
import { qgisCommand } from './qgis/install.js';
import { gpuInfoCommand } from './gpu/info.js';

export const extraCommands: CommandModule[] = [
  // one entry per command module, e.g. gpu-info (host/gpu/info.ts), worker, qgis
  workerCommand,
  qgisCommand,
  gpuInfoCommand,
];
