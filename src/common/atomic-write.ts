import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

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

/** Write a whole file atomically (temp file + rename), creating its directory if needed. */
export async function writeFileAtomic(finalPath: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(finalPath), { recursive: true });
  const tmp = temporaryPathFor(finalPath);
  try {
    await writeFile(tmp, data);
    await rename(tmp, finalPath);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
