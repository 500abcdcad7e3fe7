import type * as tfTypes from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTf, type TfRuntime } from '../../../src/nn/runtime.js';
import { restoreAdam, snapshotAdam } from '../../../src/nn/train/adam-state.js';

let runtime: TfRuntime;
beforeAll(async () => {
  runtime = await loadTf({ prefer: 'wasm' });
});

/** Adam on Σ (v − target)² for `steps` steps. */
function steps(optimizer: tfTypes.Optimizer, variable: tfTypes.Variable, count: number): void {
  const { tf } = runtime;
  const target = tf.tensor1d([0.3, -1.7, 2.5, 0.01]);
  for (let i = 0; i < count; i++) {
    optimizer.minimize(() => tf.sum(tf.square(tf.sub(variable, target))) as tfTypes.Scalar, false, [
      variable,
    ]);
  }
  target.dispose();
}

const bits = (t: tfTypes.Tensor): number[] =>
  Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));

describe('Adam state in checkpoints', () => {
  it('restoring the snapshot continues bit for bit; tfjs setWeights alone does not restore β powers', async () => {
    const { tf } = runtime;
    const straight = tf.variable(tf.tensor1d([1, 2, 3, 4]));
    const optimizer = tf.train.adam(0.05);
    steps(optimizer, straight, 13);
    const state = await snapshotAdam(optimizer);
    expect(state.map((t) => t.name)).toContain('adam/accBeta1');

    const resumedVariable = tf.variable(tf.tensor(straight.dataSync(), straight.shape));
    const resumed = tf.train.adam(0.05);
    await restoreAdam(tf, resumed, state);
    const plain = tf.train.adam(0.05);
    await plain.setWeights(
      state
        .filter((t) => !t.name.startsWith('adam/'))
        .map((t) => ({ name: t.name, tensor: tf.tensor(t.values, [...t.shape]) })),
    );
    // What tfjs recomputes (β^(t+1) by pow) is not the running product the optimizer had.
    const powersOf = (o: tfTypes.Optimizer) => {
      const view = o as unknown as { accBeta1: tfTypes.Variable; accBeta2: tfTypes.Variable };
      return tf.concat([view.accBeta1.reshape([1]), view.accBeta2.reshape([1])]);
    };
    expect(bits(powersOf(resumed))).toEqual(bits(powersOf(optimizer)));
    expect(bits(powersOf(plain))).not.toEqual(bits(powersOf(optimizer)));

    steps(optimizer, straight, 20);
    steps(resumed, resumedVariable, 20);
    expect(bits(resumedVariable)).toEqual(bits(straight));
  });

  it('refuses a state without the β powers (it could not resume exactly)', async () => {
    const { tf } = runtime;
    const optimizer = tf.train.adam(0.05);
    await expect(restoreAdam(tf, optimizer, [])).rejects.toThrow(/β powers/);
  });
});
