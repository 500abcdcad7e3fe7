/**
 * Hardware models valid by construction (hardwareProblems finds nothing in any of them): every
 * field is drawn from its legal range, so a property never wastes a run on a rejected design.
 * Array sizes shrink toward 1×1, memories toward the smallest size, features toward `none`.
 */
import fc from 'fast-check';
import type { Dataflow } from '../core/array.js';
import { HOROWITZ_45NM, type Precision } from '../core/energy-table.js';
import type { FoldOverlap } from '../core/fold-overlap.js';
import type {
  ArrayKind,
  HardwareModel,
  OperandSupport,
  Schedule,
  SkipGranularity,
  StorageFormat,
} from '../core/hardware.js';

export const arbitrarySupport: fc.Arbitrary<OperandSupport> = fc.constantFrom('none', 'gate', 'skip');
export const arbitraryDataflow: fc.Arbitrary<Dataflow> = fc.constantFrom('os', 'ws', 'is');

export interface HardwareOptions {
  /** Largest array side (default 16). */
  readonly maxRows?: number;
  readonly maxCols?: number;
  /** Fields every drawn model keeps (e.g. a fixed energy table, or `arrayKind: 'systolic'`). */
  readonly fixed?: Partial<HardwareModel>;
}

const UNBOUNDED = Number.POSITIVE_INFINITY;

/** A size or bandwidth in [min, max], or unbounded; shrinks toward `min`. */
function boundedOrInfinite(min: number, max: number): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min, max }) },
    { weight: 1, arbitrary: fc.constant(UNBOUNDED) },
  );
}

export function arbitraryHardware(options: HardwareOptions = {}): fc.Arbitrary<HardwareModel> {
  return fc
    .record({
      rows: fc.integer({ min: 1, max: options.maxRows ?? 16 }),
      cols: fc.integer({ min: 1, max: options.maxCols ?? 16 }),
      dataflow: arbitraryDataflow,
      precision: fc.constantFrom<Precision>('int8', 'fp16', 'fp32'),
      clockHz: fc.constantFrom(1e9, 200e6, 800e6),
      activations: arbitrarySupport,
      weights: arbitrarySupport,
      deltas: arbitrarySupport,
      granularity: fc.constantFrom<SkipGranularity>('element', 'vector', 'fold'),
      lookaheadSteps: boundedOrInfinite(1, 256),
      activationFormat: fc.constantFrom<StorageFormat>('dense', 'bitmask', 'rle', 'coordinate', 'auto'),
      weightFormat: fc.constantFrom<StorageFormat>('dense', 'bitmask', 'rle', 'coordinate', 'auto'),
      rleRunBits: fc.integer({ min: 1, max: 8 }),
      ifmapBytes: boundedOrInfinite(64, 1 << 20),
      filterBytes: boundedOrInfinite(64, 1 << 20),
      ofmapBytes: boundedOrInfinite(64, 1 << 20),
      sramBandwidth: boundedOrInfinite(1, 512),
      dramBandwidth: boundedOrInfinite(1, 128),
      stateBytes: boundedOrInfinite(64, 1 << 22),
      stateBandwidth: boundedOrInfinite(1, 256),
      deltaMode: fc.boolean(),
      leakageMw: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1000 })),
      overlap: fc.constantFrom<FoldOverlap>('none', 'preload', 'pipelined'),
      schedule: fc.constantFrom<Schedule>('frame-major', 'layer-major'),
      arrayKind: fc.constantFrom<ArrayKind>('systolic', 'event-driven'),
      eventDispatchCycles: fc.integer({ min: 0, max: 4 }),
    })
    .map(
      (h): HardwareModel => ({
        name: 'arbitrary',
        array: { rows: h.rows, cols: h.cols },
        dataflow: h.dataflow,
        precision: h.precision,
        clockHz: h.clockHz,
        support: { activations: h.activations, weights: h.weights, deltas: h.deltas },
        granularity: h.granularity,
        lookaheadSteps: h.lookaheadSteps,
        formats: { activations: h.activationFormat, weights: h.weightFormat },
        rleRunBits: h.rleRunBits,
        sram: {
          ifmapBytes: h.ifmapBytes,
          filterBytes: h.filterBytes,
          ofmapBytes: h.ofmapBytes,
          bandwidthBytesPerCycle: h.sramBandwidth,
        },
        dram: { bandwidthBytesPerCycle: h.dramBandwidth },
        stateMemory: { bytes: h.stateBytes, bandwidthBytesPerCycle: h.stateBandwidth },
        deltaMode: h.deltaMode,
        energy: HOROWITZ_45NM,
        leakageMw: h.leakageMw,
        overlap: h.overlap,
        schedule: h.schedule,
        arrayKind: h.arrayKind,
        eventDispatchCycles: h.eventDispatchCycles,
        ...options.fixed,
      }),
    );
}
