/**
 * The `__metadata__` keys of a deltasim trace besides the manifest (docs/trace-format.md,
 * "Metadata"), and their parsing. All values are JSON text, since safetensors metadata is a
 * string → string map.
 */
import {
  findTensor,
  forEachJsonValue,
  PLAIN_JSON_NAME,
  parseJsonObject,
  type TensorTable,
} from './safetensors.js';
import { TraceError } from './trace-error.js';

/** Per-tensor facts that are not in the safetensors entry: `{ "<tensor>": { crc32?, scale? } }`. */
export const TENSORS_METADATA_KEY = 'deltasim.tensors';
/** CRC-32 of other metadata values: `{ "deltasim.manifest": 123, "deltasim.tensors": 456 }`. */
export const CHECKSUMS_METADATA_KEY = 'deltasim.checksums';
/** Present in the shards of a sharded trace: `"<i>/<n>"`, 1-based. */
export const SHARD_METADATA_KEY = 'deltasim.shard';

export interface TensorRecord {
  /** CRC-32 (zlib / IEEE, as `zlib.crc32`) of the tensor's stored bytes. */
  readonly crc32?: number;
  /** I8 only: value = float32(float64(q) × scale). */
  readonly scale?: number;
}

export function parseTensorTable(source: string, text: string): ReadonlyMap<string, TensorRecord> {
  const root = parseJsonObject(source, `__metadata__["${TENSORS_METADATA_KEY}"]`, text);
  const out = new Map<string, TensorRecord>();
  const names = Object.keys(root);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    out.set(name, checkTensorRecord(source, name, root[name]));
  }
  return out;
}

/** One record of the tensor table, checked. */
function checkTensorRecord(source: string, name: string, raw: unknown): TensorRecord {
  const where = `__metadata__["${TENSORS_METADATA_KEY}"]["${name}"]`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TraceError(source, where, 'must be an object {crc32?, scale?}');
  }
  const r = raw as { crc32?: unknown; scale?: unknown };
  if (r.crc32 !== undefined && !isUint32(r.crc32)) {
    throw new TraceError(source, `${where}.crc32`, 'must be an integer in [0, 2^32)');
  }
  if (r.scale !== undefined && !(typeof r.scale === 'number' && Number.isFinite(r.scale) && r.scale >= 0)) {
    throw new TraceError(source, `${where}.scale`, 'must be a finite number ≥ 0');
  }
  return r as TensorRecord;
}

/**
 * The tensor table of a shard as columns by tensor index of `table` (NaN: none), for a reader that
 * keeps it as long as the trace is open (see TensorTable). Records naming no tensor of `table` are
 * checked and ignored, as `parseTensorTable`'s are by a reader. A well-formed table is read record by
 * record; anything else takes `parseTensorTable`, which names the first problem.
 */
export function tensorRecordColumns(
  source: string,
  text: string,
  table: TensorTable,
): { readonly crc32: Float64Array; readonly scale: Float64Array } {
  const crc32 = new Float64Array(table.count).fill(Number.NaN);
  const scale = new Float64Array(table.count).fill(Number.NaN);
  if (recordsCanonical(text, table, crc32, scale)) return { crc32, scale };
  crc32.fill(Number.NaN);
  scale.fill(Number.NaN);
  let fast = false;
  try {
    // Any surrogate (a lone one would not survive TextEncoder) takes the general path.
    fast =
      !/[\uD800-\uDFFF]/.test(text) && recordsByMember(new TextEncoder().encode(text), table, crc32, scale);
  } catch {
    fast = false;
  }
  if (fast) return { crc32, scale };
  crc32.fill(Number.NaN);
  scale.fill(Number.NaN);
  for (const [name, record] of parseTensorTable(source, text)) {
    const i = findTensor(table, name);
    if (i < 0) continue;
    if (record.crc32 !== undefined) crc32[i] = record.crc32;
    if (record.scale !== undefined) scale[i] = record.scale;
  }
  return { crc32, scale };
}

