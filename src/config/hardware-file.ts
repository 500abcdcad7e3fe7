import { basename, dirname, extname, resolve } from 'node:path';
import { DATAFLOWS, type Dataflow } from '../core/array.js';
import { type EnergyTable, PRECISIONS, type Precision } from '../core/energy-table.js';
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
  vectorUnitOf,
  WEIGHT_FETCHES,
  WEIGHT_SUPPORTS,
  type WeightSupport,
} from '../core/hardware.js';
import { PRESET_NAMES, PRESETS, SCALESIM_DEFAULT } from '../core/presets.js';
import { DEFAULT_VECTOR_OPS, type VectorOpCosts, type VectorUnitModel } from '../core/vector-unit.js';
import { parseConfigDocument } from './config-document.js';
import { ConfigError } from './config-error.js';
import { type FieldSpec, type FieldValue, readFields } from './config-fields.js';
import { energyTableFromDocument, loadEnergyTableFile } from './energy-table-file.js';
import { ARRAY_SIDE_MAX } from './physical-ranges.js';
import { readInputText } from './read-text.js';

/**
 * The one hardware file (YAML or JSON) that `simulate --config` and `replay --hw` read. Every field
 * is optional: what a file does not say comes from its `preset` (default `scalesim-default`, so a
 * file with only the dense fields describes a dense array). Full example (docs/configuration.md):
 *
 * ```yaml
 * preset: sparten-like          # start from a preset, override below
 * name: my-sparse-array
 * array: { rows: 32, cols: 32 }
 * dataflow: os
 * precision: int8
 * clock: 800 MHz
 * support: { activations: skip, weights: skip, deltas: skip }   # none | gate | skip
 *   # weights may also be `nm` with `nm: { n: 2, m: 4 }` (N:M structured, e.g. a sparse tensor core's 2:4)
 * granularity: element          # element | vector | fold
 * lookahead: 128                # dense steps between lane resyncs, or "unbounded"
 * formats: { activations: bitmask, weights: auto, rleRunBits: 4 }
 * sram: { ifmap: 64 KiB, filter: 64 KiB, ofmap: 64 KiB }
 * bandwidth: { sram: 32 B/cycle, dram: 16 B/cycle }   # or "unlimited"
 * stateMemory: { size: 4 MiB, bandwidth: 64 B/cycle }
 * deltaMode: false
 * energy: ../energy/horowitz-45nm.yaml   # a table file (relative to this file) or an inline table
 * leakage: 0 mW
 * ```
 */
