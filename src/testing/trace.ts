/**
 * Whole traces in memory: a manifest and every tensor's values, drawn small (a few layers of every
 * kind, a few steps over one or two sequences) with activation zeros of a chosen structure and
 * temporal correlation between steps. `writeTrace` stores one through the real trace writer, so
 * laws run the very path `deltasim replay` runs.
 */
import fc from 'fast-check';
import { createPrng } from '../common/prng.js';
import type { HardwareModel, NmPattern } from '../core/hardware.js';
import type { SparseLayerSpec } from '../core/sparse/layer-lowering.js';
import type { TensorRole, TraceLayer, TraceManifest, TraceStep } from '../trace/manifest.js';
import { tensorName } from '../trace/manifest.js';
import { createTraceWriter, type ValueDtype } from '../trace/writer.js';
import { bElementOf } from './brute-force.js';
import { arbitraryLayer, type LayerCase, type LayerOptions } from './layers.js';
import {
  arbitraryStructure,
  type MaskStructure,
  temporalPatterns,
  unitInterval,
  zeroPattern,
} from './masks.js';

export interface TraceTensor {
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

export interface InMemoryTrace {
  readonly manifest: TraceManifest;
  /** Every value tensor by its trace name (tensorName): static weights and per-step tensors. */
  readonly tensors: ReadonlyMap<string, TraceTensor>;
}

/** How one layer's activations were drawn (kept with the trace so a counterexample reads well). */
export interface LayerDraw {
  readonly layer: LayerCase;
  readonly storeDeltas: boolean;
  readonly activationDensity: number;
  readonly weightDensity: number;
  readonly structure: MaskStructure;
  readonly changeRate: number;
  /** The static weight's zeros keep this N:M pattern along K (absent: random zeros). */
  readonly weightNm?: NmPattern;
}

export interface TraceOptions {
  readonly maxLayers?: number;
  readonly maxSteps?: number;
  readonly layers?: LayerOptions;
  /**
   * Draw static weights N:M structured along K (three layers in four; the others random, which
   * mostly breaks the pattern): what `support.weights: nm` hardware needs to see both paths.
   */
  readonly weightNm?: NmPattern;
}

/**
 * A weight pattern whose every group of `nm.m` consecutive weights along K (per GEMM instance and
 * column) holds at most `nm.n` non-zeros: of the group's elements whose draw is below `density`,
 * the n smallest draws.
 */
export function nmWeightPattern(
  spec: SparseLayerSpec,
  uniformDraws: ArrayLike<number>,
  density: number,
  nm: NmPattern,
): Uint8Array {
  const out = new Uint8Array(uniformDraws.length);
  const { n: N, k: K } = spec.gemm;
  const element = bElementOf(spec, 'weight');
  for (let i = 0; i < spec.gemmCount; i++)
    for (let n = 0; n < N; n++)
      for (let k0 = 0; k0 < K; k0 += nm.m) {
        const group: number[] = [];
        for (let k = k0; k < Math.min(K, k0 + nm.m); k++) group.push(element(i, k, n));
        const kept = group
          .filter((e) => uniformDraws[e]! < density)
          .sort((a, b) => uniformDraws[a]! - uniformDraws[b]! || a - b)
          .slice(0, nm.n);
        for (const e of kept) out[e] = 1;
      }
  return out;
}

/**
 * Values in quarters (±0.25 … ±2): exact in F16 and F32, so Σ Δ = q holds bit for bit after storage
 * and `--verify` judges the schedule, not rounding.
 */
function quarter(u: number): number {
  const magnitude = (1 + Math.floor(u * 8)) / 4;
  return u * 1000 - Math.floor(u * 1000) < 0.5 ? magnitude : -magnitude;
}

function valuesOf(pattern: Uint8Array, prng: ReturnType<typeof createPrng>): Float32Array {
  return Float32Array.from(pattern, (bit) => (bit ? quarter(prng.next()) : 0));
}

function uniform(prng: ReturnType<typeof createPrng>, length: number): Float64Array {
  return Float64Array.from({ length }, () => prng.next());
}

/** Builds the trace a draw describes; `seed` fixes every value. Pure and deterministic. */
export function buildTrace(
  draws: readonly LayerDraw[],
  stepCount: number,
  sequenceBreaks: readonly number[],
  seed: number,
): InMemoryTrace {
  const prng = createPrng(seed);
  const steps: TraceStep[] = [];
  let sequence = 0;
  let position = 0;
  for (let index = 0; index < stepCount; index++) {
    if (index > 0 && sequenceBreaks.includes(index)) {
      sequence++;
      position = 0;
    }
    steps.push({ index, sequence, position, keyFrame: position === 0 });
    position++;
  }
  const layers: TraceLayer[] = [];
  const tensors = new Map<string, TraceTensor>();
  for (const [i, draw] of draws.entries()) {
    const { spec, bOperand, aElements, bElements } = draw.layer;
    const name = `${spec.name}${i}`;
    const roles: TensorRole[] =
      bOperand === 'rhs'
        ? ['input', 'rhs']
        : draw.storeDeltas
          ? ['input', 'delta', 'weight']
          : ['input', 'weight'];
    layers.push({
      ...spec,
      name,
      outputShape: [spec.gemmCount, spec.gemm.m, spec.gemm.n],
      roles,
    } as TraceLayer);
    const operandShape = spec.operandShape ?? [bElements];
    const pattern = { density: draw.activationDensity, structure: draw.structure };
    if (bOperand === 'weight') {
      const draws = uniform(prng, bElements);
      const w = draw.weightNm
        ? nmWeightPattern(spec, draws, draw.weightDensity, draw.weightNm)
        : zeroPattern(draws, { density: draw.weightDensity, structure: { kind: 'random' } });
      tensors.set(tensorName(name, 'weight'), { shape: operandShape, values: valuesOf(w, prng) });
    }
    const patterns = temporalPatterns(stepCount, () => uniform(prng, aElements), {
      ...pattern,
      changeRate: draw.changeRate,
    });
    let previous: Float32Array | undefined;
    for (const step of steps) {
      const fresh = valuesOf(patterns[step.index]!, prng);
      // An element whose pattern bit did not change keeps its value: temporal correlation of values too.
      const q =
        previous && !step.keyFrame
          ? fresh.map((v, e) =>
              patterns[step.index]![e] === patterns[step.index - 1]![e] && prng.next() < 0.8
                ? previous![e]!
                : v,
            )
          : fresh;
      tensors.set(tensorName(name, 'input', step.index), { shape: spec.inputShape, values: q });
      if (roles.includes('delta')) {
        const delta = step.keyFrame || !previous ? q : q.map((v, e) => v - previous![e]!);
        tensors.set(tensorName(name, 'delta', step.index), { shape: spec.inputShape, values: delta });
      }
      if (bOperand === 'rhs') {
        const r = zeroPattern(uniform(prng, bElements), {
          density: draw.weightDensity,
          structure: { kind: 'random' },
        });
        tensors.set(tensorName(name, 'rhs', step.index), { shape: operandShape, values: valuesOf(r, prng) });
      }
      previous = q;
    }
  }
  return {
    manifest: {
      format: 'deltasim-trace',
      version: 1,
      producer: 'deltasim/testing arbitraryTrace',
      model: { name: 'arbitrary', family: 'arbitrary' },
      seed,
      layers,
      steps,
    },
    tensors,
  };
}

// Uniform densities: shrinking toward 0 = toward all-zero activations, the sparsest case.
const density = unitInterval;

export function arbitraryLayerDraw(
  options: LayerOptions = {},
  weightNm?: NmPattern,
): fc.Arbitrary<LayerDraw> {
  const draw = fc.record({
    layer: arbitraryLayer(options),
    storeDeltas: fc.boolean(),
    activationDensity: density,
    weightDensity: density,
    structure: arbitraryStructure(),
    changeRate: density,
  });
  if (!weightNm) return draw;
  return fc
    .tuple(draw, fc.integer({ min: 0, max: 3 }))
    .map(([d, pick]): LayerDraw => (pick < 3 ? { ...d, weightNm } : d));
}

/** A whole trace: 1…maxLayers layers (default 3), 1…maxSteps steps (default 4), one or two sequences. */
export function arbitraryTrace(options: TraceOptions = {}): fc.Arbitrary<InMemoryTrace> {
  const maxSteps = options.maxSteps ?? 4;
  return fc
    .record({
      draws: fc.array(arbitraryLayerDraw(options.layers, options.weightNm), {
        minLength: 1,
        maxLength: options.maxLayers ?? 3,
      }),
      steps: fc.integer({ min: 1, max: maxSteps }),
      breaks: fc.array(fc.integer({ min: 1, max: Math.max(1, maxSteps - 1) }), { maxLength: 1 }),
      seed: fc.integer({ min: 0, max: 0x7fffffff }),
    })
    .map(({ draws, steps, breaks, seed }) => buildTrace(draws, steps, breaks, seed));
}

/** `arbitraryTrace` for the hardware under test: N:M structured weights when it runs them. */
export function arbitraryTraceFor(
  hardware: HardwareModel,
  options: TraceOptions = {},
): fc.Arbitrary<InMemoryTrace> {
  const nm = hardware.support.weights === 'nm' ? hardware.support.nm : undefined;
  return arbitraryTrace(nm ? { ...options, weightNm: nm } : options);
}

export interface WriteTraceOptions {
  readonly dtype?: ValueDtype;
  readonly shardBytes?: number;
}

/** Stores `trace` at `path` through the trace writer (masks computed there from the values). */
export async function writeTrace(
  path: string,
  trace: InMemoryTrace,
  options: WriteTraceOptions = {},
): Promise<void> {
  const { steps, ...rest } = trace.manifest;
  const writer = await createTraceWriter(path, {
    manifest: rest,
    ...(options.dtype ? { dtype: options.dtype } : {}),
    ...(options.shardBytes ? { shardBytes: options.shardBytes } : {}),
  });
  try {
    for (const layer of rest.layers) {
      const weight = trace.tensors.get(tensorName(layer.name, 'weight'));
      if (weight) await writer.writeStatic(layer.name, 'weight', weight.values, weight.shape);
    }
    for (const step of steps) {
      const stepTensors = [];
      for (const layer of rest.layers) {
        for (const role of layer.roles) {
          if (role === 'weight') continue;
          const tensor = trace.tensors.get(tensorName(layer.name, role, step.index))!;
          stepTensors.push({ layer: layer.name, role, values: tensor.values, shape: tensor.shape });
        }
      }
      await writer.writeStep(step, stepTensors);
    }
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/** A readable one-paragraph summary (counterexamples print this, not every value). */
export function describeTrace(trace: InMemoryTrace): string {
  const { layers, steps } = trace.manifest;
  const nonZero = (name: string): string => {
    const t = trace.tensors.get(name);
    if (!t) return '-';
    let n = 0;
    for (const v of t.values) if (v !== 0) n++;
    return `${n}/${t.values.length}`;
  };
  const layerLines = layers.map((l) => {
    const weight = l.roles.includes('weight') ? ` weight ${nonZero(tensorName(l.name, 'weight'))}` : '';
    const inputs = steps.map((s) => nonZero(tensorName(l.name, 'input', s.index))).join(' ');
    const geometry =
      l.kernel !== undefined
        ? ` kernel ${l.kernel.join('x')} stride ${l.stride?.join('x')} padding ${l.padding?.join(',')} dilation ${l.dilation?.join('x')}`
        : '';
    return `  ${l.name} ${l.op} input [${l.inputShape.join(',')}] gemm ${l.gemm.m}x${l.gemm.n}x${l.gemm.k} x${l.gemmCount}${geometry} roles ${l.roles.join('+')}${weight}; non-zero inputs per step ${inputs}`;
  });
  const stepLine = steps.map((s) => `${s.sequence}:${s.position}${s.keyFrame ? 'k' : ''}`).join(' ');
  return [
    `trace seed ${trace.manifest.seed}, steps (sequence:position, k = key) ${stepLine}`,
    ...layerLines,
  ].join('\n');
}
