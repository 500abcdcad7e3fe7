/**
 * Streaming trace writer (docs/trace-format.md). Tensor data goes to a temporary data file as it
 * arrives, so a long recording never sits in memory; `finish` assembles each shard's header, copies
 * the data behind it into a temporary file and renames it into place (index file last).
 * Masks are computed here from the stored values, so they can never disagree with them.
 */

import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { commitFile } from '../common/atomic-write.js';
import { removeTemporary, temporaryPathFor } from '../common/temp-files.js';
import { decodeFloat16, encodeFloat16 } from './float16.js';
import {
  MANIFEST_METADATA_KEY,
  maskName,
  PER_STEP_ROLES,
  type TensorRole,
  type TraceLayer,
  type TraceManifest,
  type TraceStep,
  tensorName,
} from './manifest.js';
import { checkManifest, checkStep, expectedShape } from './manifest-check.js';
import { packMask } from './mask.js';
import { type Dtype, encodeHeader, PADDING_SUFFIX, paddingAfter, type TensorEntry } from './safetensors.js';
import { encodeShardIndex } from './shard-index.js';
import { TraceError } from './trace-error.js';
import {
  CHECKSUMS_METADATA_KEY,
  SHARD_METADATA_KEY,
  TENSORS_METADATA_KEY,
  type TensorRecord,
} from './trace-metadata.js';

export type ValueDtype = 'F32' | 'F16' | 'I8';

export interface TraceWriterOptions {
  /** Steps are appended by `writeStep`. */
  readonly manifest: Omit<TraceManifest, 'steps'>;
  /** Storage dtype of values (default F32). I8 stores a per-tensor symmetric scale max|x|/127. */
  readonly dtype?: ValueDtype;
  /** Start a new shard once a shard holds this many data bytes (default 1 GiB); `path` then becomes the index file. */
  readonly shardBytes?: number;
  /** Replace existing files at the output paths (the user's `--force`); by default they are refused. */
  readonly overwrite?: boolean;
}

export interface StepTensor {
  readonly layer: string;
  readonly role: TensorRole;
  readonly values: Float32Array;
  readonly shape: readonly number[];
}

export interface TraceWriter {
  writeStatic(layer: string, role: TensorRole, values: Float32Array, shape: readonly number[]): Promise<void>;
  /** Steps in order, index contiguous from 0; `tensors` holds every per-step role of every layer. */
  writeStep(step: TraceStep, tensors: readonly StepTensor[]): Promise<void>;
  finish(): Promise<{ readonly files: readonly string[]; readonly bytes: number }>;
  /** Removes the temporary files; the trace is not written. */
  abort(): Promise<void>;
}

export const DEFAULT_SHARD_BYTES = 2 ** 30;
const COPY_CHUNK_BYTES = 8 * 2 ** 20;
const ZERO_PADDING = new Uint8Array(8);

interface Shard {
  readonly dataPath: string;
  readonly handle: FileHandle;
  readonly entries: TensorEntry[];
  dataBytes: number;
}

