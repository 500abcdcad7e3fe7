import { createPrng, type Prng } from '../common/prng.js';
import { TRACE_FORMAT, TRACE_FORMAT_VERSION, type TraceLayer } from './manifest.js';
import { TraceError } from './trace-error.js';
import { createTraceWriter, type StepTensor, type ValueDtype } from './writer.js';

/**
 * Synthetic traces: real network shapes with random zero masks at a chosen density, written through
 * the trace writer (so they are ordinary traces). For tests, the replay benchmark and
 * `deltasim replay --synthetic`, until recorded model traces exist. Same seed, same bytes.
 */
export type SyntheticShape = 'resnet18' | 'small';
export const SYNTHETIC_SHAPES: readonly SyntheticShape[] = ['resnet18', 'small'];

export interface SynthesizeOptions {
  readonly shape: SyntheticShape;
  /** Fraction of non-zero activations and weights (two-sided), in [0, 1]. */
  readonly density: number;
  readonly steps: number;
  readonly seed: number;
  /**
   * Fraction of activations that change between consecutive steps (the rest repeat), so `delta`
   * tensors are sparse too. Default 0.1. Every `keyInterval`-th step is a key frame.
   */
  readonly changeFraction?: number;
  readonly keyInterval?: number;
  readonly dtype?: ValueDtype;
  /** Store per-step `delta` tensors besides `input` (default true). */
  readonly deltas?: boolean;
  /** Replace an existing file at `path` (`trace synth --force`). */
  readonly overwrite?: boolean;
  /** Awaited after each step is written (progress on a long synthesis; throwing stops it cleanly). */
  readonly onStep?: (done: number, total: number) => void | Promise<void>;
  /** Layers to synthesize instead of a named shape's (their roles are kept as given). */
  readonly layers?: readonly TraceLayer[];
  /** Per-layer densities by layer name, overriding `density` for that layer's input and/or weight. */
  readonly layerDensities?: Readonly<Record<string, LayerDensity>>;
  /**
   * Per-channel correlated densities (0 = i.i.d. masks, the default): see {@link ChannelSpread}.
   * Real networks have dead and busy channels; i.i.d. masks miss that.
   */
  readonly channelSpread?: ChannelSpread;
  /**
   * Temporal sparsity s in [0, 1]: on a non-key step exactly the fraction s of each input's elements
   * (in expectation) repeats its previous value and every other element changes (non-zero Δ), so
   * the delta tensors have density 1 − s. Replaces `changeFraction` when given.
   */
  readonly temporalSparsity?: number;
  /**
   * Every tensor without a channel spread has exactly round(d · n) non-zeros (placed uniformly at
   * random) instead of each element being non-zero with probability d.
   */
  readonly exactCounts?: boolean;
}

export interface LayerDensity {
  readonly input?: number;
  readonly weight?: number;
}

/**
 * Relative spread of per-channel densities: channel c of a tensor gets density d·(1 + spread·u_c)
 * with u_c uniform in [−1, 1] (capped so it stays in [0, 1], keeping the mean d exactly when the
 * cap does not bite). Channels are the input's last axis (C of NHWC) and the weight's input-channel
 * axis (C_in of [Fh, Fw, C_in, N], K of a dense [K, N]); one u_c serves both, so a busy input
 * channel meets denser weights (`correlated`, positive) or the draws are independent.
 */
export interface ChannelSpread {
  readonly input: number;
  readonly weight: number;
  readonly correlated: boolean;
}

export interface ConvShape {
  readonly name: string;
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly n: number;
  readonly f: number;
  readonly s: number;
  readonly p: number;
  readonly depthwise?: boolean;
}

export function convLayer(l: ConvShape, roles: TraceLayer['roles']): TraceLayer {
  const ho = Math.floor((l.h + 2 * l.p - l.f) / l.s) + 1;
  const wo = Math.floor((l.w + 2 * l.p - l.f) / l.s) + 1;
  const nOut = l.depthwise ? 1 : l.n;
  return {
    name: l.name,
    op: l.depthwise ? 'depthwise' : 'conv2d',
    inputShape: [l.h, l.w, l.c],
    outputShape: [ho, wo, l.depthwise ? l.c : l.n],
    operandShape: [l.f, l.f, l.c, nOut],
    kernel: [l.f, l.f],
    stride: [l.s, l.s],
    padding: [l.p, l.p, l.p, l.p],
    dilation: [1, 1],
    gemm: { m: ho * wo, n: nOut, k: l.depthwise ? l.f * l.f : l.f * l.f * l.c },
    gemmCount: l.depthwise ? l.c : 1,
    roles,
  };
}

