import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-write.js';
import { InputError } from '../../common/input-error.js';

/** A missing or corrupt training checkpoint. */
export class CheckpointError extends InputError {}

export const CHECKPOINT_FILE = 'checkpoint.ckpt';
// Version 2 added the Adam β powers, the options check and the position inside an epoch.
const MAGIC = 'deltasim-ckpt-2';

/** One named float32 tensor of the checkpoint. */
export interface CheckpointTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/**
 * Where inside an epoch training stopped: the epoch's batch order (fixed when the epoch began: it
 * depends on the batch losses of that moment, which the epoch then updates), how many of those
 * batches are done, and the running sums behind the epoch's metrics, in the order they were added.
 */
export interface EpochProgress {
  readonly order: readonly number[];
  readonly step: number;
  readonly sumLoss: number;
  readonly sumCrossEntropy: number;
  readonly sumPenalty: number;
  readonly correct: number;
  readonly seen: number;
}

/**
 * Everything needed to continue training exactly where it stopped: the epoch count (and the
 * position inside the next epoch, if it stopped there), the options that must not change, the
 * model's weights, the optimizer's whole state, and the per-batch loss table. Random state is
 * implied: the data, the batch partition and every epoch's order come from (seed, epoch) alone.
 */
export interface Checkpoint {
  readonly epochsDone: number;
  readonly progress?: EpochProgress;
  readonly options: Record<string, unknown>;
  readonly batchLosses: readonly number[];
  readonly history: readonly Record<string, number>[];
  readonly weights: readonly CheckpointTensor[];
  readonly optimizer: readonly CheckpointTensor[];
}

interface Header {
  readonly magic: string;
  readonly epochsDone: number;
  readonly progress?: EpochProgress;
  readonly options: Record<string, unknown>;
  readonly batchLosses: readonly (number | null)[];
  readonly history: readonly Record<string, number>[];
  readonly weights: readonly { name: string; shape: number[]; offset: number }[];
  readonly optimizer: readonly { name: string; shape: number[]; offset: number }[];
}

/**
 * One file (u32 header length, JSON header, float32 data) written atomically: never half a
 * checkpoint. JSON keeps every float64 exactly (shortest round-trip form), which exact resumption
 * needs for the running sums.
 */
export async function writeCheckpoint(dir: string, checkpoint: Checkpoint): Promise<void> {
  const progress = checkpoint.progress;
  if (progress) {
    const sums = [progress.sumLoss, progress.sumCrossEntropy, progress.sumPenalty];
    if (!sums.every(Number.isFinite)) throw new Error('writeCheckpoint: non-finite running sum');
  }
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
    ...(checkpoint.progress ? { progress: checkpoint.progress } : {}),
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
  // The checkpoint is this training's own file: replacing it is always intended.
  await writeFileAtomic(join(dir, CHECKPOINT_FILE), out, { overwrite: true });
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
  if (header.magic !== MAGIC) {
    throw new CheckpointError(
      path,
      'magic',
      `expected ${MAGIC} (a checkpoint of another deltasim version cannot be resumed exactly)`,
    );
  }
  if (header.progress !== undefined) checkProgress(path, header.progress, header.batchLosses.length);
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
    ...(header.progress ? { progress: header.progress } : {}),
    options: header.options,
    batchLosses: header.batchLosses.map((l) => (l === null ? Number.NaN : l)),
    history: header.history,
    weights: read(header.weights),
    optimizer: read(header.optimizer),
  };
}

function checkProgress(path: string, progress: EpochProgress, batches: number): void {
  const { order, step } = progress;
  if (!Array.isArray(order) || !order.every((b) => Number.isInteger(b) && b >= 0 && b < batches))
    throw new CheckpointError(path, 'progress.order', `must list batch numbers below ${batches}`);
  if (!Number.isInteger(step) || step < 0 || step > order.length)
    throw new CheckpointError(path, 'progress.step', `must be an integer in [0, ${order.length}]`);
  for (const key of ['sumLoss', 'sumCrossEntropy', 'sumPenalty', 'correct', 'seen'] as const) {
    if (typeof progress[key] !== 'number' || !Number.isFinite(progress[key]))
      throw new CheckpointError(path, `progress.${key}`, 'must be a finite number');
  }
}

/**
 * Refuses to resume under options that differ from the checkpoint's: the result would match
 * neither run. `current` is compared after a JSON round trip, as it was stored.
 */
export function checkResumeOptions(
  dir: string,
  checkpoint: Checkpoint,
  current: Record<string, unknown>,
): void {
  const now = JSON.parse(JSON.stringify(current)) as Record<string, unknown>;
  const keys = new Set([...Object.keys(now), ...Object.keys(checkpoint.options)]);
  for (const key of [...keys].sort()) {
    const saved = JSON.stringify(checkpoint.options[key]);
    const wanted = JSON.stringify(now[key]);
    if (saved !== wanted) {
      throw new CheckpointError(
        join(dir, CHECKPOINT_FILE),
        `options.${key}`,
        `is ${saved ?? 'unset'} in the checkpoint but ${wanted ?? 'unset'} now (resume with the same options)`,
      );
    }
  }
}
