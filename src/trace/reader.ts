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
  type ExtentList,
  errorCode,
  openHandle,
  READ_LIMITS,
  type ReadAheadFile,
  readExactly,
} from './read-ahead.js';
import {
  ALIGNMENT_BYTES,
  DTYPE_BYTES,
  DTYPES,
  type Dtype,
  findTensor,
  headerLength,
  isPaddingName,
  parseHeader,
  parseJsonObject,
  type TensorTable,
  tableElements,
  tableShape,
} from './safetensors.js';
import { looksLikeShardIndex, MAX_INDEX_BYTES, parseShardIndex, type ShardIndex } from './shard-index.js';
import { type FiniteCheck, firstNonFinite, scanTensor } from './tensor-scan.js';
import { TraceError, TraceUnreadableError } from './trace-error.js';
import {
  CHECKSUMS_METADATA_KEY,
  parseChecksums,
  SHARD_METADATA_KEY,
  TENSORS_METADATA_KEY,
  tensorRecordColumns,
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
  /**
   * `use` applied to a transient view of the stored bytes (checked as `readBytes` with the same
   * `finite`) during the read itself, before any other read on this reader can run; resolves to what
   * it returns. For judging a tensor where it landed when several callers share the reader: a
   * transient result awaited is handed over in a later microtask, by which time a concurrent read
   * may have reused its memory.
   */
  withBytes<T>(
    name: string,
    use: (bytes: Uint8Array) => T,
    options?: Pick<ReadOptions, 'finite'>,
  ): Promise<T>;
  /** As `withBytes`, on the decoded values (a transient view where no decoding was needed). */
  withValues<T>(name: string, use: (values: Float32Array) => T): Promise<T>;
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

/**
 * A tensor as the reader finds it: its shard and its index there (storage order, padding
 * included). Built per lookup and dropped: the reader keeps columns (see TensorTable).
 */
interface Located {
  readonly shard: ShardColumns;
  readonly data: ReadAheadFile;
  readonly index: number;
  readonly name: string;
  readonly dtype: Dtype;
}

/**
 * An opened trace's checked structure as plain data of few objects (typed arrays, one string of
 * names per shard), so posting it to a worker thread is a few copies of memory, not a clone of
 * thousands of objects: the thread then reads the same trace (`adoptTrace`) without parsing and
 * checking its headers again. Every tensor it reads is still checked (checksum, NaN/Inf, mask).
 */
export interface TraceHandover {
  readonly path: string;
  readonly files: readonly string[];
  readonly manifest: TraceManifest;
  readonly verify: boolean;
  readonly shards: readonly ShardHandover[];
}

/** A shard's columns (TensorTable's typed arrays as they are), its names as one string. */
interface ShardHandover extends Omit<TensorTable, 'count' | 'names'> {
  readonly path: string;
  readonly bytes: number;
  readonly dataStart: number;
  /** Every tensor name, joined; name i ends at nameEnds[i]. */
  readonly names: string;
  readonly nameEnds: Uint32Array;
  readonly crc32: Float64Array;
  readonly scale: Float64Array;
}

/** `withBytes` / `withValues` read in recycled memory: `use` runs while it holds the tensor. */
const TRANSIENT: ReadOptions = { transient: true };

/** Readers `openTrace` built, and how to hand each over. */
const handovers = new WeakMap<TraceReader, () => TraceHandover>();

/** The handover of a reader `openTrace` returned (not a wrapper of it); TypeError for any other. */
export function traceHandover(reader: TraceReader): TraceHandover {
  const handover = handovers.get(reader);
  if (!handover) throw new TypeError(`${reader.path}: not a reader openTrace returned`);
  return handover();
}

/**
 * The reader of a trace another reader opened and checked (`traceHandover`), on any thread: its
 * files are opened on the first read, and every read is checked as `openTrace`'s reader checks it.
 */
export function adoptTrace(handover: TraceHandover): TraceReader {
  const shards = handover.shards.map((h): ShardColumns => {
    const names = new Array<string>(h.nameEnds.length);
    for (let i = 0, start = 0; i < names.length; i++) {
      names[i] = h.names.slice(start, h.nameEnds[i]!);
      start = h.nameEnds[i]!;
    }
    const { dtypes, begins, ends, shapeStarts, dims, byName } = h;
    return {
      file: { path: h.path, bytes: h.bytes },
      tensors: { count: names.length, names, dtypes, begins, ends, shapeStarts, dims, byName },
      dataStart: h.dataStart,
      crc32: h.crc32,
      scale: h.scale,
    };
  });
  return buildReader(handover.path, handover.files, handover.manifest, shards, handover.verify, false);
}

function handoverOf(shard: ShardColumns): ShardHandover {
  const t = shard.tensors;
  const nameEnds = new Uint32Array(t.count);
  let end = 0;
  for (let i = 0; i < t.count; i++) nameEnds[i] = end += t.names[i]!.length;
  return {
    path: shard.file.path,
    bytes: shard.file.bytes,
    dataStart: shard.dataStart,
    names: t.names.join(''),
    nameEnds,
    dtypes: t.dtypes,
    begins: t.begins,
    ends: t.ends,
    shapeStarts: t.shapeStarts,
    dims: t.dims,
    byName: t.byName,
    crc32: shard.crc32,
    scale: shard.scale,
  };
}

/** A shard's data as the reader keeps it once its header is checked. */
interface ShardColumns {
  readonly file: ShardFile;
  readonly tensors: TensorTable;
  readonly dataStart: number;
  /** From the tensor table, by tensor index (NaN: none). */
  readonly crc32: Float64Array;
  readonly scale: Float64Array;
}

interface ParsedShard extends ShardColumns {
  readonly metadata: Readonly<Record<string, string>>;
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
    const manifest = manifestOf(path, requireManifest(path, shard.metadata));
    const reader = buildReader(path, [path], manifest, [columnsOf(shard)], verify, true);
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
      for (const t of shard.tensors.names) {
        if (index.weight_map[t] !== name) {
          throw new TraceError(indexPath, `weight_map["${t}"]`, `tensor is stored in ${name}`);
        }
      }
      shards.push(shard);
    } finally {
      await handle.close();
    }
  }
  const stored = new Set(shards.flatMap((s) => s.tensors.names));
  for (const name of Object.keys(index.weight_map)) {
    if (!stored.has(name)) throw new TraceError(indexPath, `weight_map["${name}"]`, 'tensor is in no shard');
  }
  const files = [indexPath, ...shards.map((s) => s.file.path)];
  return buildReader(
    indexPath,
    files,
    manifestOf(indexPath, manifestText),
    shards.map(columnsOf),
    verify,
    true,
  );
}

