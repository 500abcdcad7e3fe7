import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutputError, writeFileAtomic } from '../../src/common/atomic-write.js';

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
