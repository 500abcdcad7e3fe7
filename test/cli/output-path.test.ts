import { spawnSync } from 'node:child_process';
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
  test('accepts a new path (however deep), an empty directory, and with force an existing output', async () => {
    await checkOutputPath('--out', join(dir, 'new', 'deeper', 'model'), 'directory');
    await checkOutputPath('--out', join(dir, 'a-dir'), 'directory');
    await checkOutputPath('--out', join(dir, 'a-file'), 'file', { force: true });
    await checkOutputPath('--out', join(dir, 'new.safetensors'), 'file');
    expect((await readdir(dir)).sort()).toEqual(['a-dir', 'a-file']);
  });

  test('refuses an existing file or non-empty directory without force, naming it and --force', async () => {
    await expect(checkOutputPath('--out', join(dir, 'a-file'), 'file')).rejects.toThrow(
      `--out: ${join(dir, 'a-file')}: exists; pass --force to replace it`,
    );
    await expect(checkOutputPath('--npy', dir, 'directory')).rejects.toThrow(
      `--npy: ${dir}: exists and is not empty; pass --force to replace it`,
    );
    await checkOutputPath('--npy', dir, 'directory', { force: true });
  });

  test('removes temporaries of dead processes in the target directory first, and says so', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    }).stdout;
    const target = join(dir, 'only-leftovers');
    await mkdir(target);
    await writeFile(join(target, `.deltasim-tmp-${dead}-0badf00d-checkpoint.ckpt`), 'x');
    const lines: string[] = [];
    // Holding nothing but a killed run's temporary, the directory counts as empty.
    await checkOutputPath('--out', target, 'directory', { log: (line) => lines.push(line) });
    expect(await readdir(target)).toEqual([]);
    expect(lines).toEqual([
      `removed ${join(target, `.deltasim-tmp-${dead}-0badf00d-checkpoint.ckpt`)}, a temporary left by process ${dead} (no longer running)`,
    ]);
    await rm(target, { recursive: true });
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
