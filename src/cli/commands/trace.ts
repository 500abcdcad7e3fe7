import { resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { type CliIo, EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK } from '../io.js';
import { checkOutputPath } from '../output-path.js';
import type { CommandModule } from '../program.js';

/** `deltasim trace inspect|validate|export`: look into, check and unpack trace files. */
export const traceCommand: CommandModule = {
  register(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
    const trace = program.command('trace').description('inspect, validate and export trace files');

    trace
      .command('inspect')
      .description('model, steps and per-layer GEMMs, MACs, densities and bytes of a trace')
      .argument('<trace>', 'trace file (.safetensors or shard index)')
      .option('--json', 'print one JSON object')
      .action(async (file, options) => {
        const { inspectTrace, formatInspection } = await import('../../trace/inspect.js');
        const summary = await inspectTrace(resolve(io.cwd, file));
        io.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : formatInspection(summary));
        setExitCode(EXIT_OK);
      });

    trace
      .command('validate')
      .description('check every rule of the trace format; exit 0 valid, 1 invalid, 2 unreadable')
      .argument('<traces...>', 'trace files')
      .action(async (files) => {
        const { validateTrace } = await import('../../trace/validate.js');
        const { TraceUnreadableError } = await import('../../trace/trace-error.js');
        let code = EXIT_OK;
        for (const file of files) {
          const errors = await validateTrace(resolve(io.cwd, file));
          if (errors.length === 0) {
            io.stdout.write(`${file}: valid\n`);
            continue;
          }
          const unreadable = errors.some((e) => e instanceof TraceUnreadableError);
          for (const e of errors) io.stderr.write(`deltasim: ${e.toLine()}\n`);
          io.stdout.write(`${file}: ${unreadable ? 'unreadable' : 'invalid'}\n`);
          code = unreadable ? EXIT_BAD_INPUT : Math.max(code, EXIT_CHECK_FAILED);
        }
        setExitCode(code);
      });

    trace
      .command('export')
      .description('write one .npy per tensor plus manifest.json into a new directory')
      .argument('<trace>', 'trace file')
      .requiredOption('--npy <dir>', 'output directory (must not exist or be empty, unless --force)')
      .option('--force', 'replace an existing, non-empty --npy directory')
      .action(async (file, options) => {
        const npyDir = resolve(io.cwd, options.npy);
        const overwrite = Boolean(options.force);
        await checkOutputPath('--npy', npyDir, 'directory', {
          force: overwrite,
          log: (line) => io.stderr.write(`deltasim: ${line}\n`),
        });
        const { openTrace } = await import('../../trace/reader.js');
        const { exportTraceToNpy } = await import('../../trace/npy-export.js');
        const reader = await openTrace(resolve(io.cwd, file));
        try {
          const summary = await exportTraceToNpy(reader, npyDir, { overwrite });
          io.stdout.write(`${summary.files} tensors, ${summary.bytes} bytes → ${options.npy}\n`);
        } finally {
          await reader.close();
        }
        setExitCode(EXIT_OK);
      });
  },
};
