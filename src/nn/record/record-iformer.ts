import type * as tfTypes from '@tensorflow/tfjs';
import { createPrng } from '../../common/prng.js';
import type { TensorRole, TraceLayer } from '../../trace/manifest.js';
import type { StepTensor } from '../../trace/writer.js';
import type { ImageSet } from '../data/mnist-digits.js';
import type { VideoClipSet } from '../data/video-clips.js';
import { DeltaActivation } from '../layers/delta-activation.js';
import { type BlockSite, blockDalName, IFormerBlock } from '../layers/iformer-layers.js';
import { samePadding } from '../models/delta-cnn.js';
import { IFORMER_INPUT_DAL, IFORMER_STEM_DAL } from '../models/iformer.js';
import { MLP_RATIO } from '../models/iformer-config.js';
import type { TfRuntime } from '../runtime.js';
import { openRecording, type RecordingOptions } from './open-recording.js';

/** What the recorder runs the model on: held-out images (one step each) or clips (one step per frame). */
export type IFormerRecordInput =
  | { readonly kind: 'images'; readonly set: ImageSet; readonly count: number }
  | { readonly kind: 'clips'; readonly set: VideoClipSet };

export interface RecordIFormerOptions extends RecordingOptions {
  readonly input: IFormerRecordInput;
  readonly log?: (line: string) => void;
}

/**
 * Element-wise work per output value of the ops that do not run on the array (our own accounting,
 * docs/iformer.md): a LayerNorm reads mean and variance, subtracts, scales and applies γ, β; a
 * softmax takes the row maximum, exponentiates, sums and divides; pools compare or add their window.
 */
export const ELEMENTWISE_COST = {
  layerNorm: 8,
  softmax: 4,
  maxPool3x3: 9,
  upsample: 1,
  activation: 1,
  positionAdd: 1,
} as const;

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A trace layer plus where its tensors come from in the recording. */
interface RecordedLayer {
  readonly layer: TraceLayer;
  /** The B operand written once (weights), as [K, N] or the conv layout the manifest names. */
  readonly weight?: () => Float32Array;
  /** Which captured value is the layer's `input` (and, per step, `rhs`). */
  readonly inputFrom?: string;
  readonly rhsFrom?: string;
  /** `rhs` of QKᵀ is Kᵀ: the captured keys [heads, N, d] are transposed per head. */
  readonly transposeRhs?: { readonly heads: number; readonly tokens: number; readonly dim: number };
}

function elementwise(
  name: string,
  inputShape: readonly number[],
  outputShape: readonly number[],
  opsPerOutput: number,
): RecordedLayer {
  const outputs = product(outputShape);
  return {
    layer: {
      name,
      op: 'elementwise',
      inputShape: [...inputShape],
      outputShape: [...outputShape],
      // No GEMM: m counts the outputs, k the operations each costs (elementwiseOps = m·k).
      gemm: { m: outputs, n: 1, k: opsPerOutput },
      gemmCount: 0,
      roles: [],
      elementwiseOps: outputs * opsPerOutput,
    },
  };
}

/** Per-step roles of an A × weight layer: the input, and in video mode its temporal delta. */
function weightRoles(video: boolean): TensorRole[] {
  return video ? ['input', 'delta', 'weight'] : ['input', 'weight'];
}

function conv(
  name: string,
  inputShape: readonly [number, number, number],
  filters: number,
  kernel: number,
  stride: number,
  video: boolean,
  extraOps: number,
): TraceLayer {
  const [h, w, c] = inputShape;
  const [top, bottom] = samePadding(h, kernel, stride);
  const [left, right] = samePadding(w, kernel, stride);
  const ho = Math.ceil(h / stride);
  const wo = Math.ceil(w / stride);
  return {
    name,
    op: 'conv2d',
    inputShape: [h, w, c],
    outputShape: [ho, wo, filters],
    operandShape: [kernel, kernel, c, filters],
    kernel: [kernel, kernel],
    stride: [stride, stride],
    padding: [top, bottom, left, right],
    dilation: [1, 1],
    gemm: { m: ho * wo, n: filters, k: kernel * kernel * c },
    gemmCount: 1,
    roles: weightRoles(video),
    elementwiseOps: extraOps * ho * wo * filters,
  };
}

