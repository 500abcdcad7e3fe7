import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, test } from 'vitest';
import { ROOT } from './built-cli.js';

/** Source, tests, configs and docs: everything a user of the repository reads. */
function readable(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return readable(path);
    return /\.(ts|tsx|md|json|yaml|yml|cfg|mjs)$/.test(entry.name) ? [path] : [];
  });
}

const FILES = [
  ...['src', 'test', 'docs', 'configs'].flatMap((dir) => readable(join(ROOT, dir))),
  join(ROOT, 'README.md'),
];

test('the docs stand on their own: nothing cites a file outside the repository', () => {
  // Split so this file does not match itself.
  const outside = new RegExp(['DESIGN', 'REFERENCE'].map((name) => `${name}(\\.md| §)`).join('|'));
  const offenders = FILES.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => (outside.test(line) ? [`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`] : [])),
  );
  expect(offenders).toEqual([]);
});

test('every docs/<file>.md that code, tests or docs cite exists', () => {
  const missing = FILES.flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/\bdocs\/([\w-]+\.md)/g)]
      .filter((match) => !existsSync(join(ROOT, 'docs', match[1]!)))
      .map((match) => `${relative(ROOT, file)}: docs/${match[1]}`),
  );
  expect(missing).toEqual([]);
});
