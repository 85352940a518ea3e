// `npm run bench`: the forecaster's table (bench/forecaster.bench.ts), then the landslide U-Net's training step
// (bench/unet.bench.ts), each in its own process (the benches parse process.argv, and each gets the V8 flags, memory
// and worker threads of its engines to itself). Options before `--unet` go to the forecaster bench, those after it
// to the U-Net bench; `--no-torch` before it goes to both.
//
//   npm run bench -- [forecaster options] [--unet U-Net options]
//   npm run bench -- --steps 48 --device cpu --unet --batch 2 --size 64 --device cpu
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const args = process.argv.slice(2);
const split = args.indexOf('--unet');
const forecasterArgs = split < 0 ? args : args.slice(0, split);
const unetArgs = split < 0 ? [] : args.slice(split + 1);
if (forecasterArgs.includes('--no-torch') && !unetArgs.includes('--no-torch')) unetArgs.push('--no-torch');

let failed = 0;
for (const [script, scriptArgs] of [
  ['forecaster.bench.js', forecasterArgs],
  ['unet.bench.js', unetArgs],
] as const) {
  const p = spawnSync(process.execPath, [join(import.meta.dirname, script), ...scriptArgs], { stdio: 'inherit' });
  if (p.status !== 0) {
    process.stderr.write(`bench: ${script} ${p.error ? `failed: ${p.error.message}` : `exited with ${p.status}`}\n`);
    failed++;
  }
  process.stdout.write('\n');
}
process.exitCode = failed > 0 ? 1 : 0;
