import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-write.js';
import { InputError } from '../../common/input-error.js';

/** A missing or corrupt training checkpoint. */
export class CheckpointError extends InputError {}

export const CHECKPOINT_FILE = 'checkpoint.ckpt';
const MAGIC = 'deltasim-ckpt-1';

/** One named float32 tensor of the checkpoint. */
export interface CheckpointTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/**
 * Everything needed to continue training exactly where it stopped: the epoch count, the options that
 * rebuild the model, its weights, the optimizer's slots and step, and the per-batch loss table.
 * The PRNG state is implied: every epoch's shuffle PRNG is derived from (seed, epoch).
 */
export interface Checkpoint {
  readonly epochsDone: number;
  readonly options: Record<string, unknown>;
  readonly batchLosses: readonly number[];
  readonly history: readonly Record<string, number>[];
  readonly weights: readonly CheckpointTensor[];
  readonly optimizer: readonly CheckpointTensor[];
}

interface Header {
  readonly magic: string;
  readonly epochsDone: number;
  readonly options: Record<string, unknown>;
  readonly batchLosses: readonly (number | null)[];
  readonly history: readonly Record<string, number>[];
  readonly weights: readonly { name: string; shape: number[]; offset: number }[];
  readonly optimizer: readonly { name: string; shape: number[]; offset: number }[];
}

/** One file (u32 header length, JSON header, float32 data) written atomically: never half a checkpoint. */
export async function writeCheckpoint(dir: string, checkpoint: Checkpoint): Promise<void> {
  let offset = 0;
  const index = (list: readonly CheckpointTensor[]) =>
    list.map((t) => {
      const entry = { name: t.name, shape: [...t.shape], offset };
      offset += t.values.length;
      return entry;
    });
  const header: Header = {
    magic: MAGIC,
    epochsDone: checkpoint.epochsDone,
    options: checkpoint.options,
    batchLosses: checkpoint.batchLosses.map((l) => (Number.isFinite(l) ? l : null)),
    history: checkpoint.history,
    weights: index(checkpoint.weights),
    optimizer: index(checkpoint.optimizer),
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  // Pad the header so the float data starts 4-byte aligned.
  const headerLength = Math.ceil(headerBytes.length / 4) * 4;
  const out = new Uint8Array(4 + headerLength + offset * 4);
  new DataView(out.buffer).setUint32(0, headerLength, true);
  out.fill(0x20, 4, 4 + headerLength);
  out.set(headerBytes, 4);
  const data = new Float32Array(out.buffer, 4 + headerLength, offset);
  let at = 0;
  for (const t of [...checkpoint.weights, ...checkpoint.optimizer]) {
    data.set(t.values, at);
    at += t.values.length;
  }
  await writeFileAtomic(join(dir, CHECKPOINT_FILE), out);
}

export async function readCheckpoint(dir: string): Promise<Checkpoint> {
  const path = join(dir, CHECKPOINT_FILE);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch {
    throw new CheckpointError(path, '', 'is missing (nothing to --resume)');
  }
  if (bytes.byteLength < 4) throw new CheckpointError(path, 'header', 'file is truncated');
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + headerLength))) as Header;
  } catch {
    throw new CheckpointError(path, 'header', 'is not valid JSON');
  }
  if (header.magic !== MAGIC) throw new CheckpointError(path, 'magic', `expected ${MAGIC}`);
  const floats = (bytes.byteLength - 4 - headerLength) / 4;
  const aligned = bytes.slice(4 + headerLength);
  const data = new Float32Array(aligned.buffer, aligned.byteOffset, Math.floor(floats));
  const read = (list: Header['weights']) =>
    list.map((e) => {
      const size = e.shape.reduce((p, d) => p * d, 1);
      if (e.offset + size > data.length)
        throw new CheckpointError(path, `tensor "${e.name}"`, 'data is truncated');
      return { name: e.name, shape: e.shape, values: data.slice(e.offset, e.offset + size) };
    });
  return {
    epochsDone: header.epochsDone,
    options: header.options,
    batchLosses: header.batchLosses.map((l) => (l === null ? Number.NaN : l)),
    history: header.history,
    weights: read(header.weights),
    optimizer: read(header.optimizer),
  };
}
