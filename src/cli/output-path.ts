import { mkdtemp, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UsageError } from '../common/input-error.js';

/**
 * Checks before any work starts that `path` can receive the output (a `'file'` or a `'directory'`),
 * so a long training or recording does not end in an internal error at the write. The nearest
 * existing ancestor must be a directory in which a probe directory can be created and removed:
 * permission bits alone say nothing for root or for read-only and virtual filesystems.
 */
export async function checkOutputPath(flag: string, path: string, kind: 'file' | 'directory'): Promise<void> {
  const own = await kindOf(flag, path);
  if (own === 'directory' && kind === 'file')
    throw new UsageError(flag, path, 'is a directory, expected a file');
  if (own === 'other' && kind === 'directory')
    throw new UsageError(flag, path, 'exists and is not a directory');
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
