/**
 * Streaming trace reader (docs/trace-format.md). `openTrace` reads only headers and checks the
 * whole structure before returning; tensors are then read on demand with positioned reads (with
 * read-ahead when the caller walks them in storage order, see ./read-ahead.ts), so memory is
 * O(largest tensor) whatever the trace length. Shards of a sharded trace are opened on first use.
 * Every read is checked against the CRC-32 the writer stored, when there is one, in the same pass
 * that checks values for NaN/Inf (./tensor-scan.ts).
 */

import type { FileHandle } from 'node:fs/promises';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { decodeFloat16 } from './float16.js';
import {
  MANIFEST_METADATA_KEY,
  maskName,
  PER_STEP_ROLES,
  type TraceManifest,
  tensorName,
} from './manifest.js';
import { checkManifest, checkReplayable, expectedShape } from './manifest-check.js';
import { maskBytes } from './mask.js';
import {
  allocate,
  createBlockPool,
  createReadAheadFile,
  errorCode,
  openHandle,
  READ_LIMITS,
  type ReadAheadFile,
  readExactly,
} from './read-ahead.js';
import {
  ALIGNMENT_BYTES,
  DTYPE_BYTES,
  type Dtype,
  elementCount,
  headerLength,
  isPaddingName,
  parseHeader,
  parseJsonObject,
  type TensorEntry,
} from './safetensors.js';
import { looksLikeShardIndex, MAX_INDEX_BYTES, parseShardIndex, type ShardIndex } from './shard-index.js';
import { type FiniteCheck, firstNonFinite, scanTensor } from './tensor-scan.js';
import { TraceError, TraceUnreadableError } from './trace-error.js';
import {
  CHECKSUMS_METADATA_KEY,
  parseChecksums,
  parseTensorTable,
  SHARD_METADATA_KEY,
  TENSORS_METADATA_KEY,
  type TensorRecord,
} from './trace-metadata.js';

export interface TensorInfo {
  readonly name: string;
  readonly dtype: 'F32' | 'F16' | 'I8' | 'U8';
  readonly shape: readonly number[];
  /** Stored bytes of this tensor alone. */
  readonly bytes: number;
}

export interface ReadOptions {
  /**
   * Return a view of memory the reader recycles instead of a buffer of the caller's own: valid only
   * until the next transient read on this reader (plain reads in between do not disturb it), not to
   * be kept, transferred or modified. For callers that use or copy each tensor at once (validate,
   * inspect, export, a replay step): it spares a fresh allocation per tensor, whose page faults and
   * garbage collections cost more than the read itself, and lets the check run where the data landed.
   */
  readonly transient?: boolean;
  /**
   * `readBytes` of an F32 / F16 value tensor: also reject NaN/Inf (TraceError naming the first),
   * in the checksum's pass over the bytes rather than a second one. `readValues` always checks.
   */
  readonly finite?: boolean;
}

export interface TraceReader {
  readonly path: string;
  readonly manifest: TraceManifest;
  /** Every tensor except alignment padding, in storage order. */
  tensors(): readonly TensorInfo[];
  has(name: string): boolean;
  /** TraceError if absent. */
  info(name: string): TensorInfo;
  /** Decoded to f32 (F16 → f32, I8 × scale); TraceError on NaN/Inf or a checksum mismatch. */
  readValues(name: string, options?: ReadOptions): Promise<Float32Array>;
  /** The stored bit-packed mask of value tensor `name` (reads `name#mask`). */
  readMask(name: string, options?: ReadOptions): Promise<Uint8Array>;
  /** The stored bytes of any tensor, checksum-verified (export uses this). */
  readBytes(name: string, options?: ReadOptions): Promise<Uint8Array>;
  /** The I8 scale of `name`, if it is an I8 tensor. */
  scaleOf(name: string): number | undefined;
  /** The files this trace consists of (the index first when sharded). */
  readonly files: readonly string[];
  close(): Promise<void>;
}

