import type { ArrayShape, Dataflow } from './array.js';
import { DATAFLOWS } from './array.js';
import type { EnergyTable, Precision } from './energy-table.js';
import { PRECISION_BITS, PRECISIONS } from './energy-table.js';
import { FOLD_OVERLAPS, type FoldOverlap } from './fold-overlap.js';
import type { HardwareSummary } from './report.js';
import { type CondensedDatapath, condensedUnits } from './sparse/condensed-timing.js';
import { DEFAULT_VECTOR_OPS, type VectorUnitModel, vectorUnitProblems } from './vector-unit.js';

/**
 * What the array does with a zero operand (Timeloop/Sparseloop's vocabulary):
 * `none` — nothing, the MAC runs as if dense; `gate` — the MAC keeps its cycle but its datapath
 * energy is cut to the table's gated fraction; `skip` — the MAC costs neither cycle nor energy,
 * the format's metadata is paid instead.
 */
export type OperandSupport = 'none' | 'gate' | 'skip';
export const OPERAND_SUPPORTS: readonly OperandSupport[] = ['none', 'gate', 'skip'];

/**
 * How far lanes may run ahead of one another when skipping (docs/model.md, "Sparse timing"):
 * `element` — every PE advances over only its own needed steps, resynchronising every
 * `lookaheadSteps` dense steps; `vector` — a time step is dropped only when an operand vector
 * entering the array that cycle is entirely zero; `fold` — only folds with no work are dropped.
 */
export type SkipGranularity = 'element' | 'vector' | 'fold';
export const SKIP_GRANULARITIES: readonly SkipGranularity[] = ['element', 'vector', 'fold'];

/**
 * How a tensor is stored in SRAM and DRAM (Sparseloop's formats, one rank, flattened). `auto`
 * stores each tensor as bitmask when that is smaller than dense, else dense — what an offline
 * compressor does with weights, so a dense weight never pays a bitmask bit per element.
 */
export type StorageFormat = 'dense' | 'bitmask' | 'rle' | 'coordinate' | 'auto';
export const STORAGE_FORMATS: readonly StorageFormat[] = ['dense', 'bitmask', 'rle', 'coordinate', 'auto'];

/**
 * `systolic`: folds on an R×C array (SCALE-Sim's dataflows). `event-driven`: non-zero input
 * events are dispatched to the PEs that own the output neurons they fan out to (NeuronFlow-like);
 * no folds (docs/model.md, "Event-driven arrays").
 */
export type ArrayKind = 'systolic' | 'event-driven';
export const ARRAY_KINDS: readonly ArrayKind[] = ['systolic', 'event-driven'];

/**
 * Order of work across steps: `frame-major` runs every layer on a frame before the next frame
 * (streaming); `layer-major` runs one layer over all frames of a clip (a sequence) before the next
 * layer, so the layer's weights are loaded once per clip. Delta semantics are the same.
 */
export type Schedule = 'frame-major' | 'layer-major';
export const SCHEDULES: readonly Schedule[] = ['frame-major', 'layer-major'];

/**
 * Which part of a static weight a DRAM read brings in (docs/model.md, "Weight fetch"): `whole` —
 * the whole weight, as often as the mapping and residency say; `nonzero-inputs` — only the
 * weights that meet a non-zero input (Δ in delta mode) this step, as EdgeDRNN (Gao et al., IEEE
 * JETCAS 2020) streams the weight columns of non-zero Δ from DRAM. It needs `skip` support on that
 * input; without it every weight is used and fetched.
 */
export type WeightFetch = 'whole' | 'nonzero-inputs';
export const WEIGHT_FETCHES: readonly WeightFetch[] = ['whole', 'nonzero-inputs'];

/**
 * Weights may also be N:M structured (`nm`, as NVIDIA's sparse tensor core's 2:4): at most N
 * non-zeros in every group of M consecutive weights along the reduction axis K. The array runs
 * exactly the N kept slots of each group (compute as for K·N/M) and stores them with a
 * ⌈log2 M⌉-bit position each (docs/model.md, "Structured N:M weights").
 */
export type WeightSupport = OperandSupport | 'nm';
export const WEIGHT_SUPPORTS: readonly WeightSupport[] = [...OPERAND_SUPPORTS, 'nm'];

export interface NmPattern {
  readonly n: number;
  readonly m: number;
}

export interface OperandSupports {
  /** The streamed activation operand (q_t) outside delta mode; also `rhs` of activation × activation ops. */
  readonly activations: OperandSupport;
  readonly weights: WeightSupport;
  /** The activation operand in delta mode (Δ_t). */
  readonly deltas: OperandSupport;
  /** The N:M pattern when `weights` is `nm`. */
  readonly nm?: NmPattern;
}

