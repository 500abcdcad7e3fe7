import { HOROWITZ_45NM } from './energy-table.js';
import type { HardwareModel } from './hardware.js';
import { DEFAULT_VECTOR_OPS } from './vector-unit.js';

/**
 * Named hardware presets. Each cites where its figures come from; every figure marked
 * "assumption" is ours, chosen to be plausible, and is not a published number.
 * Energy: the Horowitz 45 nm table (ISSCC 2014) for all, so presets differ by architecture only.
 */

const KIB = 1024;
const MIB = 1024 * 1024;

const DENSE_SUPPORT = { activations: 'none', weights: 'none', deltas: 'none' } as const;
const DENSE_FORMATS = { activations: 'dense', weights: 'dense' } as const;
/** No state memory: a design without delta support never uses it; sized so it never constrains either. */
const NO_STATE = {
  bytes: Number.POSITIVE_INFINITY,
  bandwidthBytesPerCycle: Number.POSITIVE_INFINITY,
} as const;

/**
 * What the presets share unless they say otherwise: one energy table (so they differ by
 * architecture only), no leakage, no delta mode and no state memory, per-element lanes with
 * unbounded look-ahead, and 4-bit RLE runs (unused unless a format is `rle`).
 */
const PRESET_DEFAULTS = {
  granularity: 'element',
  lookaheadSteps: Number.POSITIVE_INFINITY,
  rleRunBits: 4,
  stateMemory: NO_STATE,
  deltaMode: false,
  energy: HOROWITZ_45NM,
  leakageMw: 0,
} as const satisfies Partial<HardwareModel>;

/**
 * SCALE-Sim v2's default configuration (its configs/scale.cfg): 32×32, OS,
 * 64 KiB ifmap / filter / ofmap SRAM. SCALE-Sim's CALC bandwidth mode never stalls, hence unbounded
 * bandwidths. SCALE-Sim has no clock or precision: 1 GHz and int8 (1-byte words, SCALE-Sim's
 * word size) are assumptions used only for time and energy.
 */
export const SCALESIM_DEFAULT: HardwareModel = {
  ...PRESET_DEFAULTS,
  name: 'scalesim-default',
  array: { rows: 32, cols: 32 },
  dataflow: 'os',
  precision: 'int8',
  clockHz: 1e9,
  support: DENSE_SUPPORT,
  formats: DENSE_FORMATS,
  sram: {
    ifmapBytes: 64 * KIB,
    filterBytes: 64 * KIB,
    ofmapBytes: 64 * KIB,
    bandwidthBytesPerCycle: Number.POSITIVE_INFINITY,
  },
  dram: { bandwidthBytesPerCycle: Number.POSITIVE_INFINITY },
  // SCALE-Sim models no vector unit; assumption: one lane per array column, the width of the
  // output edge the array drains its results through.
  vector: { lanes: 32, ops: DEFAULT_VECTOR_OPS },
};

/**
 * Eyeriss v1 (Chen et al., ISSCC 2016 / JSSC 2017): 12×14 = 168 PEs, 16-bit fixed point, 200 MHz,
 * 108 KB global buffer, zero-activation data gating (the PE skips the filter read and gates the MAC
 * when the ifmap value is zero — cycle kept, energy cut: our `gate`), run-length compression of
 * activations (5-bit runs).
 * Row-stationary is not one of SCALE-Sim's dataflows; we map it to WS because RS keeps filter rows
 * resident in each PE's (largest, 224-word) spad while ifmap rows stream past and psums accumulate
 * along the column — the weight is what stays put. Assumptions: fp16 stands in for 16-bit fixed
 * point (same word size); the 108 KB buffer split evenly into 36 KiB ifmap / filter / ofmap;
 * 8 B/cycle DRAM (a 64-bit interface); 128 B/cycle per buffer, enough for WS partial sums
 * (read + write of 14 columns × 32 bit per cycle), which RS keeps in the PE spads.
 */
export const EYERISS_LIKE: HardwareModel = {
  ...PRESET_DEFAULTS,
  name: 'eyeriss-like',
  array: { rows: 12, cols: 14 },
  dataflow: 'ws',
  precision: 'fp16',
  clockHz: 200e6,
  support: { activations: 'gate', weights: 'none', deltas: 'gate' },
  formats: { activations: 'rle', weights: 'dense' },
  rleRunBits: 5,
  sram: { ifmapBytes: 36 * KIB, filterBytes: 36 * KIB, ofmapBytes: 36 * KIB, bandwidthBytesPerCycle: 128 },
  dram: { bandwidthBytesPerCycle: 8 },
  overlap: 'none',
  // Eyeriss applies ReLU and run-length compression on the ofmap path leaving the PE array;
  // assumption: its element-wise work runs at that path's width, one lane per PE column (14).
  vector: { lanes: 14, ops: DEFAULT_VECTOR_OPS },
};

/**
 * TPU v1 (Jouppi et al., ISCA 2017): 256×256 int8 MACs, weight-stationary systolic array, 700 MHz,
 * 24 MiB unified buffer (activations), 4 MiB of 32-bit accumulators (outputs), a weight FIFO of
 * four 64 KiB tiles, 30 GiB/s weight DRAM (≈ 46 B/cycle at 700 MHz), 28 W idle of 40 W busy.
 * Dense: no sparsity support. The weight FIFO double-buffers tiles, so the next fold's weights
 * load while the current fold streams: `overlap: preload`.
 * Assumptions: the 28 W idle power is used as the leakage figure
 * (idle includes clocking, so this overstates leakage); 2 KiB/cycle buffer bandwidth (the
 * accumulators read and write 256 × 32-bit words per cycle).
 */
