import { link, lstat, mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InputError } from './input-error.js';
import { releaseTemporary, removeTemporary, temporaryPathFor } from './temp-files.js';

// Callers that only need a temporary name import it from here, next to the writes that use it.
export { temporaryPathFor } from './temp-files.js';

/** An output path that cannot be written (missing or read-only parent, not a directory, …). */
export class OutputError extends InputError {}

/** An output that exists and was not ours to replace: the user passes `--force` to allow it. */
export class OutputExistsError extends OutputError {
  constructor(path: string) {
    super(path, '', 'exists; pass --force to replace it');
  }
}

export interface ReplaceOptions {
  /** Replace an existing output (the user's `--force`, or a file this tool owns such as a checkpoint). */
  readonly overwrite: boolean;
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/**
 * `mkdir -p`, walking up one parent at a time. Node 20's `mkdir(…, { recursive: true })` never
 * settles under /proc (it retries ENOENT forever), which hung `--scalesim-report /proc/x`.
 */
export async function ensureDirectory(dir: string): Promise<void> {
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
 * Write a whole file atomically (temp file + rename), creating its directory if needed. An existing
 * file is replaced only with `overwrite` (OutputExistsError otherwise). A path that cannot be
 * written is bad input (OutputError, one line, exit 2), not an internal error.
 */
export async function writeFileAtomic(
  finalPath: string,
  data: string | Uint8Array,
  options: ReplaceOptions,
): Promise<void> {
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
    await commitFile(tmp, finalPath, options);
  } catch (error) {
    await removeTemporary(tmp);
    const code = errorCode(error);
    if (code === undefined || error instanceof InputError) throw error;
    throw new OutputError(finalPath, '', `cannot write (${code})`);
  }
}

/**
 * Moves the finished temporary file `tmp` to `finalPath`. Without `overwrite` the move is a hard
 * link, which the kernel refuses if `finalPath` exists — so a file that appeared while we worked is
 * not replaced either; filesystems without hard links fall back to check-then-rename.
 */
export async function commitFile(tmp: string, finalPath: string, options: ReplaceOptions): Promise<void> {
  if (options.overwrite) {
    await rename(tmp, finalPath);
    releaseTemporary(tmp);
    return;
  }
  try {
    await link(tmp, finalPath);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST') throw new OutputExistsError(finalPath);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw error;
    if (await exists(finalPath)) throw new OutputExistsError(finalPath);
    await rename(tmp, finalPath);
    releaseTemporary(tmp);
    return;
  }
  await unlink(tmp);
  releaseTemporary(tmp);
}

/**
 * Moves the finished temporary directory `tmp` to `finalDir`. An absent or empty `finalDir` is
 * simply replaced; a non-empty one only with `overwrite`, by moving it aside (a registered
 * temporary, so an interruption removes it) and deleting it once the new one is in place.
 */
export async function commitDirectory(tmp: string, finalDir: string, options: ReplaceOptions): Promise<void> {
  try {
    await rename(tmp, finalDir);
    releaseTemporary(tmp);
    return;
  } catch (error) {
    const code = errorCode(error);
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    if (!options.overwrite) throw new OutputExistsError(finalDir);
  }
  const aside = temporaryPathFor(finalDir, '.old');
  await rename(finalDir, aside);
  try {
    await rename(tmp, finalDir);
    releaseTemporary(tmp);
  } catch (error) {
    await rename(aside, finalDir);
    releaseTemporary(aside);
    throw error;
  }
  await removeTemporary(aside);
}

/** Whether anything (file, directory, dangling link) is at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return false;
    throw error;
  }
}