interface ShardFile {
  readonly path: string;
  readonly bytes: number;
  /** The handle `openTrace` already holds (single-file traces); shards are opened on first read. */
  readonly handle?: FileHandle;
}

interface Located {
  readonly info: TensorInfo;
  readonly shard: ShardFile;
  readonly data: ReadAheadFile;
  /** Index among the shard's tensors in storage order (padding included). */
  readonly index: number;
  readonly record: TensorRecord | undefined;
  /** Named by the manifest (a layer's value or its mask): set while the manifest is checked. */
  named: boolean;
}

interface ParsedShard {
  readonly file: ShardFile;
  readonly tensors: readonly TensorEntry[];
  readonly dataStart: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly records: ReadonlyMap<string, TensorRecord>;
}

export interface OpenTraceOptions {
  /**
   * Check each tensor's stored CRC-32 on every read (default true). It shares one pass over the
   * data with the NaN/Inf check (several GB/s, see ./tensor-scan.ts); turning it off trades
   * corruption detection for a little read speed.
   */
  readonly verifyChecksums?: boolean;
}

/** Opens a `.safetensors` trace or a shard index; validates the structure before returning. */
export async function openTrace(path: string, options: OpenTraceOptions = {}): Promise<TraceReader> {
  const verify = options.verifyChecksums ?? true;
  const bytes = await fileSize(path);
  const handle = await openHandle(path);
  let keepHandle = false;
  try {
    const prefix = await readExactly(path, handle, Math.min(bytes, 8), 0);
    if (looksLikeShardIndex(prefix, bytes)) {
      if (bytes > MAX_INDEX_BYTES)
        throw new TraceError(path, 'index', `index of ${bytes} bytes exceeds the limit`);
      const text = decodeUtf8(path, 'index', await readExactly(path, handle, bytes, 0));
      return await openSharded(path, parseShardIndex(path, text), verify);
    }
    const file: ShardFile = { path, bytes, handle };
    const shard = await parseShard(file, handle);
    const manifestText = requireManifest(path, shard.metadata);
    const reader = buildReader(path, [path], manifestText, [shard], verify);
    keepHandle = true;
    return reader;
  } finally {
    if (!keepHandle) await handle.close();
  }
}

async function openSharded(indexPath: string, index: ShardIndex, verify: boolean): Promise<TraceReader> {
  verifyMetadataChecksums(indexPath, index.metadata);
  const manifestText = requireManifest(indexPath, index.metadata);
  const shards: ParsedShard[] = [];
  const directory = dirname(indexPath);
  for (const [i, name] of index.shards.entries()) {
    const path = join(directory, name);
    const file: ShardFile = { path, bytes: await fileSize(path) };
    const handle = await openHandle(path);
    try {
      const shard = await parseShard(file, handle);
      if (shard.metadata[MANIFEST_METADATA_KEY] !== manifestText) {
        throw new TraceError(
          path,
          `__metadata__["${MANIFEST_METADATA_KEY}"]`,
          'differs from the index manifest',
        );
      }
      const label = shard.metadata[SHARD_METADATA_KEY];
      if (label !== undefined && label !== `${i + 1}/${index.shards.length}`) {
        throw new TraceError(
          path,
          `__metadata__["${SHARD_METADATA_KEY}"]`,
          `is "${label}", expected ${i + 1}/${index.shards.length}`,
        );
      }
      for (const t of shard.tensors) {
        if (index.weight_map[t.name] !== name) {
          throw new TraceError(indexPath, `weight_map["${t.name}"]`, `tensor is stored in ${name}`);
        }
      }
      shards.push(shard);
    } finally {
      await handle.close();
    }
  }
  const stored = new Set(shards.flatMap((s) => s.tensors.map((t) => t.name)));
  for (const name of Object.keys(index.weight_map)) {
    if (!stored.has(name)) throw new TraceError(indexPath, `weight_map["${name}"]`, 'tensor is in no shard');
  }
  return buildReader(indexPath, [indexPath, ...shards.map((s) => s.file.path)], manifestText, shards, verify);
}

