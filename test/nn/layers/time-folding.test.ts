import { beforeAll, describe, expect, it } from 'vitest';
import { FramePair } from '../../../src/nn/layers/time-folding.js';
import { loadTf, type TfRuntime } from '../../../src/nn/runtime.js';

let runtime: TfRuntime;
beforeAll(async () => {
  runtime = await loadTf({ prefer: 'wasm' });
});

describe('FramePair', () => {
  // [B = 2, T = 3, F = 2]
  const values = [1, 2, 4, 3, 9, 5, 0, 1, 2, 2, 7, -1];

  it('pairs each frame with its predecessor (the first with itself)', () => {
    const { tf } = runtime;
    const out = new FramePair().apply(tf.tensor3d(values, [2, 3, 2])) as ReturnType<typeof tf.tensor3d>;
    expect(out.shape).toEqual([2, 3, 4]);
    expect(Array.from(out.dataSync())).toEqual([
      1, 2, 1, 2, 4, 3, 1, 2, 9, 5, 4, 3, 0, 1, 0, 1, 2, 2, 0, 1, 7, -1, 2, 2,
    ]);
  });

  it('difference: each frame with its change since the previous one (zero on the first frame)', () => {
    const { tf } = runtime;
    const layer = new FramePair({ difference: true });
    const out = layer.apply(tf.tensor3d(values, [2, 3, 2])) as ReturnType<typeof tf.tensor3d>;
    expect(Array.from(out.dataSync())).toEqual([
      1, 2, 0, 0, 4, 3, 3, 1, 9, 5, 5, 2, 0, 1, 0, 0, 2, 2, 2, 1, 7, -1, 5, -3,
    ]);
    // The choice survives saving: a loaded model rebuilds the same layer.
    expect(layer.getConfig().difference).toBe(true);
    expect(new FramePair().getConfig().difference).toBeUndefined();
  });
});