function depthwise(
  name: string,
  inputShape: readonly [number, number, number],
  video: boolean,
  extraOps: number,
): TraceLayer {
  const [h, w, c] = inputShape;
  return {
    name,
    op: 'depthwise',
    inputShape: [h, w, c],
    outputShape: [h, w, c],
    operandShape: [3, 3, c, 1],
    kernel: [3, 3],
    stride: [1, 1],
    padding: [1, 1, 1, 1],
    dilation: [1, 1],
    gemm: { m: h * w, n: 1, k: 9 },
    gemmCount: c,
    roles: weightRoles(video),
    elementwiseOps: extraOps * h * w * c,
  };
}

function matmul(
  name: string,
  rows: number,
  k: number,
  n: number,
  video: boolean,
  extraOps: number,
): TraceLayer {
  return {
    name,
    op: 'matmul',
    inputShape: [rows, k],
    outputShape: [rows, n],
    operandShape: [k, n],
    gemm: { m: rows, n, k },
    gemmCount: 1,
    roles: weightRoles(video),
    elementwiseOps: extraOps * rows * n,
  };
}

/** The MAC-bearing and element-wise ops of one iFormer block, in execution order (docs/iformer.md). */
function blockLayers(block: IFormerBlock, side: readonly [number, number], video: boolean): RecordedLayer[] {
  const [h, w] = side;
  const { split, headDim: d, pool } = block.spec;
  const c = block.width;
  const { high, low, heads } = split;
  const fused = 2 * high + low;
  const hidden = MLP_RATIO * c;
  const name = (op: string) => `${block.name}_${op}`;
  const weights = () => block.blockWeights();
  const data = (t: tfTypes.Tensor | undefined) => () => t!.dataSync() as Float32Array;
  const out: RecordedLayer[] = [elementwise(name('norm1'), [h, w, c], [h, w, c], ELEMENTWISE_COST.layerNorm)];
  if (high > 0) {
    out.push({
      layer: conv(name('conv_a'), [h, w, high / 2], high, 1, 1, video, 0),
      weight: () => data(weights().mixer.convA)(),
      inputFrom: name('conv_a'),
    });
    out.push({
      layer: depthwise(name('dw_a'), [h, w, high], video, ELEMENTWISE_COST.activation),
      weight: () => data(weights().mixer.dwA)(),
      inputFrom: name('dw_a'),
    });
    out.push(elementwise(name('maxpool_b'), [h, w, high / 2], [h, w, high / 2], ELEMENTWISE_COST.maxPool3x3));
    out.push({
      // + bias, activation
      layer: conv(name('conv_b'), [h, w, high / 2], high, 1, 1, video, 1 + ELEMENTWISE_COST.activation),
      weight: () => data(weights().mixer.convB)(),
      inputFrom: name('conv_b'),
    });
  }
  if (low > 0) {
    const ph = Math.ceil(h / pool);
    const pw = Math.ceil(w / pool);
    const tokens = ph * pw;
    if (pool > 1) out.push(elementwise(name('avgpool'), [h, w, low], [ph, pw, low], pool * pool));
    out.push({
      layer: matmul(name('qkv'), tokens, low, 3 * low, video, 1),
      weight: () => data(weights().mixer.qkv)(),
      inputFrom: name('qkv'),
    });
    out.push({
      layer: {
        name: name('scores'),
        op: 'attention-scores',
        inputShape: [heads, tokens, d],
        outputShape: [heads, tokens, tokens],
        operandShape: [heads, d, tokens],
        gemm: { m: tokens, n: tokens, k: d },
        gemmCount: heads,
        structural: 'none',
        roles: ['input', 'rhs'],
      },
      inputFrom: name('queries'),
      rhsFrom: name('keys'),
      transposeRhs: { heads, tokens, dim: d },
    });
    out.push(
      elementwise(
        name('softmax'),
        [heads, tokens, tokens],
        [heads, tokens, tokens],
        ELEMENTWISE_COST.softmax,
      ),
    );
    out.push({
      layer: {
        name: name('values'),
        op: 'attention-values',
        inputShape: [heads, tokens, tokens],
        outputShape: [heads, tokens, d],
        operandShape: [heads, tokens, d],
        gemm: { m: tokens, n: d, k: tokens },
        gemmCount: heads,
        structural: 'none',
        roles: ['input', 'rhs'],
      },
      inputFrom: name('weights'),
      rhsFrom: name('values'),
    });
    if (pool > 1)
      out.push(elementwise(name('upsample'), [ph, pw, low], [h, w, low], ELEMENTWISE_COST.upsample));
  }
  out.push({
    // + the residual Y + DW(Y)
    layer: depthwise(name('fuse'), [h, w, fused], video, 1),
    weight: () => data(weights().mixer.fuse)(),
    inputFrom: name('fuse'),
  });
  const scaled = block.layerScale ? 1 : 0;
  out.push({
    // + bias, LayerScale, residual
    layer: conv(name('proj'), [h, w, fused], c, 1, 1, video, 2 + scaled),
    weight: () => data(weights().mixer.proj)(),
    inputFrom: name('proj'),
  });
  out.push(elementwise(name('norm2'), [h, w, c], [h, w, c], ELEMENTWISE_COST.layerNorm));
  out.push({
    layer: matmul(name('fc1'), h * w, c, hidden, video, 1 + ELEMENTWISE_COST.activation),
    weight: () => data(weights().fc1)(),
    inputFrom: name('fc1'),
  });
  out.push({
    layer: matmul(name('fc2'), h * w, hidden, c, video, 2 + scaled),
    weight: () => data(weights().fc2)(),
    inputFrom: name('fc2'),
  });
  return out;
}

