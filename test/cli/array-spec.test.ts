import { describe, expect, test } from 'vitest';
import { parseArraySpec } from '../../src/cli/array-spec.js';
import { UsageError } from '../../src/common/input-error.js';

describe('parseArraySpec', () => {
  test.each([
    ['32x32', 32, 32],
    ['16X64', 16, 64],
    ['8×128', 8, 128],
    [' 4 x 2 ', 4, 2],
    ['65536x1', 65536, 1],
  ])('%j → %i rows × %i cols', (text, rows, cols) => {
    expect(parseArraySpec(text)).toEqual({ rows, cols });
  });

  test.each([
    '0x4',
    '4x0',
    'abc',
    '4x',
    'x4',
    '-1x2',
    '1.5x2',
    '4x4x4',
    '',
    '65537x4',
    '4x65537',
    '99999999999999999999x1',
  ])('%j is a UsageError naming --array', (text) => {
    expect(() => parseArraySpec(text)).toThrow(UsageError);
    expect(() => parseArraySpec(text)).toThrow(/^--array: /);
  });
});
