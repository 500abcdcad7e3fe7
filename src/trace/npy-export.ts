/**
 * `.npy` v1.0 files (numpy's NEP 1 format) and the export of a trace to one `.npy` per tensor.
 * Values are exported in their stored dtype, byte for byte; `tensors.json` lists each file with its
 * dtype, shape and (I8) scale, `manifest.json` is the manifest. The export is built in a temporary
 * directory beside the target and renamed into place, so it appears whole or not at all; a
 * non-empty target is replaced only with `overwrite` (the user's `--force`).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { commitDirectory } from '../common/atomic-write.js';
import { UsageError } from '../common/input-error.js';
import { removeTemporary, temporaryPathFor } from '../common/temp-files.js';
import type { TraceReader } from './reader.js';
import type { Dtype } from './safetensors.js';
import { TraceError } from './trace-error.js';

const NPY_DESCR: Readonly<Record<Dtype, string>> = { F32: '<f4', F16: '<f2', I8: '|i1', U8: '|u1' };
const NPY_ALIGNMENT = 64;

/** The `.npy` v1.0 preamble for a C-ordered array: magic, version, header length, padded dict. */
export function npyHeader(dtype: Dtype, shape: readonly number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${NPY_DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const fixed = 10;
  const unpadded = fixed + dict.length + 1;
  const total = Math.ceil(unpadded / NPY_ALIGNMENT) * NPY_ALIGNMENT;
  const headerText = `${dict}${' '.repeat(total - unpadded)}\n`;
  const out = new Uint8Array(total);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0); // \x93NUMPY v1.0
  new DataView(out.buffer).setUint16(8, headerText.length, true);
  out.set(new TextEncoder().encode(headerText), fixed);
  return out;
}

export interface ExportSummary {
  readonly directory: string;
  readonly files: number;
  readonly bytes: number;
}

/** Writes every tensor of `reader` as `<dir>/<tensor name>.npy` (name components become directories). */
export async function exportTraceToNpy(
  reader: TraceReader,
  directory: string,
  options: { readonly overwrite?: boolean } = {},
): Promise<ExportSummary> {
  const overwrite = options.overwrite === true;
  if (!overwrite) await ensureReplaceable(directory);
  await mkdir(dirname(directory), { recursive: true });
  const tmp = temporaryPathFor(directory);
  let files = 0;
  let bytes = 0;
  try {
    await mkdir(tmp);
    const table: Record<string, { file: string; dtype: Dtype; shape: readonly number[]; scale?: number }> =
      {};
    for (const info of reader.tensors()) {
      const parts = info.name.split('/');
      if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\') || p.includes('\0'))) {
        throw new TraceError(reader.path, `tensor "${info.name}"`, 'name cannot be used as a file path');
      }
      const relative = `${parts.join('/')}.npy`;
      const target = join(tmp, ...parts.slice(0, -1), `${parts[parts.length - 1]}.npy`);
      await mkdir(dirname(target), { recursive: true });
      const header = npyHeader(info.dtype, info.shape);
      // Copied into `out` at once, so recycled memory will do.
      const data = await reader.readBytes(info.name, { transient: true });
      const out = new Uint8Array(header.length + data.length);
      out.set(header, 0);
      out.set(data, header.length);
      await writeFile(target, out);
      const scale = reader.scaleOf(info.name);
      table[info.name] = {
        file: relative,
        dtype: info.dtype,
        shape: info.shape,
        ...(scale !== undefined ? { scale } : {}),
      };
      files++;
      bytes += out.length;
    }
    await writeFile(join(tmp, 'manifest.json'), `${JSON.stringify(reader.manifest, null, 2)}\n`);
    await writeFile(join(tmp, 'tensors.json'), `${JSON.stringify(table, null, 2)}\n`);
    await commitDirectory(tmp, directory, { overwrite });
  } catch (error) {
    await removeTemporary(tmp);
    throw error;
  }
  return { directory, files, bytes };
}

/** The target may be absent or an empty directory; anything else is never overwritten. */
async function ensureReplaceable(directory: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(directory);
  } catch (error) {
    const code = error && typeof error === 'object' && 'code' in error ? error.code : undefined;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new UsageError('--npy', directory, 'exists and is not a directory');
    throw new UsageError('--npy', directory, `cannot use ${directory} (${String(code)})`);
  }
  if (entries.length > 0)
    throw new UsageError('--npy', directory, 'exists and is not empty; pass --force to replace it');
}