async function parseShard(file: ShardFile, handle: FileHandle): Promise<ParsedShard> {
  const prefix = await readExactly(file.path, handle, Math.min(file.bytes, 8), 0);
  const n = headerLength(file.path, prefix, file.bytes);
  const json = await readExactly(file.path, handle, n, 8);
  const header = parseHeader(file.path, json, file.bytes - 8 - n);
  verifyMetadataChecksums(file.path, header.metadata);
  const tableText = header.metadata[TENSORS_METADATA_KEY];
  const none = (): Float64Array => new Float64Array(header.tensors.count).fill(Number.NaN);
  const { crc32, scale } =
    tableText === undefined
      ? { crc32: none(), scale: none() }
      : tensorRecordColumns(file.path, tableText, header.tensors);
  return {
    file,
    tensors: header.tensors,
    dataStart: header.dataStart,
    metadata: header.metadata,
    crc32,
    scale,
  };
}

/**
 * What the reader keeps of a shard: not its metadata, whose texts (the manifest, a tensor table of
 * ~50 bytes per tensor) are parsed into the manifest and the columns already.
 */
function columnsOf({ file, tensors, dataStart, crc32, scale }: ParsedShard): ShardColumns {
  return { file, tensors, dataStart, crc32, scale };
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

function manifestOf(path: string, text: string): TraceManifest {
  return checkManifest(path, parseJsonObject(path, `__metadata__["${MANIFEST_METADATA_KEY}"]`, text));
}

/**
 * The reader of checked shards. `check`: check the tensors against the limits and the manifest
 * (every opening); false only for a structure another reader checked already (`adoptTrace`).
 */
function buildReader(
  path: string,
  files: readonly string[],
  manifest: TraceManifest,
  shards: readonly ShardColumns[],
  verify: boolean,
  check: boolean,
): TraceReader {
  const dataFiles: ReadAheadFile[] = [];
  const padding: Uint8Array[] = [];
  // One pool for all shards: a transient result lasts until the next transient read on this reader.
  const pool = createBlockPool();
  /** The tensor named `name` (padding is not a tensor), searching the shards in order. */
  const find = (name: string): Located | undefined => {
    for (let s = 0; s < dataFiles.length; s++) {
      const shard = shards[s]!;
      const index = findTensor(shard.tensors, name);
      if (index >= 0 && padding[s]![index] === 0) {
        const dtype = DTYPES[shard.tensors.dtypes[index]!]!;
        return { shard, data: dataFiles[s]!, index, name, dtype };
      }
    }
    return undefined;
  };
  for (const [s, shard] of shards.entries()) {
    const t = shard.tensors;
    const pad = new Uint8Array(t.count);
    for (let i = 0; i < t.count; i++) pad[i] = isPaddingName(t.names[i]!) ? 1 : 0;
    const extents: ExtentList = {
      length: t.count,
      position: (i) => shard.dataStart + t.begins[i]!,
      bytes: (i) => t.ends[i]! - t.begins[i]!,
      padding: (i) => pad[i] === 1,
    };
    // The earlier shards only: names within one shard are unique (its header says so).
    if (check) checkShardTensors(shard, pad, s > 0 ? find : undefined);
    dataFiles.push(
      createReadAheadFile(shard.file.path, extents, {
        pool,
        ...(shard.file.handle ? { handle: shard.file.handle } : {}),
      }),
    );
    padding.push(pad);
  }
  if (check) checkNamedTensors(path, manifest, shards, padding, find);
  const handover = (): TraceHandover => ({
    path,
    files,
    manifest,
    verify,
    shards: shards.map(handoverOf),
  });

  const locate = (name: string): Located => {
    const l = find(name);
    if (!l) throw new TraceError(path, `tensor "${name}"`, 'not in this trace');
    return l;
  };
  let ordered: TensorInfo[] | undefined;

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
      const crc = l.shard.crc32[l.index]!;
      const expected = verify && !Number.isNaN(crc) ? crc : undefined;
      const scan = scanTensor(stored, { crc32: expected !== undefined, ...(finite ? { finite } : {}) });
      if (scan.crc32 !== expected) {
        throw new TraceError(l.shard.file.path, `tensor "${l.name}"`, 'CRC-32 mismatch: data corrupted');
      }
      if (!scan.finite && finite) throw nonFinite(l.shard.file.path, l.name, firstNonFinite(stored, finite));
      return transient || owned ? make(stored, owned) : make(copyOf(stored), true);
    });
  };
  const readBytes = (name: string, options?: ReadOptions): Promise<Uint8Array> => {
    const l = locate(name);
    return readChecked(l, options, options?.finite ? finiteCheckOf(l.dtype) : undefined, (bytes) => bytes);
  };

  const reader: TraceReader = {
    path,
    manifest,
    files,
    tensors: () => {
      ordered ??= shards.flatMap((shard, s) => {
        const out: TensorInfo[] = [];
        for (let i = 0; i < shard.tensors.count; i++) if (!padding[s]![i]) out.push(infoOf(shard.tensors, i));
        return out;
      });
      return ordered;
    },
    has: (name) => find(name) !== undefined,
    info: (name) => {
      const l = locate(name);
      return infoOf(l.shard.tensors, l.index);
    },
    scaleOf: (name) => scaleOf(locate(name)),
    readBytes,
    readValues: async (name, options) => {
      const l = locate(name);
      return readChecked(l, options, finiteCheckOf(l.dtype), (raw, owned) => decodeValues(l, raw, owned));
    },
    withBytes: async (name, use, options) => {
      const l = locate(name);
      const finite = options?.finite ? finiteCheckOf(l.dtype) : undefined;
      return readChecked(l, TRANSIENT, finite, (bytes) => use(bytes));
    },
    withValues: async (name, use) => {
      const l = locate(name);
      return readChecked(l, TRANSIENT, finiteCheckOf(l.dtype), (raw, owned) =>
        use(decodeValues(l, raw, owned)),
      );
    },
    readMask: async (name, options) => {
      const l = locate(name);
      if (l.dtype === 'U8' && name.endsWith('#mask')) {
        throw new TraceError(path, `tensor "${name}"`, 'is itself a mask; pass the value tensor name');
      }
      return readBytes(maskName(name), options);
    },
    close: async () => {
      await Promise.all(dataFiles.map((f) => f.close()));
      pool.close();
    },
  };
  handovers.set(reader, handover);
  return reader;
}