/** θ of a DAL (top-level or inside a block), channels [from, to) of it. */
function thetaOf(model: tfTypes.LayersModel, name: string, from?: number, to?: number): number[] | undefined {
  for (const layer of model.layers) {
    if (layer instanceof DeltaActivation && layer.name === name) return layer.thetaValues().slice(from, to);
    if (layer instanceof IFormerBlock) {
      for (const dal of layer.dals.values()) {
        if (dal.name === name) return dal.thetaValues().slice(from, to);
      }
    }
  }
  return undefined;
}

/** The DAL θ in front of each layer whose input is quantised on a per-channel grid (video mode). */
function thresholdsFor(model: tfTypes.LayersModel, layers: readonly RecordedLayer[]): Map<string, number[]> {
  const found = new Map<string, number[]>();
  const set = (layer: string, theta: number[] | undefined) => {
    if (theta) found.set(layer, theta);
  };
  set('stem1', thetaOf(model, IFORMER_INPUT_DAL));
  set('stem2', thetaOf(model, IFORMER_STEM_DAL));
  for (const block of model.layers.filter((l): l is IFormerBlock => l instanceof IFormerBlock)) {
    const half = block.spec.split.high / 2;
    // Max-pooling keeps values on their channel's grid; average pooling does not.
    set(`${block.name}_conv_a`, thetaOf(model, blockDalName(block.name, 'norm1'), 0, half));
    set(`${block.name}_conv_b`, thetaOf(model, blockDalName(block.name, 'norm1'), half, 2 * half));
    set(`${block.name}_fc1`, thetaOf(model, blockDalName(block.name, 'norm2')));
    set(`${block.name}_fc2`, thetaOf(model, blockDalName(block.name, 'hidden')));
  }
  return new Map([...found].filter(([name]) => layers.some((l) => l.layer.name === name)));
}

/** Per-frame shape of a layer's (folded) input, without batch. */
function inputShapeOf(layer: tfTypes.layers.Layer): number[] {
  const shape = (layer.input as tfTypes.SymbolicTensor).shape;
  return shape.slice(1) as number[];
}

