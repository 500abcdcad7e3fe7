/**
 * The safetensors container (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of UTF-8 JSON (space padded), then the raw data. Every entry's
 * `data_offsets` are relative to the data start; sorted by offset they must tile the data exactly
 * (no holes, no overlap, nothing after the last tensor) — the rule huggingface's loader enforces.
 * Pure: encode/decode bytes, no I/O.
 */
import { TraceError } from './trace-error.js';

export type Dtype = 'F32' | 'F16' | 'I8' | 'U8';
export const DTYPE_BYTES: Readonly<Record<Dtype, number>> = { F32: 4, F16: 2, I8: 1, U8: 1 };
export const DTYPES: readonly Dtype[] = ['F32', 'F16', 'I8', 'U8'];

/** safetensors' own cap on the header (its MAX_HEADER_SIZE); also bounds what a lying length costs us. */
export const MAX_HEADER_BYTES = 100_000_000;
/** Most tensors one header may describe: bounds the work a header costs before anything is read. */
export const MAX_TENSORS = 1_000_000;
/**
 * Deepest nesting of arrays and objects in a header or manifest. Ours need 4; the bound keeps a
 * hostile file from exhausting the stack of anything that walks the parsed value.
 */
export const MAX_JSON_DEPTH = 64;
/** Every tensor that is not padding starts at a file offset that is a multiple of this. */
export const ALIGNMENT_BYTES = 8;
/** Suffix of the U8 filler tensors that keep the next tensor aligned without leaving a hole. */
export const PADDING_SUFFIX = '#pad';

export interface TensorEntry {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** Offsets relative to the start of the data section. */
  readonly begin: number;
  readonly end: number;
}

/**
 * A header's tensors as columns, in storage order (sorted by `begin`): what a reader keeps for the
 * whole replay. Columns rather than an object per tensor, because V8 grows its young generation
 * with the bytes that survive its collections: a 64-step ResNet-18 trace has 5,418 tensors, and
 * their objects (with the parsed JSON they came from) grew it to twice the size of a 1-step
 * replay's, about 8 MiB more peak RSS for no more live data.
 */
export interface TensorTable {
  readonly count: number;
  readonly names: readonly string[];
  /** Index into DTYPES. */
  readonly dtypes: Uint8Array;
  readonly begins: Float64Array;
  readonly ends: Float64Array;
  /** Tensor i's shape is dims[shapeStarts[i] .. shapeStarts[i + 1]). */
  readonly shapeStarts: Uint32Array;
  readonly dims: Float64Array;
  /** Tensor indices ordered by name (UTF-16 code units), for `findTensor`. */
  readonly byName: Int32Array;
}

/** Tensor `i`'s shape, as a fresh array. */
export function tableShape(table: TensorTable, i: number): number[] {
  const shape: number[] = [];
  for (let d = table.shapeStarts[i]!; d < table.shapeStarts[i + 1]!; d++) shape.push(table.dims[d]!);
  return shape;
}

/** Elements of tensor `i`. */
export function tableElements(table: TensorTable, i: number): number {
  let n = 1;
  for (let d = table.shapeStarts[i]!; d < table.shapeStarts[i + 1]!; d++) n *= table.dims[d]!;
  return n;
}

/** The index of the tensor named `name`, or −1 (a binary search of `byName`). */
export function findTensor(table: TensorTable, name: string): number {
  let lo = 0;
  let hi = table.count - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const i = table.byName[mid]!;
    const other = table.names[i]!;
    if (other === name) return i;
    if (other < name) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

export interface ParsedHeader {
  /** Sorted by `begin`. */
  readonly tensors: TensorTable;
  readonly metadata: Readonly<Record<string, string>>;
  /** File offset of the data section: 8 + header length. */
  readonly dataStart: number;
}

export function isPaddingName(name: string): boolean {
  return name.endsWith(PADDING_SUFFIX);
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i]!;
  return n;
}

/** Bytes of filler needed after `bytes` so the next tensor starts aligned. */
export function paddingAfter(bytes: number): number {
  const rest = bytes % ALIGNMENT_BYTES;
  return rest === 0 ? 0 : ALIGNMENT_BYTES - rest;
}