/**
 * Storage of the GEMM operands. Outputs are always charged at dense size: their zeros are only
 * known once the next layer reads them, where they count as that layer's input format.
 */
export interface StorageFormats {
  readonly activations: StorageFormat;
  readonly weights: StorageFormat;
}

export interface SramModel {
  readonly ifmapBytes: number;
  readonly filterBytes: number;
  readonly ofmapBytes: number;
  /** Per buffer; Infinity = never limits (SCALE-Sim's CALC mode). */
  readonly bandwidthBytesPerCycle: number;
}

/** On-chip memory that keeps y_{t−1} and q_{t−1} for delta mode. */
export interface StateMemoryModel {
  readonly bytes: number;
  readonly bandwidthBytesPerCycle: number;
}

/** The validated hardware the core simulates. Plain numbers in base units; built at the edge. */
export interface HardwareModel {
  readonly name: string;
  readonly array: ArrayShape;
  readonly dataflow: Dataflow;
  readonly precision: Precision;
  readonly clockHz: number;
  readonly support: OperandSupports;
  readonly granularity: SkipGranularity;
  /** Lane buffer depth in dense steps under `element` granularity; Infinity = unbounded. */
  readonly lookaheadSteps: number;
  readonly formats: StorageFormats;
  /** Bits of one run-length field in the `rle` format. */
  readonly rleRunBits: number;
  /**
   * `rle` entries are packed into DRAM words of this many bits, ⌊bits / (word + run)⌋ entries per
   * word (Eyeriss v1: 3 pairs of 5 + 16 bits in 64). Absent = entries stored back to back.
   */
  readonly rlePackBits?: number;
  readonly sram: SramModel;
  readonly dram: { readonly bandwidthBytesPerCycle: number };
  readonly stateMemory: StateMemoryModel;
  /** Run temporal layers as y_t = y_{t−1} + W·Δ_t (needs `delta` tensors or consecutive inputs). */
  readonly deltaMode: boolean;
  readonly energy: EnergyTable;
  readonly leakageMw: number;
  /** Fold pipelining (fold-overlap.ts); absent = `none`, SCALE-Sim's non-overlapped folds. */
  readonly overlap?: FoldOverlap;
  /** Absent = `frame-major`. */
  readonly schedule?: Schedule;
  /** Absent = `systolic`. */
  readonly arrayKind?: ArrayKind;
  /** Event-driven arrays: cycles the dispatcher spends per input event (absent = 1). */
  readonly eventDispatchCycles?: number;
  /** Absent = `whole`. */
  readonly weightFetch?: WeightFetch;
  /**
   * The skipping datapath condenses operands and deals them to units in whole passes
   * (sparse/condensed-timing.ts); absent = the lane timing of a systolic array.
   */
  readonly condensed?: CondensedDatapath;
  /** The vector unit for element-wise layers (absent = `vectorUnitOf`'s default). */
  readonly vector?: VectorUnitModel;
}

/** The hardware's vector unit; absent, one lane per array column with the default costs. */
export function vectorUnitOf(hw: Pick<HardwareModel, 'vector' | 'array'>): VectorUnitModel {
  return hw.vector ?? { lanes: hw.array.cols, ops: DEFAULT_VECTOR_OPS };
}

/** Bits of a stored partial sum (int32 accumulators for int8, fp32 otherwise). */
export const PSUM_BITS = 32;

function finitePositive(value: number): boolean {
  return Number.isFinite(value) && value > 0;
}

function positiveOrInfinite(value: number): boolean {
  return value === Number.POSITIVE_INFINITY || finitePositive(value);
}

/**
 * Every broken rule as `[keyPath, rule]`; empty when the model is valid. Pure: the edge
 * (src/config/hardware-file.ts) turns the first problem into a ConfigError naming file and key.
 */
