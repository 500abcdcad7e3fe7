import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InputError } from './input-error.js';

/** An output path that cannot be written (missing or read-only parent, not a directory, …). */
export class OutputError extends InputError {}

/**
 * A temporary path beside `finalPath`, on the same filesystem so the closing rename is atomic:
 * a crash or Ctrl-C leaves either the old file or the new one, never half of one.
 */
export function temporaryPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.${randomBytes(6).toString('hex')}.tmp-${basenameOf(finalPath)}`);
}

function basenameOf(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] ?? 'out';
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/**
 * `mkdir -p`, walking up one parent at a time. Node 20's `mkdir(…, { recursive: true })` never
 * settles under /proc (it retries ENOENT forever), which hung `--scalesim-report /proc/x`.
 */
async function ensureDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST') {
      if ((await stat(dir)).isDirectory()) return;
      throw error;
    }
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
    await ensureDirectory(parent);
    try {
      await mkdir(dir);
    } catch (again) {
      if (errorCode(again) !== 'EEXIST') throw again;
    }
  }
}

/**
 * Write a whole file atomically (temp file + rename), creating its directory if needed. A path that
 * cannot be written is bad input (OutputError, one line, exit 2), not an internal error.
 */
export async function writeFileAtomic(finalPath: string, data: string | Uint8Array): Promise<void> {
  try {
    await ensureDirectory(dirname(finalPath));
  } catch (error) {
    throw new OutputError(
      finalPath,
      '',
      `cannot create its directory (${errorCode(error) ?? String(error)})`,
    );
  }
  const tmp = temporaryPathFor(finalPath);
  try {
    await writeFile(tmp, data);
    await rename(tmp, finalPath);
  } catch (error) {
    await rm(tmp, { force: true });
    const code = errorCode(error);
    if (code === undefined) throw error;
    throw new OutputError(finalPath, '', `cannot write (${code})`);
  }
}
