/**
 * Quantities with units, as config files write them ("1 GHz", "64 KiB", "0.2 pJ", "5 mW",
 * "8 pJ/bit", "16 B/cycle"), turned into plain SI-ish numbers in the unit their field names carry.
 *
 * mathjs is loaded lazily and built from the `unit` factory alone, then `import` is disabled too:
 * no expression parser, `evaluate`, `createUnit` or `import` is reachable from a config value, only
 * mathjs's unit-string reader. Bytes: `KiB` = 1024 B, `kB` = 1000 B, `b`/`bit` = 1/8 B.
 */

/** What a field measures, and the plain unit its number is returned in. */
export type QuantityKind =
  | 'frequency' // Hz
  | 'bytes' // B
  | 'energy' // pJ
  | 'power' // mW
  | 'energyPerBit' // pJ/bit
  | 'bytesPerCycle'; // B/cycle

export const QUANTITY_UNIT: Readonly<Record<QuantityKind, string>> = {
  frequency: 'Hz',
  bytes: 'B',
  energy: 'pJ',
  power: 'mW',
  energyPerBit: 'pJ/bit',
  bytesPerCycle: 'B/cycle',
};

/** Why a quantity string was refused; the caller wraps it in its edge's error with file and key. */
export class QuantityError extends Error {}

interface UnitValue {
  toNumber(unit: string): number;
  equalBase(other: UnitValue): boolean;
  value: unknown;
}
interface UnitMath {
  unit(text: string): UnitValue;
}

let mathPromise: Promise<UnitMath> | undefined;

async function unitMath(): Promise<UnitMath> {
  mathPromise ??= (async () => {
    const mathjs = await import('mathjs');
    const { unitDependencies } = mathjs;
    if (!unitDependencies) throw new Error('mathjs has no unit factory');
    const math = mathjs.create({ unitDependencies });
    const disabled = (name: string) => () => {
      throw new QuantityError(`${name} is disabled in config values`);
    };
    // The instance has no parser to begin with; closing `import` too keeps it that way.
    math.import(
      {
        import: disabled('import'),
        createUnit: disabled('createUnit'),
        evaluate: disabled('evaluate'),
        parse: disabled('parse'),
        compile: disabled('compile'),
        simplify: disabled('simplify'),
        derivative: disabled('derivative'),
        resolve: disabled('resolve'),
      },
      { override: true },
    );
    return math as unknown as UnitMath; // the factory-built instance exposes `unit`; typed narrowly here
  })();
  return mathPromise;
}

// A number, then a unit made only of letters, digits, '/', '^', '*', '.', spaces: nothing else reaches mathjs.
const QUANTITY_PATTERN =
  /^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-zµ][A-Za-zµ0-9/^*. ]*)?\s*$/;

/**
 * Parses `text` as a quantity of `kind`, returning a number in `QUANTITY_UNIT[kind]`. The unit is
 * required: a bare number (`clock: 5`, `clock: "5"`) is refused, since nothing says whether it
 * meant Hz or GHz.
 */
export async function parseQuantity(text: string | number, kind: QuantityKind): Promise<number> {
  if (typeof text === 'number') throw noUnit(String(text), kind);
  const match = QUANTITY_PATTERN.exec(text);
  if (!match) throw new QuantityError(`"${text}" is not a number with a unit (e.g. "${example(kind)}")`);
  const numberText = match[1]!;
  let unitText = (match[2] ?? '').trim();
  if (unitText === '') throw noUnit(JSON.stringify(text), kind);
  if (kind === 'bytesPerCycle') {
    // "cycle" is not a physical unit: strip it and read the rest as bytes.
    const perCycle = /\s*\/\s*cycles?$/.exec(unitText);
    if (!perCycle) throw new QuantityError(`"${text}" must be per cycle (e.g. "${example(kind)}")`);
    unitText = unitText.slice(0, perCycle.index).trim();
    if (unitText === '') throw new QuantityError(`"${text}" has no amount unit before "/cycle"`);
  }
  const math = await unitMath();
  let value: UnitValue;
  try {
    value = math.unit(`${numberText} ${unitText}`);
  } catch (error) {
    throw new QuantityError(`"${text}": ${error instanceof Error ? error.message : String(error)}`);
  }
  const target = kind === 'bytesPerCycle' ? 'B' : QUANTITY_UNIT[kind];
  const reference = math.unit(`1 ${target}`);
  if (!value.equalBase(reference)) {
    throw new QuantityError(
      `"${text}" has the wrong dimension for a ${kind} value (expected a unit convertible to ${QUANTITY_UNIT[kind]})`,
    );
  }
  return checkFinite(value.toNumber(target), text);
}

function noUnit(text: string, kind: QuantityKind): QuantityError {
  return new QuantityError(`${text} has no unit (write it with one, e.g. "${example(kind)}")`);
}

function checkFinite(value: number, text: string): number {
  if (!Number.isFinite(value)) throw new QuantityError(`"${text}" is not a finite number`);
  return value;
}

function example(kind: QuantityKind): string {
  const examples: Record<QuantityKind, string> = {
    frequency: '1 GHz',
    bytes: '64 KiB',
    energy: '0.2 pJ',
    power: '5 mW',
    energyPerBit: '8 pJ/bit',
    bytesPerCycle: '16 B/cycle',
  };
  return examples[kind];
}