export async function createTraceWriter(path: string, options: TraceWriterOptions): Promise<TraceWriter> {
  const dtype: ValueDtype = options.dtype ?? 'F32';
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'I8') {
    throw new TraceError(path, 'dtype', `value dtype ${JSON.stringify(dtype)} is not F32, F16 or I8`);
  }
  const shardBytes = options.shardBytes ?? DEFAULT_SHARD_BYTES;
  if (!(shardBytes > 0)) throw new TraceError(path, 'shardBytes', 'must be positive');
  const manifestBase = checkManifest(path, { ...options.manifest, steps: [] });
  await mkdir(dirname(path), { recursive: true });
  const layers = new Map<string, TraceLayer>(manifestBase.layers.map((l) => [l.name, l]));
  const staticNeeded = new Set<string>();
  for (const l of manifestBase.layers) {
    for (const role of l.roles) if (!isPerStep(role)) staticNeeded.add(tensorName(l.name, role));
  }

  const shards: Shard[] = [];
  const records = new Map<string, TensorRecord>();
  const names = new Set<string>();
  const steps: TraceStep[] = [];
  let state: 'open' | 'finished' | 'aborted' | 'failed' = 'open';
  // Calls are serialised so a caller that does not await cannot interleave two tensors' bytes.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work);
    queue = next.catch(() => undefined);
    return next;
  };

  const newShard = async (): Promise<Shard> => {
    const dataPath = temporaryPathFor(path, '.data');
    const handle = await open(dataPath, 'w');
    const shard: Shard = { dataPath, handle, entries: [], dataBytes: 0 };
    shards.push(shard);
    return shard;
  };

  const append = async (
    shard: Shard,
    name: string,
    type: Dtype,
    shape: readonly number[],
    bytes: Uint8Array,
  ) => {
    await writeAll(shard.handle, bytes, shard.dataBytes);
    shard.entries.push({
      name,
      dtype: type,
      shape,
      begin: shard.dataBytes,
      end: shard.dataBytes + bytes.length,
    });
    shard.dataBytes += bytes.length;
    const pad = paddingAfter(shard.dataBytes);
    if (pad > 0) {
      await writeAll(shard.handle, ZERO_PADDING.subarray(0, pad), shard.dataBytes);
      shard.entries.push({
        name: `${name}${PADDING_SUFFIX}`,
        dtype: 'U8',
        shape: [pad],
        begin: shard.dataBytes,
        end: shard.dataBytes + pad,
      });
      shard.dataBytes += pad;
    }
  };

  /** Validates one value tensor against the manifest; returns its name. Throws before any byte is written. */
  const check = (
    layerName: string,
    role: TensorRole,
    values: Float32Array,
    shape: readonly number[],
    step?: number,
  ) => {
    const layer = layers.get(layerName);
    const where =
      step === undefined ? `layer "${layerName}" ${role}` : `step ${step} layer "${layerName}" ${role}`;
    if (!layer) throw new TraceError(path, where, `layer "${layerName}" is not in the manifest`);
    if (!layer.roles.includes(role)) throw new TraceError(path, where, `layer does not list role "${role}"`);
    const name = tensorName(layerName, role, step);
    if (names.has(name)) throw new TraceError(path, `tensor "${name}"`, 'written twice');
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new TraceError(path, `tensor "${name}"`, 'shape must be non-negative integers');
    }
    const expected = expectedShape(layer, role);
    if (expected && !sameShape(expected, shape)) {
      throw new TraceError(
        path,
        `tensor "${name}"`,
        `shape [${shape}] but the manifest implies [${expected}]`,
      );
    }
    const numel = shape.reduce((a, b) => a * b, 1);
    if (values.length !== numel) {
      throw new TraceError(
        path,
        `tensor "${name}"`,
        `${values.length} values for shape [${shape}] (${numel})`,
      );
    }
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v - v !== 0)
        throw new TraceError(path, `tensor "${name}"`, `value ${v} at element ${i} is not finite`);
    }
    return name;
  };

  const encode = (
    name: string,
    values: Float32Array,
  ): { bytes: Uint8Array; mask: Uint8Array; scale?: number } => {
    if (dtype === 'F32') {
      return { bytes: littleEndianBytes(values), mask: packMask(values) };
    }
    if (dtype === 'F16') {
      const bits = encodeFloat16(values);
      for (let i = 0; i < bits.length; i++) {
        if ((bits[i]! & 0x7c00) === 0x7c00) {
          throw new TraceError(path, `tensor "${name}"`, `value ${values[i]} at element ${i} overflows F16`);
        }
      }
      return { bytes: littleEndianBytes(bits), mask: packMask(decodeFloat16(bits)) };
    }
    let maxAbs = 0;
    for (let i = 0; i < values.length; i++) maxAbs = Math.max(maxAbs, Math.abs(values[i]!));
    const scale = maxAbs / 127;
    const q = new Int8Array(values.length);
    if (scale > 0) {
      for (let i = 0; i < values.length; i++) {
        const v = values[i]! / scale;
        // Round half away from zero; |v| ≤ 127 by construction of the scale.
        q[i] = Math.sign(v) * Math.min(127, Math.round(Math.abs(v)));
      }
    }
    return { bytes: new Uint8Array(q.buffer), mask: packMask(q), scale };
  };

  const writeValue = async (name: string, values: Float32Array, shape: readonly number[]) => {
    const { bytes, mask, scale } = encode(name, values);
    let shard = shards[shards.length - 1];
    if (!shard || (shard.dataBytes >= shardBytes && shard.entries.length > 0)) shard = await newShard();
    const mName = maskName(name);
    await append(shard, name, dtype, shape, bytes);
    await append(shard, mName, 'U8', [mask.length], mask);
    names.add(name);
    records.set(name, scale === undefined ? { crc32: crc32(bytes) } : { crc32: crc32(bytes), scale });
    records.set(mName, { crc32: crc32(mask) });
  };

  const guarded = async <T>(work: () => Promise<T>): Promise<T> => {
    if (state !== 'open') throw new TraceError(path, 'writer', `writer is ${state}`);
    try {
      return await work();
    } catch (error) {
      // A validation error leaves nothing half-written; an I/O error might, so it ends the writer.
      if (!(error instanceof TraceError)) state = 'failed';
      throw error;
    }
  };

  const writer: TraceWriter = {
    writeStatic: (layer, role, values, shape) =>
      serial(() =>
        guarded(async () => {
          if (isPerStep(role)) {
            throw new TraceError(
              path,
              `layer "${layer}" ${role}`,
              `role "${role}" is per step: use writeStep`,
            );
          }
          const name = check(layer, role, values, shape);
          await writeValue(name, values, shape);
        }),
      ),

    writeStep: (step, tensors) =>
      serial(() =>
        guarded(async () => {
          const checked = checkStep(path, `step ${steps.length}`, step, steps.length);
          const wanted = new Set<string>();
          for (const l of manifestBase.layers) {
            for (const role of l.roles) if (isPerStep(role)) wanted.add(tensorName(l.name, role, step.index));
          }
          const toWrite: { name: string; t: StepTensor }[] = [];
          for (const t of tensors) {
            if (!isPerStep(t.role)) {
              throw new TraceError(
                path,
                `step ${step.index} layer "${t.layer}"`,
                `role "${t.role}" is static: use writeStatic`,
              );
            }
            const name = check(t.layer, t.role, t.values, t.shape, step.index);
            if (toWrite.some((w) => w.name === name))
              throw new TraceError(path, `tensor "${name}"`, 'written twice');
            toWrite.push({ name, t });
            wanted.delete(name);
          }
          const missing = wanted.values().next();
          if (!missing.done)
            throw new TraceError(path, `tensor "${missing.value}"`, `missing from step ${step.index}`);
          for (const { name, t } of toWrite) await writeValue(name, t.values, t.shape);
          steps.push({
            index: checked.index,
            sequence: checked.sequence,
            position: checked.position,
            keyFrame: checked.keyFrame,
          });
        }),
      ),

    finish: () =>
      serial(() =>
        guarded(async () => {
          for (const name of staticNeeded) {
            if (!names.has(name))
              throw new TraceError(path, `tensor "${name}"`, 'listed by the manifest but never written');
          }
          if (shards.length === 0) await newShard();
          const manifest: TraceManifest = { ...manifestBase, steps };
          const manifestJson = JSON.stringify(manifest);
          const count = shards.length;
          const finalPaths = shards.map((_, i) => (count === 1 ? path : shardPath(path, i, count)));
          const files: string[] = [];
          let totalBytes = 0;
          const temporaries: string[] = [];
          try {
            for (const [i, shard] of shards.entries()) {
              await shard.handle.close();
              const table: Record<string, TensorRecord> = {};
              for (const e of shard.entries) {
                const record = records.get(e.name);
                if (record) table[e.name] = record;
              }
              const tableJson = JSON.stringify(table);
              const metadata: Record<string, string> = {
                [MANIFEST_METADATA_KEY]: manifestJson,
                [TENSORS_METADATA_KEY]: tableJson,
              };
              if (count > 1) metadata[SHARD_METADATA_KEY] = `${i + 1}/${count}`;
              metadata[CHECKSUMS_METADATA_KEY] = JSON.stringify(checksumsOf(metadata));
              const header = encodeHeader(shard.entries, metadata);
              const tmp = temporaryPathFor(finalPaths[i]!);
              temporaries.push(tmp);
              await assemble(tmp, header, shard.dataPath);
              totalBytes += header.length + shard.dataBytes;
            }
            let indexTmp: string | undefined;
            if (count > 1) {
              const weightMap: Record<string, string> = {};
              for (const [i, shard] of shards.entries()) {
                for (const e of shard.entries) weightMap[e.name] = basename(finalPaths[i]!);
              }
              const metadata: Record<string, string> = { [MANIFEST_METADATA_KEY]: manifestJson };
              metadata[CHECKSUMS_METADATA_KEY] = JSON.stringify(checksumsOf(metadata));
              const text = encodeShardIndex({
                metadata,
                shards: finalPaths.map((p) => basename(p)),
                weight_map: weightMap,
              });
              indexTmp = temporaryPathFor(path);
              temporaries.push(indexTmp);
              await writeFile(indexTmp, text);
              totalBytes += (await stat(indexTmp)).size;
            }
            // Shards first, the index last: a crash in between leaves no index, hence no trace.
            const replace = { overwrite: options.overwrite === true };
            for (const [i, tmp] of temporaries.slice(0, count).entries()) {
              await commitFile(tmp, finalPaths[i]!, replace);
              files.push(finalPaths[i]!);
            }
            if (indexTmp) {
              await commitFile(indexTmp, path, replace);
              files.push(path);
            }
          } catch (error) {
            await Promise.all(temporaries.map((t) => removeTemporary(t)));
            // Shards already renamed into place are ours and, without the rest, not a trace.
            await Promise.all(files.map((f) => rm(f, { force: true })));
            await removeData(shards);
            state = 'failed';
            throw error;
          }
          await removeData(shards);
          state = 'finished';
          return { files, bytes: totalBytes };
        }),
      ),

    abort: () =>
      serial(async () => {
        if (state === 'finished' || state === 'aborted') return;
        state = 'aborted';
        await Promise.all(shards.map((s) => s.handle.close().catch(() => undefined)));
        await removeData(shards);
      }),
  };
  return writer;
}