export function hardwareProblems(hw: HardwareModel): readonly (readonly [string, string])[] {
  const problems: [string, string][] = [];
  const intAtLeast1 = (path: string, value: number): void => {
    if (!Number.isInteger(value) || value < 1) problems.push([path, 'must be an integer ≥ 1']);
  };
  if (!hw.name) problems.push(['name', 'must be a non-empty string']);
  intAtLeast1('array.rows', hw.array.rows);
  intAtLeast1('array.cols', hw.array.cols);
  if (!DATAFLOWS.includes(hw.dataflow)) problems.push(['dataflow', 'must be os, ws or is']);
  if (!PRECISIONS.includes(hw.precision)) problems.push(['precision', 'must be int8, fp16 or fp32']);
  if (!finitePositive(hw.clockHz)) problems.push(['clock', 'must be a positive frequency']);
  for (const key of ['activations', 'deltas'] as const) {
    if (!OPERAND_SUPPORTS.includes(hw.support[key]))
      problems.push([`support.${key}`, 'must be none, gate or skip']);
  }
  if (!WEIGHT_SUPPORTS.includes(hw.support.weights))
    problems.push(['support.weights', 'must be none, gate, skip or nm']);
  if (hw.support.weights === 'nm') {
    const nm = hw.support.nm;
    if (!nm || !Number.isInteger(nm.m) || nm.m < 2 || nm.m > 64)
      problems.push(['support.nm.m', 'must be an integer in 2..64 (weights: nm needs n and m)']);
    else if (!Number.isInteger(nm.n) || nm.n < 1 || nm.n >= nm.m)
      problems.push(['support.nm.n', 'must be an integer in 1..m − 1']);
    // The structured datapath runs its kept slots densely; activation skipping is not combined with it.
    if (hw.support.activations === 'skip' || hw.support.deltas === 'skip')
      problems.push(['support.weights', 'nm cannot be combined with skipping activations or deltas']);
    if (hw.arrayKind === 'event-driven') problems.push(['support.weights', 'nm needs a systolic array']);
  }
  if (!SKIP_GRANULARITIES.includes(hw.granularity)) {
    problems.push(['granularity', 'must be element, vector or fold']);
  }
  if (
    !(
      hw.lookaheadSteps === Number.POSITIVE_INFINITY ||
      (Number.isInteger(hw.lookaheadSteps) && hw.lookaheadSteps >= 1)
    )
  ) {
    problems.push(['lookahead', 'must be an integer ≥ 1 or unbounded']);
  }
  for (const key of ['activations', 'weights'] as const) {
    if (!STORAGE_FORMATS.includes(hw.formats[key])) {
      problems.push([`formats.${key}`, 'must be dense, bitmask, rle, coordinate or auto']);
    }
  }
  if (!Number.isInteger(hw.rleRunBits) || hw.rleRunBits < 1 || hw.rleRunBits > 30) {
    problems.push(['formats.rleRunBits', 'must be an integer in 1..30']);
  }
  if (
    hw.rlePackBits !== undefined &&
    !(
      Number.isInteger(hw.rlePackBits) &&
      hw.rlePackBits >= PRECISION_BITS[hw.precision] + hw.rleRunBits &&
      hw.rlePackBits <= 4096
    )
  )
    problems.push(['formats.rlePackBits', 'must be an integer ≥ one entry (word + run bits) and ≤ 4096']);
  if (hw.weightFetch !== undefined && !WEIGHT_FETCHES.includes(hw.weightFetch))
    problems.push(['weightFetch', 'must be whole or nonzero-inputs']);
  for (const key of ['ifmapBytes', 'filterBytes', 'ofmapBytes'] as const) {
    if (!positiveOrInfinite(hw.sram[key])) problems.push([`sram.${key}`, 'must be a positive size']);
  }
  if (!positiveOrInfinite(hw.sram.bandwidthBytesPerCycle))
    problems.push(['sram.bandwidth', 'must be positive']);
  if (!positiveOrInfinite(hw.dram.bandwidthBytesPerCycle))
    problems.push(['dram.bandwidth', 'must be positive']);
  if (!positiveOrInfinite(hw.stateMemory.bytes))
    problems.push(['stateMemory.size', 'must be a positive size']);
  if (!positiveOrInfinite(hw.stateMemory.bandwidthBytesPerCycle)) {
    problems.push(['stateMemory.bandwidth', 'must be positive']);
  }
  if (!(Number.isFinite(hw.leakageMw) && hw.leakageMw >= 0)) problems.push(['leakage', 'must be ≥ 0 mW']);
  if (hw.overlap !== undefined && !FOLD_OVERLAPS.includes(hw.overlap))
    problems.push(['overlap', 'must be none, preload or pipelined']);
  if (hw.schedule !== undefined && !SCHEDULES.includes(hw.schedule))
    problems.push(['schedule', 'must be frame-major or layer-major']);
  if (hw.arrayKind !== undefined && !ARRAY_KINDS.includes(hw.arrayKind))
    problems.push(['arrayKind', 'must be systolic or event-driven']);
  if (
    hw.eventDispatchCycles !== undefined &&
    !(Number.isFinite(hw.eventDispatchCycles) && hw.eventDispatchCycles >= 0)
  )
    problems.push(['eventDispatch', 'must be ≥ 0 cycles per event']);
  if (hw.condensed) condensedProblems(hw, hw.condensed, problems);
  const e = hw.energy;
  for (const p of PRECISIONS) {
    if (!(Number.isFinite(e.macPj[p]) && e.macPj[p] >= 0))
      problems.push([`energy.mac.${p}`, 'must be ≥ 0 pJ']);
  }
  if (!(e.gatedMacFraction >= 0 && e.gatedMacFraction <= 1)) {
    problems.push(['energy.gatedMacFraction', 'must be in [0, 1]']);
  }
  if (e.sram.length === 0) problems.push(['energy.sram', 'needs at least one size point']);
  if (hw.vector) problems.push(...vectorUnitProblems(hw.vector));
  return problems;
}

