import { UsageError } from '../common/input-error.js';

/** Flag parsing shared by the model commands (train / eval / record): one-line errors, exit 2. */
export function intFlag(flag: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(flag, value, `must be an integer ≥ ${min}`);
  return n;
}

export function numberFlag(
  flag: string,
  value: string | undefined,
  fallback: number,
  min = 0,
  max = Infinity,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
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

export type ModelFamily = 'delta-cnn' | 'iformer';
export const MODEL_FAMILIES: readonly ModelFamily[] = ['delta-cnn', 'iformer'];

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
