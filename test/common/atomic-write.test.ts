import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  commitDirectory,
  OutputError,
  OutputExistsError,
  temporaryPathFor,
  writeFileAtomic,
} from '../../src/common/atomic-write.js';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'deltasim-atomic-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates missing directories and leaves no temporary file', async () => {
    const path = join(dir, 'a', 'b', 'out.txt');
    await writeFileAtomic(path, 'hello', { overwrite: false });
    expect(await readFile(path, 'utf8')).toBe('hello');
    expect(await readdir(join(dir, 'a', 'b'))).toEqual(['out.txt']);
  });

  it('rejects a path under a regular file with an OutputError naming the path', async () => {
    const file = join(dir, 'plain');
    await writeFile(file, 'x');
    const path = join(file, 'sub', 'out.txt');
    await expect(writeFileAtomic(path, 'y', { overwrite: false })).rejects.toThrow(OutputError);
    await expect(writeFileAtomic(path, 'y', { overwrite: false })).rejects.toThrow(path);
  });

  it.runIf(existsSync('/proc/self'))(
    'fails, rather than hangs, where the directory cannot be made',
    async () => {
      await expect(writeFileAtomic('/proc/deltasim-nope/out.txt', 'y', { overwrite: false })).rejects.toThrow(
        OutputError,
      );
    },
  );
});

describe('replacing outputs', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'deltasim-replace-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writeFileAtomic leaves an existing file alone without overwrite, replaces it with', async () => {
    const path = join(dir, 'report.csv');
    await writeFile(path, 'users');
    await expect(writeFileAtomic(path, 'ours', { overwrite: false })).rejects.toThrow(OutputExistsError);
    await expect(writeFileAtomic(path, 'ours', { overwrite: false })).rejects.toThrow(
      `${path}: exists; pass --force to replace it`,
    );
    expect(await readFile(path, 'utf8')).toBe('users');
    await writeFileAtomic(path, 'ours', { overwrite: true });
    expect(await readFile(path, 'utf8')).toBe('ours');
    expect(await readdir(dir)).toEqual(['report.csv']);
  });

  it('commitDirectory takes an empty target, refuses a non-empty one without overwrite, swaps it with', async () => {
    const target = join(dir, 'npy');
    const fresh = async (content: string) => {
      const tmp = temporaryPathFor(target);
      await mkdir(tmp);
      await writeFile(join(tmp, 'a.npy'), content);
      return tmp;
    };
    await mkdir(target);
    await commitDirectory(await fresh('1'), target, { overwrite: false });
    expect(await readFile(join(target, 'a.npy'), 'utf8')).toBe('1');
    const second = await fresh('2');
    await expect(commitDirectory(second, target, { overwrite: false })).rejects.toThrow(OutputExistsError);
    expect(await readFile(join(target, 'a.npy'), 'utf8')).toBe('1');
    await commitDirectory(second, target, { overwrite: true });
    expect(await readFile(join(target, 'a.npy'), 'utf8')).toBe('2');
    expect(await readdir(dir)).toEqual(['npy']);
  });
});