async function parseShard(file: ShardFile, handle: FileHandle): Promise<ParsedShard> {
  const prefix = await readExactly(file.path, handle, Math.min(file.bytes, 8), 0);
  const n = headerLength(file.path, prefix, file.bytes);
  const json = await readExactly(file.path, handle, n, 8);
  const header = parseHeader(file.path, json, file.bytes - 8 - n);
  verifyMetadataChecksums(file.path, header.metadata);
  const tableText = header.metadata[TENSORS_METADATA_KEY];
  const records = tableText === undefined ? new Map() : parseTensorTable(file.path, tableText);
  return { file, tensors: header.tensors, dataStart: header.dataStart, metadata: header.metadata, records };
}

function requireManifest(source: string, metadata: Readonly<Record<string, string>>): string {
  const text = metadata[MANIFEST_METADATA_KEY];
  if (text === undefined) {
    throw new TraceError(source, `__metadata__["${MANIFEST_METADATA_KEY}"]`, 'missing: not a deltasim trace');
  }
  return text;
}

function verifyMetadataChecksums(source: string, metadata: Readonly<Record<string, string>>): void {
  const text = metadata[CHECKSUMS_METADATA_KEY];
  if (text === undefined) return;
  for (const [key, expected] of parseChecksums(source, text)) {
    const value = metadata[key];
    if (value === undefined) {
      throw new TraceError(source, `__metadata__["${CHECKSUMS_METADATA_KEY}"]`, `names missing key "${key}"`);
    }
    if (crc32(value) !== expected) throw new TraceError(source, `__metadata__["${key}"]`, 'CRC-32 mismatch');
  }
}