function condensedProblems(hw: HardwareModel, cd: CondensedDatapath, problems: [string, string][]): void {
  const before = problems.length;
  for (const side of ['rows', 'cols'] as const) {
    const v = cd.unit[side];
    if (!Number.isInteger(v) || v < 1) problems.push([`condensed.unit.${side}`, 'must be an integer ≥ 1']);
  }
  for (const [key, v] of [
    ['rows', cd.tileRows],
    ['cols', cd.tileCols],
  ] as const) {
    if (!(v === Number.POSITIVE_INFINITY || (Number.isInteger(v) && v >= 1)))
      problems.push([`condensed.tile.${key}`, 'must be an integer ≥ 1 or unbounded']);
  }
  const acc = cd.accumulatePerCycle;
  if (acc !== undefined && !(acc === Number.POSITIVE_INFINITY || (Number.isInteger(acc) && acc >= 1)))
    problems.push(['condensed.accumulate', 'must be an integer ≥ 1 or unbounded']);
  if (problems.length === before && condensedUnits(hw.array, cd) === 0)
    problems.push(['condensed.unit', 'the array must hold a whole number of units (rows·cols a multiple)']);
  // The units keep their output tiles and walk the reduction: the output-stationary lane roles.
  if (hw.dataflow !== 'os') problems.push(['condensed', 'needs dataflow os (units keep output tiles)']);
  if (hw.arrayKind === 'event-driven') problems.push(['condensed', 'needs a systolic array kind']);
  if (hw.support.weights === 'nm') problems.push(['condensed', 'cannot be combined with nm weights']);
  if ((hw.overlap ?? 'none') !== 'none')
    problems.push(['condensed', 'times its rounds itself: overlap must be none']);
}

/** True when some operand can be skipped: the array then also skips structural zeros it knows statically. */
export function skipsAnything(hw: HardwareModel): boolean {
  return hw.support.activations === 'skip' || hw.support.weights === 'skip' || hw.support.deltas === 'skip';
}

/**
 * The dense baseline of a design: the same array, memory, clock, energy, overlap, schedule and
 * array kind with sparsity support off — no skipping or gating, no delta mode, dense storage.
 * Every speedup a report prints compares with this, through the same levels.
 */
export function denseBaselineOf(hw: HardwareModel): HardwareModel {
  // The dense design has no condensing datapath: the same multipliers as a plain array.
  return uniformHardware({
    ...hw,
    support: { activations: 'none', weights: 'none', deltas: 'none' },
    formats: { activations: 'dense', weights: 'dense' },
    deltaMode: false,
    condensed: undefined,
  });
}

/**
 * `hw` with every field in one order, the absent optional ones undefined (which every reader takes
 * as absent): presets, files and dense baselines each built their own hidden class, and the replay's
 * per-step stages, optimized on one design, were deoptimized by the next design's object.
 */
export function uniformHardware(hw: HardwareModel): HardwareModel {
  // Every field named, the optional ones too: a field added to HardwareModel and not listed here is
  // a compile error rather than a design quietly losing it.
  const uniform: { [K in keyof Required<HardwareModel>]: HardwareModel[K] } = {
    name: hw.name,
    array: hw.array,
    dataflow: hw.dataflow,
    precision: hw.precision,
    clockHz: hw.clockHz,
    support: hw.support,
    granularity: hw.granularity,
    lookaheadSteps: hw.lookaheadSteps,
    formats: hw.formats,
    rleRunBits: hw.rleRunBits,
    rlePackBits: hw.rlePackBits,
    sram: hw.sram,
    dram: hw.dram,
    stateMemory: hw.stateMemory,
    deltaMode: hw.deltaMode,
    energy: hw.energy,
    leakageMw: hw.leakageMw,
    overlap: hw.overlap,
    schedule: hw.schedule,
    arrayKind: hw.arrayKind,
    eventDispatchCycles: hw.eventDispatchCycles,
    weightFetch: hw.weightFetch,
    condensed: hw.condensed,
    vector: hw.vector,
  };
  return uniform;
}

/** The one hardware summary reports carry (simulate and replay alike); a clock only when known. */
export function summarizeHardware(
  hw: Pick<HardwareModel, 'name' | 'array' | 'dataflow' | 'precision'> & {
    readonly clockHz?: number | undefined;
  },
): HardwareSummary {
  return {
    name: hw.name,
    rows: hw.array.rows,
    cols: hw.array.cols,
    dataflow: hw.dataflow,
    precision: hw.precision,
    ...(hw.clockHz !== undefined ? { clockHz: hw.clockHz } : {}),
  };
}