/** ResNet-18 on 224×224 (He et al. 2016): 20 convs (incl. 3 downsample 1×1) and the FC. */
function resnet18(roles: TraceLayer['roles']): TraceLayer[] {
  const convs: ConvShape[] = [{ name: 'conv1', h: 224, w: 224, c: 3, n: 64, f: 7, s: 2, p: 3 }];
  const stages = [
    { size: 56, c: 64 },
    { size: 28, c: 128 },
    { size: 14, c: 256 },
    { size: 7, c: 512 },
  ];
  let inC = 64;
  for (const [i, stage] of stages.entries()) {
    const first = i === 0 ? { h: 56, s: 1 } : { h: stage.size * 2, s: 2 };
    const id = `layer${i + 1}`;
    convs.push({ name: `${id}.0.conv1`, h: first.h, w: first.h, c: inC, n: stage.c, f: 3, s: first.s, p: 1 });
    convs.push({
      name: `${id}.0.conv2`,
      h: stage.size,
      w: stage.size,
      c: stage.c,
      n: stage.c,
      f: 3,
      s: 1,
      p: 1,
    });
    if (i > 0)
      convs.push({
        name: `${id}.0.downsample`,
        h: first.h,
        w: first.h,
        c: inC,
        n: stage.c,
        f: 1,
        s: 2,
        p: 0,
      });
    convs.push({
      name: `${id}.1.conv1`,
      h: stage.size,
      w: stage.size,
      c: stage.c,
      n: stage.c,
      f: 3,
      s: 1,
      p: 1,
    });
    convs.push({
      name: `${id}.1.conv2`,
      h: stage.size,
      w: stage.size,
      c: stage.c,
      n: stage.c,
      f: 3,
      s: 1,
      p: 1,
    });
    inC = stage.c;
  }
  return [
    ...convs.map((c) => convLayer(c, roles)),
    {
      name: 'fc',
      op: 'dense',
      inputShape: [1, 512],
      outputShape: [1, 1000],
      operandShape: [512, 1000],
      gemm: { m: 1, n: 1000, k: 512 },
      gemmCount: 1,
      roles,
    },
  ];
}

/** A few small layers of every lowering kind: conv, depthwise, dense, causal attention. */
function small(roles: TraceLayer['roles']): TraceLayer[] {
  const stepRoles = roles.filter((r) => r !== 'weight');
  return [
    convLayer({ name: 'conv', h: 8, w: 8, c: 3, n: 8, f: 3, s: 1, p: 1 }, roles),
    convLayer({ name: 'dw', h: 8, w: 8, c: 8, n: 1, f: 3, s: 2, p: 1, depthwise: true }, roles),
    {
      name: 'fc',
      op: 'dense',
      inputShape: [4, 32],
      outputShape: [4, 10],
      operandShape: [32, 10],
      gemm: { m: 4, n: 10, k: 32 },
      gemmCount: 1,
      roles,
    },
    {
      name: 'qk',
      op: 'attention-scores',
      inputShape: [2, 6, 8],
      outputShape: [2, 6, 6],
      operandShape: [2, 8, 6],
      gemm: { m: 6, n: 6, k: 8 },
      gemmCount: 2,
      structural: 'causal',
      roles: [...stepRoles, 'rhs'],
    },
    {
      name: 'av',
      op: 'attention-values',
      inputShape: [2, 6, 6],
      outputShape: [2, 6, 8],
      operandShape: [2, 6, 8],
      gemm: { m: 6, n: 8, k: 6 },
      gemmCount: 2,
      structural: 'causal',
      roles: [...stepRoles, 'rhs'],
    },
  ];
}

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A non-zero value of the grid ±0.25 … ±2 (DAL-like quantisation), so deltas are exact. */
function gridValue(prng: Prng): number {
  return (1 + prng.int(8)) * (prng.next() < 0.5 ? -0.25 : 0.25);
}

/**
 * A tensor whose elements are non-zero with probability `density`, or with the density of their
 * channel when `channelDensities` is given (channel = flat index mod the channel count, the
 * innermost axis; `channelStride` > 1 when channels sit on an outer axis, as C_in of a weight).
 */
export function randomTensor(
  prng: Prng,
  length: number,
  density: number,
  channels?: { readonly densities: Float64Array; readonly stride: number },
): Float32Array {
  const out = new Float32Array(length);
  if (!channels) {
    for (let i = 0; i < length; i++) if (prng.next() < density) out[i] = gridValue(prng);
    return out;
  }
  const { densities, stride } = channels;
  const count = densities.length;
  for (let i = 0; i < length; i++) {
    if (prng.next() < densities[Math.floor(i / stride) % count]!) out[i] = gridValue(prng);
  }
  return out;
}

