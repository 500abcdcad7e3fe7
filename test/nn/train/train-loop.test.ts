import { cpSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deltaActivationLayers } from '../../../src/nn/models/delta-cnn.js';
import { loadTf, type TfRuntime } from '../../../src/nn/runtime.js';
import { epochBatchOrder, partitionBatches } from '../../../src/nn/train/batch-schedule.js';
import { readCheckpoint } from '../../../src/nn/train/checkpoint.js';
import { trainDeltaCnn } from '../../../src/nn/train/train-loop.js';

let runtime: TfRuntime;
let root: string;
beforeAll(async () => {
  runtime = await loadTf({ prefer: 'wasm' });
  root = await mkdtemp(join(tmpdir(), 'deltasim-train-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

// Tiny runs: 4-frame clips, one batch of 6 clips per epoch, a few validation clips.
const tiny = { seed: 11, clips: 6, batchSize: 6, frames: 4, validationClips: 2, learningRate: 3e-3 } as const;

function weightsOf(model: import('@tensorflow/tfjs').LayersModel): number[] {
  return model.getWeights().flatMap((w) => Array.from(w.dataSync()));
}

describe('trainDeltaCnn', () => {
  it('lowers the loss in a few steps (dense)', async () => {
    const { history } = await trainDeltaCnn(runtime, { ...tiny, variant: 'dense', epochs: 4 });
    expect(history).toHaveLength(4);
    expect(history[3]!.loss).toBeLessThan(history[0]!.loss);
  });

  it('trains the DAL variant: the penalty is part of the loss and θ moves', async () => {
    const { model, history } = await trainDeltaCnn(runtime, {
      ...tiny,
      variant: 'dal',
      epochs: 2,
      spRate: 1e-3,
    });
    expect(history[0]!.penalty).toBeGreaterThan(0);
    expect(history[0]!.loss).toBeCloseTo(history[0]!.crossEntropy + history[0]!.penalty, 4);
    const thetas = deltaActivationLayers(model).flatMap((d) => d.thetaValues());
    expect(thetas.some((t) => Math.abs(t - 0.05) > 1e-4)).toBe(true);
  });

  it('resumes from its checkpoint to exactly the weights of an uninterrupted run', async () => {
    const dir = join(root, 'resume');
    const straight = await trainDeltaCnn(runtime, { ...tiny, variant: 'dal', epochs: 2, spRate: 1e-3 });
    await trainDeltaCnn(runtime, { ...tiny, variant: 'dal', epochs: 1, spRate: 1e-3, checkpointDir: dir });
    expect((await readCheckpoint(dir)).epochsDone).toBe(1);
    const resumed = await trainDeltaCnn(runtime, {
      ...tiny,
      variant: 'dal',
      epochs: 2,
      spRate: 1e-3,
      checkpointDir: dir,
      resume: true,
    });
    expect(weightsOf(resumed.model)).toEqual(weightsOf(straight.model));
    expect(resumed.history.map((h) => h.loss)).toEqual(straight.history.map((h) => h.loss));
  });
});

// Several batches per epoch (5 of 4 clips), DyBAT's hard-batch selection on after epoch 1 (3 of 5).
const several = {
  ...tiny,
  clips: 20,
  batchSize: 4,
  variant: 'dal',
  spRate: 1e-3,
  hardFraction: 0.6,
} as const;

/** The weights' float32 bit patterns, in order: equal only if every weight is identical. */
function weightBits(model: import('@tensorflow/tfjs').LayersModel): Uint32Array {
  const floats = Float32Array.from(model.getWeights().flatMap((w) => Array.from(w.dataSync())));
  return new Uint32Array(floats.buffer);
}

describe('exact resume with several batches per epoch', () => {
  let straight: Awaited<ReturnType<typeof trainDeltaCnn>>;
  beforeAll(async () => {
    straight = await trainDeltaCnn(runtime, { ...several, epochs: 3 });
  }, 60_000);

  // Stop requests are asked after every batch but an epoch's last, and once after each epoch:
  // epoch 1 asks 4 + 1 times, epoch 2 (3 batches) 2 + 1 times.
  it.each([
    ['inside epoch 1', 2, { epoch: 0, batch: 2 }],
    ['between epochs 1 and 2', 5, { epoch: 1, batch: 0 }],
    ['inside epoch 2', 7, { epoch: 1, batch: 2 }],
  ] as const)('stopped %s, then resumed: identical weights and history', async (name, askedTimes, at) => {
    const dir = join(root, `stop-${askedTimes}`);
    let asked = 0;
    const stopped = await trainDeltaCnn(runtime, {
      ...several,
      epochs: 3,
      checkpointDir: dir,
      shouldStop: () => ++asked === askedTimes,
    });
    expect(stopped.stoppedAt, name).toEqual(at);
    const checkpoint = await readCheckpoint(dir);
    expect(checkpoint.epochsDone).toBe(at.epoch);
    expect(checkpoint.progress?.step ?? 0).toBe(at.batch);
    const resumed = await trainDeltaCnn(runtime, { ...several, epochs: 3, checkpointDir: dir, resume: true });
    expect(resumed.stoppedAt).toBeUndefined();
    expect(weightBits(resumed.model)).toEqual(weightBits(straight.model));
    expect(resumed.history).toEqual(straight.history);
    expect(resumed.batchLosses).toEqual(straight.batchLosses);
  });

  it('resumes from a periodic checkpoint inside an epoch (what a kill -9 leaves)', async () => {
    const dir = join(root, 'periodic');
    const copy = join(root, 'periodic-copy');
    let asked = 0;
    // With a checkpoint every 2 batches, when asked after batch 4 of epoch 1 the file on disk is
    // the one written after batch 2: keep it, as a process killed at that moment would.
    await trainDeltaCnn(runtime, {
      ...several,
      epochs: 3,
      checkpointDir: dir,
      checkpointEveryBatches: 2,
      shouldStop: () => {
        if (++asked === 4) cpSync(dir, copy, { recursive: true });
        return false;
      },
    });
    const kept = await readCheckpoint(copy);
    expect([kept.epochsDone, kept.progress?.step]).toEqual([0, 2]);
    const resumed = await trainDeltaCnn(runtime, {
      ...several,
      epochs: 3,
      checkpointDir: copy,
      resume: true,
    });
    expect(weightBits(resumed.model)).toEqual(weightBits(straight.model));
  });

  it('refuses to resume under different options, naming the checkpoint and the option', async () => {
    const dir = join(root, 'stop-2');
    await expect(
      trainDeltaCnn(runtime, { ...several, batchSize: 5, epochs: 3, checkpointDir: dir, resume: true }),
    ).rejects.toThrow(`${join(dir, 'checkpoint.ckpt')}: options.batchSize: is 4 in the checkpoint but 5 now`);
  });
});

describe('batch schedule (DyBAT bookkeeping)', () => {
  it('partitions every clip into exactly one batch', () => {
    const batches = partitionBatches(23, 5, 3);
    expect(batches.map((b) => b.length)).toEqual([5, 5, 5, 5, 3]);
    expect(batches.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 23 }, (_, i) => i));
  });

  it('δ = 1 visits every batch; δ < 1 keeps the hardest (unseen first)', () => {
    const losses = [0.1, 2, Number.NaN, 0.5, 1];
    expect(epochBatchOrder(losses, 1, 1, 3).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(epochBatchOrder(losses, 0.4, 1, 3).sort()).toEqual([1, 2]);
    expect(epochBatchOrder(losses, 0.6, 1, 3).sort()).toEqual([1, 2, 4]);
  });
});
