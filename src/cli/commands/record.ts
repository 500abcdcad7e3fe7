import { basename, join, relative, resolve } from 'node:path';
import { UsageError } from '../../common/input-error.js';
import { EXIT_OK } from '../io.js';
import { backendFlag, intFlag, modelFamilyArg, numberFlag, seedFlag } from '../nn-flags.js';
import { checkOutputPath, DEFAULT_OUTPUT_DIR } from '../output-path.js';
import type { CommandModule } from '../program.js';
import { SIZE_LIMITS } from '../size-limits.js';
import { VERSION } from '../version.js';
import { runDeltaNetRecord } from './deltanet-commands.js';

export const recordCommand: CommandModule = {
  register(program, io, setExitCode) {
    program
      .command('record')
      .description('record a trace of a trained model on held-out clips (inputs, deltas, masks, weights)')
      .argument('<model>', 'model family: delta-cnn, deltanet or iformer')
      .requiredOption('--model <dir>', 'trained model directory')
      .option('--clips <n>', 'clips to record (each one key frame + T−1 delta frames)', '4')
      .option(
        '--sequences <n>',
        "deltanet: sequences of the model's task to record, one step per token (default 1)",
      )
      .option(
        '--delta-threshold <θ>',
        'deltanet: quantise every projection input to multiples of θ (a DAL) and record token-to-token deltas',
      )
      .option('--images <n>', 'iformer: held-out images to record, one step each (image models)')
      .option('--seed <n>', 'seed of the recorded held-out clips / sequences / images', '1')
      .option('--out <file>', 'trace file (.safetensors; default out/<model directory name>.safetensors)')
      .option('--force', 'replace an existing trace file')
      .option('--dtype <d>', 'value storage: F32, F16 or I8', 'F32')
      .option('--backend <name>', 'tfjs backend: auto, tensorflow, wasm or cpu', 'auto')
      .action(async (model, options, command) => {
        const verbose = Boolean((command.optsWithGlobals() as { verbose?: boolean }).verbose);
        const family = modelFamilyArg(model, ['delta-cnn', 'deltanet', 'iformer']);
        const dtype = options.dtype;
        if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'I8') {
          throw new UsageError('--dtype', dtype, 'must be F32, F16 or I8');
        }
        const clips = intFlag('--clips', options.clips, 4, 1, SIZE_LIMITS.recordClips);
        const seed = seedFlag('--seed', options.seed, 1);
        const prefer = backendFlag(options.backend);
        const force = Boolean(options.force);
        const out = resolve(
          io.cwd,
          options.out ?? join(DEFAULT_OUTPUT_DIR, `${basename(resolve(io.cwd, options.model))}.safetensors`),
        );
        await checkOutputPath('--out', out, 'file', {
          force,
          log: (line) => io.stderr.write(`deltasim: ${line}\n`),
        });
        if (family !== 'deltanet' && options.deltaThreshold !== undefined) {
          throw new UsageError(
            '--delta-threshold',
            options.deltaThreshold,
            'applies to deltanet only (delta-cnn and iformer video models carry their own DALs)',
          );
        }
        if (family === 'iformer') {
          const { runIFormerRecord } = await import('./iformer-actions.js');
          await runIFormerRecord(io, {
            model: options.model,
            images: options.images,
            clips: command.getOptionValueSource('clips') === 'default' ? undefined : options.clips,
            seed,
            out,
            dtype,
            overwrite: force,
            prefer,
            verbose,
          });
          setExitCode(EXIT_OK);
          return;
        }
        if (family === 'deltanet') {
          const deltaThreshold =
            options.deltaThreshold === undefined
              ? undefined
              : numberFlag('--delta-threshold', options.deltaThreshold, 0, Number.MIN_VALUE);
          const sequences = intFlag('--sequences', options.sequences, 1, 1, SIZE_LIMITS.recordSequences);
          await runDeltaNetRecord(io, {
            model: options.model,
            sequences,
            seed,
            ...(deltaThreshold === undefined ? {} : { deltaThreshold }),
            out,
            dtype,
            overwrite: force,
            prefer,
            verbose,
          });
          setExitCode(EXIT_OK);
          return;
        }
        const { loadTf } = await import('../../nn/runtime.js');
        const { loadModel } = await import('../../nn/model-io.js');
        const { recordDeltaCnn } = await import('../../nn/record/record-delta-cnn.js');
        const runtime = await loadTf({
          prefer,
          ...(verbose ? { verbose: (line: string) => io.stderr.write(`${line}\n`) } : {}),
        });
        const loaded = await loadModel(runtime, resolve(io.cwd, options.model));
        const cardPath = relative(io.cwd, resolve(io.cwd, options.model, 'card.json'))
          .split('\\')
          .join('/');
        const result = await recordDeltaCnn(runtime, loaded.model, {
          out,
          clips,
          seed,
          modelName: loaded.card.name,
          cardPath,
          producer: `deltasim ${VERSION}`,
          dtype,
          overwrite: force,
          log: (line) => io.stderr.write(`${line}\n`),
        });
        io.stderr.write(`wrote ${result.files.join(', ')}: ${result.steps} steps, ${result.bytes} bytes\n`);
        setExitCode(EXIT_OK);
      });
  },
};
