import type * as tfTypes from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateVideoClips } from '../../../src/nn/data/video-clips.js';
import {
  evaluateDeltaCnn,
  foldedDeltas,
  thresholdedDeltaInput,
} from '../../../src/nn/eval/evaluate-delta-cnn.js';
import { macWeightMap, runLayerwise } from '../../../src/nn/eval/layerwise.js';
import { buildDeltaCnn, copyWeightsByName, deltaCnnGeometry } from '../../../src/nn/models/delta-cnn.js';
import { loadTf, type TfRuntime } from '../../../src/nn/runtime.js';
import { clipBatch } from '../../../src/nn/train/train-loop.js';

let runtime: TfRuntime;
beforeAll(async () => {
  runtime = await loadTf({ prefer: 'wasm' });
});

const FRAMES = 4;

/** Inputs of every MAC layer of `model` on two clips, folded [B·T, …]. */
function layerInputs(model: tfTypes.LayersModel): Map<string, tfTypes.Tensor> {
  const { tf } = runtime;
  const set = generateVideoClips({ seed: 21, count: 2, frames: FRAMES, split: 'heldout' });
  const { x, y } = clipBatch(tf, set, [0, 1]);
  const inputs = new Map<string, tfTypes.Tensor>();
  tf.tidy(() => {
    runLayerwise(model, x, (g, input) => {
      inputs.set(g.name, tf.keep(input.clone()));
      return input;
    });
  });
  tf.dispose([x, y]);
  return inputs;
}

/** W·v of a MAC layer, bias-free (the linear part a delta engine accumulates). */
function linear(model: tfTypes.LayersModel, name: string, v: tfTypes.Tensor): tfTypes.Tensor {
  const { tf } = runtime;
  const g = deltaCnnGeometry(32).find((l) => l.name === name)!;
  const kernel = model.getLayer(name).getWeights()[0]!;
  return g.op === 'dense'
    ? tf.matMul(v as tfTypes.Tensor2D, kernel as tfTypes.Tensor2D)
    : tf.conv2d(v as tfTypes.Tensor4D, kernel as tfTypes.Tensor4D, g.stride, 'same');
}

/** Σ_{τ ≤ t} W·Δ_τ for every frame t, folded like the input. */
function accumulated(model: tfTypes.LayersModel, name: string, delta: tfTypes.Tensor): tfTypes.Tensor {
  const { tf } = runtime;
  return tf.tidy(() => {
    const perFrame = linear(model, name, delta);
    const rows = tf.reshape(perFrame, [perFrame.shape[0]! / FRAMES, FRAMES, -1]);
    return tf.reshape(tf.cumsum(tf.transpose(rows, [0, 2, 1]), 2).transpose([0, 2, 1]), perFrame.shape);
  });
}

function maxRelativeError(a: tfTypes.Tensor, b: tfTypes.Tensor): number {
  const { tf } = runtime;
  return tf.tidy(() => {
    const scale = Math.max(tf.max(tf.abs(b)).dataSync()[0]!, 1e-6);
    return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! / scale;
  });
}

describe('delta inference (y_t = y_{t−1} + W·Δ_t)', () => {
  it('with θ: accumulating W·Δ_t equals running the layer on q_t', () => {
    const model = buildDeltaCnn({ variant: 'dal', seed: 4, frames: FRAMES, thresholdInit: 0.2 });
    const inputs = layerInputs(model);
    for (const [name, q] of inputs) {
      const direct = linear(model, name, q);
      const viaDeltas = accumulated(model, name, foldedDeltas(runtime.tf, q, FRAMES));
      expect(maxRelativeError(viaDeltas, direct), name).toBeLessThan(1e-5);
      runtime.tf.dispose([direct, viaDeltas, q]);
    }
  });

  it('θ → 0: accumulating W·Δ_t reproduces the dense per-frame layer outputs', () => {
    const dal = buildDeltaCnn({
      variant: 'dal',
      seed: 4,
      frames: FRAMES,
      thresholdInit: 1e-6,
      inputThresholdInit: 1e-6,
    });
    const dense = buildDeltaCnn({ variant: 'dense', seed: 99, frames: FRAMES });
    copyWeightsByName(dense, dal);
    const quantised = layerInputs(dal);
    const plain = layerInputs(dense);
    for (const [name, q] of quantised) {
      const direct = linear(dense, name, plain.get(name)!);
      const viaDeltas = accumulated(dal, name, foldedDeltas(runtime.tf, q, FRAMES));
      expect(maxRelativeError(viaDeltas, direct), name).toBeLessThan(1e-4);
      runtime.tf.dispose([direct, viaDeltas, q, plain.get(name)!]);
    }
  });
});

