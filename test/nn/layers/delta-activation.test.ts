import { fc, test } from '@fast-check/vitest';
import type * as tfTypes from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DeltaActivation,
  meanAbsTemporalDelta,
  quantiseSte,
  temporalDeltas,
} from '../../../src/nn/layers/delta-activation.js';
import { loadTf, type TfRuntime } from '../../../src/nn/runtime.js';

let runtime: TfRuntime;
beforeAll(async () => {
  runtime = await loadTf({ prefer: 'wasm' });
});

const values = fc.array(fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true }), {
  minLength: 12,
  maxLength: 12,
});
const step = fc.float({ min: Math.fround(0.05), max: 2, noNaN: true });

describe('DAL forward', () => {
  test.prop([values, step, step])('q is an integer multiple of θ, within θ/2 of x', (xs, t0, t1) => {
    const { tf } = runtime;
    const x = tf.tensor3d(xs, [1, 6, 2]);
    const theta = tf.tensor1d([t0, t1]);
    const q = quantiseSte(x, theta).dataSync();
    q.forEach((v, i) => {
      const th = i % 2 === 0 ? t0 : t1;
      expect(Math.abs(v / th - Math.round(v / th))).toBeLessThan(1e-4);
      expect(Math.abs(v - xs[i]!)).toBeLessThanOrEqual(th / 2 + 1e-5);
    });
    tf.dispose([x, theta]);
  });

  it('Δ = 0 when frames repeat, and the first frame is dense (Δ_0 = q_0)', () => {
    const { tf } = runtime;
    const frame = tf.randomUniform([1, 1, 4, 4, 3], 0.1, 1, 'float32', 5);
    const clip = tf.tile(frame, [2, 6, 1, 1, 1]);
    const layer = new DeltaActivation({ thresholdInit: 0.1 });
    const q = layer.apply(clip) as tfTypes.Tensor;
    const delta = temporalDeltas(q);
    const d = delta.arraySync() as number[][][][][];
    const qa = q.arraySync() as number[][][][][];
    expect(d[1]![0]).toEqual(qa[1]![0]);
    for (let t = 1; t < 6; t++) expect(d[0]![t]!.flat(3).every((v) => v === 0)).toBe(true);
    expect(qa[0]![0]!.flat(3).some((v) => v !== 0)).toBe(true);
    tf.dispose([frame, clip, q, delta]);
  });

  it('leaves the MAC-weighted penalty sp_rate · n_outputs · mean|Δ| on a training call', () => {
    const { tf } = runtime;
    const x = tf.randomUniform([2, 4, 3, 3, 2], 0, 1, 'float32', 9);
    const layer = new DeltaActivation({ thresholdInit: 0.2, spRate: 0.01, fanOut: 72 });
    const q = layer.apply(x, { training: true }) as tfTypes.Tensor;
    const expected = 0.01 * 72 * (tf.mean(tf.abs(temporalDeltas(q))).dataSync()[0] ?? Number.NaN);
    expect(layer.pendingPenalty?.dataSync()[0]).toBeCloseTo(expected, 5);
    expect(meanAbsTemporalDelta(q).dataSync()[0]).toBeCloseTo(expected / 0.72, 5);
    layer.pendingPenalty?.dispose();
    tf.dispose([x, q]);
  });
});

describe('DAL gradients', () => {
  test.prop([values, step, step])('rounding is straight-through: ∂(Σ w·q)/∂x = w', (xs, t0, t1) => {
    const { tf } = runtime;
    const x = tf.tensor3d(xs, [2, 3, 2]);
    const theta = tf.tensor1d([t0, t1]);
    const w = tf.linspace(-1, 1, 12).reshape([2, 3, 2]);
    const g = tf.grad((a: tfTypes.Tensor) => tf.sum(tf.mul(quantiseSte(a, theta), w)))(x);
    expect(Array.from(g.dataSync())).toEqual(Array.from(w.dataSync()));
    tf.dispose([x, theta, w, g]);
  });

  test.prop([values, step, step])(
    '∂q/∂θ = −round(x/θ), summed per channel (the authors’ sign)',
    (xs, t0, t1) => {
      const { tf } = runtime;
      const x = tf.tensor3d(xs, [2, 3, 2]);
      const theta = tf.tensor1d([t0, t1]);
      const w = tf.linspace(-1, 1, 12).reshape([2, 3, 2]);
      const g = tf
        .grad((th: tfTypes.Tensor) => tf.sum(tf.mul(quantiseSte(x, th), w)))(theta)
        .dataSync();
      const wv = w.dataSync();
      const expected = [0, 0];
      xs.forEach((v, i) => {
        const c = i % 2;
        expected[c]! += -wv[i]! * Math.round(Math.fround(v / (c === 0 ? t0 : t1)));
      });
      expect(g[0]).toBeCloseTo(expected[0]!, 3);
      expect(g[1]).toBeCloseTo(expected[1]!, 3);
      tf.dispose([x, theta, w]);
    },
  );

  it('the L1 penalty on deltas pushes θ up (negative gradient on |threshold|)', () => {
    const { tf } = runtime;
    const x = tf.randomUniform([2, 4, 3, 3, 2], 0, 1, 'float32', 3);
    const layer = new DeltaActivation({ thresholdInit: 0.1, spRate: 1, fanOut: 1 });
    layer.apply(x, { training: true });
    layer.pendingPenalty?.dispose();
    const weight = layer.trainableWeights[0]!.read() as tfTypes.Variable;
    const { grads } = tf.variableGrads(() => {
      layer.apply(x, { training: true });
      const p = layer.pendingPenalty!;
      layer.pendingPenalty = undefined;
      return p;
    }, [weight]);
    const g = grads[weight.name]!.dataSync();
    expect(Array.from(g).every((v) => v < 0)).toBe(true);
    tf.dispose([x, ...Object.values(grads)]);
  });
});