/**
 * A tensor with exactly round(density · length) non-zeros at uniformly random positions (a partial
 * Fisher–Yates shuffle): Sparseloop's uniform-density model, without the count's own sampling noise.
 */
export function exactTensor(prng: Prng, length: number, density: number): Float32Array {
  const out = new Float32Array(length);
  const count = Math.round(density * length);
  const order = new Uint32Array(length);
  for (let i = 0; i < length; i++) order[i] = i;
  for (let i = 0; i < count; i++) {
    const j = i + prng.int(length - i);
    const pick = order[j]!;
    order[j] = order[i]!;
    order[i] = pick;
    out[pick] = gridValue(prng);
  }
  return out;
}

/** Per-channel densities d·(1 + spread·u_c), capped to [0, 1]; `u` holds the u_c in [−1, 1]. */
export function channelDensities(density: number, spread: number, u: Float64Array): Float64Array {
  const reach = spread * Math.min(1, density > 0 ? (1 - density) / density : 1);
  return Float64Array.from(u, (x) => Math.min(1, Math.max(0, density * (1 + reach * x))));
}

/** Uniform draws in [−1, 1], one per channel. */
export function channelDraws(prng: Prng, channels: number): Float64Array {
  return Float64Array.from({ length: channels }, () => 2 * prng.next() - 1);
}

/**
 * The next step of an input under temporal sparsity s: each element keeps its value with
 * probability s, otherwise it moves by a non-zero grid step (reflected to stay within ±8, so
 * values stay exact in F16), so Δ = q_t − q_{t−1} has density 1 − s.
 */
export function temporalStep(prng: Prng, before: Float32Array, sparsity: number): Float32Array {
  const q = Float32Array.from(before);
  for (let i = 0; i < q.length; i++) {
    if (prng.next() < sparsity) continue;
    const step = gridValue(prng);
    q[i] = Math.abs(q[i]! + step) > 8 ? q[i]! - step : q[i]! + step;
  }
  return q;
}

/** Causal structure of attention operands: zero where a token would see the future. */
function applyCausal(layer: TraceLayer, values: Float32Array): void {
  if (layer.op !== 'attention-values') return;
  const { m, k } = layer.gemm;
  for (let i = 0; i < layer.gemmCount; i++) {
    for (let r = 0; r < m; r++) for (let c = r + 1; c < k; c++) values[i * m * k + r * k + c] = 0;
  }
}

export function syntheticLayers(shape: SyntheticShape, deltas = true): TraceLayer[] {
  const roles: TraceLayer['roles'] = deltas ? ['input', 'delta', 'weight'] : ['input', 'weight'];
  return shape === 'resnet18' ? resnet18(roles) : small(roles);
}

