// `dpm`: one sub-command per algorithm of plugin-manifest.json, plus a few tools (gpu-info, worker, qgis).
import yargs, { type Argv } from 'yargs';
import { loadManifest, paramsFromEnv, type AlgorithmSpec, type ParamSpec } from './toolbox/manifest.js';
import { execute } from './toolbox/execute.js';
import { jsonFeedback, jsonLine, terminalFeedback, type RenderedFeedback } from './toolbox/render.js';
import { asUserError, exitCodeOf, DpmError, CanceledError, MAX_ERROR_CHARS, shortText } from './core/errors.js';
import { extraCommands } from './commands.js';

function optionFor(p: ParamSpec) {
  // a list of numbers stays a string ("0.1,0.2"): resolveParams splits and checks it, as for the worker
  const numeric = (p.type === 'number' || p.type === 'integer') && !p.multiple;
  const type = p.type === 'boolean' ? 'boolean' : numeric ? 'number' : 'string';
  const choices = p.type === 'enum' ? [...(p.options ?? []), ...Object.keys(p.aliases ?? {})] : undefined;
  const isPath = p.type === 'raster' || p.type === 'vector' || p.type === 'file' || p.type === 'folder';
  const range = p.min !== undefined || p.max !== undefined ? ` [${p.min ?? ''}..${p.max ?? ''}]` : '';
  // checked by resolveParams (one message for the CLI and the worker), but shown here so --help tells what must be given
  const required = !p.optional && p.default === undefined ? ' (required)' : '';
  return {
    describe:
      p.description +
      range +
      (p.env ? ` (env ${p.env})` : '') +
      (p.multiple && !/comma|repeat the flag/i.test(p.description)
        ? isPath
          ? ' (several: repeat the flag or list them after it; paths are taken verbatim, commas included)'
          : ' (comma-separated list)'
        : '') +
      required,
    // --out, --output and --out-dir name the outputs of different commands: accept --out for --output and back;
    // dpm2 reads its pair stack with --stack where the other commands say --coherence
    alias: p.name === 'output' ? 'out' : p.name === 'out' ? 'output' : p.name === 'stack' ? 'coherence' : undefined,
    type: type as 'boolean' | 'number' | 'string',
    choices,
    // defaults are filled by resolveParams so that the CLI and the worker agree; show them in --help only
    defaultDescription:
      p.default === undefined
        ? undefined
        : typeof p.default === 'number'
          ? String(Number(p.default.toPrecision(6)))
          : JSON.stringify(p.default),
    demandOption: false,
    array: p.multiple && type === 'string' ? true : undefined,
  } as const;
}

async function runAlgorithm(spec: AlgorithmSpec, argv: Record<string, unknown>): Promise<void> {
  const json = Boolean(argv.json);
  const fb: RenderedFeedback = json ? jsonFeedback() : terminalFeedback(Boolean(argv.verbose));
  const given: Record<string, unknown> = {};
  for (const p of spec.parameters) if (argv[p.name] !== undefined) given[p.name] = argv[p.name];
  const raw = paramsFromEnv(spec, given);
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    fb.cancel();
    if (interrupts > 1) process.exit(130);
    if (!json) process.stderr.write('\ncanceling… (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    const outputs = await execute(spec.id, raw, fb, { overwrite: Boolean(argv.overwrite) });
    fb.close();
    if (json) jsonLine({ type: 'result', outputs });
    else {
      for (const [k, v] of Object.entries(outputs)) {
        if (v === undefined || v === null || v === '') continue; // an optional output that was not asked for
        process.stdout.write(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`);
      }
    }
  } catch (err) {
    fb.close();
    reportError(err, json);
    process.exitCode = exitCodeOf(asUserError(err));
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

export function reportError(thrown: unknown, json: boolean): void {
  const err = asUserError(thrown);
  const known = err instanceof DpmError || err instanceof CanceledError;
  const message = shortText(err instanceof Error ? err.message : err, MAX_ERROR_CHARS);
  if (json) jsonLine({ type: 'error', message, ...(err instanceof CanceledError ? { canceled: true } : {}) });
  else process.stderr.write(`dpm: ${message}\n`);
  if (!known && err instanceof Error && process.env.DPM_DEBUG) process.stderr.write(`${err.stack}\n`);
}

export function buildCli(args: string[]): Argv {
  let cli = yargs(args)
    .scriptName('dpm')
    .usage('$0 <command> [options]\n\nDamage proxy maps from SAR coherence stacks (Stephenson et al. 2021).')
    .option('json', {
      type: 'boolean',
      describe: 'machine-readable JSON lines on stdout (progress, log, result)',
      global: true,
    })
    .option('verbose', { type: 'boolean', describe: 'show debug log lines', global: true })
    .option('overwrite', {
      type: 'boolean',
      describe: 'replace existing outputs (without it an existing output is an error; inputs are never replaced)',
      global: true,
    })
    .strict()
    .demandCommand(1, 'name a command (dpm --help lists them)')
    .recommendCommands()
    .wrap(Math.min(120, process.stdout.columns ?? 120))
    .fail((msg, err) => {
      if (err) throw err;
      // --json callers (schedulers, the QGIS bridge) read one error line on stdout, whatever went wrong
      if (args.some((a) => a === '--json' || a === '--json=true')) jsonLine({ type: 'error', message: msg });
      else process.stderr.write(`dpm: ${msg}\n(see dpm --help)\n`);
      process.exit(2);
    });
  for (const spec of loadManifest().algorithms) {
    cli = cli.command(
      spec.id,
      spec.name,
      (y) => {
        let b = y.usage(`$0 ${spec.id} [options]\n\n${spec.help}`);
        for (const p of spec.parameters) b = b.option(p.name, optionFor(p));
        return b;
      },
      (argv) => runAlgorithm(spec, argv as Record<string, unknown>),
    );
  }
  for (const extra of extraCommands) cli = cli.command(extra);
  return cli;
}
