import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  liveTemporaries,
  processExists,
  releaseTemporary,
  removeTemporariesSync,
  sweepStaleTemporaries,
  temporaryOwner,
  temporaryPathFor,
} from '../../src/common/temp-files.js';

/** The pid of a process that has exited (the kernel does not hand it out again this fast). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

describe('temporary files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'deltasim-temps-'));
  });
  afterEach(async () => {
    removeTemporariesSync();
    await rm(dir, { recursive: true, force: true });
  });

  it('are named beside their output with this pid, and registered until released', () => {
    const path = temporaryPathFor(join(dir, 'model.json'), '.data');
    expect(dirname(path)).toBe(dir);
    expect(basename(path)).toMatch(
      new RegExp(`^\\.deltasim-tmp-${process.pid}-[0-9a-f]{8}-model\\.json\\.data$`),
    );
    expect(temporaryOwner(basename(path))).toBe(process.pid);
    expect(liveTemporaries()).toContain(path);
    releaseTemporary(path);
    expect(liveTemporaries()).not.toContain(path);
  });

  it('keep a long output name short enough for the filesystem', async () => {
    const path = temporaryPathFor(join(dir, `${'n'.repeat(250)}.npy`));
    expect(basename(path).length).toBeLessThan(160);
    await writeFile(path, 'x'); // would be ENAMETOOLONG with the whole name
  });

  it('removeTemporariesSync removes files and directories still registered, not released ones', async () => {
    const file = temporaryPathFor(join(dir, 'a.safetensors'));
    const folder = temporaryPathFor(join(dir, 'npy'));
    const kept = temporaryPathFor(join(dir, 'b.txt'));
    await writeFile(file, 'x');
    await mkdir(join(folder, 'deep'), { recursive: true });
    await writeFile(join(folder, 'deep', 'x.npy'), 'x');
    await writeFile(kept, 'renamed into place in real use');
    releaseTemporary(kept);
    removeTemporariesSync();
    expect(existsSync(file)).toBe(false);
    expect(existsSync(folder)).toBe(false);
    expect(existsSync(kept)).toBe(true);
  });

  it('a sweep removes temporaries of dead processes, reports each, and leaves everything else', async () => {
    const dead = deadPid();
    expect(processExists(dead)).toBe(false);
    expect(processExists(process.pid)).toBe(true);
    const stale = `.deltasim-tmp-${dead}-0123abcd-trace.safetensors.data`;
    const staleDir = `.deltasim-tmp-${dead}-89abcdef-npy`;
    const mine = `.deltasim-tmp-${process.pid}-00000000-model.json`;
    const users = ['.tmp-123-abc-notes', `.deltasim-tmp-${dead}-short`, 'results.csv'];
    for (const name of [stale, mine, ...users]) await writeFile(join(dir, name), 'x');
    await mkdir(join(dir, staleDir, 'sub'), { recursive: true });
    const lines: string[] = [];
    const result = await sweepStaleTemporaries(dir, (line) => lines.push(line));
    expect([...result.removed].sort()).toEqual([join(dir, stale), join(dir, staleDir)].sort());
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.includes(`process ${dead}`))).toBe(true);
    expect((await readdir(dir)).sort()).toEqual([mine, ...users].sort());
  });

  it('a sweep of a missing directory finds nothing', async () => {
    expect(await sweepStaleTemporaries(join(dir, 'missing'))).toEqual({ removed: [], inUse: [] });
  });
});
