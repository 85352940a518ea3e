// CLI commands that are tools rather than toolbox algorithms (not in plugin-manifest.json).
import type { CommandModule } from 'yargs';

export const extraCommands: CommandModule[] = [
  // one entry per command module, e.g. gpu-info (host/gpu/info.ts), worker, qgis
];
