/**
 * `.npy` v1.0 files (numpy's NEP 1 format) and the export of a trace to one `.npy` per tensor.
 * Values are exported in their stored dtype, byte for byte; `tensors.json` lists each file with its
 * dtype, shape and (I8) scale, `manifest.json` is the manifest. Every value tensor must pass the data
 * rules `trace validate` applies (checksums, no NaN/Inf, mask equal to its values). The export is
 * built in a temporary directory beside the target and renamed into place, so it appears whole or
 * not at all; a non-empty target is replaced only with `overwrite` (the user's `--force`).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { commitDirectory } from '../common/atomic-write.js';
import { UsageError } from '../common/input-error.js';
import { removeTemporary, temporaryPathFor } from '../common/temp-files.js';
import type { TraceReader } from './reader.js';
import type { Dtype } from './safetensors.js';
import { TraceError } from './trace-error.js';
import { checkTensorData } from './validate.js';

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

/** Longest file-name component an export writes, in UTF-8 bytes (file systems allow 255). */
export const MAX_NPY_NAME_BYTES = 200;

/**
 * The file a tensor is exported to, relative to the export directory: one directory per `/`-separated
 * part of its name, each part escaped so any name is a portable file name. Bytes other than
 * `A–Z a–z 0–9 . _ - + #` (and a leading `.`) become `%XX` (UTF-8, upper-case hex); a part whose
 * escaped form plus `.npy` would exceed MAX_NPY_NAME_BYTES keeps its first bytes and ends in `~` and
 * the CRC-32 of the whole part (8 hex digits). Deterministic; `tensors.json` maps names to files.
 */
export function npyRelativePath(tensor: string): string {
  const parts = tensor.split('/').map((part) => {
    let escaped = '';
    for (const byte of new TextEncoder().encode(part)) {
      const c = String.fromCharCode(byte);
      const plain = /[A-Za-z0-9_+#-]/.test(c) || (c === '.' && escaped !== '');
      escaped += plain ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
    // A part is never empty, "." or "..": those escape to "", "%2E", "%2E.".
    if (escaped === '') escaped = '%';
    const room = MAX_NPY_NAME_BYTES - '.npy'.length;
    if (escaped.length <= room) return escaped;
    const hash = crc32(part).toString(16).padStart(8, '0');
    return `${escaped.slice(0, room - 9)}~${hash}`;
  });
  return `${parts.join('/')}.npy`;
}

/** Writes every tensor of `reader` as `<dir>/<escaped tensor name>.npy` (see npyRelativePath). */
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
    const made = new Set<string>();
    const written = new Map<string, string>();
    for (const info of reader.tensors()) {
      const relative = npyRelativePath(info.name);
      const clash = written.get(relative);
      if (clash !== undefined) {
        throw new TraceError(reader.path, `tensor "${info.name}"`, `exports to the same file as "${clash}"`);
      }
      written.set(relative, info.name);
      const target = join(tmp, relative);
      const parent = dirname(target);
      if (!made.has(parent)) {
        await mkdir(parent, { recursive: true });
        made.add(parent);
      }
      if (!info.name.endsWith('#mask')) await checkTensorData(reader, info.name);
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
