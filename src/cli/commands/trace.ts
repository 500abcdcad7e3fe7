import { join, relative, resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { UsageError } from '../../common/input-error.js';
import { type CliIo, EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK } from '../io.js';
import { numberFlag, seedFlag } from '../nn-flags.js';
import { checkOutputPath, DEFAULT_OUTPUT_DIR } from '../output-path.js';
import type { CommandModule } from '../program.js';

/** `deltasim trace inspect|validate|export|synth`: look into, check, unpack and generate trace files. */
export const traceCommand: CommandModule = {
  register(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
    const trace = program
      .command('trace')
      .description('inspect, validate, export and synthesize trace files');

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
      .command('synth')
      .description(
        'write the seeded synthetic trace `replay --synthetic` builds (F16, streamed step by step)',
      )
      .argument('<spec>', 'MODEL:DENSITY[:STEPS], e.g. resnet18:0.5:16 (models: resnet18, small)')
      .option('--seed <n>', 'seed of the masks and values (default 1)')
      .option(
        '--temporal <s>',
        'temporal sparsity: fraction of activations equal to the previous step (default 0.9)',
      )
      .option('--out <file>', 'trace file (default out/synthetic-MODEL-dDENSITY-sSTEPS.safetensors)')
      .option('--force', 'replace an existing --out file')
      .action(async (spec, options) => {
        const { parseSyntheticSpec, synthesizeTrace } = await import('../../trace/synthesize.js');
        const { TraceError } = await import('../../trace/trace-error.js');
        const { SIZE_LIMITS } = await import('../size-limits.js');
        let parsed: ReturnType<typeof parseSyntheticSpec>;
        try {
          parsed = parseSyntheticSpec(spec);
        } catch (error) {
          if (error instanceof TraceError) throw new UsageError('trace synth', spec, error.rule);
          throw error;
        }
        if (parsed.steps > SIZE_LIMITS.syntheticSteps)
          throw new UsageError(
            'trace synth',
            spec,
            `${parsed.steps} steps is more than ${SIZE_LIMITS.syntheticSteps}`,
          );
        const seed = seedFlag('--seed', options.seed, 1);
        // Absent: the synthesizer's own default, so the file is byte for byte `replay --synthetic`'s.
        const temporal =
          options.temporal === undefined ? undefined : numberFlag('--temporal', options.temporal, 0.9, 0, 1);
        const out = resolve(
          io.cwd,
          options.out ??
            join(
              DEFAULT_OUTPUT_DIR,
              `synthetic-${parsed.shape}-d${parsed.density}-s${parsed.steps}.safetensors`,
            ),
        );
        await checkOutputPath('--out', out, 'file', {
          force: Boolean(options.force),
          log: (line) => io.stderr.write(`deltasim: ${line}\n`),
        });
        const { syntheticTraceOptions } = await import('../../replay/replay-driver.js');
        const written = await synthesizeTrace(out, {
          ...syntheticTraceOptions(parsed, seed),
          ...(temporal !== undefined ? { changeFraction: 1 - temporal } : {}),
          overwrite: Boolean(options.force),
        });
        const steps = `${parsed.steps} step${parsed.steps === 1 ? '' : 's'}`;
        io.stdout.write(`${written.bytes} bytes, ${steps} → ${relative(io.cwd, out)}\n`);
        setExitCode(EXIT_OK);
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