/** Every recorded op of the model, in execution order: convs, blocks, pooling, norms, the classifier. */
export function iformerTraceLayers(model: tfTypes.LayersModel, video: boolean): RecordedLayer[] {
  const layers: RecordedLayer[] = [];
  for (const layer of model.layers) {
    const className = layer.getClassName();
    if (className === 'Conv2D') {
      const config = layer.getConfig() as { filters: number; kernelSize: number[]; strides: number[] };
      const [h, w, c] = inputShapeOf(layer) as [number, number, number];
      // + bias (the stem's first conv: its activation is a layer of its own)
      const traced = conv(
        layer.name,
        [h, w, c],
        config.filters,
        config.kernelSize[0]!,
        config.strides[0]!,
        video,
        1,
      );
      layers.push({
        layer: traced,
        weight: () => layer.getWeights()[0]!.dataSync() as Float32Array,
        inputFrom: layer.name,
      });
    } else if (className === 'Dense') {
      const [k] = inputShapeOf(layer) as [number];
      const n = (layer.getConfig() as { units: number }).units;
      const traced: TraceLayer = {
        name: layer.name,
        op: 'dense',
        inputShape: [1, k],
        outputShape: [1, n],
        operandShape: [k, n],
        gemm: { m: 1, n, k },
        gemmCount: 1,
        roles: weightRoles(video),
        elementwiseOps: n,
      };
      layers.push({
        layer: traced,
        weight: () => layer.getWeights()[0]!.dataSync() as Float32Array,
        inputFrom: layer.name,
      });
    } else if (layer instanceof IFormerBlock) {
      const [h, w] = inputShapeOf(layer) as [number, number, number];
      layers.push(...blockLayers(layer, [h, w], video));
    } else if (className === 'IFormerActivation') {
      const shape = inputShapeOf(layer);
      layers.push(elementwise(layer.name, shape, shape, ELEMENTWISE_COST.activation));
    } else if (className === 'PositionalEmbedding') {
      const shape = inputShapeOf(layer);
      layers.push(elementwise(layer.name, shape, shape, ELEMENTWISE_COST.positionAdd));
    } else if (className === 'GlobalAveragePooling2D') {
      const [h, w, c] = inputShapeOf(layer) as [number, number, number];
      layers.push(elementwise(layer.name, [h, w, c], [1, c], h * w));
    } else if (className === 'LayerNormalization') {
      const shape = inputShapeOf(layer);
      layers.push(elementwise(layer.name, shape, shape, ELEMENTWISE_COST.layerNorm));
    }
  }
  return layers;
}

/** Which of a set's `available` images a recording takes: `count` distinct ones in a seeded order. */
export function recordedImages(available: number, count: number, seed: number): number[] {
  const prng = createPrng(seed);
  const order = Array.from({ length: available }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = prng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order.slice(0, count);
}

/** Kᵀ per head: [heads, N, d] → [heads, d, N]. */
function transposeHeads(values: Float32Array, heads: number, tokens: number, dim: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let h = 0; h < heads; h++) {
    const base = h * tokens * dim;
    for (let t = 0; t < tokens; t++)
      for (let i = 0; i < dim; i++) out[base + i * tokens + t] = values[base + t * dim + i]!;
  }
  return out;
}

/**
 * Runs the model (a chain of layers) on a batch and returns every captured operand, keyed by the
 * trace name of the layer that consumes it (`<layer>` for top-level convs and the classifier,
 * `<block>_<site>` inside blocks), as [batch, …] host arrays.
 */
function captureOperands(
  tf: TfRuntime['tf'],
  model: tfTypes.LayersModel,
  batch: tfTypes.Tensor,
): Map<string, Float32Array> {
  const captured = new Map<string, Float32Array>();
  const copy = (t: tfTypes.Tensor) => Float32Array.from(t.dataSync() as Float32Array);
  tf.tidy(() => {
    let x = batch;
    for (const layer of model.layers) {
      if (layer.getClassName() === 'InputLayer') continue;
      if (layer.inboundNodes.length !== 1 || layer.inboundNodes[0]!.inboundLayers.length !== 1) {
        throw new Error(`layer ${layer.name}: the iFormer recorder handles chains only`);
      }
      const className = layer.getClassName();
      if (className === 'Conv2D' || className === 'Dense') captured.set(layer.name, copy(x));
      if (layer instanceof IFormerBlock) {
        layer.captureOperands = (site: BlockSite, value) =>
          captured.set(`${layer.name}_${site}`, copy(value));
        try {
          x = layer.apply(x) as tfTypes.Tensor;
        } finally {
          layer.captureOperands = undefined;
        }
      } else {
        x = layer.apply(x) as tfTypes.Tensor;
      }
    }
  });
  return captured;
}

/**
 * Records a trace of an iFormer (docs/iformer.md, "Recording"): every MAC-bearing op — stem and
 * downsampling convs, the 1×1 and depthwise convs of both high-frequency paths, the q/k/v
 * projection, QKᵀ and AV per head (both operands per step: `input` and `rhs`), the fusion depthwise
 * conv and projection, both MLP matmuls, the classifier — with its input each step and its weights
 * once; norms, pooling, upsampling, softmax, activations and the positional add as element-wise ops.
 * Images: one step (a key step of its own sequence) per image. Clips (a video-mode model): one step
 * per frame, with Δ_t = q_t − q_{t−1} of every weight layer's input (= q_t on the first frame) and
 * the θ of the Delta Activation Layer in front of it where its input lies on a per-channel grid.
 */
