import type { LevelReport } from './levels.js';

/**
 * The report: what `--json` prints as its last line and what every front end renders.
 * Field names are a contract other tools rely on (docs/model.md, "Report fields"); add fields, never rename.
 */

/** MACs the hardware did not execute, by the reason it could skip them. */
export interface SkippedMacs {
  /** The activation operand was zero (spatial sparsity, e.g. ReLU zeros). */
  readonly zeroActivation: number;
  /** The weight operand was zero (pruned / delta-parameter sparsity). */
  readonly zeroWeight: number;
  /** The temporal delta of the activation was zero (delta mode). */
  readonly zeroDelta: number;
  /** Zero by construction, known without looking at data (causal mask, triangular solve). */
  readonly structural: number;
}

/**
 * Energy in picojoules by component. `total` is the sum of the others; a component the model did not
 * charge is absent rather than zero-filled, so a reader can tell "free" from "not modelled".
 */
export interface EnergyPj {
  readonly total: number;
  readonly mac?: number;
  readonly gatedMac?: number;
  readonly register?: number;
  readonly sram?: number;
  readonly dram?: number;
  readonly metadata?: number;
  /** Reading/writing stored partial sums and previous activations, computing and thresholding deltas. */
  readonly deltaState?: number;
  readonly leakage?: number;
  /** Lane-ops of the vector unit (element-wise layers: pooling, norms, softmax, upsampling). */
  readonly vector?: number;
}

/**
 * Every component of `EnergyPj` but `total`, in the order engines charge and reports list them.
 * The one list engines, tables and breakdowns iterate, so a new component is added in one place.
 */
export const ENERGY_COMPONENTS = [
  'mac',
  'gatedMac',
  'register',
  'sram',
  'dram',
  'metadata',
  'deltaState',
  'leakage',
  'vector',
] as const satisfies readonly (keyof EnergyPj)[];

export type EnergyComponent = (typeof ENERGY_COMPONENTS)[number];

/**
 * The timing figures every layer and total carries (docs/model.md, "Baselines"). The baseline is
 * the same hardware with sparsity support off (hardware.ts `denseBaselineOf`) through the same
 * levels; ratios are of like with like: memory-bound over memory-bound, compute over compute.
 */
export interface TimingFigures {
  /** Cycles of this hardware: max(compute, each level) per step, summed. */
  readonly cycles: number;
  /** Cycles of the array alone (folds or events), no memory. */
  readonly computeCycles: number;
  /** cycles − computeCycles: what the memory levels (and the delta unit) added. */
  readonly stallCycles: number;
  /** The dense baseline's cycles, memory included. */
  readonly baselineCycles: number;
  /** The dense baseline's compute cycles, no memory. */
  readonly baselineComputeCycles: number;
  /** baselineCycles / cycles. */
  readonly speedup: number;
  /** baselineComputeCycles / computeCycles: what the array alone makes of the sparsity. */
  readonly computeSpeedup: number;
  /** The dense baseline's total energy. */
  readonly baselineEnergyPj: number;
  /** Bytes read from and written to DRAM. */
  readonly dramBytes: number;
  readonly baselineDramBytes: number;
  /** DRAM bytes not moved because operands stayed resident on chip across steps. */
  readonly residentSavedDramBytes: number;
}

export interface LayerReport extends TimingFigures {
  readonly name: string;
  /** Op kind: conv2d, depthwise, dense, matmul, attention-scores, attention-values, delta-rule, gemm. */
  readonly op: string;
  /** How many GEMMs the layer lowered to (depthwise: one per channel). */
  readonly gemms: number;
  /** Every MAC of the dense computation. */
  readonly macs: number;
  /** MACs the array actually ran (gated ones included: they take their cycle). */
  readonly executedMacs: number;
  /** Of the executed MACs, those gated (cycle spent, datapath energy cut). */
  readonly gatedMacs: number;
  readonly skippedMacs: SkippedMacs;
  readonly folds: number;
  /**
   * The same layer on the same array with no sparsity support, compute only (no memory): equal to
   * baselineComputeCycles; SCALE-Sim's figure when folds do not overlap. Kept for readers of older
   * reports; never divide it by `cycles` (which includes memory).
   */
  readonly denseCycles: number;
  /**
   * executedMacs / (cycles · R · C): the fraction of PE-cycles occupied by a MAC (gated ones
   * included: they hold their PE for the cycle). Skipped MACs occupy no PE, so they do not count.
   * On a dense run executedMacs = macs, which is SCALE-Sim's "Overall Util". ReportTotal's is the same
   * ratio of the summed figures (core/report-total.ts), never a mean of the layers'.
   */
  readonly utilization: number;
  /** Mean over folds of the fraction of PEs a fold maps work onto. */
  readonly mappingEfficiency: number;
  readonly energyPj: EnergyPj;
  /**
   * Lane load imbalance (sparse replay): how many (fold, lane) pairs did a given share of the work of
   * their fold's busiest lane. Bin i of n counts lanes whose work / busiest lane's work lies in
   * [i/n, (i+1)/n), the last bin including 1. Absent when the engine did not measure it (dense runs).
   */
  readonly laneWorkHistogram?: readonly number[];
  /** Per storage level: bytes read and written, cycles demanded, steps it bounded (absent: not modelled). */
  readonly levels?: readonly LevelReport[];
  /** Element-wise layers (op `elementwise`, no MACs): lane-ops the vector unit ran, and their kind. */
  readonly vectorOps?: number;
  readonly elementwiseKind?: string;
}

export interface ReportTotal extends TimingFigures {
  readonly macs: number;
  readonly executedMacs: number;
  readonly gatedMacs: number;
  readonly skippedMacs: SkippedMacs;
  readonly folds: number;
  readonly denseCycles: number;
  /** executedMacs / (cycles · R · C) of the sums, as LayerReport.utilization. */
  readonly utilization: number;
  readonly energyPj: EnergyPj;
  readonly levels?: readonly LevelReport[];
  /** Lane-ops of the vector unit over all element-wise layers (absent: the run had none). */
  readonly vectorOps?: number;
}

/** Enough of the hardware to read a report without the config file beside it. */
export interface HardwareSummary {
  readonly name: string;
  readonly rows: number;
  readonly cols: number;
  readonly dataflow: string;
  readonly precision?: string;
  readonly clockHz?: number;
}

export interface Report {
  readonly tool: 'deltasim';
  readonly version: string;
  readonly command: 'simulate' | 'replay';
  /** The topology or trace files this report was computed from. */
  readonly sources: readonly string[];
  readonly hardware: HardwareSummary;
  readonly layers: readonly LayerReport[];
  readonly total: ReportTotal;
}