/**
 * The 8-byte length + JSON header. The JSON is padded with spaces so the data section starts at a
 * multiple of 8; `__metadata__` comes first, then the tensors in data order.
 */
export function encodeHeader(
  tensors: readonly TensorEntry[],
  metadata: Readonly<Record<string, string>>,
): Uint8Array {
  const parts: string[] = [`${JSON.stringify('__metadata__')}:${JSON.stringify(metadata)}`];
  for (const t of tensors) {
    parts.push(
      `${JSON.stringify(t.name)}:${JSON.stringify({ dtype: t.dtype, shape: t.shape, data_offsets: [t.begin, t.end] })}`,
    );
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerBytes = json.length + paddingAfter(8 + json.length);
  const out = new Uint8Array(8 + headerBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length);
  return out;
}

/**
 * Reads the header length from the first 8 bytes and checks it against the file size before anyone
 * allocates for it: a lying length costs nothing.
 */
export function headerLength(source: string, prefix: Uint8Array, fileBytes: number): number {
  if (fileBytes < 8 || prefix.length < 8) {
    throw new TraceError(source, 'header length', `file has ${fileBytes} bytes, fewer than the 8 it needs`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileBytes - 8)) {
    throw new TraceError(source, 'header length', `${n} exceeds the ${fileBytes - 8} bytes after it`);
  }
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new TraceError(source, 'header length', `${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  if (n < 2n) throw new TraceError(source, 'header length', `${n} is too short for a JSON object`);
  return Number(n);
}

/**
 * Decodes and checks the JSON header; `dataBytes` is what the file holds after it. `maxTensors` is
 * a parameter so tests can check the bound without a million-entry header.
 */
export function parseHeader(
  source: string,
  json: Uint8Array,
  dataBytes: number,
  maxTensors = MAX_TENSORS,
): ParsedHeader {
  // A well-formed header is read member by member into columns; anything else (or any error) takes
  // the general path below, which gives the same result or names the first problem.
  const fast =
    parseHeaderCanonical(json, dataBytes, maxTensors) ?? parseHeaderMembers(json, dataBytes, maxTensors);
  if (fast) return { ...fast, dataStart: 8 + json.length };
  let text: string;
  try {
    // ignoreBOM: a byte-order mark stays in the text (and is rejected below), not silently dropped.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(json);
  } catch {
    throw new TraceError(source, 'header', 'header is not valid UTF-8');
  }
  if (text.startsWith('\uFEFF')) {
    throw new TraceError(
      source,
      'header',
      'starts with a UTF-8 byte-order mark; the JSON must start with "{"',
    );
  }
  if (!text.startsWith('{')) throw new TraceError(source, 'header', 'header JSON must start with "{"');
  const root = parseJsonObject(source, 'header', text);
  const tensors: TensorEntry[] = [];
  let metadata: Record<string, string> = {};
  // Keys, not entries: a pair per tensor would be garbage that lives as long as the header.
  const names = Object.keys(root);
  const count = names.length - (Object.hasOwn(root, '__metadata__') ? 1 : 0);
  if (count > maxTensors) {
    throw new TraceError(source, 'header', `${count} tensors exceed the limit of ${maxTensors}`);
  }
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (name === '__metadata__') {
      metadata = checkMetadata(source, root[name]);
      continue;
    }
    tensors.push(checkEntry(source, name, root[name]));
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous = '';
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i]!;
    if (t.begin !== cursor) {
      const rule =
        t.begin > cursor
          ? `data_offsets [${t.begin}, ${t.end}] leave a hole after byte ${cursor}${previous ? ` (end of "${previous}")` : ''}`
          : `data_offsets [${t.begin}, ${t.end}] overlap "${previous}" (ends at ${cursor})`;
      throw new TraceError(source, `tensor "${t.name}"`, rule);
    }
    cursor = t.end;
    previous = t.name;
  }
  if (cursor !== dataBytes) {
    const rule =
      cursor > dataBytes
        ? `tensors need ${cursor} data bytes but the file has ${dataBytes} (truncated?)`
        : `${dataBytes - cursor} bytes after the last tensor are not described by the header`;
    throw new TraceError(source, 'data_offsets', rule);
  }
  return { tensors: tableOf(tensors), metadata, dataStart: 8 + json.length };
}

/** Entries already sorted by `begin` as a table. */
function tableOf(entries: readonly TensorEntry[]): TensorTable {
  const count = entries.length;
  const columns = newColumns(count);
  let dims = 0;
  for (let i = 0; i < count; i++) dims += entries[i]!.shape.length;
  const table = { ...columns, dims: new Float64Array(dims) };
  let d = 0;
  for (let i = 0; i < count; i++) {
    const t = entries[i]!;
    table.names[i] = t.name;
    table.dtypes[i] = DTYPES.indexOf(t.dtype);
    table.begins[i] = t.begin;
    table.ends[i] = t.end;
    table.shapeStarts[i] = d;
    for (const x of t.shape) table.dims[d++] = x;
  }
  table.shapeStarts[count] = d;
  return { ...table, byName: sortedByName(table.names) };
}

function newColumns(count: number) {
  return {
    count,
    names: new Array<string>(count),
    dtypes: new Uint8Array(count),
    begins: new Float64Array(count),
    ends: new Float64Array(count),
    shapeStarts: new Uint32Array(count + 1),
  };
}

function sortedByName(names: readonly string[]): Int32Array {
  const order = new Int32Array(names.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : a - b));
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Calls `visit` for every member of the JSON object in `bytes`, in text order: the key's bytes
 * [keyStart, keyEnd) (quotes included), the value's [valueStart, valueEnd) and the number of object
 * keys inside the value (to catch a duplicate key: JSON.parse keeps only the last). Returns false
 * where the text is not an object of members, nests deeper than MAX_JSON_DEPTH, or `visit` returns
 * false. Checks only the object's own syntax: each key and value is for `visit` to parse. Scanning
 * bytes is safe in UTF-8: a multi-byte sequence never contains an ASCII byte.
 */
export function forEachJsonMember(
  bytes: Uint8Array,
  visit: (keyStart: number, keyEnd: number, valueStart: number, valueEnd: number, keys: number) => boolean,
): boolean {
  const n = bytes.length;
  const objects = new Uint8Array(MAX_JSON_DEPTH);
  if (bytes[0] !== 0x7b /* { */) return false;
  let i = skipSpace(bytes, 1);
  if (bytes[i] === 0x7d /* } */) return skipSpace(bytes, i + 1) === n;
  for (;;) {
    if (bytes[i] !== 0x22 /* " */) return false;
    const keyStart = i;
    i = stringEnd(bytes, i);
    if (i >= n) return false;
    const keyEnd = ++i;
    i = skipSpace(bytes, i);
    if (bytes[i] !== 0x3a /* : */) return false;
    const valueStart = skipSpace(bytes, i + 1);
    let depth = 1;
    let keys = 0;
    let expectKey = false;
    for (i = valueStart; i < n; i++) {
      const c = bytes[i]!;
      if (c === 0x22) {
        i = stringEnd(bytes, i);
        if (expectKey) keys++;
        expectKey = false;
      } else if (c === 0x7b || c === 0x5b /* [ */) {
        if (depth >= MAX_JSON_DEPTH) return false;
        objects[depth++] = c === 0x7b ? 1 : 0;
        expectKey = c === 0x7b;
      } else if (c === 0x7d || c === 0x5d /* ] */) {
        if (depth === 1) break;
        depth--;
      } else if (c === 0x2c /* , */) {
        if (depth === 1) break;
        expectKey = objects[depth - 1] === 1;
      }
    }
    if (i >= n || bytes[i] === 0x5d) return false;
    let valueEnd = i;
    while (valueEnd > valueStart && isSpace(bytes[valueEnd - 1]!)) valueEnd--;
    if (!visit(keyStart, keyEnd, valueStart, valueEnd, keys)) return false;
    if (bytes[i] === 0x7d) return skipSpace(bytes, i + 1) === n;
    i = skipSpace(bytes, i + 1);
  }
}

/** Members parsed per JSON.parse call by `forEachJsonValue`: few calls, and a small tree alive at a time. */
const MEMBERS_PER_PARSE = 64;

/**
 * Calls `visit` with the name and parsed value of every member of the JSON object in `bytes`, in
 * text order, parsing a few dozen members at a time, so that no tree of the whole object is ever
 * alive. False where `forEachJsonMember` is, for invalid UTF-8 or JSON, a key that occurs twice
 * within a batch or within a value, an array-index key (JSON.parse would order it first), or when
 * `visit` returns false. A key repeated across batches is for the caller to catch.
 */
export function forEachJsonValue(
  bytes: Uint8Array,
  visit: (name: string, value: unknown) => boolean,
): boolean {
  let start = 0;
  let end = 0;
  let members = 0;
  let nested = 0;
  const flush = (): boolean => {
    if (members === 0) return true;
    let batch: Record<string, unknown>;
    try {
      batch = JSON.parse(`{${UTF8.decode(bytes.subarray(start, end))}}`) as Record<string, unknown>;
    } catch {
      return false;
    }
    const names = Object.keys(batch);
    if (names.length !== members || parsedKeys(batch) !== members + nested) return false;
    members = 0;
    nested = 0;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (isArrayIndex(name) || !visit(name, batch[name])) return false;
    }
    return true;
  };
  const ok = forEachJsonMember(bytes, (keyStart, _keyEnd, _valueStart, valueEnd, keys) => {
    if (members === 0) start = keyStart;
    end = valueEnd;
    members++;
    nested += keys;
    return members < MEMBERS_PER_PARSE || flush();
  });
  return ok && flush();
}

/** The index of the quote that closes the string opening at `i` (or bytes.length). */
function stringEnd(bytes: Uint8Array, i: number): number {
  // indexOf is native (memchr): most of a header's bytes are in strings.
  for (let q = bytes.indexOf(0x22, i + 1); q >= 0; q = bytes.indexOf(0x22, q + 1)) {
    let backslashes = 0;
    while (bytes[q - 1 - backslashes] === 0x5c /* \ */) backslashes++;
    if (backslashes % 2 === 0) return q;
  }
  return bytes.length;
}

/** JSON's whitespace. */
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(bytes: Uint8Array, i: number): number {
  while (i < bytes.length && isSpace(bytes[i]!)) i++;
  return i;
}

/**
 * `parseHeader` of a well-formed header, member by member: each entry is parsed on its own and
 * dropped at once, so no tree of the whole header is ever alive (see TensorTable). Undefined for
 * anything it does not take (an error, a duplicate key, an integer-like tensor name, which
 * JSON.parse would order first): the general path then gives the same result or the error.
 */
export function parseHeaderMembers(json: Uint8Array, dataBytes: number, maxTensors: number) {
  return declined(() => headerByMember(json, dataBytes, maxTensors));
}

/** A header read into columns by one of the fast paths, before the general path. */
type ColumnHeader = { tensors: TensorTable; metadata: Record<string, string> };

/** What a fast path read, or undefined where it threw: the general path then names the problem. */
function declined(read: () => ColumnHeader | undefined): ColumnHeader | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

function headerByMember(json: Uint8Array, dataBytes: number, maxTensors: number): ColumnHeader | undefined {
  // An entry takes at least MIN_ENTRY_BYTES of text: room for every tensor without a counting pass.
  const capacity = Math.ceil(json.length / MIN_ENTRY_BYTES);
  const columns = newColumns(capacity);
  let dims = new Float64Array(capacity * 4);
  let count = 0;
  let d = 0;
  let metadata: Record<string, string> | undefined;
  const ok = forEachJsonValue(json, (name, raw) => {
    if (name === '__metadata__') {
      if (metadata) return false;
      metadata = checkMetadata('', raw);
      return true;
    }
    const t = checkEntry('', name, raw);
    if (count === capacity) return false;
    columns.names[count] = t.name;
    columns.dtypes[count] = DTYPES.indexOf(t.dtype);
    columns.begins[count] = t.begin;
    columns.ends[count] = t.end;
    columns.shapeStarts[count] = d;
    if (d + t.shape.length > dims.length) {
      const grown = new Float64Array(Math.max(dims.length * 2, d + t.shape.length));
      grown.set(dims);
      dims = grown;
    }
    for (let k = 0; k < t.shape.length; k++) dims[d++] = t.shape[k]!;
    count++;
    return true;
  });
  if (!ok || count > maxTensors) return undefined;
  return storageTable(columns, dims, d, count, dataBytes, metadata ?? {});
}

/** Columns of `count` entries in header order: what both member-wise paths fill. */
type HeaderColumns = ReturnType<typeof newColumns>;

/**
 * The entries of a member-wise path in storage order (by begin, then end, then header order: the
 * general path's stable sort), or undefined where they do not tile `dataBytes` exactly or a name
 * occurs twice: the general path then names the problem.
 */
function storageTable(
  columns: HeaderColumns,
  dims: Float64Array,
  d: number,
  count: number,
  dataBytes: number,
  metadata: Record<string, string>,
): ColumnHeader | undefined {
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  const { begins, ends } = columns;
  // A header lists its entries in storage order as the writer stores them: no sort (a comparator
  // called ~70,000 times for a 64-step trace, in code that runs once and is not compiled yet).
  let stored = true;
  for (let i = 1; i < count && stored; i++)
    stored = begins[i - 1]! < begins[i]! || (begins[i - 1] === begins[i] && ends[i - 1]! <= ends[i]!);
  if (!stored) order.sort((a, b) => begins[a]! - begins[b]! || ends[a]! - ends[b]! || a - b);
  const sorted = { ...newColumns(count), dims: new Float64Array(d) };
  let cursor = 0;
  let at = 0;
  for (let i = 0; i < count; i++) {
    const j = order[i]!;
    if (begins[j] !== cursor) return undefined;
    cursor = ends[j]!;
    sorted.names[i] = columns.names[j]!;
    sorted.dtypes[i] = columns.dtypes[j]!;
    sorted.begins[i] = begins[j]!;
    sorted.ends[i] = cursor;
    sorted.shapeStarts[i] = at;
    const end = j + 1 < count ? columns.shapeStarts[j + 1]! : d;
    for (let k = columns.shapeStarts[j]!; k < end; k++) sorted.dims[at++] = dims[k]!;
  }
  sorted.shapeStarts[count] = at;
  if (cursor !== dataBytes) return undefined;
  const byName = sortedByName(sorted.names);
  // A tensor named twice: JSON.parse would keep the last; the general path reports it.
  for (let i = 1; i < count; i++)
    if (sorted.names[byName[i]!] === sorted.names[byName[i - 1]!]) return undefined;
  return { tensors: { ...sorted, byName }, metadata };
}

/**
 * One entry as `encodeHeader` writes it (JSON.stringify: no whitespace, keys in this order, plain
 * integers), followed by the comma or brace after it. A name's characters exclude the quote, the
 * backslash and the control characters: a name with an escape (JSON.parse would rewrite it) or a raw
 * control character (JSON.parse rejects it) does not match, and the header takes the other paths.
 */
/**
 * A quoted JSON name without escapes (pattern source, one capture: the name): no quote, backslash
 * or control character, so its text is the string JSON.parse would give. The canonical header and
 * record patterns (here and in trace-metadata.ts) both match names with it.
 */
export const PLAIN_JSON_NAME = '"([\\u0020\\u0021\\u0023-\\u005b\\u005d-\\uffff]*)"';

const CANONICAL_ENTRY = new RegExp(
  `${PLAIN_JSON_NAME}:\\{"dtype":"(F32|F16|I8|U8)","shape":\\[((?:0|[1-9]\\d*)(?:,(?:0|[1-9]\\d*))*)?\\],"data_offsets":\\[(0|[1-9]\\d*),(0|[1-9]\\d*)\\]\\}([,}])`,
  'y',
);

/**
 * `parseHeader` of a header exactly as `encodeHeader` writes it (every trace deltasim writes), by one
 * native regular expression per entry instead of a scan of every byte in JavaScript: opening a
 * 64-step trace (5,418 entries, 0.8 MB of header) is on the critical path of every replay, before
 * any thread can start, and runs once, in code V8 has not compiled yet. Same columns as the other
 * paths (see TensorTable), or undefined for anything else: whitespace, other key orders, escapes,
 * exponents, an array-index name, a bad entry — which `parseHeaderMembers` or the general path then
 * reads or rejects with the same result or error.
 */
export function parseHeaderCanonical(json: Uint8Array, dataBytes: number, maxTensors: number) {
  return declined(() => canonicalHeader(json, dataBytes, maxTensors));
}

function canonicalHeader(json: Uint8Array, dataBytes: number, maxTensors: number): ColumnHeader | undefined {
  // Invalid UTF-8 throws: the general path reports it.
  const text = UTF8.decode(json);
  if (text.charCodeAt(0) !== 0x7b /* { */) return undefined;
  let at = 1;
  let metadata: Record<string, string> = {};
  const META = '"__metadata__":{';
  if (text.startsWith(META, at)) {
    // An object of strings: each string's end found natively (indexOf), then one JSON.parse.
    const start = at + META.length - 1;
    let i = start + 1;
    let keys = 0;
    if (text.charCodeAt(i) !== 0x7d /* } */) {
      for (;;) {
        if (text.charCodeAt(i) !== 0x22) return undefined;
        i = textStringEnd(text, i) + 1;
        if (text.charCodeAt(i) !== 0x3a /* : */ || text.charCodeAt(i + 1) !== 0x22) return undefined;
        i = textStringEnd(text, i + 1) + 1;
        keys++;
        if (text.charCodeAt(i) === 0x7d) break;
        if (text.charCodeAt(i) !== 0x2c /* , */) return undefined;
        i++;
      }
    }
    const raw = JSON.parse(text.slice(start, i + 1)) as Record<string, string>;
    // A key given twice collapses into one (JSON.parse keeps the last): the other paths name it.
    if (Object.keys(raw).length !== keys) return undefined;
    metadata = checkMetadata('', raw);
    at = i + 1;
    const next = text.charCodeAt(at);
    if (next !== 0x7d && next !== 0x2c) return undefined;
    at++;
    if (next === 0x7d) return noTensors(text, at, dataBytes, metadata);
  } else if (text.charCodeAt(at) === 0x7d) {
    return noTensors(text, at + 1, dataBytes, metadata);
  }
  const capacity = Math.min(Math.ceil(json.length / MIN_ENTRY_BYTES), maxTensors);
  const columns = newColumns(capacity);
  let dims = new Float64Array(capacity * 4);
  let count = 0;
  let d = 0;
  const entry = new RegExp(CANONICAL_ENTRY.source, 'y');
  for (;;) {
    entry.lastIndex = at;
    const m = entry.exec(text);
    if (!m || count === capacity) return undefined;
    const name = m[1]!;
    if (name === '__metadata__' || isArrayIndex(name)) return undefined;
    const shape = m[3];
    const dtype = DTYPES.indexOf(m[2] as Dtype);
    const begin = Number(m[4]);
    const end = Number(m[5]);
    if (!Number.isSafeInteger(end) || begin > end) return undefined;
    if (d + 8 > dims.length) {
      const grown = new Float64Array(dims.length * 2 + 8);
      grown.set(dims);
      dims = grown;
    }
    columns.shapeStarts[count] = d;
    let elements = 1;
    if (shape !== undefined) {
      for (let k = 0, value = 0; k <= shape.length; k++) {
        const c = k < shape.length ? shape.charCodeAt(k) : 0x2c;
        if (c !== 0x2c) {
          value = value * 10 + (c - 0x30);
          continue;
        }
        if (!Number.isSafeInteger(value)) return undefined;
        if (d === dims.length) {
          const grown = new Float64Array(dims.length * 2);
          grown.set(dims);
          dims = grown;
        }
        dims[d++] = value;
        elements *= value;
        value = 0;
      }
    }
    if (elements * DTYPE_BYTES[DTYPES[dtype]!] !== end - begin) return undefined;
    columns.names[count] = name;
    columns.dtypes[count] = dtype;
    columns.begins[count] = begin;
    columns.ends[count] = end;
    count++;
    at = entry.lastIndex;
    if (m[6] === '}') break;
  }
  if (!trailingSpaceOnly(text, at)) return undefined;
  if (!ownNames(columns.names, count)) return undefined;
  return storageTable(columns, dims, d, count, dataBytes, metadata);
}

/** Names turned into JSON.parse keys per call by `ownNames`. */
const NAMES_PER_PARSE = 512;

/**
 * Replaces the first `count` names (slices of the header's text, which would keep all of it alive as
 * long as the reader: 0.8 MB for a 64-step trace, on every thread that opens it) by the keys
 * JSON.parse makes of them, as the member path's names are: V8 keeps such keys once, outside the
 * young generation. False for a name given twice (one key then): the other paths report it.
 */
function ownNames(names: string[], count: number): boolean {
  for (let start = 0; start < count; start += NAMES_PER_PARSE) {
    const end = Math.min(count, start + NAMES_PER_PARSE);
    // The names hold no quote, backslash or control character (CANONICAL_ENTRY): valid JSON keys as they are.
    const keys = Object.keys(JSON.parse(`{"${names.slice(start, end).join('":0,"')}":0}`));
    if (keys.length !== end - start) return false;
    for (let i = start; i < end; i++) names[i] = keys[i - start]!;
  }
  return true;
}

/** The index of the quote that closes the string opening at `i` in `text` (or text.length). */
function textStringEnd(text: string, i: number): number {
  for (let q = text.indexOf('"', i + 1); q >= 0; q = text.indexOf('"', q + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(q - 1 - backslashes) === 0x5c /* \ */) backslashes++;
    if (backslashes % 2 === 0) return q;
  }
  return text.length;
}

/** A header without tensors, closed at `at`. */
function noTensors(text: string, at: number, dataBytes: number, metadata: Record<string, string>) {
  return trailingSpaceOnly(text, at)
    ? storageTable(newColumns(0), new Float64Array(0), 0, 0, dataBytes, metadata)
    : undefined;
}

/** Only JSON whitespace from `at` to the end of `text`. */
function trailingSpaceOnly(text: string, at: number): boolean {
  for (let i = at; i < text.length; i++) if (!isSpace(text.charCodeAt(i))) return false;
  return true;
}

/** The shortest entry: `"":{"dtype":"U8","shape":[],"data_offsets":[0,0]}` and a comma. */
const MIN_ENTRY_BYTES = 48;

/** A canonical array index ("0", "17"): JSON.parse puts such keys before all others. */
function isArrayIndex(key: string): boolean {
  return /^(?:0|[1-9]\d{0,9})$/.test(key) && Number(key) < 2 ** 32 - 1;
}

function checkMetadata(source: string, raw: unknown): Record<string, string> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TraceError(source, '__metadata__', 'must be an object of strings');
  }
  const out: Record<string, string> = {};
  const entries = raw as Record<string, unknown>;
  for (const key of Object.keys(entries)) {
    const value = entries[key];
    if (typeof value !== 'string')
      throw new TraceError(source, `__metadata__["${key}"]`, 'value must be a string');
    out[key] = value;
  }
  return out;
}

function checkEntry(source: string, name: string, raw: unknown): TensorEntry {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TraceError(source, entryField(name), 'entry must be an object {dtype, shape, data_offsets}');
  }
  const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  const dtype = entry.dtype;
  if (typeof dtype !== 'string' || !(DTYPES as readonly string[]).includes(dtype)) {
    throw new TraceError(
      source,
      entryField(name),
      `dtype ${JSON.stringify(dtype)} is not one of ${DTYPES.join(', ')}`,
    );
  }
  const shape = entry.shape;
  if (!Array.isArray(shape) || !nonNegativeIntegers(shape)) {
    throw new TraceError(source, entryField(name), 'shape must be an array of non-negative integers');
  }
  const offsets = entry.data_offsets;
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !nonNegativeIntegers(offsets) ||
    offsets[0] > offsets[1]
  ) {
    throw new TraceError(source, entryField(name), 'data_offsets must be [begin, end] with 0 ≤ begin ≤ end');
  }
  const begin = offsets[0] as number;
  const end = offsets[1] as number;
  const bytes = elementCount(shape as number[]) * DTYPE_BYTES[dtype as Dtype];
  if (bytes !== end - begin) {
    throw new TraceError(
      source,
      entryField(name),
      `${end - begin} bytes in data_offsets but dtype ${dtype} × shape [${shape.join(', ')}] needs ${bytes}`,
    );
  }
  return { name, dtype: dtype as Dtype, shape: shape as number[], begin, end };
}

/** The field an entry's error names; built only on the error path (this runs for every tensor). */
function entryField(name: string): string {
  return `tensor "${name}"`;
}

/** Every item a safe integer ≥ 0 (a loop: this runs for every tensor of a header). */
function nonNegativeIntegers(items: readonly unknown[]): boolean {
  for (let i = 0; i < items.length; i++) {
    const d = items[i];
    if (!(Number.isSafeInteger(d) && (d as number) >= 0)) return false;
  }
  return true;
}

/**
 * JSON.parse of an object, rejecting duplicate keys (JSON.parse would silently keep the last) and
 * nesting deeper than MAX_JSON_DEPTH (checked before parsing). A duplicate is detected by counting:
 * the text's object keys against the parsed value's (a duplicate collapses into one property, and
 * drops the nested keys of the value it replaces), so a valid header costs no key sets; only a
 * mismatch looks for the key that occurs twice. Opening a long trace parses megabytes of header:
 * what stays alive while it is parsed is what makes V8 grow its young generation (peak RSS).
 */
export function parseJsonObject(source: string, location: string, text: string): Record<string, unknown> {
  const keys = countJsonKeys(text);
  if (keys < 0) throw new TraceError(source, location, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] : 'parse error';
    throw new TraceError(source, location, `not valid JSON (${detail})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TraceError(source, location, 'must be a JSON object');
  }
  if (parsedKeys(value) !== keys) {
    const duplicate = firstDuplicateKey(text);
    if (duplicate !== undefined)
      throw new TraceError(source, location, `duplicate key ${JSON.stringify(duplicate)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * One linear pass over a JSON text: the number of object keys in it, or −1 once it nests deeper
 * than MAX_JSON_DEPTH (it stops there, so a hostile text costs no more than its length). Strings are
 * skipped with their escapes; for a text that is not valid JSON the count means nothing (JSON.parse
 * rejects it).
 */
function countJsonKeys(text: string): number {
  // Per open container: 1 for an object, 0 for an array; expectKey tracks object syntax.
  const objects = new Uint8Array(MAX_JSON_DEPTH);
  let depth = 0;
  let expectKey = false;
  let keys = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
      if (expectKey) {
        keys++;
        expectKey = false;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (depth >= MAX_JSON_DEPTH) return -1;
      objects[depth++] = c === 0x7b ? 1 : 0;
      expectKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      if (depth > 0) depth--;
    } else if (c === 0x2c /* , */) {
      expectKey = depth > 0 && objects[depth - 1] === 1;
    }
  }
  return keys;
}

/** The keys of every object in a parsed JSON value (nested at most MAX_JSON_DEPTH deep: counted first). */
function parsedKeys(value: object): number {
  let keys = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      // Numbers and strings (most of a header) need no call.
      if (item !== null && typeof item === 'object') keys += parsedKeys(item);
    }
    return keys;
  }
  const o = value as Record<string, unknown>;
  for (const key in o) {
    const item = o[key];
    keys += item !== null && typeof item === 'object' ? 1 + parsedKeys(item) : 1;
  }
  return keys;
}

/**
 * The first key that occurs twice in one object of a valid JSON text (one Set of keys per open
 * object), if any: what `parseJsonObject` names when the key counts disagree.
 */
function firstDuplicateKey(text: string): string | undefined {
  // For each open container: the keys seen (objects) or null (arrays); expectKey tracks object syntax.
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      let escapes = false;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) {
          escapes = true;
          i += 2;
        } else if (d === 0x22) break;
        else i++;
      }
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        let key = text.slice(start + 1, i);
        if (escapes) key = JSON.parse(text.slice(start, i + 1)) as string;
        if (top.has(key)) return key;
        top.add(key);
        expectKey = false;
      }
      i++;
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      stack.push(c === 0x7b ? new Set() : null);
      expectKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
    i++;
  }
  return undefined;
}
