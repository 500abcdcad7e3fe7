import { constants, type Stats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { InputError } from '../common/input-error.js';

/**
 * Largest configuration file (hardware, energy table, SCALE-Sim `.cfg`) read whole. Real ones are a
 * few hundred bytes; the cap also bounds how deeply block YAML can nest (each level indents).
 */
export const CONFIG_FILE_MAX_BYTES = 1024 * 1024;

/**
 * Opens an input file for reading, refusing anything but a regular file (a FIFO, a device, a socket
 * would block or never end). O_NONBLOCK keeps `open` itself from waiting for a FIFO's writer; the
 * type is then checked on the opened descriptor, so the file checked is the file read.
 */
export async function openRegularFile(
  path: string,
  fail: (rule: string) => InputError,
): Promise<{ readonly handle: FileHandle; readonly stats: Stats }> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw failFor(error, fail);
  }
  let stats: Stats;
  try {
    stats = await handle.stat();
  } catch (error) {
    await handle.close();
    throw failFor(error, fail);
  }
  if (!stats.isFile()) {
    await handle.close();
    throw fail(
      stats.isDirectory() ? 'is a directory, not a file' : 'not a regular file (a FIFO, device or socket)',
    );
  }
  return { handle, stats };
}

function failFor(error: unknown, fail: (rule: string) => InputError): InputError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return fail('file not found');
  if (code === 'EISDIR') return fail('is a directory, not a file');
  if (code === 'EACCES') return fail('permission denied');
  return fail(`cannot read (${code ?? (error instanceof Error ? error.message : String(error))})`);
}

/**
 * Reads a whole configuration file as UTF-8 (BOM dropped), turning "not there / not a regular file /
 * too large / not readable" into the caller's edge error so the CLI prints one line naming the file.
 */
export async function readInputText(
  path: string,
  fail: (rule: string) => InputError,
  maxBytes = CONFIG_FILE_MAX_BYTES,
): Promise<string> {
  const { handle, stats } = await openRegularFile(path, fail);
  let text: string;
  try {
    if (stats.size > maxBytes) {
      throw fail(`file too large: ${stats.size} bytes, a config file may hold at most ${maxBytes}`);
    }
    // One byte past the size fstat gave: a file growing while it is read is noticed, not truncated.
    const buffer = Buffer.alloc(stats.size + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled === buffer.length) break;
    }
    if (filled > stats.size) throw fail('file changed while being read');
    text = buffer.toString('utf8', 0, filled);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw failFor(error, fail);
  } finally {
    await handle.close();
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