export const TPU_V1_LIKE: HardwareModel = {
  ...PRESET_DEFAULTS,
  name: 'tpu-v1-like',
  array: { rows: 256, cols: 256 },
  dataflow: 'ws',
  precision: 'int8',
  clockHz: 700e6,
  support: DENSE_SUPPORT,
  formats: DENSE_FORMATS,
  sram: { ifmapBytes: 24 * MIB, filterBytes: 256 * KIB, ofmapBytes: 4 * MIB, bandwidthBytesPerCycle: 2048 },
  // 30 GiB/s ÷ 700 MHz = 46.02 B/cycle, rounded.
  dram: { bandwidthBytesPerCycle: 46 },
  leakageMw: 28_000,
  overlap: 'preload',
  // TPU v1's dedicated activation / normalize / pool units after the accumulators take one
  // 256-wide vector per cycle (Jouppi et al., Fig. 1): 256 lanes.
  vector: { lanes: 256, ops: DEFAULT_VECTOR_OPS },
};

/**
 * SparTen (Gondimalla et al., MICRO 2019: 4.7x over dense on pruned CNNs): two-sided skipping —
 * each compute unit ANDs the bitmasks ("SparseMap") of a filter chunk and an input chunk and runs
 * only the matching pairs, so every unit advances at its own pace: `element` granularity, with the
 * 128-element chunk as the resynchronisation window. Bitmask format for activations; weights
 * `auto`: SparTen stores pruned filters as bitmasks, but a weight with no zeros (an unpruned model)
 * is stored dense rather than paying a bitmask bit per weight.
 * Each unit produces one output at a time (inner product), i.e. output stationary.
 * Assumptions: 32 clusters × 32 units modelled as a 32×32 OS array; 800 MHz; 64 KiB buffers;
 * 64 B/cycle per buffer (twice a dense 32-wide int8 vector, as the units run ahead of dense
 * speed) and 16 B/cycle DRAM.
 */
export const SPARTEN_LIKE: HardwareModel = {
  ...PRESET_DEFAULTS,
  name: 'sparten-like',
  array: { rows: 32, cols: 32 },
  dataflow: 'os',
  precision: 'int8',
  clockHz: 800e6,
  support: { activations: 'skip', weights: 'skip', deltas: 'skip' },
  lookaheadSteps: 128,
  formats: { activations: 'bitmask', weights: 'auto' },
  sram: { ifmapBytes: 64 * KIB, filterBytes: 64 * KIB, ofmapBytes: 64 * KIB, bandwidthBytesPerCycle: 64 },
  dram: { bandwidthBytesPerCycle: 16 },
  // SparTen's paper covers the convolutions only; assumption: one lane per cluster (32).
  vector: { lanes: 32, ops: DEFAULT_VECTOR_OPS },
};

/**
 * NeuronFlow / GrAI (Yousefzadeh et al., AICAS 2019; the sigma-delta inference of the DAL paper,
 * Yousefzadeh & Sifalakis, arXiv 2107.07305): event-driven — only non-zero Δ are sent as events,
 * each carrying its address (coordinate format); each event is multiplied with its fan-out weights
 * by the cores that own the receiving neurons (`arrayKind: event-driven`, no systolic folds), while
 * neuron state (y_{t−1}) and the last activation (q_{t−1}) live in on-chip state memory. The
 * design keeps every weight on chip (synapse memory next to the neurons), so weights are read from
 * DRAM once per run when the network's weights fit the filter memory.
 * Assumptions (ours, not published figures): 1024 PEs (32×32), fp16, 400 MHz, one event dispatched
 * per cycle, 1 MiB weight memory split over the PEs (the bundled DAL model's ≈ 193 KiB of fp16
 * weights fit; ResNet-18's ≈ 22 MiB do not),
 * 4 MiB state memory at 64 B/cycle, 64 KiB event (ifmap) and output buffers at 256 B/cycle,
 * 16 B/cycle DRAM.
 */
export const NEURONFLOW_LIKE: HardwareModel = {
  ...PRESET_DEFAULTS,
  name: 'neuronflow-like',
  array: { rows: 32, cols: 32 },
  dataflow: 'ws',
  precision: 'fp16',
  clockHz: 400e6,
  support: { activations: 'skip', weights: 'none', deltas: 'skip' },
  formats: { activations: 'coordinate', weights: 'dense' },
  sram: { ifmapBytes: 64 * KIB, filterBytes: 1 * MIB, ofmapBytes: 64 * KIB, bandwidthBytesPerCycle: 256 },
  dram: { bandwidthBytesPerCycle: 16 },
  stateMemory: { bytes: 4 * MIB, bandwidthBytesPerCycle: 64 },
  deltaMode: true,
  arrayKind: 'event-driven',
  eventDispatchCycles: 1,
  // Every neuron core applies its own neurons' non-linearity; assumption: element-wise work spreads
  // over all 1024 PEs like the array's own work.
  vector: { lanes: 1024, ops: DEFAULT_VECTOR_OPS },
};

export const PRESETS: Readonly<Record<string, HardwareModel>> = {
  'scalesim-default': SCALESIM_DEFAULT,
  'eyeriss-like': EYERISS_LIKE,
  'tpu-v1-like': TPU_V1_LIKE,
  'sparten-like': SPARTEN_LIKE,
  'neuronflow-like': NEURONFLOW_LIKE,
};

export const PRESET_NAMES: readonly string[] = Object.keys(PRESETS);
