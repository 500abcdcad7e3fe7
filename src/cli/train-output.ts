import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { exists } from '../common/atomic-write.js';
import { UsageError } from '../common/input-error.js';
import { InterruptedError, stopRequested } from '../common/shutdown.js';
import type { CliIo } from './io.js';
import { checkOutputPath } from './output-path.js';

/**
 * Decides, before tfjs loads, what `train` may do in `--out`: a new or empty directory is ours; an
 * existing model directory is replaced only with `--force` (its model files and checkpoint —
 * anything else in it stays) or continued with `--resume` (which needs the checkpoint there).
 */
export async function prepareTrainOutput(
  io: CliIo,
  outDir: string,
  flags: { readonly resume: boolean; readonly force: boolean },
): Promise<void> {
  if (flags.resume && flags.force) {
    throw new UsageError('--force', '', 'cannot be combined with --resume (resume keeps the directory)');
  }
  await checkOutputPath('--out', outDir, 'directory', {
    force: flags.force || flags.resume,
    log: (line) => io.stderr.write(`deltasim: ${line}\n`),
  });
  const { CHECKPOINT_FILE, CheckpointError } = await import('../nn/train/checkpoint.js');
  const checkpoint = join(outDir, CHECKPOINT_FILE);
  if (flags.resume && !(await exists(checkpoint))) {
    throw new CheckpointError(checkpoint, '', 'is missing (nothing to --resume)');
  }
  // A fresh run must not leave another run's checkpoint for a later --resume to pick up.
  if (flags.force && !flags.resume) await rm(checkpoint, { force: true });
}

/** Once the model is saved, the checkpoint (ours) has served its purpose. */
export async function removeTrainCheckpoint(outDir: string): Promise<void> {
  const { CHECKPOINT_FILE } = await import('../nn/train/checkpoint.js');
  await rm(join(outDir, CHECKPOINT_FILE), { force: true });
}

/**
 * A training run that stopped early because of Ctrl-C / SIGTERM ends as an interruption (exit 130)
 * that tells how to continue; a run that stopped for any other reason is finished.
 */
export function throwIfInterrupted(stoppedEarly: unknown, out: string): void {
  const signal = stopRequested();
  if (stoppedEarly && signal) {
    throw new InterruptedError(
      signal,
      `checkpoint saved in ${out}; continue with the same command and --resume`,
    );
  }
}

/** A model card's training metrics from the last logged epoch or step (NaN when none ran). */
export function lastTrainingMetrics(
  last:
    | { readonly loss: number; readonly trainAccuracy?: number; readonly validationAccuracy?: number }
    | undefined,
): { trainLoss: number; trainAccuracy: number; validationAccuracy: number } {
  return {
    trainLoss: last?.loss ?? Number.NaN,
    trainAccuracy: last?.trainAccuracy ?? Number.NaN,
    validationAccuracy: last?.validationAccuracy ?? Number.NaN,
  };
}
