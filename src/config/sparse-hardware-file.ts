import { basename, dirname, extname, resolve } from 'node:path';
import type { Dataflow } from '../core/array.js';
import type { Precision } from '../core/energy-table.js';
import { FOLD_OVERLAPS } from '../core/fold-overlap.js';
import {
  ARRAY_KINDS,
  type HardwareModel,
  hardwareProblems,
  OPERAND_SUPPORTS,
  type OperandSupport,
  SCHEDULES,
  SKIP_GRANULARITIES,
  type SkipGranularity,
  STORAGE_FORMATS,
  type StorageFormat,
  WEIGHT_SUPPORTS,
  type WeightSupport,
} from '../core/hardware.js';
import { PRESET_NAMES, PRESETS, SCALESIM_DEFAULT } from '../core/presets.js';
import { parseConfigDocument } from './config-document.js';
import { ConfigError } from './config-error.js';
import { energyTableFromDocument, loadEnergyTableFile } from './energy-table-file.js';
import {
  DENSE_HARDWARE_FIELDS,
  type DenseHardware,
  type FieldSpec,
  type FieldValue,
  readFields,
} from './hardware-file.js';
import { readInputText } from './read-text.js';

/**
 * The hardware file with the sparse fields (a superset of src/config/hardware-file.ts's format):
 *
 * ```yaml
 * preset: sparten-like          # start from a preset (default scalesim-default), override below
 * name: my-sparse-array
 * array: { rows: 32, cols: 32 }
 * dataflow: os
 * precision: int8
 * clock: 800 MHz
 * support: { activations: skip, weights: skip, deltas: skip }   # none | gate | skip
 *   # weights may also be `nm` with `nm: { n: 2, m: 4 }` (N:M structured, e.g. a sparse tensor core's 2:4)
 * granularity: element          # element | vector | fold
 * lookahead: 128                # dense steps between lane resyncs, or "unbounded"
 * formats: { activations: bitmask, weights: bitmask, rleRunBits: 4 }   # dense | bitmask | rle | coordinate
 * sram: { ifmap: 64 KiB, filter: 64 KiB, ofmap: 64 KiB }
 * bandwidth: { sram: 32 B/cycle, dram: 16 B/cycle }   # or "unlimited"
 * stateMemory: { size: 4 MiB, bandwidth: 64 B/cycle }
 * deltaMode: false              # replay temporal layers as y_t = y_{t-1} + W·Δ_t
 * energy: ../energy/horowitz-45nm.yaml   # a table file (relative to this file) or an inline table
 * leakage: 0 mW
 * ```
 */
export const SPARSE_HARDWARE_FIELDS: readonly FieldSpec[] = [
  ...DENSE_HARDWARE_FIELDS.map((f) => ({ ...f, required: false })),
  {
    path: 'preset',
    field: { type: 'enum', values: PRESET_NAMES },
    help: `base preset (${PRESET_NAMES.join(', ')})`,
  },
  ...(['activations', 'deltas'] as const).map(
    (k): FieldSpec => ({
      path: `support.${k}`,
      field: { type: 'enum', values: OPERAND_SUPPORTS },
      help: `what a zero ${k.replace(/s$/, '')} costs: none | gate | skip`,
    }),
  ),
  {
    path: 'support.weights',
    field: { type: 'enum', values: WEIGHT_SUPPORTS },
    help: 'what a zero weight costs: none | gate | skip, or nm (N:M structured, with support.nm)',
  },
  {
    path: 'support.nm.n',
    field: { type: 'positiveInt' },
    help: 'N of N:M structured weights (kept per group)',
  },
  { path: 'support.nm.m', field: { type: 'positiveInt' }, help: 'M of N:M structured weights (group size)' },
  {
    path: 'granularity',
    field: { type: 'enum', values: SKIP_GRANULARITIES },
    help: 'element | vector | fold',
  },
  ...(['activations', 'weights'] as const).map(
    (k): FieldSpec => ({
      path: `formats.${k}`,
      field: { type: 'enum', values: STORAGE_FORMATS },
      help: `storage of ${k}: dense | bitmask | rle | coordinate`,
    }),
  ),
  { path: 'formats.rleRunBits', field: { type: 'positiveInt' }, help: 'bits of a run-length field' },
  {
    path: 'bandwidth.sram',
    field: { type: 'quantity', range: 'bandwidth' },
    help: 'per SRAM buffer, e.g. "32 B/cycle"',
  },
  {
    path: 'stateMemory.size',
    field: { type: 'quantity', range: 'size' },
    help: 'delta state memory, e.g. "4 MiB"',
  },
  {
    path: 'stateMemory.bandwidth',
    field: { type: 'quantity', range: 'bandwidth' },
    help: 'state memory bandwidth, e.g. "64 B/cycle"',
  },
  {
    path: 'overlap',
    field: { type: 'enum', values: FOLD_OVERLAPS },
    help: 'fold pipelining: none (SCALE-Sim) | preload | pipelined',
  },
  {
    path: 'schedule',
    field: { type: 'enum', values: SCHEDULES },
    help: 'frame-major (all layers per frame) | layer-major (one layer over a clip)',
  },
  {
    path: 'arrayKind',
    field: { type: 'enum', values: ARRAY_KINDS },
    help: 'systolic (folds) | event-driven (events dispatched to output-owning PEs)',
  },
];

