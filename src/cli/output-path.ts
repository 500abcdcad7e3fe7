import { mkdtemp, readdir, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UsageError } from '../common/input-error.js';
import { sweepStaleTemporaries } from '../common/temp-files.js';

/**
 * Where outputs go when the user names none: under the working directory, never onto the models
 * and traces shipped with deltasim (`npm run models` names those explicitly, with --force).
 */
export const DEFAULT_OUTPUT_DIR = 'out';

export interface OutputPathOptions {
  /** The user passed `--force` (or the command owns what is there, like `train --resume`). */
  readonly force?: boolean;
  /** Where the removal of temporaries left by killed runs is reported (stderr in the CLI). */
  readonly log?: (line: string) => void;
}

/**
 * Checks before any work starts that `path` can receive the output (a `'file'` or a `'directory'`),
 * so a long training or recording does not end in an error at the write:
 * - an existing file, or a non-empty directory, is refused unless `force` (never lose a user's data);
 * - the nearest existing ancestor must be a directory in which a probe directory can be created
 *   and removed: permission bits alone say nothing for root or for read-only and virtual filesystems;
 * - temporaries left in the target's directory by killed runs are removed (and reported).
 */
export async function checkOutputPath(
  flag: string,
  path: string,
  kind: 'file' | 'directory',
  options: OutputPathOptions = {},
): Promise<void> {
  const own = await kindOf(flag, path);
  if (own === 'directory' && kind === 'file')
    throw new UsageError(flag, path, 'is a directory, expected a file');
  if (own === 'other' && kind === 'directory')
    throw new UsageError(flag, path, 'exists and is not a directory');
  // First, so a directory holding only a killed run's temporaries counts as empty.
  const log = options.log ?? (() => {});
  await sweepStaleTemporaries(dirname(path), log);
  if (own === 'directory') await sweepStaleTemporaries(path, log);
  if (!options.force) {
    if (own === 'other') throw new UsageError(flag, path, 'exists; pass --force to replace it');
    if (own === 'directory' && (await readdir(path)).length > 0)
      throw new UsageError(flag, path, 'exists and is not empty; pass --force to replace it');
  }
  let ancestor = dirname(path);
  for (;;) {
    const found = await kindOf(flag, ancestor);
    if (found === 'other') throw new UsageError(flag, path, `${ancestor} is not a directory`);
    if (found === 'directory' || dirname(ancestor) === ancestor) break;
    ancestor = dirname(ancestor);
  }
  try {
    await rmdir(await mkdtemp(join(ancestor, '.deltasim-probe-')));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new UsageError(flag, path, `cannot write in ${ancestor} (${String(code ?? error)})`);
  }
}

async function kindOf(flag: string, path: string): Promise<'directory' | 'other' | 'missing'> {
  try {
    return (await stat(path)).isDirectory() ? 'directory' : 'other';
  } catch (error) {
    // ENOTDIR (a file somewhere up the path) is reported when the walk reaches that file.
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw new UsageError(flag, path, `cannot be examined (${String(code ?? error)})`);
  }
}
