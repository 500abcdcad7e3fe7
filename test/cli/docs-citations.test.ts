import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, test } from 'vitest';
import { filesUnder, REPO_ROOT as ROOT } from '../repo-files.js';

/** Source, tests, configs and docs: everything a user of the repository reads. */
const FILES = [
  ...['src', 'test', 'docs', 'configs'].flatMap((dir) =>
    filesUnder(dir, /\.(ts|tsx|md|json|yaml|yml|cfg|mjs)$/),
  ),
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