/** Keys whose value may be the word `unlimited` (Infinity): sizes and bandwidths. */
const UNLIMITED_PATHS = [
  'sram.ifmap',
  'sram.filter',
  'sram.ofmap',
  'bandwidth.sram',
  'bandwidth.dram',
  'stateMemory.size',
  'stateMemory.bandwidth',
];

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Removes `path` from a nested copy of `doc`, returning the value it held. */
function take(doc: Record<string, unknown>, path: string): unknown {
  const parts = path.split('.');
  let node: Record<string, unknown> = doc;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (!isMapping(next)) return undefined;
    node = next;
  }
  const last = parts[parts.length - 1]!;
  const value = node[last];
  delete node[last];
  return value;
}

export async function sparseHardwareFromDocument(
  doc: unknown,
  source: string,
  baseDir: string,
  defaultName: string,
): Promise<HardwareModel> {
  if (!isMapping(doc)) throw new ConfigError(source, '', 'the document must be a mapping of keys to values');
  const copy = structuredClone(doc) as Record<string, unknown>;
  const unlimited = new Set<string>();
  for (const path of UNLIMITED_PATHS) {
    const parts = path.split('.');
    const parent = parts.slice(0, -1).reduce<unknown>((n, p) => (isMapping(n) ? n[p] : undefined), copy);
    if (isMapping(parent) && parent[parts[parts.length - 1]!] === 'unlimited') {
      take(copy, path);
      unlimited.add(path);
    }
  }
  const lookahead = take(copy, 'lookahead');
  const deltaMode = take(copy, 'deltaMode');
  const energy = take(copy, 'energy');
  const eventDispatch = take(copy, 'eventDispatch');
  const values = await readFields(copy, SPARSE_HARDWARE_FIELDS, source, [
    'lookahead',
    'deltaMode',
    'energy',
    'eventDispatch',
  ]);
  const get = (path: string): FieldValue | undefined =>
    unlimited.has(path) ? Number.POSITIVE_INFINITY : values.get(path);
  const num = (path: string, fallback: number): number => (get(path) as number | undefined) ?? fallback;
  const str = <T extends string>(path: string, fallback: T): T => (get(path) as T | undefined) ?? fallback;
  const base = PRESETS[str('preset', 'scalesim-default')] ?? SCALESIM_DEFAULT;

  let lookaheadSteps = base.lookaheadSteps;
  if (lookahead !== undefined) {
    if (lookahead === 'unbounded') lookaheadSteps = Number.POSITIVE_INFINITY;
    else if (typeof lookahead === 'number' && Number.isSafeInteger(lookahead) && lookahead >= 1)
      lookaheadSteps = lookahead;
    else
      throw new ConfigError(
        source,
        'lookahead',
        `must be a positive integer or "unbounded", got ${JSON.stringify(lookahead)}`,
      );
  }
  if (
    eventDispatch !== undefined &&
    !(typeof eventDispatch === 'number' && Number.isFinite(eventDispatch) && eventDispatch >= 0)
  ) {
    throw new ConfigError(
      source,
      'eventDispatch',
      `must be a number of cycles per event ≥ 0, got ${JSON.stringify(eventDispatch)}`,
    );
  }
  if (deltaMode !== undefined && typeof deltaMode !== 'boolean') {
    throw new ConfigError(source, 'deltaMode', `must be true or false, got ${JSON.stringify(deltaMode)}`);
  }
  let table = base.energy;
  if (typeof energy === 'string') {
    // Named with the hardware file and field, so a missing table says where it was asked for.
    table = await loadEnergyTableFile(resolve(baseDir, energy), `${source} (energy: ${energy})`);
  } else if (isMapping(energy)) {
    table = await energyTableFromDocument(energy, `${source} (energy)`, 'inline');
  } else if (energy !== undefined) {
    throw new ConfigError(source, 'energy', 'must be a table file path or an inline table');
  }
  const hw: HardwareModel = {
    name: str('name', defaultName),
    array: { rows: num('array.rows', base.array.rows), cols: num('array.cols', base.array.cols) },
    dataflow: str<Dataflow>('dataflow', base.dataflow),
    precision: str<Precision>('precision', base.precision),
    clockHz: num('clock', base.clockHz),
    support: {
      activations: str<OperandSupport>('support.activations', base.support.activations),
      weights: str<WeightSupport>('support.weights', base.support.weights),
      deltas: str<OperandSupport>('support.deltas', base.support.deltas),
      ...(get('support.nm.n') !== undefined || get('support.nm.m') !== undefined || base.support.nm
        ? {
            nm: {
              n: num('support.nm.n', base.support.nm?.n ?? 0),
              m: num('support.nm.m', base.support.nm?.m ?? 0),
            },
          }
        : {}),
    },
    granularity: str<SkipGranularity>('granularity', base.granularity),
    lookaheadSteps,
    formats: {
      activations: str<StorageFormat>('formats.activations', base.formats.activations),
      weights: str<StorageFormat>('formats.weights', base.formats.weights),
    },
    rleRunBits: num('formats.rleRunBits', base.rleRunBits),
    sram: {
      ifmapBytes: num('sram.ifmap', base.sram.ifmapBytes),
      filterBytes: num('sram.filter', base.sram.filterBytes),
      ofmapBytes: num('sram.ofmap', base.sram.ofmapBytes),
      bandwidthBytesPerCycle: num('bandwidth.sram', base.sram.bandwidthBytesPerCycle),
    },
    dram: { bandwidthBytesPerCycle: num('bandwidth.dram', base.dram.bandwidthBytesPerCycle) },
    stateMemory: {
      bytes: num('stateMemory.size', base.stateMemory.bytes),
      bandwidthBytesPerCycle: num('stateMemory.bandwidth', base.stateMemory.bandwidthBytesPerCycle),
    },
    deltaMode: deltaMode ?? base.deltaMode,
    energy: table,
    leakageMw: num('leakage', energy !== undefined ? table.leakageMw : base.leakageMw),
    // Absent in both the file and the base preset = the core's defaults (none, frame-major, systolic, 1).
    ...optional('overlap', get('overlap') ?? base.overlap),
    ...optional('schedule', get('schedule') ?? base.schedule),
    ...optional('arrayKind', get('arrayKind') ?? base.arrayKind),
    ...optional('eventDispatchCycles', (eventDispatch as number | undefined) ?? base.eventDispatchCycles),
  };
  const problem = hardwareProblems(hw)[0];
  if (problem) throw new ConfigError(source, problem[0], problem[1]);
  return hw;
}

