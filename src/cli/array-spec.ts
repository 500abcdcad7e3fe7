import { UsageError } from '../common/input-error.js';
import type { ArrayShape } from '../core/array.js';

/** `--array RxC`: R rows (ArrayHeight) by C columns (ArrayWidth), both positive integers, e.g. `32x32`. */
export function parseArraySpec(text: string, flag = '--array'): ArrayShape {
  const match = /^\s*(\d+)\s*[xX×]\s*(\d+)\s*$/.exec(text);
  const rows = match ? Number(match[1]) : Number.NaN;
  const cols = match ? Number(match[2]) : Number.NaN;
  if (!match || !Number.isSafeInteger(rows) || !Number.isSafeInteger(cols) || rows < 1 || cols < 1) {
    throw new UsageError(flag, '', `expected ROWSxCOLS with positive integers (e.g. 32x32), got "${text}"`);
  }
  return { rows, cols };
}
