// CLI commands that are tools rather than toolbox algorithms (not in plugin-manifest.json).
import type { CommandModule } from 'yargs';
import { workerCommand } from './toolbox/worker.js';
import { qgisCommand } from './qgis/install.js';
import { gpuInfoCommand } from './gpu/info.js';
import { autoChoice } from './engines/select.js';
import { jsonLine } from './toolbox/render.js';

/** `dpm gpu-info`, first saying which forecaster engine --device auto picks here and why (before the adapter) */
const gpuInfoWithEngine: CommandModule = {
  ...gpuInfoCommand,
  describe: `${gpuInfoCommand.describe}, and the forecaster engine --device auto picks`,
  handler: async (argv) => {
    let line: string;
    try {
      const auto = await autoChoice();
      line = `auto engine: ${auto.engine} — ${auto.reason}`;
    } catch (err) {
      line = `auto engine: cannot tell (${(err as Error).message})`;
    }
    if (argv.json) jsonLine({ type: 'log', level: 'info', message: line });
    else process.stdout.write(`${line}\n`);
    await gpuInfoCommand.handler(argv);
  },
};

export const extraCommands: CommandModule[] = [
  // one entry per command module, e.g. gpu-info (host/gpu/info.ts), worker, qgis
  workerCommand,
  qgisCommand,
  gpuInfoWithEngine,
];