/** A shard's tensors within the limits: sizes, padding, and (`earlier`: the shards before it) unique names. */
function checkShardTensors(
  shard: ShardColumns,
  pad: Uint8Array,
  earlier: ((name: string) => Located | undefined) | undefined,
): void {
  const t = shard.tensors;
  for (let index = 0; index < t.count; index++) {
    const name = t.names[index]!;
    const bytes = t.ends[index]! - t.begins[index]!;
    if (bytes > READ_LIMITS.maxTensorBytes) {
      throw new TraceError(
        shard.file.path,
        `tensor "${name}"`,
        `${bytes} bytes exceed the ${READ_LIMITS.maxTensorBytes}-byte limit of one tensor`,
      );
    }
    if (pad[index]) {
      if (DTYPES[t.dtypes[index]!] !== 'U8' || bytes >= ALIGNMENT_BYTES) {
        throw new TraceError(
          shard.file.path,
          `tensor "${name}"`,
          `padding must be U8 of at most ${ALIGNMENT_BYTES - 1} bytes`,
        );
      }
      continue;
    }
    if (earlier?.(name)) throw new TraceError(shard.file.path, `tensor "${name}"`, 'stored in two shards');
  }
}

/** The manifest's tensors are stored as it says, it can be replayed, and every other tensor is padding. */
function checkNamedTensors(
  path: string,
  manifest: TraceManifest,
  shards: readonly ShardColumns[],
  padding: readonly Uint8Array[],
  find: (name: string) => Located | undefined,
): void {
  /** Per shard: which tensors the manifest names (a layer's value or its mask). */
  const named = shards.map((shard) => new Uint8Array(shard.tensors.count));
  checkTensorsAgainstManifest(path, manifest, find, (l) => {
    named[shards.indexOf(l.shard)]![l.index] = 1;
  });
  checkReplayable(path, manifest, (name) => {
    const l = find(name)!;
    return tableElements(l.shard.tensors, l.index);
  });
  for (const [s, shard] of shards.entries()) {
    for (let i = 0; i < shard.tensors.count; i++) {
      if (!padding[s]![i] && !named[s]![i])
        throw new TraceError(
          shard.file.path,
          `tensor "${shard.tensors.names[i]}"`,
          'not named by the manifest',
        );
    }
  }
}