/** `trace.safetensors` → `trace-00002-of-00003.safetensors` beside it. */
export function shardPath(indexPath: string, index: number, count: number): string {
  const stem = basename(indexPath).replace(/\.(safetensors|json)$/, '');
  const pad = (n: number) => String(n).padStart(5, '0');
  return join(dirname(indexPath), `${stem}-${pad(index + 1)}-of-${pad(count)}.safetensors`);
}

function checksumsOf(metadata: Readonly<Record<string, string>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(metadata)) out[key] = crc32(value);
  return out;
}

function isPerStep(role: TensorRole): boolean {
  return PER_STEP_ROLES.includes(role);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The bytes of a typed array in little-endian order: a view on little-endian hosts, a swapped copy otherwise. */
function littleEndianBytes(values: Float32Array | Uint16Array): Uint8Array {
  const view = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (LITTLE_ENDIAN) return view;
  const out = new Uint8Array(view.length);
  const width = values.BYTES_PER_ELEMENT;
  for (let i = 0; i < view.length; i += width)
    for (let b = 0; b < width; b++) out[i + b] = view[i + width - 1 - b]!;
  return out;
}

async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/** Header + the shard's data file → `target`. */
async function assemble(target: string, header: Uint8Array, dataPath: string): Promise<void> {
  const out = await open(target, 'w');
  try {
    await writeAll(out, header, 0);
    const input = await open(dataPath, 'r');
    try {
      const chunk = Buffer.allocUnsafeSlow(COPY_CHUNK_BYTES);
      let position = 0;
      for (;;) {
        const { bytesRead } = await input.read(chunk, 0, chunk.length, position);
        if (bytesRead === 0) break;
        await writeAll(out, chunk.subarray(0, bytesRead), header.length + position);
        position += bytesRead;
      }
    } finally {
      await input.close();
    }
  } finally {
    await out.close();
  }
}

async function removeData(shards: readonly Shard[]): Promise<void> {
  await Promise.all(shards.map((s) => removeTemporary(s.dataPath)));
}
