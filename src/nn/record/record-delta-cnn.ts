import type * as tfTypes from '@tensorflow/tfjs';
import type { TraceLayer } from '../../trace/manifest.js';
import type { StepTensor } from '../../trace/writer.js';
import { generateVideoClips } from '../data/video-clips.js';
import { runLayerwise } from '../eval/layerwise.js';
import { DeltaActivation } from '../layers/delta-activation.js';
import { dalNameFor, deltaCnnGeometry, type MacLayerGeometry } from '../models/delta-cnn.js';
import type { TfRuntime } from '../runtime.js';
import { clipBatch } from '../train/train-loop.js';
import { openRecording, type RecordingOptions } from './open-recording.js';

/** `seed` picks the recorded clips (held-out digit pool). */
export interface RecordDeltaCnnOptions extends RecordingOptions {
  readonly clips: number;
  readonly log?: (line: string) => void;
}

/** The manifest entry of one MAC-bearing layer, as the model applies it. */
export function traceLayerFor(g: MacLayerGeometry, theta: readonly number[] | undefined): TraceLayer {
  const roles = ['input', 'delta', 'weight'] as const;
  const outputs = g.outputShape.reduce((p, d) => p * d, 1);
  const inputs = g.inputShape.reduce((p, d) => p * d, 1);
  // Off the array: bias + ReLU per output, quantise + subtract per input value.
  const elementwiseOps = 2 * outputs + 2 * inputs;
  const thresholds = theta ? { deltaThreshold: theta } : {};
  if (g.op === 'dense') {
    const [k] = g.inputShape as [number];
    const [n] = g.outputShape as [number];
    return {
      name: g.name,
      op: 'dense',
      inputShape: [1, k],
      outputShape: [1, n],
      operandShape: [k, n],
      gemm: { m: 1, n, k },
      gemmCount: 1,
      roles,
      elementwiseOps,
      ...thresholds,
    };
  }
  const [, , c] = g.inputShape as [number, number, number];
  const [ho, wo, n] = g.outputShape as [number, number, number];
  return {
    name: g.name,
    op: 'conv2d',
    inputShape: [...g.inputShape],
    outputShape: [...g.outputShape],
    operandShape: [g.kernel, g.kernel, c, n],
    kernel: [g.kernel, g.kernel],
    stride: [g.stride, g.stride],
    padding: [...g.padding],
    dilation: [1, 1],
    gemm: { m: ho * wo, n, k: g.kernel * g.kernel * c },
    gemmCount: 1,
    roles,
    elementwiseOps,
    ...thresholds,
  };
}

/** θ of the DAL in front of each MAC layer, if the model has one. */
function thresholdsOf(model: tfTypes.LayersModel, g: MacLayerGeometry): number[] | undefined {
  const dal = model.layers.find((l) => l.name === dalNameFor(g.name));
  return dal instanceof DeltaActivation ? dal.thetaValues() : undefined;
}

/**
 * Records a trace of `model` on `clips` held-out clips: per frame and MAC-bearing layer the input it
 * consumes (q_t, already quantised by the DAL in front of it), the delta Δ_t = q_t − q_{t−1}
 * (= q_t on a clip's first frame, the key frame) — the writer adds both masks — and, once, the weights.
 */
export async function recordDeltaCnn(
  runtime: TfRuntime,
  model: tfTypes.LayersModel,
  options: RecordDeltaCnnOptions,
): Promise<{ files: readonly string[]; bytes: number; steps: number }> {
  const { tf } = runtime;
  const frames = model.inputs[0]!.shape[1] as number;
  const size = model.inputs[0]!.shape[2] as number;
  const classes = model.outputs[0]!.shape[1] as number;
  const geometry = deltaCnnGeometry(size, classes);
  const layers = geometry.map((g) => traceLayerFor(g, thresholdsOf(model, g)));
  const writer = await openRecording('delta-cnn', layers, options);
  try {
    for (const g of geometry) {
      const kernel = model.getLayer(g.name).getWeights()[0]!;
      const layer = layers.find((l) => l.name === g.name)!;
      await writer.writeStatic(g.name, 'weight', kernel.dataSync() as Float32Array, layer.operandShape!);
    }
    const set = generateVideoClips({
      seed: options.seed,
      count: options.clips,
      split: 'heldout',
      frames,
      size,
    });
    let step = 0;
    for (let clip = 0; clip < set.count; clip++) {
      const captured = new Map<string, Float32Array>();
      const { x, y } = clipBatch(tf, set, [clip]);
      tf.tidy(() => {
        runLayerwise(model, x, (g, input) => {
          captured.set(g.name, input.dataSync() as Float32Array);
          return input;
        });
      });
      tf.dispose([x, y]);
      for (let t = 0; t < frames; t++) {
        const tensors: StepTensor[] = [];
        for (const layer of layers) {
          const all = captured.get(layer.name)!;
          const perFrame = all.length / frames;
          const input = all.slice(t * perFrame, (t + 1) * perFrame);
          const delta = new Float32Array(perFrame);
          if (t === 0) delta.set(input);
          else for (let i = 0; i < perFrame; i++) delta[i] = input[i]! - all[(t - 1) * perFrame + i]!;
          tensors.push({ layer: layer.name, role: 'input', values: input, shape: layer.inputShape });
          tensors.push({ layer: layer.name, role: 'delta', values: delta, shape: layer.inputShape });
        }
        await writer.writeStep({ index: step, sequence: clip, position: t, keyFrame: t === 0 }, tensors);
        step += 1;
      }
      options.log?.(`recorded clip ${clip + 1}/${set.count}`);
    }
    const done = await writer.finish();
    return { ...done, steps: step };
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