/**
 * One record as the writer stores it (JSON.stringify: no whitespace, crc32 before scale), and the
 * comma or brace after it; a name's characters exclude the quote, the backslash and the control
 * characters (safetensors.ts, PLAIN_JSON_NAME). A number is JSON's: Number() of its text is
 * the value JSON.parse gives.
 */
const JSON_NUMBER = '(-?(?:0|[1-9]\\d*)(?:\\.\\d+)?(?:[eE][+-]?\\d+)?)';
const CANONICAL_RECORD = new RegExp(
  `${PLAIN_JSON_NAME}:\\{(?:"crc32":(0|[1-9]\\d*)(?:,"scale":${JSON_NUMBER})?|"scale":${JSON_NUMBER})?\\}([,}])`,
  'y',
);

/**
 * `tensorRecordColumns` of a table exactly as the writer stores it, by one native regular
 * expression per record (opening a trace is on the critical path of every replay; see
 * safetensors.ts, `parseHeaderCanonical`); the records come in storage order, so each name is
 * looked for at the next index first. False for anything else (whitespace, escapes, an unknown
 * key, a bad value, a name twice), which the other paths read or reject.
 */
function recordsCanonical(
  text: string,
  table: TensorTable,
  crc32: Float64Array,
  scale: Float64Array,
): boolean {
  if (text.charCodeAt(0) !== 0x7b /* { */) return false;
  if (text.length === 2 && text.charCodeAt(1) === 0x7d /* } */) return true;
  const seen = new Uint8Array(table.count);
  let unknown: Set<string> | undefined;
  const record = new RegExp(CANONICAL_RECORD.source, 'y');
  let at = 1;
  let next = 0;
  for (;;) {
    record.lastIndex = at;
    const m = record.exec(text);
    if (!m) return false;
    const name = m[1]!;
    const crc = m[2] === undefined ? undefined : Number(m[2]);
    const s = m[3] ?? m[4];
    const factor = s === undefined ? undefined : Number(s);
    if (crc !== undefined && crc > 0xffffffff) return false;
    if (factor !== undefined && !(Number.isFinite(factor) && factor >= 0)) return false;
    const i = table.names[next] === name ? next : findTensor(table, name);
    if (i < 0) {
      // Checked (above) and ignored, as parseTensorTable's records are by a reader.
      unknown ??= new Set();
      if (unknown.has(name)) return false;
      unknown.add(name);
    } else {
      if (seen[i]) return false;
      seen[i] = 1;
      if (crc !== undefined) crc32[i] = crc;
      if (factor !== undefined) scale[i] = factor;
      next = i + 1;
    }
    at = record.lastIndex;
    if (m[5] === '}') return at === text.length;
  }
}

/** `tensorRecordColumns`' record-by-record path: false (or a throw) for anything `parseTensorTable` must look at. */
function recordsByMember(
  bytes: Uint8Array,
  table: TensorTable,
  crc32: Float64Array,
  scale: Float64Array,
): boolean {
  const seen = new Uint8Array(table.count);
  let unknown: Set<string> | undefined;
  return forEachJsonValue(bytes, (name, raw) => {
    // A bad record throws; the caller then takes parseTensorTable, which names it.
    const r = checkTensorRecord('', name, raw);
    const i = findTensor(table, name);
    if (i < 0) {
      unknown ??= new Set();
      if (unknown.has(name)) return false;
      unknown.add(name);
      return true;
    }
    if (seen[i]) return false;
    seen[i] = 1;
    if (r.crc32 !== undefined) crc32[i] = r.crc32;
    if (r.scale !== undefined) scale[i] = r.scale;
    return true;
  });
}

export function parseChecksums(source: string, text: string): ReadonlyMap<string, number> {
  const root = parseJsonObject(source, `__metadata__["${CHECKSUMS_METADATA_KEY}"]`, text);
  const out = new Map<string, number>();
  for (const [key, value] of Object.entries(root)) {
    if (!isUint32(value)) {
      throw new TraceError(
        source,
        `__metadata__["${CHECKSUMS_METADATA_KEY}"]["${key}"]`,
        'must be an integer in [0, 2^32)',
      );
    }
    out.set(key, value);
  }
  return out;
}

function isUint32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}
