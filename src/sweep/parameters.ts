import type { PhysicalRangeName } from '../config/physical-ranges.js';
import { DATAFLOWS } from '../core/array.js';
import { PRECISIONS } from '../core/energy-table.js';
import { FOLD_OVERLAPS } from '../core/fold-overlap.js';
import {
  ARRAY_KINDS,
  type HardwareModel,
  OPERAND_SUPPORTS,
  SCHEDULES,
  SKIP_GRANULARITIES,
  STORAGE_FORMATS,
} from '../core/hardware.js';

/** One value of a swept parameter: numbers in the base unit of the key (Hz, B, B/cycle). */
export type ParamValue = string | number | boolean;

export type ParamKind =
  | { readonly type: 'enum'; readonly values: readonly string[] }
  | { readonly type: 'int'; readonly min: number; readonly unbounded?: boolean }
  | { readonly type: 'quantity'; readonly range: PhysicalRangeName }
  | { readonly type: 'boolean' };

export interface ParamDefinition {
  readonly kind: ParamKind;
  readonly apply: (hw: HardwareModel, value: ParamValue) => HardwareModel;
}

const num = (v: ParamValue): number => v as number;
const enumOf = (values: readonly string[]): ParamKind => ({ type: 'enum', values });

/**
 * What a sweep may vary, named as in a hardware file (docs/configuration.md), and how each value
 * lands in the model. Everything else comes from the spec's base hardware.
 */
export const SWEEP_PARAMETERS: Readonly<Record<string, ParamDefinition>> = {
  rows: {
    kind: { type: 'int', min: 1 },
    apply: (hw, v) => ({ ...hw, array: { ...hw.array, rows: num(v) } }),
  },
  cols: {
    kind: { type: 'int', min: 1 },
    apply: (hw, v) => ({ ...hw, array: { ...hw.array, cols: num(v) } }),
  },
  dataflow: {
    kind: enumOf(DATAFLOWS),
    apply: (hw, v) => ({ ...hw, dataflow: v as HardwareModel['dataflow'] }),
  },
  precision: {
    kind: enumOf(PRECISIONS),
    apply: (hw, v) => ({ ...hw, precision: v as HardwareModel['precision'] }),
  },
  clock: { kind: { type: 'quantity', range: 'clock' }, apply: (hw, v) => ({ ...hw, clockHz: num(v) }) },
  'support.activations': {
    kind: enumOf(OPERAND_SUPPORTS),
    apply: (hw, v) => ({ ...hw, support: { ...hw.support, activations: v as never } }),
  },
  'support.weights': {
    kind: enumOf(OPERAND_SUPPORTS),
    apply: (hw, v) => ({ ...hw, support: { ...hw.support, weights: v as never } }),
  },
  'support.deltas': {
    kind: enumOf(OPERAND_SUPPORTS),
    apply: (hw, v) => ({ ...hw, support: { ...hw.support, deltas: v as never } }),
  },
  granularity: {
    kind: enumOf(SKIP_GRANULARITIES),
    apply: (hw, v) => ({ ...hw, granularity: v as HardwareModel['granularity'] }),
  },
  lookahead: {
    kind: { type: 'int', min: 1, unbounded: true },
    apply: (hw, v) => ({ ...hw, lookaheadSteps: v === 'unbounded' ? Number.POSITIVE_INFINITY : num(v) }),
  },
  'formats.activations': {
    kind: enumOf(STORAGE_FORMATS),
    apply: (hw, v) => ({ ...hw, formats: { ...hw.formats, activations: v as never } }),
  },
  'formats.weights': {
    kind: enumOf(STORAGE_FORMATS),
    apply: (hw, v) => ({ ...hw, formats: { ...hw.formats, weights: v as never } }),
  },
  'sram.ifmap': {
    kind: { type: 'quantity', range: 'size' },
    apply: (hw, v) => ({ ...hw, sram: { ...hw.sram, ifmapBytes: num(v) } }),
  },
  'sram.filter': {
    kind: { type: 'quantity', range: 'size' },
    apply: (hw, v) => ({ ...hw, sram: { ...hw.sram, filterBytes: num(v) } }),
  },
  'sram.ofmap': {
    kind: { type: 'quantity', range: 'size' },
    apply: (hw, v) => ({ ...hw, sram: { ...hw.sram, ofmapBytes: num(v) } }),
  },
  'bandwidth.sram': {
    kind: { type: 'quantity', range: 'bandwidth' },
    apply: (hw, v) => ({ ...hw, sram: { ...hw.sram, bandwidthBytesPerCycle: num(v) } }),
  },
  'bandwidth.dram': {
    kind: { type: 'quantity', range: 'bandwidth' },
    apply: (hw, v) => ({ ...hw, dram: { bandwidthBytesPerCycle: num(v) } }),
  },
  'stateMemory.size': {
    kind: { type: 'quantity', range: 'size' },
    apply: (hw, v) => ({ ...hw, stateMemory: { ...hw.stateMemory, bytes: num(v) } }),
  },
  'stateMemory.bandwidth': {
    kind: { type: 'quantity', range: 'bandwidth' },
    apply: (hw, v) => ({ ...hw, stateMemory: { ...hw.stateMemory, bandwidthBytesPerCycle: num(v) } }),
  },
  deltaMode: { kind: { type: 'boolean' }, apply: (hw, v) => ({ ...hw, deltaMode: v === true }) },
  overlap: { kind: enumOf(FOLD_OVERLAPS), apply: (hw, v) => ({ ...hw, overlap: v as never }) },
  schedule: { kind: enumOf(SCHEDULES), apply: (hw, v) => ({ ...hw, schedule: v as never }) },
  arrayKind: { kind: enumOf(ARRAY_KINDS), apply: (hw, v) => ({ ...hw, arrayKind: v as never }) },
};

export const SWEEP_PARAMETER_NAMES: readonly string[] = Object.keys(SWEEP_PARAMETERS);

/** The base hardware with a point's values applied, named after the point. */
export function hardwareForPoint(
  base: HardwareModel,
  params: Readonly<Record<string, ParamValue>>,
  name: string,
): HardwareModel {
  let hw: HardwareModel = { ...base, name };
  for (const [key, value] of Object.entries(params)) {
    const definition = SWEEP_PARAMETERS[key];
    if (!definition) throw new RangeError(`unknown sweep parameter "${key}"`);
    hw = definition.apply(hw, value);
  }
  return hw;
}
