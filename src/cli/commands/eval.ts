import { join, resolve } from 'node:path';
import { UsageError } from '../../common/input-error.js';
import { EVAL_SEED, NAIVE_DELTA_THRESHOLD } from '../../nn/eval/eval-defaults.js';
import { EXIT_OK } from '../io.js';
import { backendFlag, intFlag, modelFamilyArg, numberFlag, seedFlag } from '../nn-flags.js';
import type { CommandModule } from '../program.js';
import { SIZE_LIMITS } from '../size-limits.js';
import { deltaNetEvalRequest, runDeltaNetEval } from './deltanet-commands.js';

export const evalCommand: CommandModule = {
  register(program, io, setExitCode) {
    program
      .command('eval')
      .description(
        'evaluate trained models on held-out data (delta-cnn: accuracy and MAC-weighted density; deltanet: query accuracy of both mixers; iformer: accuracy, weights, MACs)',
      )
      .argument('<model>', 'model family: delta-cnn, deltanet or iformer')
      .option(
        '--model <dir>',
        'a model directory (delta-cnn: its card says dense or dal; deltanet: delta or linear; iformer: repeat for several)',
        (dir: string, previous: string[] | undefined) => [...(previous ?? []), dir],
      )
      .option('--dense <dir>', 'the dense baseline (dense and naive-delta variants)')
      .option('--dal <dir>', 'the DAL-trained model (dal variant)')
      .option('--clips <n>', 'held-out clips', '500')
      .option('--sequences <n>', 'deltanet: held-out sequences (default 1000)')
      .option('--delta <dir>', 'deltanet: the DeltaNet model')
      .option('--linear <dir>', 'deltanet: the linear-attention model')
      .option('--seed <n>', 'seed of the held-out clips')
      .option('--naive-threshold <x>', 'naive-delta threshold on |Δ|', '0.001')
      .option(
        '--write-cards',
        "store the figures in the models' card.json metrics (needs --force: it rewrites files)",
      )
      .option('--force', 'allow --write-cards to rewrite the card.json files')
      .option('--json', 'print one JSON object (last line of stdout)')
      .option('--backend <name>', 'tfjs backend: auto, tensorflow, wasm or cpu', 'auto')
      .action(async (model, options, command) => {
        const verbose = Boolean((command.optsWithGlobals() as { verbose?: boolean }).verbose);
        const family = modelFamilyArg(model);
        // --write-cards rewrites card.json files this run did not create: only with the user's --force.
        if (options.writeCards && !options.force) {
          throw new UsageError('--write-cards', '', "rewrites the models' card.json: pass --force as well");
        }
        if (family === 'iformer') {
          const prefer = backendFlag(options.backend);
          const { evalIFormerAction } = await import('./iformer-actions.js');
          await evalIFormerAction(io, options.model ?? [], { json: Boolean(options.json), prefer, verbose });
          setExitCode(EXIT_OK);
          return;
        }
        if ((options.model?.length ?? 0) > 1) {
          throw new UsageError('--model', options.model!.join(', '), `${family} takes one --model`);
        }
        const modelDir = options.model?.[0];
        if (family === 'deltanet') {
          const request = deltaNetEvalRequest(
            { ...options, model: modelDir },
            backendFlag(options.backend),
            verbose,
          );
          await runDeltaNetEval(io, request);
          setExitCode(EXIT_OK);
          return;
        }
        // Flags first: a typo must not cost a tfjs start-up and two model loads.
        const clips = intFlag('--clips', options.clips, 500, 1, SIZE_LIMITS.clips);
        const seed = seedFlag('--seed', options.seed, EVAL_SEED);
        const naiveThreshold = numberFlag(
          '--naive-threshold',
          options.naiveThreshold,
          NAIVE_DELTA_THRESHOLD,
          0,
        );
        const prefer = backendFlag(options.backend);
        let denseDir = options.dense;
        let dalDir = options.dal;
        const { loadTf } = await import('../../nn/runtime.js');
        const { loadModel } = await import('../../nn/model-io.js');
        const runtime = await loadTf({
          prefer,
          ...(verbose ? { verbose: (line: string) => io.stderr.write(`${line}\n`) } : {}),
        });
        const loaded = new Map<string, Awaited<ReturnType<typeof loadModel>>>();
        if (modelDir) {
          const m = await loadModel(runtime, resolve(io.cwd, modelDir));
          loaded.set(modelDir, m);
          if (m.card.variant === 'dal') dalDir ??= modelDir;
          else denseDir ??= modelDir;
        }
        if (!denseDir && !dalDir) {
          denseDir = join('models', 'delta-cnn-dense');
          dalDir = join('models', 'delta-cnn-dal');
        }
        const get = async (dir: string | undefined) => {
          if (!dir) return undefined;
          const m = loaded.get(dir) ?? (await loadModel(runtime, resolve(io.cwd, dir)));
          loaded.set(dir, m);
          return m;
        };
        const dense = await get(denseDir);
        const dal = await get(dalDir);
        if (dal && dal.card.variant !== 'dal')
          throw new UsageError('--dal', dalDir ?? '', 'card.json variant is not dal');
        const { evaluateDeltaCnn } = await import('../../nn/eval/evaluate-delta-cnn.js');
        const started = Date.now();
        const evaluation = evaluateDeltaCnn(runtime, {
          dense: dense?.model,
          dal: dal?.model,
          clips,
          seed,
          naiveThreshold,
          log: (line) => io.stderr.write(`${line}\n`),
        });
        const byName = new Map(evaluation.variants.map((v) => [v.name, v]));
        const denseResult = byName.get('dense');
        const dalResult = byName.get('dal');
        const ratio =
          denseResult && dalResult && dalResult.macWeightedDensity > 0
            ? denseResult.macWeightedDensity / dalResult.macWeightedDensity
            : undefined;
        if (options.writeCards) {
          const { updateCardMetrics } = await import('../../nn/eval/card-metrics.js');
          if (dense && denseDir && denseResult) {
            await updateCardMetrics(
              resolve(io.cwd, denseDir),
              {
                heldOutAccuracy: denseResult.accuracy,
                macWeightedDensity: denseResult.macWeightedDensity,
                naiveDeltaAccuracy: byName.get('naive-delta')?.accuracy ?? Number.NaN,
                naiveDeltaMacWeightedDensity: byName.get('naive-delta')?.macWeightedDensity ?? Number.NaN,
              },
              { clips, seed },
            );
          }
          if (dal && dalDir && dalResult) {
            await updateCardMetrics(
              resolve(io.cwd, dalDir),
              {
                heldOutAccuracy: dalResult.accuracy,
                macWeightedDensity: dalResult.macWeightedDensity,
                keyFrameDensity: dalResult.keyFrameDensity,
                deltaFrameDensity: dalResult.deltaFrameDensity,
                quantisedActivationDensity: dalResult.activationDensity,
                ...(ratio !== undefined ? { denseOverDalDensity: ratio } : {}),
              },
              { clips, seed },
            );
          }
        }
        if (options.json) {
          io.stdout.write(
            `${JSON.stringify({
              clips,
              seed,
              frames: evaluation.frames,
              ...(ratio !== undefined ? { denseOverDal: ratio } : {}),
              variants: evaluation.variants,
            })}\n`,
          );
        } else {
          io.stdout.write(
            `delta-cnn on ${clips} held-out clips (seed ${seed}, ${evaluation.frames} frames each)\n`,
          );
          io.stdout.write(
            `${'variant'.padEnd(12)} ${'accuracy'.padStart(9)} ${'MAC-wt density'.padStart(15)} ${'key frames'.padStart(11)} ${'other frames'.padStart(13)} ${'operand values'.padStart(15)}\n`,
          );
          for (const v of evaluation.variants) {
            io.stdout.write(
              `${v.name.padEnd(12)} ${(100 * v.accuracy).toFixed(1).padStart(8)}% ${v.macWeightedDensity.toFixed(4).padStart(15)} ${v.keyFrameDensity.toFixed(4).padStart(11)} ${v.deltaFrameDensity.toFixed(4).padStart(13)} ${v.activationDensity.toFixed(4).padStart(15)}\n`,
            );
          }
          if (ratio !== undefined)
            io.stdout.write(`dense/dal MAC-weighted density ratio: ${ratio.toFixed(2)}x\n`);
          io.stdout.write(`(${((Date.now() - started) / 1000).toFixed(0)} s, backend ${runtime.backend})\n`);
        }
        setExitCode(EXIT_OK);
      });
  },
};
