/**
 * Every temporary file or directory the process makes is named `.deltasim-tmp-<pid>-<hex>-<name>`
 * and listed here until it is renamed into place or removed. So a signal can remove exactly this
 * run's temporaries (`removeTemporariesSync`), and a later run can tell which temporaries in a
 * directory belong to a process that no longer exists (`sweepStaleTemporaries`) — the pid in the
 * name is checked with `kill(pid, 0)`, which sends nothing.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const PREFIX = '.deltasim-tmp-';
const PATTERN = /^\.deltasim-tmp-(\d+)-[0-9a-f]{8}-/;
/** Keeps the whole temporary name under common 255-byte file-name limits, whatever the final name. */
const MAX_NAME_CHARS = 120;

const live = new Set<string>();

/**
 * A fresh temporary path beside `finalPath` (same directory, hence same filesystem: the closing
 * rename is atomic), registered until `releaseTemporary`. `suffix` tells apart several temporaries
 * of one output (`.data`, `.old`).
 */
export function temporaryPathFor(finalPath: string, suffix = ''): string {
  const name = `${basename(finalPath).slice(0, MAX_NAME_CHARS)}${suffix}`;
  const path = join(dirname(finalPath), `${PREFIX}${process.pid}-${randomBytes(4).toString('hex')}-${name}`);
  live.add(path);
  return path;
}

/** The temporary was renamed into place or removed: a signal must no longer touch that path. */
export function releaseTemporary(path: string): void {
  live.delete(path);
}

/** Removes a temporary (file or directory, if still there) and forgets it. */
export async function removeTemporary(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
  live.delete(path);
}

/** This run's temporaries that still exist or may exist (tests and diagnostics). */
export function liveTemporaries(): readonly string[] {
  return [...live];
}

/**
 * Synchronous, for signal handlers and `exit`: removes every temporary of this process. Errors are
 * swallowed — the process is going away, and a leftover is swept by the next run.
 */
export function removeTemporariesSync(): void {
  for (const path of live) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      // Left for the next run's sweep.
    }
  }
  live.clear();
}

/** The pid in a temporary's name, or undefined if `name` is not one of ours. */
export function temporaryOwner(name: string): number | undefined {
  const match = PATTERN.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** Whether process `pid` exists (EPERM: it does, under another user). */
export function processExists(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

export interface SweepResult {
  readonly removed: readonly string[];
  /** Temporaries of processes that still run (another deltasim writing here): left alone. */
  readonly inUse: readonly string[];
}

/**
 * Removes from `dir` the temporaries whose process no longer exists, saying so through `log`
 * (one line each). A directory that cannot be listed is left to the write that follows to report.
 */
export async function sweepStaleTemporaries(
  dir: string,
  log: (line: string) => void = () => {},
): Promise<SweepResult> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return { removed: [], inUse: [] };
  }
  const removed: string[] = [];
  const inUse: string[] = [];
  for (const name of names) {
    const pid = temporaryOwner(name);
    if (pid === undefined) continue;
    const path = join(dir, name);
    if (processExists(pid)) {
      if (pid !== process.pid) inUse.push(path);
      continue;
    }
    try {
      await rm(path, { recursive: true, force: true });
      removed.push(path);
      log(`removed ${path}, a temporary left by process ${pid} (no longer running)`);
    } catch (error) {
      log(
        `cannot remove ${path}, a temporary left by process ${pid}: ${String((error as { code?: unknown }).code ?? error)}`,
      );
    }
  }
  return { removed, inUse };
}
