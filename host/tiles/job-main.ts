#!/usr/bin/env node
// Process entry of one tile: `node dist/host/tiles/job-main.js <plan.json> [index]`; without an index, the Slurm
// array task id (SLURM_ARRAY_TASK_ID) names the tile. Log lines go to stdout (the executor keeps them per tile);
// exit 0 = finished, 1 = failed (message on stderr), 130 = canceled (SIGTERM from scancel or the pool).
import { readPlan, runTile } from './job.js';
import type { Feedback } from '../core/feedback.js';

const [planFile, indexArg] = process.argv.slice(2);
const index = Number(indexArg ?? process.env.SLURM_ARRAY_TASK_ID);
if (!planFile || !Number.isInteger(index)) {
  process.stderr.write('usage: job-main.js <plan.json> [tile index] (or SLURM_ARRAY_TASK_ID)\n');
  process.exit(2);
}
let canceled = false;
process.on('SIGTERM', () => {
  canceled = true;
});
let lastPercent = -10;
const fb: Feedback = {
  progress(percent, text) {
    if (percent - lastPercent < 10 && percent < 100) return; // a line per 10 %: logs stay short
    lastPercent = percent;
    process.stdout.write(`${JSON.stringify({ tile: index, percent, text })}\n`);
  },
  log(level, text) {
    process.stdout.write(`${JSON.stringify({ tile: index, level, text })}\n`);
  },
  isCanceled: () => canceled,
};
try {
  await runTile(readPlan(planFile), index, fb);
} catch (e) {
  process.stderr.write(`tile ${index}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(canceled ? 130 : 1);
}