export const HARDWARE_FIELDS: readonly FieldSpec[] = [
  {
    path: 'preset',
    field: { type: 'enum', values: PRESET_NAMES },
    help: `base preset (${PRESET_NAMES.join(', ')}; default scalesim-default)`,
  },
  { path: 'name', field: { type: 'string' }, help: 'a name for reports (default: the file name)' },
  {
    path: 'array.rows',
    field: { type: 'positiveInt', max: ARRAY_SIDE_MAX },
    help: 'PE rows (ArrayHeight)',
  },
  {
    path: 'array.cols',
    field: { type: 'positiveInt', max: ARRAY_SIDE_MAX },
    help: 'PE columns (ArrayWidth)',
  },
  { path: 'dataflow', field: { type: 'enum', values: DATAFLOWS }, help: 'os | ws | is' },
  { path: 'precision', field: { type: 'enum', values: PRECISIONS }, help: 'int8 | fp16 | fp32' },
  { path: 'clock', field: { type: 'quantity', range: 'clock' }, help: 'clock frequency, e.g. "1 GHz"' },
  ...(['ifmap', 'filter', 'ofmap'] as const).map(
    (k): FieldSpec => ({
      path: `sram.${k}`,
      field: { type: 'quantity', range: 'size', unlimited: true },
      help: `${k} SRAM, e.g. "64 KiB"`,
    }),
  ),
  {
    path: 'bandwidth.sram',
    field: { type: 'quantity', range: 'bandwidth', unlimited: true },
    help: 'per SRAM buffer, e.g. "32 B/cycle"',
  },
  {
    path: 'bandwidth.dram',
    field: { type: 'quantity', range: 'bandwidth', unlimited: true },
    help: 'DRAM interface bandwidth, e.g. "16 B/cycle"',
  },
  {
    path: 'leakage',
    field: { type: 'quantity', range: 'leakage', allowZero: true },
    help: 'leakage power of array and buffers, e.g. "5 mW"',
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
  {
    path: 'lookahead',
    field: { type: 'positiveInt', unbounded: true },
    help: 'dense steps between lane resyncs, or "unbounded"',
  },
  ...(['activations', 'weights'] as const).map(
    (k): FieldSpec => ({
      path: `formats.${k}`,
      field: { type: 'enum', values: STORAGE_FORMATS },
      help: `storage of ${k}: ${STORAGE_FORMATS.join(' | ')}`,
    }),
  ),
  { path: 'formats.rleRunBits', field: { type: 'positiveInt' }, help: 'bits of a run-length field' },
  {
    path: 'formats.rlePackBits',
    field: { type: 'positiveInt', max: 4096 },
    help: 'DRAM word bits rle entries are packed into (absent: back to back)',
  },
  {
    path: 'stateMemory.size',
    field: { type: 'quantity', range: 'size', unlimited: true },
    help: 'delta state memory, e.g. "4 MiB"',
  },
  {
    path: 'stateMemory.bandwidth',
    field: { type: 'quantity', range: 'bandwidth', unlimited: true },
    help: 'state memory bandwidth, e.g. "64 B/cycle"',
  },
  {
    path: 'deltaMode',
    field: { type: 'boolean' },
    help: 'replay temporal layers as y_t = y_{t-1} + W·Δ_t',
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
  { path: 'eventDispatch', field: { type: 'cycles' }, help: 'dispatcher cycles per input event' },
  {
    path: 'weightFetch',
    field: { type: 'enum', values: WEIGHT_FETCHES },
    help: 'whole (the whole weight per DRAM read) | nonzero-inputs (only weights of non-zero inputs/Δ)',
  },
  // Condensed outer-product datapath (docs/model.md, "Condensed outer-product datapaths").
  ...(['rows', 'cols'] as const).map(
    (k): FieldSpec => ({
      path: `condensed.unit.${k}`,
      field: { type: 'positiveInt', max: ARRAY_SIDE_MAX },
      help: `multipliers along ${k === 'rows' ? 'M' : 'N'} in one condensing unit`,
    }),
  ),
  ...(['rows', 'cols'] as const).map(
    (k): FieldSpec => ({
      path: `condensed.tile.${k}`,
      field: { type: 'positiveInt', unbounded: true },
      help: `output ${k} per unit tile, or "unbounded" (${k === 'rows' ? 'M dealt evenly over the units' : 'all of N'})`,
    }),
  ),
  {
    path: 'condensed.accumulate',
    field: { type: 'positiveInt', unbounded: true },
    help: 'partial products the unit\'s accumulation buffer takes per cycle, or "unbounded" (the default)',
  },
  { path: 'vector.lanes', field: { type: 'positiveInt' }, help: 'vector unit lanes (lane-ops per cycle)' },
  ...(Object.keys(DEFAULT_VECTOR_OPS) as (keyof VectorOpCosts)[]).map(
    (k): FieldSpec => ({
      path: `vector.ops.${k}`,
      field: { type: 'cycles' },
      help: `vector unit lane-ops per output element (${k}${k.endsWith('Pool') ? ', per window tap' : ''})`,
    }),
  ),
];

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Energy and leakage follow one rule: a `leakage` key wins; else the energy table the file names
 * brings its own leakage; else the base preset's leakage stays.
 */
async function readEnergy(
  energy: unknown,
  source: string,
  baseDir: string,
  base: HardwareModel,
): Promise<{ readonly table: EnergyTable; readonly leakageMw: number }> {
  let table: EnergyTable;
  if (typeof energy === 'string') {
    // Named with the hardware file and field, so a missing table says where it was asked for.
    table = await loadEnergyTableFile(resolve(baseDir, energy), `${source} (energy: ${energy})`);
  } else if (isMapping(energy)) {
    table = await energyTableFromDocument(energy, `${source} (energy)`, 'inline');
  } else if (energy === undefined) {
    return { table: base.energy, leakageMw: base.leakageMw };
  } else {
    throw new ConfigError(source, 'energy', 'must be a table file path or an inline table');
  }
  return { table, leakageMw: table.leakageMw };
}

/** A parsed hardware document → the validated model; `baseDir` resolves a relative `energy` path. */
export async function hardwareFromDocument(
  doc: unknown,
  source: string,
  baseDir: string,
  defaultName: string,
): Promise<HardwareModel> {
  if (!isMapping(doc)) throw new ConfigError(source, '', 'the document must be a mapping of keys to values');
  // `energy` is a path or a whole table, not a field: read apart from the field table.
  const { energy, ...rest } = doc;
  const values = await readFields(rest, HARDWARE_FIELDS, source, ['energy']);
  const has = (path: string): boolean => values.has(path);
  if (has('array.rows') !== has('array.cols')) {
    const missing = HARDWARE_FIELDS.find(
      (f) => f.path === (has('array.rows') ? 'array.cols' : 'array.rows'),
    )!;
    throw new ConfigError(source, missing.path, `missing (${missing.help})`);
  }
  const get = <T extends FieldValue>(path: string, fallback: T): T =>
    (values.get(path) as T | undefined) ?? fallback;
  const base = PRESETS[get('preset', 'scalesim-default')] ?? SCALESIM_DEFAULT;
  const { table, leakageMw } = await readEnergy(energy, source, baseDir, base);
  const eventDispatchCycles = values.get('eventDispatch') as number | undefined;
  const condensed = readCondensed(values, source);
  const hw: HardwareModel = {
    ...base,
    name: get('name', defaultName),
    array: { rows: get('array.rows', base.array.rows), cols: get('array.cols', base.array.cols) },
    dataflow: get<Dataflow>('dataflow', base.dataflow),
    precision: get<Precision>('precision', base.precision),
    clockHz: get('clock', base.clockHz),
    support: {
      activations: get<OperandSupport>('support.activations', base.support.activations),
      weights: get<WeightSupport>('support.weights', base.support.weights),
      deltas: get<OperandSupport>('support.deltas', base.support.deltas),
      ...(has('support.nm.n') || has('support.nm.m') || base.support.nm
        ? {
            nm: {
              n: get('support.nm.n', base.support.nm?.n ?? 0),
              m: get('support.nm.m', base.support.nm?.m ?? 0),
            },
          }
        : {}),
    },
    granularity: get<SkipGranularity>('granularity', base.granularity),
    lookaheadSteps: get('lookahead', base.lookaheadSteps),
    formats: {
      activations: get<StorageFormat>('formats.activations', base.formats.activations),
      weights: get<StorageFormat>('formats.weights', base.formats.weights),
    },
    rleRunBits: get('formats.rleRunBits', base.rleRunBits),
    sram: {
      ifmapBytes: get('sram.ifmap', base.sram.ifmapBytes),
      filterBytes: get('sram.filter', base.sram.filterBytes),
      ofmapBytes: get('sram.ofmap', base.sram.ofmapBytes),
      bandwidthBytesPerCycle: get('bandwidth.sram', base.sram.bandwidthBytesPerCycle),
    },
    dram: { bandwidthBytesPerCycle: get('bandwidth.dram', base.dram.bandwidthBytesPerCycle) },
    stateMemory: {
      bytes: get('stateMemory.size', base.stateMemory.bytes),
      bandwidthBytesPerCycle: get('stateMemory.bandwidth', base.stateMemory.bandwidthBytesPerCycle),
    },
    deltaMode: get('deltaMode', base.deltaMode),
    energy: table,
    leakageMw: get('leakage', leakageMw),
    // Absent in both the file and the base preset = the core's defaults (none, frame-major, systolic, 1).
    ...optional('overlap', values.get('overlap')),
    ...optional('schedule', values.get('schedule')),
    ...optional('arrayKind', values.get('arrayKind')),
    ...optional('eventDispatchCycles', eventDispatchCycles),
    ...optional('rlePackBits', values.get('formats.rlePackBits')),
    ...optional('weightFetch', values.get('weightFetch')),
    ...(condensed ? { condensed } : {}),
    vector: vectorFromFields(get, vectorUnitOf(base)),
  };
  const problem = hardwareProblems(hw)[0];
  if (problem) throw new ConfigError(source, problem[0], problem[1]);
  return hw;
}

/**
 * The `condensed` block: all four sizes or none (no preset has one to inherit from); the
 * accumulation rate is optional (absent = unbounded).
 */
function readCondensed(
  values: ReadonlyMap<string, FieldValue>,
  source: string,
): HardwareModel['condensed'] | undefined {
  const keys = ['condensed.unit.rows', 'condensed.unit.cols', 'condensed.tile.rows', 'condensed.tile.cols'];
  if (!keys.some((k) => values.has(k)) && !values.has('condensed.accumulate')) return undefined;
  const missing = keys.find((k) => !values.has(k));
  if (missing)
    throw new ConfigError(source, missing, 'missing (a condensed datapath needs unit and tile sizes)');
  const n = (k: string): number => values.get(k) as number;
  return {
    unit: { rows: n('condensed.unit.rows'), cols: n('condensed.unit.cols') },
    tileRows: n('condensed.tile.rows'),
    tileCols: n('condensed.tile.cols'),
    ...(values.has('condensed.accumulate') ? { accumulatePerCycle: n('condensed.accumulate') } : {}),
  };
}

/** The vector unit: the file's `vector.*` keys over the base preset's unit. */
function vectorFromFields(
  get: <T extends FieldValue>(path: string, fallback: T) => T,
  base: VectorUnitModel,
): VectorUnitModel {
  const ops = Object.fromEntries(
    Object.entries(base.ops).map(([k, v]) => [k, get(`vector.ops.${k}`, v)]),
  ) as unknown as VectorOpCosts; // the keys of base.ops, each a number
  return { lanes: get('vector.lanes', base.lanes), ops };
}

/** `{ [key]: value }` when the file gave it; else nothing, so the base preset's value (or absence) stays. */
function optional<
  K extends 'overlap' | 'schedule' | 'arrayKind' | 'eventDispatchCycles' | 'rlePackBits' | 'weightFetch',
>(key: K, value: FieldValue | undefined): Partial<Pick<HardwareModel, K>> {
  return value === undefined ? {} : ({ [key]: value } as Partial<Pick<HardwareModel, K>>);
}

/** Reads, parses and validates a YAML/JSON hardware file. */
export async function loadHardwareFile(path: string, source = path): Promise<HardwareModel> {
  const text = await readInputText(path, (rule) => new ConfigError(source, '', rule));
  const doc = await parseConfigDocument(text, source);
  return hardwareFromDocument(doc, source, dirname(path), basename(path, extname(path)));
}

/**
 * The hardware behind `simulate --config FILE` and `replay --hw FILE`, by extension: a SCALE-Sim
 * `.cfg` (mapped onto the scalesim-default preset), or our hardware file (`.yaml`, `.yml`, `.json`).
 */
export async function loadHardware(path: string, source = path): Promise<HardwareModel> {
  const ext = extname(path).toLowerCase();
  if (ext === '.cfg') return (await import('./scalesim-cfg.js')).loadScaleSimConfig(path, source);
  if (ext === '.yaml' || ext === '.yml' || ext === '.json') return loadHardwareFile(path, source);
  throw new ConfigError(source, '', 'unknown config type (expected .cfg, .yaml, .yml or .json)');
}
