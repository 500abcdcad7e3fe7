import { basename, extname } from 'node:path';
import { type ArrayShape, DATAFLOWS, type Dataflow } from '../core/array.js';
import { PRECISIONS, type Precision } from '../core/energy-table.js';
import { parseConfigDocument } from './config-document.js';
import { ConfigError } from './config-error.js';
import { ARRAY_SIDE_MAX, PHYSICAL_RANGES, type PhysicalRangeName, rangeProblem } from './physical-ranges.js';
import { readInputText } from './read-text.js';
import { parseQuantity, QuantityError } from './units.js';

/**
 * Our own hardware file (YAML or JSON), e.g.
 *
 * ```yaml
 * name: edge-32x32
 * array: { rows: 32, cols: 32 }
 * dataflow: os
 * precision: int8
 * clock: 1 GHz
 * sram: { ifmap: 64 KiB, filter: 64 KiB, ofmap: 64 KiB }
 * bandwidth: { dram: 16 B/cycle }
 * leakage: 5 mW
 * ```
 *
 * Validation is driven by a table of fields (`DENSE_HARDWARE_FIELDS`): a later room extends the
 * format by concatenating its own fields and calling `readFields` — no chain of ifs to edit.
 */
export interface DenseHardware {
  readonly name: string;
  readonly array: ArrayShape;
  readonly dataflow: Dataflow;
  readonly precision: Precision;
  readonly clockHz?: number;
  readonly sramBytes?: { readonly ifmap: number; readonly filter: number; readonly ofmap: number };
  readonly dramBytesPerCycle?: number;
  /** Overrides the energy table's leakage (whole array and buffers). */
  readonly leakageMw?: number;
}

export type FieldType =
  | { readonly type: 'string' }
  | { readonly type: 'positiveInt'; readonly max?: number }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  | { readonly type: 'quantity'; readonly range: PhysicalRangeName; readonly allowZero?: boolean };

export interface FieldSpec {
  /** Dotted key path in the document, e.g. `sram.ifmap`. */
  readonly path: string;
  readonly field: FieldType;
  readonly required?: boolean;
  /** One line for docs and error hints. */
  readonly help: string;
}

export const DENSE_HARDWARE_FIELDS: readonly FieldSpec[] = [
  { path: 'name', field: { type: 'string' }, help: 'a name for reports (default: the file name)' },
  {
    path: 'array.rows',
    field: { type: 'positiveInt', max: ARRAY_SIDE_MAX },
    required: true,
    help: 'PE rows (ArrayHeight)',
  },
  {
    path: 'array.cols',
    field: { type: 'positiveInt', max: ARRAY_SIDE_MAX },
    required: true,
    help: 'PE columns (ArrayWidth)',
  },
  { path: 'dataflow', field: { type: 'enum', values: DATAFLOWS }, help: 'os | ws | is (default os)' },
  {
    path: 'precision',
    field: { type: 'enum', values: PRECISIONS },
    help: 'int8 | fp16 | fp32 (default int8)',
  },
  { path: 'clock', field: { type: 'quantity', range: 'clock' }, help: 'clock frequency, e.g. "1 GHz"' },
  { path: 'sram.ifmap', field: { type: 'quantity', range: 'size' }, help: 'ifmap SRAM, e.g. "64 KiB"' },
  { path: 'sram.filter', field: { type: 'quantity', range: 'size' }, help: 'filter SRAM, e.g. "64 KiB"' },
  { path: 'sram.ofmap', field: { type: 'quantity', range: 'size' }, help: 'ofmap SRAM, e.g. "64 KiB"' },
  {
    path: 'bandwidth.dram',
    field: { type: 'quantity', range: 'bandwidth' },
    help: 'DRAM interface bandwidth, e.g. "16 B/cycle"',
  },
  {
    path: 'leakage',
    field: { type: 'quantity', range: 'leakage', allowZero: true },
    help: 'leakage power of array and buffers, e.g. "5 mW"',
  },
];

export type FieldValue = string | number;

/**
 * Checks `doc` against `fields`: every key must be a known field (or an object on the way to one),
 * every required field present, every value of its type. Returns the values by dotted path.
 */
