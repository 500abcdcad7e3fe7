/**
 * The vector unit: the SIMD lanes beside the MAC array that run a network's element-wise layers
 * (pooling, upsampling, normalisation, softmax, activations, adds). docs/model.md, "Vector unit".
 * Pure: costs and cycles from a layer's shapes and the hardware's figures.
 */

/** The element-wise kinds the unit prices separately. */
export const ELEMENTWISE_KINDS = [
  'max-pool',
  'avg-pool',
  'upsample',
  'layer-norm',
  'rms-norm',
  'softmax',
  'activation',
  'add',
  'other',
] as const;

export type ElementwiseKind = (typeof ELEMENTWISE_KINDS)[number];

/**
 * Lane-ops (one add, compare, multiply, copy or table look-up on one lane) per output element, by
 * kind. Pools are priced per window tap: a max-pool costs `maxPool · (window − 1)` per output (the
 * compares), an average pool `avgPool · window` (window − 1 adds and one scale).
 */
export interface VectorOpCosts {
  readonly maxPool: number;
  readonly avgPool: number;
  readonly upsample: number;
  readonly layerNorm: number;
  readonly rmsNorm: number;
  readonly softmax: number;
  readonly activation: number;
  readonly add: number;
}

export interface VectorUnitModel {
  /** Lanes: lane-ops the unit completes per cycle. */
  readonly lanes: number;
  readonly ops: VectorOpCosts;
}

/**
 * Default costs, counted from the operations' definitions (docs/model.md, "Vector unit"):
 * LayerNorm: mean (1 add), variance (subtract, square, add), normalise (1 multiply by 1/σ), affine
 * (multiply γ, add β) = 7; RMSNorm: square, add, multiply by 1/rms, multiply γ = 4; softmax: row max
 * (1 compare), subtract, exp (one look-up in a function table), sum (1 add), multiply by 1/sum = 5;
 * nearest upsampling: one copy; activation: one compare/select or table look-up; add: one.
 */
export const DEFAULT_VECTOR_OPS: VectorOpCosts = {
  maxPool: 1,
  avgPool: 1,
  upsample: 1,
  layerNorm: 7,
  rmsNorm: 4,
  softmax: 5,
  activation: 1,
  add: 1,
};

/** Tree reductions across lanes per normalised row (LayerNorm: mean and variance; softmax: max and sum). */
const REDUCTION_PASSES: Partial<Record<ElementwiseKind, number>> = {
  'layer-norm': 2,
  'rms-norm': 1,
  softmax: 2,
};

/** What the unit needs of an element-wise layer (a subset of the trace manifest's layer). */
export interface ElementwiseLayerSpec {
  readonly name: string;
  readonly inputShape: readonly number[];
  readonly outputShape?: readonly number[];
  /** The trace's accounting: m outputs of k operations each (a pool's k is its window). */
  readonly gemm: { readonly m: number; readonly n: number; readonly k: number };
  readonly elementwiseOps?: number;
}

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * A trace names element-wise layers but not their kind: it is read from the layer's name
 * (`maxpool`, `avgpool` or a bare `pool`, `upsample`, `softmax`, `rmsnorm`, `norm`, `act`/`relu`/
 * `gelu`/`silu`, `pos`/`add`/`residual`, case and `_`/`-` ignored). Anything else is `other`,
 * priced at the trace's own per-output count.
 */
export function elementwiseKindOf(name: string): ElementwiseKind {
  const n = name.toLowerCase().replace(/[_-]/g, '');
  if (n.includes('maxpool')) return 'max-pool';
  if (n.includes('avgpool') || n.includes('pool')) return 'avg-pool';
  if (n.includes('upsample')) return 'upsample';
  if (n.includes('softmax')) return 'softmax';
  if (n.includes('rmsnorm')) return 'rms-norm';
  if (n.includes('norm')) return 'layer-norm';
  if (/(act|relu|gelu|silu)/.test(n)) return 'activation';
  if (/(pos|add|residual)/.test(n)) return 'add';
  return 'other';
}

/** The unit's work for one step of an element-wise layer. */
export interface VectorWork {
  readonly kind: ElementwiseKind;
  readonly inputElements: number;
  readonly outputElements: number;
  /** Lane-ops of the step (per-element work plus one reciprocal or 1/σ per normalised row). */
  readonly ops: number;
  /** ceil(ops / lanes) plus the cross-lane reduction steps. */
  readonly cycles: number;
}

/**
 * Per step: `ops = outputs · cost(kind)` (+ one op per normalised row for the reciprocal or 1/σ),
 * `cycles = ceil(ops / lanes) + reductionCycles`. A normalised row is the last input axis (length
 * L, rows = inputs / L). Rows are spread over the lanes, `s = min(L, max(1, floor(lanes / rows)))`
 * lanes per row; with s > 1 each of the kind's `passes` reductions ends in a tree over the row's s
 * lanes, all rows side by side: `reductionCycles = passes · ceil(log2 s)` (0 when every row has one
 * lane: its accumulating adds are already in the per-element cost).
 */
export function vectorWork(layer: ElementwiseLayerSpec, unit: VectorUnitModel): VectorWork {
  const kind = elementwiseKindOf(layer.name);
  const inputElements = product(layer.inputShape);
  const outputElements = layer.outputShape ? product(layer.outputShape) : layer.gemm.m;
  const window = layer.gemm.k;
  const c = unit.ops;
  const perOutput: Record<ElementwiseKind, number> = {
    'max-pool': c.maxPool * Math.max(0, window - 1),
    'avg-pool': c.avgPool * window,
    upsample: c.upsample,
    'layer-norm': c.layerNorm,
    'rms-norm': c.rmsNorm,
    softmax: c.softmax,
    activation: c.activation,
    add: c.add,
    other: layer.elementwiseOps !== undefined ? layer.elementwiseOps / Math.max(1, outputElements) : window,
  };
  const passes = REDUCTION_PASSES[kind] ?? 0;
  const rowLength = layer.inputShape[layer.inputShape.length - 1] ?? 1;
  const rows = passes > 0 ? Math.ceil(inputElements / rowLength) : 0;
  const ops = Math.ceil(outputElements * perOutput[kind]) + rows;
  const lanesPerRow = rows > 0 ? Math.min(rowLength, Math.max(1, Math.floor(unit.lanes / rows))) : 1;
  const reductionCycles = passes * Math.ceil(Math.log2(lanesPerRow));
  return { kind, inputElements, outputElements, ops, cycles: Math.ceil(ops / unit.lanes) + reductionCycles };
}

/** Every broken rule of a vector unit as `[keyPath, rule]` (hardware.ts collects them). */
export function vectorUnitProblems(unit: VectorUnitModel): [string, string][] {
  const problems: [string, string][] = [];
  if (!Number.isInteger(unit.lanes) || unit.lanes < 1)
    problems.push(['vector.lanes', 'must be an integer ≥ 1']);
  for (const [key, value] of Object.entries(unit.ops)) {
    if (!(Number.isFinite(value) && value >= 0)) problems.push([`vector.ops.${key}`, 'must be ≥ 0 lane-ops']);
  }
  return problems;
}
