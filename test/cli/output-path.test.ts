import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkOutputPath } from '../../src/cli/output-path.js';
import { UsageError } from '../../src/common/input-error.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deltasim-output-path-'));
  await writeFile(join(dir, 'a-file'), 'x');
  await mkdir(join(dir, 'a-dir'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('checkOutputPath', () => {
  test('accepts a new path (however deep) and an existing path of the right kind, creating nothing', async () => {
    await checkOutputPath('--out', join(dir, 'new', 'deeper', 'model'), 'directory');
    await checkOutputPath('--out', join(dir, 'a-dir'), 'directory');
    await checkOutputPath('--out', join(dir, 'a-file'), 'file');
    await checkOutputPath('--out', join(dir, 'new.safetensors'), 'file');
    expect((await readdir(dir)).sort()).toEqual(['a-dir', 'a-file']);
  });

  test.each([
    ['a file where a directory goes', 'a-file', 'directory', /a-file: exists and is not a directory$/],
    ['a directory where a file goes', 'a-dir', 'file', /a-dir: is a directory, expected a file$/],
    ['a path under a file', 'a-file/sub/x', 'directory', /a-file is not a directory$/],
  ] as const)('rejects %s with a UsageError naming the flag', async (_, rel, kind, message) => {
    const error = await checkOutputPath('--out', join(dir, rel), kind).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).source).toBe('--out');
    expect((error as UsageError).message).toMatch(message);
  });
});