export async function synthesizeTrace(
  path: string,
  options: SynthesizeOptions,
): Promise<{ readonly files: readonly string[]; readonly bytes: number }> {
  const { density, steps, seed } = options;
  const unit = (value: number): boolean => value >= 0 && value <= 1;
  if (!unit(density)) throw new TraceError('--synthetic', 'density', 'must be in [0, 1]');
  if (!Number.isSafeInteger(steps) || steps < 1) throw new TraceError('--synthetic', 'steps', 'must be ≥ 1');
  const change = options.changeFraction ?? 0.1;
  const temporal = options.temporalSparsity;
  if (temporal !== undefined && !unit(temporal))
    throw new TraceError('--synthetic', 'temporalSparsity', 'must be in [0, 1]');
  for (const [name, d] of Object.entries(options.layerDensities ?? {})) {
    for (const key of ['input', 'weight'] as const) {
      const value = d[key];
      if (value !== undefined && !unit(value))
        throw new TraceError('--synthetic', `layerDensities.${name}.${key}`, 'must be in [0, 1]');
    }
  }
  const spread = options.channelSpread;
  if (spread && !(spread.input >= 0 && spread.weight >= 0))
    throw new TraceError('--synthetic', 'channelSpread', 'must be ≥ 0');
  const keyInterval = options.keyInterval ?? Number.POSITIVE_INFINITY;
  const layers = options.layers
    ? [...options.layers]
    : syntheticLayers(options.shape, options.deltas ?? true);
  const prng = createPrng(seed);
  const densityOf = (layer: TraceLayer, role: 'input' | 'weight'): number =>
    options.layerDensities?.[layer.name]?.[role] ?? density;
  const draw = (length: number, d: number, channels: ReturnType<typeof channelsOf>): Float32Array =>
    options.exactCounts && !channels ? exactTensor(prng, length, d) : randomTensor(prng, length, d, channels);
  // Per-channel draws (one set per layer, shared by its input and weight when correlated) come from
  // their own stream, so the value stream, and every trace without a spread, is unchanged.
  const channelPrng = createPrng((seed ^ 0x5bd1e995) >>> 0);
  const channelU = new Map<string, { input: Float64Array; weight: Float64Array }>();
  const channelsOf = (layer: TraceLayer, role: 'input' | 'weight') => {
    if (!spread || (spread.input === 0 && spread.weight === 0)) return undefined;
    const count = layer.inputShape[layer.inputShape.length - 1]!;
    let u = channelU.get(layer.name);
    if (!u) {
      const input = channelDraws(channelPrng, count);
      u = { input, weight: spread.correlated ? input : channelDraws(channelPrng, count) };
      channelU.set(layer.name, u);
    }
    const densities = channelDensities(densityOf(layer, role), spread[role], u[role]);
    if (role === 'input') return { densities, stride: 1 };
    // Weight [.., C_in, N]: C_in is the second-to-last axis; a depthwise [Fh, Fw, C, 1] likewise.
    const shape = layer.operandShape!;
    return shape.length >= 2 && shape[shape.length - 2] === count
      ? { densities, stride: shape[shape.length - 1]! }
      : undefined;
  };
  const writer = await createTraceWriter(path, {
    manifest: {
      format: TRACE_FORMAT,
      version: TRACE_FORMAT_VERSION,
      producer: 'deltasim synthesize',
      model: { name: `synthetic-${options.shape}-d${density}`, family: 'synthetic' },
      seed,
      layers,
    },
    ...(options.dtype ? { dtype: options.dtype } : {}),
    ...(options.overwrite ? { overwrite: true } : {}),
  });
  try {
    for (const layer of layers) {
      if (!layer.roles.includes('weight')) continue;
      await writer.writeStatic(
        layer.name,
        'weight',
        draw(product(layer.operandShape!), densityOf(layer, 'weight'), channelsOf(layer, 'weight')),
        layer.operandShape!,
      );
    }
    const previous = new Map<string, Float32Array>();
    for (let t = 0; t < steps; t++) {
      const keyFrame = t === 0 || t % keyInterval === 0;
      const tensors: StepTensor[] = [];
      for (const layer of layers) {
        const n = product(layer.inputShape);
        const before = previous.get(layer.name);
        let q: Float32Array;
        if (keyFrame || !before) {
          q = draw(n, densityOf(layer, 'input'), channelsOf(layer, 'input'));
        } else if (temporal !== undefined) {
          q = temporalStep(prng, before, temporal);
        } else {
          // A fraction of the elements is redrawn; the rest repeat (temporal redundancy).
          q = Float32Array.from(before);
          const fresh = draw(n, densityOf(layer, 'input'), channelsOf(layer, 'input'));
          for (let i = 0; i < n; i++) if (prng.next() < change) q[i] = fresh[i]!;
        }
        applyCausal(layer, q);
        tensors.push({ layer: layer.name, role: 'input', values: q, shape: layer.inputShape });
        if (layer.roles.includes('delta')) {
          const delta = keyFrame || !before ? q : Float32Array.from(q, (v, i) => v - before[i]!);
          tensors.push({ layer: layer.name, role: 'delta', values: delta, shape: layer.inputShape });
        }
        if (layer.roles.includes('rhs')) {
          tensors.push({
            layer: layer.name,
            role: 'rhs',
            values: randomTensor(prng, product(layer.operandShape!), density),
            shape: layer.operandShape!,
          });
        }
        previous.set(layer.name, q);
      }
      await writer.writeStep({ index: t, sequence: 0, position: t, keyFrame }, tensors);
      await options.onStep?.(t + 1, steps);
    }
    return await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/** `NAME[:DENSITY[:STEPS]]`, e.g. `resnet18:0.5` or `small:0.3:4`. */
export function parseSyntheticSpec(text: string): { shape: SyntheticShape; density: number; steps: number } {
  const [shape = '', densityText = '0.5', stepsText = '1'] = text.split(':');
  if (!(SYNTHETIC_SHAPES as readonly string[]).includes(shape)) {
    throw new TraceError('--synthetic', '', `unknown shape "${shape}" (use ${SYNTHETIC_SHAPES.join(', ')})`);
  }
  const density = Number(densityText);
  const steps = Number(stepsText);
  if (!(density >= 0 && density <= 1))
    throw new TraceError('--synthetic', 'density', `"${densityText}" must be in [0, 1]`);
  if (!Number.isSafeInteger(steps) || steps < 1)
    throw new TraceError('--synthetic', 'steps', `"${stepsText}" must be an integer ≥ 1`);
  return { shape: shape as SyntheticShape, density, steps };
}
