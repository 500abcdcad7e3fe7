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

export type ModelFamily = 'delta-cnn' | 'deltanet';

/** The model families train / eval / record know. */
export function modelFamilyArg(value: string): ModelFamily {
  if (value !== 'delta-cnn' && value !== 'deltanet') {
    throw new UsageError('<model>', value, 'unknown model (known: delta-cnn, deltanet)');
  }
  return value;
}