export async function readFields(
  doc: unknown,
  fields: readonly FieldSpec[],
  source: string,
  /** Top-level keys a caller takes out of the document before this walk (named in the error). */
  alsoKnownTopLevel: readonly string[] = [],
): Promise<ReadonlyMap<string, FieldValue>> {
  if (!isPlainObject(doc))
    throw new ConfigError(source, '', 'the document must be a mapping of keys to values');
  const byPath = new Map(fields.map((f) => [f.path, f]));
  const prefixes = new Set(
    fields.flatMap((f) =>
      f.path
        .split('.')
        .slice(0, -1)
        .map((_, i, parts) => parts.slice(0, i + 1).join('.')),
    ),
  );
  const found = new Map<string, FieldValue>();
  const walk = async (node: Record<string, unknown>, prefix: string): Promise<void> => {
    for (const [key, value] of Object.entries(node)) {
      const path = prefix ? `${prefix}.${key}` : key;
      const spec = byPath.get(path);
      if (spec) {
        found.set(path, await readValue(value, spec, source));
      } else if (prefixes.has(path)) {
        if (!isPlainObject(value)) throw new ConfigError(source, path, 'must be a mapping');
        await walk(value, path);
      } else {
        throw new ConfigError(
          source,
          path,
          `unknown key (known: ${[...knownKeysUnder(prefix, fields), ...(prefix ? [] : alsoKnownTopLevel)].join(', ')})`,
        );
      }
    }
  };
  await walk(doc, '');
  for (const spec of fields) {
    if (spec.required && !found.has(spec.path))
      throw new ConfigError(source, spec.path, `missing (${spec.help})`);
  }
  return found;
}

function knownKeysUnder(prefix: string, fields: readonly FieldSpec[]): string[] {
  const keys = new Set<string>();
  for (const f of fields) {
    if (prefix && !f.path.startsWith(`${prefix}.`)) continue;
    const rest = prefix ? f.path.slice(prefix.length + 1) : f.path;
    keys.add(rest.split('.')[0]!);
  }
  return [...keys];
}

async function readValue(value: unknown, spec: FieldSpec, source: string): Promise<FieldValue> {
  const { field, path } = spec;
  switch (field.type) {
    case 'string':
      if (typeof value !== 'string' || value.trim() === '')
        throw new ConfigError(source, path, 'must be a non-empty string');
      return value;
    case 'positiveInt':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
        throw new ConfigError(source, path, `must be a positive integer, got ${JSON.stringify(value)}`);
      }
      if (field.max !== undefined && value > field.max)
        throw new ConfigError(source, path, `must be at most ${field.max}, got ${value}`);
      return value;
    case 'enum':
      if (typeof value !== 'string' || !field.values.includes(value)) {
        throw new ConfigError(
          source,
          path,
          `must be one of ${field.values.join(', ')}, got ${JSON.stringify(value)}`,
        );
      }
      return value;
    case 'quantity': {
      if (typeof value !== 'string' && typeof value !== 'number') {
        throw new ConfigError(
          source,
          path,
          `must be a quantity such as "${spec.help}", got ${JSON.stringify(value)}`,
        );
      }
      return readQuantity(value, field.range, source, path, field.allowZero);
    }
  }
}

/** A quantity with its unit, converted and checked against its physical range (physical-ranges.ts). */
export async function readQuantity(
  value: string | number,
  range: PhysicalRangeName,
  source: string,
  path: string,
  allowZero = false,
): Promise<number> {
  let n: number;
  try {
    n = await parseQuantity(value, PHYSICAL_RANGES[range].kind);
  } catch (error) {
    if (error instanceof QuantityError) throw new ConfigError(source, path, error.message);
    throw error;
  }
  const problem = rangeProblem(n, range, allowZero);
  if (problem) throw new ConfigError(source, path, `${JSON.stringify(value)}: ${problem}`);
  return n;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Builds the dense hardware from the validated fields. */
export function denseHardwareFrom(
  values: ReadonlyMap<string, FieldValue>,
  defaultName: string,
): DenseHardware {
  const num = (path: string) => values.get(path) as number | undefined;
  const str = (path: string) => values.get(path) as string | undefined;
  const ifmap = num('sram.ifmap');
  const filter = num('sram.filter');
  const ofmap = num('sram.ofmap');
  const clockHz = num('clock');
  const dramBytesPerCycle = num('bandwidth.dram');
  const leakageMw = num('leakage');
  return {
    name: str('name') ?? defaultName,
    array: { rows: num('array.rows')!, cols: num('array.cols')! },
    dataflow: (str('dataflow') ?? 'os') as Dataflow,
    precision: (str('precision') ?? 'int8') as Precision,
    ...(clockHz !== undefined ? { clockHz } : {}),
    ...(ifmap !== undefined || filter !== undefined || ofmap !== undefined
      ? { sramBytes: { ifmap: ifmap ?? 0, filter: filter ?? 0, ofmap: ofmap ?? 0 } }
      : {}),
    ...(dramBytesPerCycle !== undefined ? { dramBytesPerCycle } : {}),
    ...(leakageMw !== undefined ? { leakageMw } : {}),
  };
}

/** Reads, parses and validates a YAML/JSON hardware file. */
export async function loadHardwareFile(path: string, source = path): Promise<DenseHardware> {
  const text = await readInputText(path, (rule) => new ConfigError(source, '', rule));
  const doc = await parseConfigDocument(text, source);
  const values = await readFields(doc, DENSE_HARDWARE_FIELDS, source);
  return denseHardwareFrom(values, basename(path, extname(path)));
}
