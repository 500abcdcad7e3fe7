/**
 * The expression language of sweep specs: mathjs with units, evaluated once at load. Whatever a spec
 * writes, it cannot reach `import`, `createUnit`, `evaluate`, `parse`, `compile` or the symbolic
 * functions: they are replaced by functions that throw before any spec text is evaluated (mathjs's
 * own security advice), and only this module keeps the real evaluator.
 */
export interface RestrictedMath {
  /** Evaluates `text`, returning plain JS: numbers, booleans, strings, `Quantity`s, nested arrays. */
  evaluate(text: string, scope?: Readonly<Record<string, unknown>>): unknown;
  /** A quantity from a number in `unit` (e.g. an area in mm², for constraints). */
  quantity(value: number, unit: string): unknown;
}

/** A value with a unit, converted on demand. */
export interface Quantity {
  readonly isQuantity: true;
  /** Throws when the units are incompatible. */
  to(unit: string): number;
  readonly text: string;
}

export function isQuantity(value: unknown): value is Quantity {
  return typeof value === 'object' && value !== null && (value as Quantity).isQuantity === true;
}

const BLOCKED = [
  'import',
  'createUnit',
  'evaluate',
  'parse',
  'compile',
  'simplify',
  'simplifyConstant',
  'simplifyCore',
  'derivative',
  'resolve',
  'rationalize',
  'reviver',
  'replacer',
  'parser',
  'chain',
] as const;

let cached: Promise<RestrictedMath> | undefined;

export function restrictedMath(): Promise<RestrictedMath> {
  cached ??= build();
  return cached;
}

async function build(): Promise<RestrictedMath> {
  const { create, all } = await import('mathjs');
  if (!all) throw new Error('mathjs exports no function set');
  const math = create(all);
  const evaluate = math.evaluate.bind(math);
  const disabled = Object.fromEntries(
    BLOCKED.map((name) => [
      name,
      () => {
        throw new Error(`${name} is not available in a sweep spec`);
      },
    ]),
  );
  math.import(disabled, { override: true });
  const toPlain = (value: unknown): unknown => {
    if (math.isMatrix(value)) return toPlain((value as { toArray(): unknown[] }).toArray());
    if (Array.isArray(value)) return value.map(toPlain);
    if (math.isUnit(value)) {
      const unit = value as { toNumber(u: string): number; toString(): string };
      return {
        isQuantity: true,
        to: (u: string) => unit.toNumber(u),
        text: unit.toString(),
      } satisfies Quantity;
    }
    if (math.isBigNumber(value) || math.isFraction(value)) return Number(value);
    if (math.isComplex(value) || math.isNode(value) || typeof value === 'function') {
      throw new Error(`evaluates to a ${math.typeOf(value)}, not a number, quantity or list`);
    }
    if (math.isResultSet(value)) {
      const entries = (value as { entries: unknown[] }).entries;
      return toPlain(entries[entries.length - 1]);
    }
    return value;
  };
  return {
    evaluate: (text, scope) => toPlain(evaluate(text, new Map(Object.entries(scope ?? {})))),
    quantity: (value, unit) => math.unit(value, unit),
  };
}
