import { UsageError } from '../common/input-error.js';
import { SIZE_LIMITS } from './size-limits.js';

/**
 * Integer flags (sizes, counts, seeds) of every command: one-line errors, exit 2. A size passes its
 * stated maximum from SIZE_LIMITS.
 */
export function intFlag(
  flag: string,
  value: string | undefined,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  // Decimal digits only: Number() would also take '', '0x10' and '1e3'.
  const n = /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`;
    throw new UsageError(flag, value, `must be an integer ${range}`);
  }
  return n;
}

/** A seed: an integer in [0, 2^32 − 1], the range the generators distinguish. */
export function seedFlag(flag: string, value: string | undefined, fallback: number): number {
  return intFlag(flag, value, fallback, 0, SIZE_LIMITS.seed);
}

export function numberFlag(
  flag: string,
  value: string | undefined,
  fallback: number,
  min = 0,
  max = Infinity,
): number {
  if (value === undefined) return fallback;
  const n = /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(flag, value, `must be a number in [${min}, ${max}]`);
  }
  return n;
}

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export function backendFlag(value: string | undefined): BackendChoice {
  const v = value ?? 'auto';
  if (v === 'auto' || v === 'tensorflow' || v === 'wasm' || v === 'cpu') return v;
  throw new UsageError('--backend', v, 'must be auto, tensorflow, wasm or cpu');
}

export type ModelFamily = 'delta-cnn' | 'deltanet' | 'iformer';
export const MODEL_FAMILIES: readonly ModelFamily[] = ['delta-cnn', 'deltanet', 'iformer'];

/** The `<model>` argument: one of the families the command knows. */
export function modelFamilyArg<F extends ModelFamily>(
  value: string,
  known: readonly F[] = MODEL_FAMILIES as readonly F[],
): F {
  if (!(known as readonly string[]).includes(value)) {
    throw new UsageError('<model>', value, `unknown model (known: ${known.join(', ')})`);
  }
  return value as F;
}

/** A flag whose value must be one of a few words. */
export function choiceFlag<T extends string>(
  flag: string,
  value: string | undefined,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(flag, value, `must be ${choices.join(', ').replace(/, ([^,]*)$/, ' or $1')}`);
  }
  return value as T;
}