function buildReader(
  path: string,
  files: readonly string[],
  manifestText: string,
  shards: readonly ParsedShard[],
  verify: boolean,
): TraceReader {
  const manifest = checkManifest(
    path,
    parseJsonObject(path, `__metadata__["${MANIFEST_METADATA_KEY}"]`, manifestText),
  );
  const located = new Map<string, Located>();
  const ordered: TensorInfo[] = [];
  const dataFiles: ReadAheadFile[] = [];
  // One pool for all shards: a transient result lasts until the next transient read on this reader.
  const pool = createBlockPool();
  for (const shard of shards) {
    const extents = shard.tensors.map((t) => ({
      position: shard.dataStart + t.begin,
      bytes: t.end - t.begin,
      padding: isPaddingName(t.name),
    }));
    const data = createReadAheadFile(shard.file.path, extents, {
      pool,
      ...(shard.file.handle ? { handle: shard.file.handle } : {}),
    });
    dataFiles.push(data);
    for (let index = 0; index < shard.tensors.length; index++) {
      const t = shard.tensors[index]!;
      const bytes = t.end - t.begin;
      if (bytes > READ_LIMITS.maxTensorBytes) {
        throw new TraceError(
          shard.file.path,
          `tensor "${t.name}"`,
          `${bytes} bytes exceed the ${READ_LIMITS.maxTensorBytes}-byte limit of one tensor`,
        );
      }
      if (isPaddingName(t.name)) {
        if (t.dtype !== 'U8' || bytes >= ALIGNMENT_BYTES) {
          throw new TraceError(
            shard.file.path,
            `tensor "${t.name}"`,
            `padding must be U8 of at most ${ALIGNMENT_BYTES - 1} bytes`,
          );
        }
        continue;
      }
      if (located.has(t.name))
        throw new TraceError(shard.file.path, `tensor "${t.name}"`, 'stored in two shards');
      const info: TensorInfo = { name: t.name, dtype: t.dtype, shape: t.shape, bytes: t.end - t.begin };
      located.set(t.name, {
        info,
        shard: shard.file,
        data,
        index,
        record: shard.records.get(t.name),
        named: false,
      });
      ordered.push(info);
    }
  }
  checkTensorsAgainstManifest(path, manifest, located);
  checkReplayable(path, manifest, (name) => elementCount(located.get(name)!.info.shape));
  // forEach: no iterator result per tensor (this runs once, in V8's interpreter).
  located.forEach((l, name) => {
    if (!l.named) throw new TraceError(l.shard.path, `tensor "${name}"`, 'not named by the manifest');
  });

  const locate = (name: string): Located => {
    const l = located.get(name);
    if (!l) throw new TraceError(path, `tensor "${name}"`, 'not in this trace');
    return l;
  };

  /**
   * The stored bytes, checksum-verified and (with `finite`) checked for NaN/Inf in the same pass,
   * where the read left them; then a copy of the caller's own unless the read is transient.
   */
  const readChecked = <T>(
    l: Located,
    options: ReadOptions | undefined,
    finite: FiniteCheck | undefined,
    make: (bytes: Uint8Array, owned: boolean) => T,
  ): Promise<T> => {
    const transient = options?.transient === true;
    return l.data.read(l.index, transient, (stored, owned) => {
      const expected = verify ? l.record?.crc32 : undefined;
      const scan = scanTensor(stored, { crc32: expected !== undefined, ...(finite ? { finite } : {}) });
      if (scan.crc32 !== expected) {
        throw new TraceError(l.shard.path, `tensor "${l.info.name}"`, 'CRC-32 mismatch: data corrupted');
      }
      if (!scan.finite && finite) throw nonFinite(l.shard.path, l.info.name, firstNonFinite(stored, finite));
      return transient || owned ? make(stored, owned) : make(copyOf(stored), true);
    });
  };
  const readBytes = (name: string, options?: ReadOptions): Promise<Uint8Array> => {
    const l = locate(name);
    return readChecked(
      l,
      options,
      options?.finite ? finiteCheckOf(l.info.dtype) : undefined,
      (bytes) => bytes,
    );
  };

  return {
    path,
    manifest,
    files,
    tensors: () => ordered,
    has: (name) => located.has(name),
    info: (name) => locate(name).info,
    scaleOf: (name) => locate(name).record?.scale,
    readBytes,
    readValues: async (name, options) => {
      const l = locate(name);
      return readChecked(l, options, finiteCheckOf(l.info.dtype), (raw, owned) =>
        decodeValues(l, raw, owned),
      );
    },
    readMask: async (name, options) => {
      const l = locate(name);
      if (l.info.dtype === 'U8' && name.endsWith('#mask')) {
        throw new TraceError(path, `tensor "${name}"`, 'is itself a mask; pass the value tensor name');
      }
      return readBytes(maskName(name), options);
    },
    close: async () => {
      await Promise.all(dataFiles.map((f) => f.close()));
      pool.close();
    },
  };
}

/**
 * Every tensor a layer names exists, with the right dtype and shape, and so does its mask. Marks
 * these values and masks `named`: the caller rejects any other stored tensor (padding aside).
 */
