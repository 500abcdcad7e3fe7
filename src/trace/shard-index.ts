/**
 * The index file of a sharded trace (docs/trace-format.md, "Sharding"): JSON shaped like
 * huggingface's `model.safetensors.index.json` (`metadata` + `weight_map`) plus `format`,
 * `version` and the ordered `shards` list. Shard paths are relative to the index's directory.
 */
import { MAX_HEADER_BYTES, parseJsonObject } from './safetensors.js';
import { TraceError } from './trace-error.js';

export const INDEX_FORMAT = 'deltasim-trace-index';
export const INDEX_VERSION = 1;
/** An index may list every tensor of a long trace; still bounded so a bogus file cannot exhaust memory. */
export const MAX_INDEX_BYTES = 4 * MAX_HEADER_BYTES;

export interface ShardIndex {
  readonly format: typeof INDEX_FORMAT;
  readonly version: number;
  /** The same string map as each shard's `__metadata__` (minus `deltasim.shard` and the per-shard tensor table). */
  readonly metadata: Readonly<Record<string, string>>;
  readonly shards: readonly string[];
  /** Tensor name → shard file, for every tensor (values, masks, padding). */
  readonly weight_map: Readonly<Record<string, string>>;
}

export function encodeShardIndex(index: Omit<ShardIndex, 'format' | 'version'>): string {
  const full: ShardIndex = { format: INDEX_FORMAT, version: INDEX_VERSION, ...index };
  return `${JSON.stringify(full)}\n`;
}

/**
 * Whether a file is an index rather than a safetensors file: it starts with `{`, and its first 8
 * bytes read as a safetensors header length exceed the file (true of any JSON text, never of a
 * valid safetensors file).
 */
export function looksLikeShardIndex(prefix: Uint8Array, fileBytes: number): boolean {
  if (prefix.length < 1 || prefix[0] !== 0x7b) return false;
  if (prefix.length < 8) return true;
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  return n > BigInt(Math.max(0, fileBytes - 8));
}

export function parseShardIndex(source: string, text: string): ShardIndex {
  const root = parseJsonObject(source, 'index', text);
  if (root.format !== INDEX_FORMAT) {
    throw new TraceError(
      source,
      'index.format',
      `must be "${INDEX_FORMAT}", got ${JSON.stringify(root.format)}`,
    );
  }
  if (root.version !== INDEX_VERSION) {
    throw new TraceError(source, 'index.version', `version ${JSON.stringify(root.version)} is not known`);
  }
  const metadata = root.metadata;
  if (
    metadata === null ||
    typeof metadata !== 'object' ||
    Array.isArray(metadata) ||
    !Object.values(metadata).every((v) => typeof v === 'string')
  ) {
    throw new TraceError(source, 'index.metadata', 'must be an object of strings');
  }
  const shards = root.shards;
  if (!Array.isArray(shards) || shards.length === 0 || !shards.every(isShardFileName)) {
    throw new TraceError(
      source,
      'index.shards',
      'must be a non-empty array of file names in the index directory',
    );
  }
  if (new Set(shards).size !== shards.length)
    throw new TraceError(source, 'index.shards', 'a shard is listed twice');
  const weightMap = root.weight_map;
  if (weightMap === null || typeof weightMap !== 'object' || Array.isArray(weightMap)) {
    throw new TraceError(source, 'index.weight_map', 'must be an object');
  }
  for (const [name, file] of Object.entries(weightMap)) {
    if (typeof file !== 'string' || !shards.includes(file)) {
      throw new TraceError(
        source,
        `index.weight_map["${name}"]`,
        `${JSON.stringify(file)} is not a listed shard`,
      );
    }
  }
  return root as unknown as ShardIndex;
}

function isShardFileName(value: unknown): value is string {
  return (
    typeof value === 'string' && value.length > 0 && !/[/\\]/.test(value) && value !== '.' && value !== '..'
  );
}
