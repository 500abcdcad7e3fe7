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