function checkTensorsAgainstManifest(
  source: string,
  manifest: TraceManifest,
  located: ReadonlyMap<string, Located>,
): void {
  const need = (name: string, shape: readonly number[] | undefined) => {
    const l = located.get(name);
    if (!l) throw new TraceError(source, `tensor "${name}"`, 'named by the manifest but missing');
    l.named = true;
    const { dtype } = l.info;
    if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'I8') {
      throw new TraceError(l.shard.path, `tensor "${name}"`, `value dtype ${dtype} is not F32, F16 or I8`);
    }
    const decodedBytes = elementCount(l.info.shape) * DTYPE_BYTES.F32;
    if (decodedBytes > READ_LIMITS.maxTensorBytes) {
      throw new TraceError(
        l.shard.path,
        `tensor "${name}"`,
        `${decodedBytes} bytes decoded to F32 exceed the ${READ_LIMITS.maxTensorBytes}-byte limit of one tensor`,
      );
    }
    if (shape && !sameShape(shape, l.info.shape)) {
      throw new TraceError(
        l.shard.path,
        `tensor "${name}"`,
        `shape [${l.info.shape}] but the manifest implies [${shape}]`,
      );
    }
    if (dtype === 'I8' && l.record?.scale === undefined) {
      throw new TraceError(
        l.shard.path,
        `tensor "${name}"`,
        `I8 tensor has no scale in ${TENSORS_METADATA_KEY}`,
      );
    }
    const mName = maskName(name);
    const mask = located.get(mName);
    if (!mask) throw new TraceError(source, `tensor "${mName}"`, 'mask missing');
    mask.named = true;
    const wanted = maskBytes(elementCount(l.info.shape));
    if (mask.info.dtype !== 'U8' || mask.info.shape.length !== 1 || mask.info.shape[0] !== wanted) {
      throw new TraceError(
        mask.shard.path,
        `tensor "${mName}"`,
        `mask must be U8 [${wanted}], got ${mask.info.dtype} [${mask.info.shape}]`,
      );
    }
  };
  for (const layer of manifest.layers) {
    for (const role of layer.roles) {
      const shape = expectedShape(layer, role);
      if (PER_STEP_ROLES.includes(role)) {
        for (const step of manifest.steps) need(tensorName(layer.name, role, step.index), shape);
      } else {
        need(tensorName(layer.name, role), shape);
      }
    }
  }
}

/** The dtypes that can hold NaN/Inf. */
function finiteCheckOf(dtype: Dtype): FiniteCheck | undefined {
  return dtype === 'F32' || dtype === 'F16' ? dtype : undefined;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Stored bytes (already checked: no NaN/Inf) → f32; F32 is a view on `raw`, without a copy. */
/** `bytes` in a buffer of its own at offset 0 (so typed views over it are aligned). */
function copyOf(bytes: Uint8Array): Uint8Array {
  const out = allocate(bytes.length);
  out.set(bytes);
  return out;
}

/**
 * Stored bytes (already checked: no NaN/Inf) → f32. F32 is a view on `stored`, without a copy, when it
 * is `owned` (the caller's own) or transient and aligned; recycled memory is never modified.
 */
function decodeValues(l: Located, stored: Uint8Array, owned: boolean): Float32Array {
  const n = elementCount(l.info.shape);
  const dtype: Dtype = l.info.dtype;
  const width = DTYPE_BYTES[dtype];
  let raw = stored;
  if (!LITTLE_ENDIAN && width > 1) raw = swapBytes(owned ? raw : copyOf(raw), width);
  // Readers must accept unaligned tensors (docs/trace-format.md); typed views need alignment.
  else if (raw.byteOffset % width !== 0) raw = copyOf(raw);
  if (dtype === 'F32') return new Float32Array(raw.buffer, raw.byteOffset, n);
  if (dtype === 'F16') return decodeFloat16(new Uint16Array(raw.buffer, raw.byteOffset, n));
  const out = new Float32Array(n);
  if (dtype === 'I8') {
    const scale = l.record?.scale ?? 1;
    const q = new Int8Array(raw.buffer, raw.byteOffset, n);
    for (let i = 0; i < n; i++) out[i] = q[i]! * scale;
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = raw[i]!;
  return out;
}

function nonFinite(source: string, name: string, index: number): TraceError {
  return new TraceError(source, `tensor "${name}"`, `element ${index} is NaN or Infinity`);
}

function swapBytes(raw: Uint8Array, width: number): Uint8Array {
  for (let i = 0; i + width <= raw.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = raw[a]!;
      raw[a] = raw[b]!;
      raw[b] = t;
    }
  }
  return raw;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function decodeUtf8(source: string, location: string, bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new TraceError(source, location, 'not valid UTF-8');
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new TraceUnreadableError(path, '', 'not a regular file');
    return s.size;
  } catch (error) {
    if (error instanceof TraceError) throw error;
    throw new TraceUnreadableError(path, '', `cannot read (${errorCode(error)})`);
  }
}