/** `{ [key]: value }`, or nothing when the value is absent (optional HardwareModel fields stay absent). */
function optional<K extends 'overlap' | 'schedule' | 'arrayKind' | 'eventDispatchCycles'>(
  key: K,
  value: FieldValue | undefined,
): Partial<Pick<HardwareModel, K>> {
  return value === undefined ? {} : ({ [key]: value } as Partial<Pick<HardwareModel, K>>);
}

/** Reads, parses and validates a hardware file with the sparse fields. */
export async function loadSparseHardwareFile(path: string, source = path): Promise<HardwareModel> {
  const text = await readInputText(path, (rule) => new ConfigError(source, '', rule));
  const doc = await parseConfigDocument(text, source);
  return sparseHardwareFromDocument(doc, source, dirname(path), basename(path, extname(path)));
}

/**
 * A dense hardware description (simulate's `--config`) as a full hardware model: no sparsity
 * support, SCALE-Sim defaults (unbounded bandwidth, Horowitz table) for what it does not say. For
 * charging `simulate` workloads through the replay memory/energy model (src/core/sparse/dense-workload.ts).
 */
export function hardwareFromDense(dense: DenseHardware): HardwareModel {
  const base = SCALESIM_DEFAULT;
  return {
    ...base,
    name: dense.name,
    array: dense.array,
    dataflow: dense.dataflow,
    precision: dense.precision,
    clockHz: dense.clockHz ?? base.clockHz,
    sram: dense.sramBytes
      ? {
          ifmapBytes: dense.sramBytes.ifmap || base.sram.ifmapBytes,
          filterBytes: dense.sramBytes.filter || base.sram.filterBytes,
          ofmapBytes: dense.sramBytes.ofmap || base.sram.ofmapBytes,
          bandwidthBytesPerCycle: base.sram.bandwidthBytesPerCycle,
        }
      : base.sram,
    dram: { bandwidthBytesPerCycle: dense.dramBytesPerCycle ?? base.dram.bandwidthBytesPerCycle },
    leakageMw: dense.leakageMw ?? base.leakageMw,
  };
}