function infoOf(table: TensorTable, i: number): TensorInfo {
  return {
    name: table.names[i]!,
    dtype: DTYPES[table.dtypes[i]!]!,
    shape: tableShape(table, i),
    bytes: table.ends[i]! - table.begins[i]!,
  };
}

function scaleOf(l: Located): number | undefined {
  const scale = l.shard.scale[l.index]!;
  return Number.isNaN(scale) ? undefined : scale;
}

/**
 * Every tensor a layer names exists, with the right dtype and shape, and so does its mask. Calls
 * `mark` for these values and masks: the caller rejects any other stored tensor (padding aside).
 */
function checkTensorsAgainstManifest(
  source: string,
  manifest: TraceManifest,
  find: (name: string) => Located | undefined,
  mark: (l: Located) => void,
): void {
  const need = (name: string, shape: readonly number[] | undefined) => {
    const l = find(name);
    if (!l) throw new TraceError(source, `tensor "${name}"`, 'named by the manifest but missing');
    mark(l);
    const { dtype } = l;
    const path = l.shard.file.path;
    if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'I8') {
      throw new TraceError(path, `tensor "${name}"`, `value dtype ${dtype} is not F32, F16 or I8`);
    }
    const elements = tableElements(l.shard.tensors, l.index);
    const decodedBytes = elements * DTYPE_BYTES.F32;
    if (decodedBytes > READ_LIMITS.maxTensorBytes) {
      throw new TraceError(
        path,
        `tensor "${name}"`,
        `${decodedBytes} bytes decoded to F32 exceed the ${READ_LIMITS.maxTensorBytes}-byte limit of one tensor`,
      );
    }
    if (shape && !sameShape(shape, l.shard.tensors, l.index)) {
      throw new TraceError(
        path,
        `tensor "${name}"`,
        `shape [${tableShape(l.shard.tensors, l.index)}] but the manifest implies [${shape}]`,
      );
    }
    if (dtype === 'I8' && scaleOf(l) === undefined) {
      throw new TraceError(path, `tensor "${name}"`, `I8 tensor has no scale in ${TENSORS_METADATA_KEY}`);
    }
    const mName = maskName(name);
    const mask = find(mName);
    if (!mask) throw new TraceError(source, `tensor "${mName}"`, 'mask missing');
    mark(mask);
    const wanted = maskBytes(elements);
    const m = mask.shard.tensors;
    const mShape = tableShape(m, mask.index);
    if (mask.dtype !== 'U8' || mShape.length !== 1 || mShape[0] !== wanted) {
      throw new TraceError(
        mask.shard.file.path,
        `tensor "${mName}"`,
        `mask must be U8 [${wanted}], got ${mask.dtype} [${mShape}]`,
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
  const n = tableElements(l.shard.tensors, l.index);
  const dtype: Dtype = l.dtype;
  const width = DTYPE_BYTES[dtype];
  let raw = stored;
  if (!LITTLE_ENDIAN && width > 1) raw = swapBytes(owned ? raw : copyOf(raw), width);
  // Readers must accept unaligned tensors (docs/trace-format.md); typed views need alignment.
  else if (raw.byteOffset % width !== 0) raw = copyOf(raw);
  if (dtype === 'F32') return new Float32Array(raw.buffer, raw.byteOffset, n);
  if (dtype === 'F16') return decodeFloat16(new Uint16Array(raw.buffer, raw.byteOffset, n));
  const out = new Float32Array(n);
  if (dtype === 'I8') {
    const scale = scaleOf(l) ?? 1;
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

/** Whether tensor `i` of `table` has shape `a`. */
function sameShape(a: readonly number[], table: TensorTable, i: number): boolean {
  const start = table.shapeStarts[i]!;
  if (a.length !== table.shapeStarts[i + 1]! - start) return false;
  for (let d = 0; d < a.length; d++) if (a[d] !== table.dims[start + d]) return false;
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
