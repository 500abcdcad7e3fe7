import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { alignedTable } from '../../src/cli/reporters/aligned-table.js';
import { largest, smallest } from '../../src/common/extremes.js';
import { filesUnder, REPO_ROOT } from '../repo-files.js';

const root = REPO_ROOT;

test.prop([fc.array(fc.double({ noNaN: true }), { minLength: 1, maxLength: 50 })])(
  'largest/smallest agree with Math.max/Math.min on short lists',
  (values) => {
    expect(largest(values)).toBe(Math.max(...values));
    expect(smallest(values)).toBe(Math.min(...values));
  },
);

test('floors and ceilings bound the result, and stand for an empty list', () => {
  expect(largest([], 3)).toBe(3);
  expect(largest([1, 2], 3)).toBe(3);
  expect(smallest([], -1)).toBe(-1);
  expect(smallest([4, -7, 2])).toBe(-7);
});

test('a 300,000-row plain table (a large topology) is laid out without overflowing the stack', () => {
  const values = Array.from({ length: 300_000 }, (_, i) => i % 1000);
  expect(() => Math.max(...values)).toThrow(RangeError);
  expect(largest(values)).toBe(999);
  const rows = values.map((v, i) => [`L${i}`, String(v)]);
  const lines = alignedTable([{ title: 'layer', left: true }, { title: 'x' }], rows, ['total', '1']);
  expect(lines).toHaveLength(300_000 + 4);
  expect(lines[1]).toBe(`${'-'.repeat('L299999'.length)}  ---`);
  expect(lines[2]).toBe('L0         0');
});

test('no Math.max/Math.min over a spread or .apply anywhere in src (use largest/smallest)', () => {
  const offenders: string[] = [];
  for (const file of filesUnder('src', /\.tsx?$/)) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, index) => {
        if (/^\s*(\*|\/\/)/.test(line)) return;
        if (/Math\.(max|min)\([^)]*\.\.\.|Math\.(max|min)\.apply\(/.test(line)) {
          offenders.push(`${relative(root, file)}:${index + 1}: ${line.trim()}`);
        }
      });
  }
  expect(offenders).toEqual([]);
});
