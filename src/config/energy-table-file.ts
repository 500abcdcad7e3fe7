import { basename, extname } from 'node:path';
import { type EnergyTable, PRECISIONS, type Precision, type SramEnergyPoint } from '../core/energy-table.js';
import { parseConfigDocument } from './config-document.js';
import { ConfigError } from './config-error.js';
import { type FieldSpec, readFields, readQuantity } from './config-fields.js';
import { readInputText } from './read-text.js';

/**
 * An energy table file (YAML or JSON, units written out), e.g. configs/energy/horowitz-45nm.yaml:
 *
 * ```yaml
 * name: horowitz-45nm
 * mac: { int8: 0.3 pJ, fp16: 1.5 pJ, fp32: 4.6 pJ }
 * add: { int8: 0.03 pJ, fp16: 0.4 pJ, fp32: 0.9 pJ }
 * gatedMacFraction: 0.02
 * register: 0.14 pJ
 * sram:
 *   - { size: 8 KiB, access64: 10 pJ }
 *   - { size: 1 MiB, access64: 100 pJ }
 * dram: 20.3 pJ/bit
 * metadata: 0.156 pJ/bit
 * leakage: 0 mW
 * ```
 * `mac`, `register`, `sram`, `dram` and `metadata` are required; `add` defaults to absent (delta
 * arithmetic then costs a MAC), `gatedMacFraction` to 0, `leakage` to 0.
 */
const SCALAR_FIELDS: readonly FieldSpec[] = [
  { path: 'name', field: { type: 'string' }, help: 'table name (default: the file name)' },
  ...PRECISIONS.map(
    (p): FieldSpec => ({
      path: `mac.${p}`,
      field: { type: 'quantity', range: 'energy' },
      required: true,
      help: `one ${p} multiply-accumulate, e.g. "0.3 pJ"`,
    }),
  ),
  ...PRECISIONS.map(
    (p): FieldSpec => ({
      path: `add.${p}`,
      field: { type: 'quantity', range: 'energy' },
      help: `one ${p} add or compare, e.g. "0.03 pJ"`,
    }),
  ),
  {
    path: 'register',
    field: { type: 'quantity', range: 'energy' },
    required: true,
    help: 'register access, e.g. "0.14 pJ"',
  },
  {
    path: 'dram',
    field: { type: 'quantity', range: 'energyPerBit' },
    required: true,
    help: 'DRAM energy, e.g. "20 pJ/bit"',
  },
  {
    path: 'metadata',
    field: { type: 'quantity', range: 'energyPerBit', allowZero: true },
    required: true,
    help: 'metadata access, e.g. "0.16 pJ/bit"',
  },
  {
    path: 'leakage',
    field: { type: 'quantity', range: 'leakage', allowZero: true },
    help: 'leakage, e.g. "5 mW"',
  },
];

export async function energyTableFromDocument(
  doc: unknown,
  source: string,
  defaultName: string,
): Promise<EnergyTable> {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ConfigError(source, '', 'the document must be a mapping of keys to values');
  }
  const { sram, gatedMacFraction, ...rest } = doc as Record<string, unknown>;
  const values = await readFields(rest, SCALAR_FIELDS, source);
  const num = (path: string): number | undefined => values.get(path) as number | undefined;
  let fraction = 0;
  if (gatedMacFraction !== undefined) {
    if (typeof gatedMacFraction !== 'number' || !(gatedMacFraction >= 0 && gatedMacFraction <= 1)) {
      throw new ConfigError(source, 'gatedMacFraction', 'must be a number in [0, 1]');
    }
    fraction = gatedMacFraction;
  }
  if (!Array.isArray(sram) || sram.length === 0) {
    throw new ConfigError(source, 'sram', 'must be a list of { size, access64 } points');
  }
  const points: SramEnergyPoint[] = [];
  for (const [i, point] of sram.entries()) {
    const where = `sram[${i}]`;
    if (typeof point !== 'object' || point === null || Array.isArray(point)) {
      throw new ConfigError(source, where, 'must be a mapping { size, access64 }');
    }
    const { size, access64, ...unknown } = point as Record<string, unknown>;
    const extra = Object.keys(unknown)[0];
    if (extra !== undefined)
      throw new ConfigError(source, `${where}.${extra}`, 'unknown key (known: size, access64)');
    points.push({
      bytes: await quantity(size, 'size', source, `${where}.size`),
      pjPer64Bit: await quantity(access64, 'energy', source, `${where}.access64`),
    });
  }
  const hasAdd = PRECISIONS.some((p) => values.has(`add.${p}`));
  if (hasAdd && !PRECISIONS.every((p) => values.has(`add.${p}`))) {
    throw new ConfigError(source, 'add', `needs all of ${PRECISIONS.join(', ')}`);
  }
  const perPrecision = (prefix: string): Record<Precision, number> =>
    Object.fromEntries(PRECISIONS.map((p) => [p, num(`${prefix}.${p}`)!])) as Record<Precision, number>;
  return {
    name: (values.get('name') as string | undefined) ?? defaultName,
    macPj: perPrecision('mac'),
    gatedMacFraction: fraction,
    registerAccessPj: num('register')!,
    sram: points,
    dramPjPerBit: num('dram')!,
    metadataPjPerBit: num('metadata')!,
    leakageMw: num('leakage') ?? 0,
    ...(hasAdd ? { addPj: perPrecision('add') } : {}),
  };
}

async function quantity(
  value: unknown,
  range: 'size' | 'energy',
  source: string,
  path: string,
): Promise<number> {
  if (typeof value !== 'string' && typeof value !== 'number')
    throw new ConfigError(source, path, 'missing or not a quantity');
  return readQuantity(value, range, source, path);
}

/** Reads, parses and validates an energy table file. */
export async function loadEnergyTableFile(path: string, source = path): Promise<EnergyTable> {
  const text = await readInputText(path, (rule) => new ConfigError(source, '', rule));
  const doc = await parseConfigDocument(text, source);
  return energyTableFromDocument(doc, source, basename(path, extname(path)));
}
