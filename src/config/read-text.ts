import { readFile } from 'node:fs/promises';
import type { InputError } from '../common/input-error.js';

/**
 * Reads a whole input file as UTF-8 (BOM dropped), turning "not there / not a file / not readable"
 * into the caller's edge error so the CLI prints one line naming the file.
 */
export async function readInputText(path: string, fail: (rule: string) => InputError): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw fail('file not found');
    if (code === 'EISDIR') throw fail('is a directory, not a file');
    if (code === 'EACCES') throw fail('permission denied');
    throw fail(`cannot read (${code ?? (error instanceof Error ? error.message : String(error))})`);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
