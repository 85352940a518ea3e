#!/usr/bin/env node
// Writes every hostile input of test/hostile-cases.ts (issue 11) into a folder, with cases.json listing each case's
// command (algorithm, parameters), the input it attacks and what its error must name. Needs `npm run build`.
//   node scripts/hostile-inputs.mjs DIR
// test/hostile-inputs.test.ts runs the same cases through the CLI and the worker with time and memory limits.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeHostileCases } from '../dist/test/hostile-cases.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node scripts/hostile-inputs.mjs DIR\n');
  process.exit(2);
}
const cases = await makeHostileCases(resolve(dir));
writeFileSync(join(resolve(dir), 'cases.json'), `${JSON.stringify(cases, null, 2)}\n`);
const classes = new Set(cases.map((c) => c.cls));
process.stdout.write(`${cases.length} hostile cases in ${classes.size} classes written to ${resolve(dir)}\n`);
