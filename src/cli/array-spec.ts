import { UsageError } from '../common/input-error.js';
import type { ArrayShape } from '../core/array.js';
import { SIZE_LIMITS } from './size-limits.js';

/** `--array RxC`: R rows (ArrayHeight) by C columns (ArrayWidth), each in [1, SIZE_LIMITS.arrayDim]. */
export function parseArraySpec(text: string, flag = '--array'): ArrayShape {
  const match = /^\s*(\d+)\s*[xX×]\s*(\d+)\s*$/.exec(text);
  const rows = match ? Number(match[1]) : Number.NaN;
  const cols = match ? Number(match[2]) : Number.NaN;
  if (!match || !Number.isSafeInteger(rows) || !Number.isSafeInteger(cols) || rows < 1 || cols < 1) {
    throw new UsageError(flag, '', `expected ROWSxCOLS with positive integers (e.g. 32x32), got "${text}"`);
  }
  const max = SIZE_LIMITS.arrayDim;
  if (rows > max || cols > max) {
    throw new UsageError(flag, '', `"${text}": rows and columns must each be at most ${max}`);
  }
  return { rows, cols };
}