describe('evaluation variants', () => {
  it('naive-delta holds the last sent value: error ≤ threshold, sends only larger changes', () => {
    const { tf } = runtime;
    // Two clips × 3 frames of 4 values: small drifts and one big jump.
    const x = tf.tensor2d(
      [0, 1, 2, 3, 0.0005, 1, 2.5, 3, 0.0012, 1, 2.5, 3.0008, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
      [6, 4],
    );
    const { input, sent } = thresholdedDeltaInput(tf, x, 3, 1e-3);
    const held = input.arraySync() as number[][];
    expect(held[1]).toEqual([0, 1, 2.5, 3]);
    // 0.0005 drift is held back; by 0.0012 the gap to the held 0 exceeds the threshold and is sent.
    expect(held[2]![0]).toBeCloseTo(0.0012, 6);
    expect(held[2]![3]).toBe(3);
    expect(Array.from(sent.dataSync())).toEqual([
      0, 1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    tf.dispose([x, input, sent]);
  });

  it('MAC weights of a conv input sum to the MACs whose operand is not padding', () => {
    const { tf } = runtime;
    for (const g of deltaCnnGeometry(32).filter((l) => l.op === 'conv2d')) {
      const [h, w, c] = g.inputShape as [number, number, number];
      const [ho, wo, n] = g.outputShape as [number, number, number];
      let brute = 0;
      for (let oy = 0; oy < ho; oy++)
        for (let ox = 0; ox < wo; ox++)
          for (let ky = 0; ky < g.kernel; ky++)
            for (let kx = 0; kx < g.kernel; kx++) {
              const iy = oy * g.stride + ky - g.padding[0];
              const ix = ox * g.stride + kx - g.padding[2];
              if (iy >= 0 && iy < h && ix >= 0 && ix < w) brute += c * n;
            }
      const map = macWeightMap(tf, g);
      expect(tf.sum(map).dataSync()[0]! * c).toBe(brute);
      expect(brute).toBeLessThanOrEqual(g.macs);
      map.dispose();
    }
  });

  it('reports dense, naive-delta and dal with per-layer densities', () => {
    const dense = buildDeltaCnn({ variant: 'dense', seed: 5, frames: FRAMES });
    const dal = buildDeltaCnn({ variant: 'dal', seed: 5, frames: FRAMES });
    const result = evaluateDeltaCnn(runtime, { dense, dal, clips: 4, seed: 2 });
    expect(result.variants.map((v) => v.name)).toEqual(['dense', 'naive-delta', 'dal']);
    for (const v of result.variants) {
      expect(v.macWeightedDensity).toBeGreaterThan(0);
      expect(v.macWeightedDensity).toBeLessThanOrEqual(1);
      expect(v.layers).toHaveLength(6);
    }
    const [denseResult, naive, dalResult] = result.variants;
    expect(denseResult!.activationDensity).toBeCloseTo(denseResult!.macWeightedDensity, 10);
    // Δ_0 = q_0: the dal key frame costs what its quantised activations cost.
    expect(dalResult!.activationDensity).toBeGreaterThan(0);
    // Sensor noise: naive deltas of the input pixels are nearly as dense as the frames themselves
    // (only the x_{t−1} half of frame 1's pair repeats frame 0's).
    expect(naive!.layers[0]!.density).toBeGreaterThan(0.75);
    expect(denseResult!.layers[0]!.density).toBeGreaterThan(0.99);
  });
});