export async function recordIFormer(
  runtime: TfRuntime,
  model: tfTypes.LayersModel,
  options: RecordIFormerOptions,
): Promise<{ files: readonly string[]; bytes: number; steps: number }> {
  const { tf } = runtime;
  const video = model.inputs[0]!.shape.length === 5;
  const { input } = options;
  if (video !== (input.kind === 'clips')) {
    throw new Error(
      video ? 'a video-mode model records clips, not images' : 'an image model records images, not clips',
    );
  }
  const recorded = iformerTraceLayers(model, video);
  const thresholds = video ? thresholdsFor(model, recorded) : new Map<string, number[]>();
  const layers = recorded.map(({ layer }) => {
    const theta = thresholds.get(layer.name);
    return theta ? { ...layer, deltaThreshold: theta } : layer;
  });
  const writer = await openRecording('iformer', layers, options);
  try {
    for (const r of recorded) {
      if (r.weight) await writer.writeStatic(r.layer.name, 'weight', r.weight(), r.layer.operandShape!);
    }
    const macLayers = recorded.filter((r) => r.inputFrom !== undefined);
    const stepTensors = (
      captured: Map<string, Float32Array>,
      index: number,
      previous: number | undefined,
    ): StepTensor[] => {
      const tensors: StepTensor[] = [];
      for (const r of macLayers) {
        const all = captured.get(r.inputFrom!);
        if (!all) throw new Error(`no operand captured for ${r.layer.name}`);
        const per = product(r.layer.inputShape);
        const values = all.slice(index * per, (index + 1) * per);
        tensors.push({ layer: r.layer.name, role: 'input', values, shape: r.layer.inputShape });
        if (r.layer.roles.includes('delta')) {
          const delta = new Float32Array(per);
          if (previous === undefined) delta.set(values);
          else for (let i = 0; i < per; i++) delta[i] = values[i]! - all[previous * per + i]!;
          tensors.push({ layer: r.layer.name, role: 'delta', values: delta, shape: r.layer.inputShape });
        }
        if (r.rhsFrom) {
          const rhsAll = captured.get(r.rhsFrom)!;
          const perRhs = product(r.layer.operandShape!);
          let rhs: Float32Array = rhsAll.slice(index * perRhs, (index + 1) * perRhs);
          if (r.transposeRhs)
            rhs = transposeHeads(rhs, r.transposeRhs.heads, r.transposeRhs.tokens, r.transposeRhs.dim);
          tensors.push({ layer: r.layer.name, role: 'rhs', values: rhs, shape: r.layer.operandShape! });
        }
      }
      return tensors;
    };
    let step = 0;
    if (input.kind === 'images') {
      const { set } = input;
      const count = Math.min(input.count, set.count);
      const order = recordedImages(set.count, count, options.seed);
      const per = set.size * set.size;
      for (let s = 0; s < count; s++) {
        const example = order[s]!;
        const x = tf.tensor4d(set.pixels.slice(example * per, (example + 1) * per), [
          1,
          set.size,
          set.size,
          1,
        ]);
        const captured = captureOperands(tf, model, x);
        x.dispose();
        await writer.writeStep(
          { index: step, sequence: s, position: 0, keyFrame: true },
          stepTensors(captured, 0, undefined),
        );
        step += 1;
      }
      options.log?.(`recorded ${count} images`);
    } else {
      const { set } = input;
      const perClip = set.frames * set.size * set.size;
      for (let clip = 0; clip < set.count; clip++) {
        const x = tf.tensor5d(set.pixels.slice(clip * perClip, (clip + 1) * perClip), [
          1,
          set.frames,
          set.size,
          set.size,
          1,
        ]);
        const captured = captureOperands(tf, model, x);
        x.dispose();
        for (let t = 0; t < set.frames; t++) {
          await writer.writeStep(
            { index: step, sequence: clip, position: t, keyFrame: t === 0 },
            stepTensors(captured, t, t === 0 ? undefined : t - 1),
          );
          step += 1;
        }
        options.log?.(`recorded clip ${clip + 1}/${set.count}`);
      }
    }
    const done = await writer.finish();
    return { ...done, steps: step };
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
