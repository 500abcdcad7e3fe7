import { ConfigError } from './config-error.js';
import { PHYSICAL_RANGES, type PhysicalRangeName, rangeProblem } from './physical-ranges.js';
import { parseQuantity, QuantityError } from './units.js';

/**
 * Table-driven reading of a parsed config document (hardware files, energy tables): a format is a
 * list of fields, each with its dotted path, type and help line; `readFields` checks a document
 * against it. Extending a format is appending to its table, not a chain of ifs.
 */
export type FieldType =
  | { readonly type: 'string' }
  | { readonly type: 'boolean' }
  /** `unbounded`: the word "unbounded" is also accepted and read as Infinity. */
  | { readonly type: 'positiveInt'; readonly max?: number; readonly unbounded?: boolean }
  /** A plain non-negative number of cycles (no unit: cycles are the simulator's own unit). */
  | { readonly type: 'cycles' }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  /** `unlimited`: the word "unlimited" is also accepted and read as Infinity (never limits). */
  | {
      readonly type: 'quantity';
      readonly range: PhysicalRangeName;
      readonly allowZero?: boolean;
      readonly unlimited?: boolean;
    };

export interface FieldSpec {
  /** Dotted key path in the document, e.g. `sram.ifmap`. */
  readonly path: string;
  readonly field: FieldType;
  readonly required?: boolean;
  /** One line for docs and error hints. */
  readonly help: string;
}

export type FieldValue = string | number | boolean;

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
    case 'boolean':
      if (typeof value !== 'boolean')
        throw new ConfigError(source, path, `must be true or false, got ${JSON.stringify(value)}`);
      return value;
    case 'cycles':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        throw new ConfigError(source, path, `must be a number of cycles ≥ 0, got ${JSON.stringify(value)}`);
      }
      return value;
    case 'positiveInt':
      if (field.unbounded && value === 'unbounded') return Number.POSITIVE_INFINITY;
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
        const or = field.unbounded ? ' or "unbounded"' : '';
        throw new ConfigError(source, path, `must be a positive integer${or}, got ${JSON.stringify(value)}`);
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
      if (field.unlimited && value === 'unlimited') return Number.POSITIVE_INFINITY;
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
