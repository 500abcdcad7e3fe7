import { statSync } from 'node:fs';
import { openTrace, type TraceReader } from '../trace/reader.js';
import { checkTensorData } from '../trace/validate.js';

/**
 * The traces a sweep worker thread has opened, kept open across the designs it runs: a design then
 * pays its own replay, not the trace's opening (headers, manifest checks) and data checks
 * (checksums, NaN/Inf, mask = values) again. What is kept depends on the file alone, never on the
 * hardware: the reader and the masks that passed `checkTensorData`.
 *
 * A trace is served again only while every file it consists of still has the device, inode, size,
 * modification and change times it had when opened (nanoseconds): a file rewritten in place or
 * replaced by a rename is opened and checked afresh.
 */

/** Mask bytes kept per thread (over all traces); past it, masks are checked on every read as without a cache. */
const MASK_BUDGET_BYTES = 256 * 1024 * 1024;

interface Opened {
  readonly reader: TraceReader;
  /** The identity of every file of the trace when it was opened. */
  readonly identity: string;
  /** Checked masks by tensor name (a pending check is shared by the designs that ask meanwhile). */
  readonly masks: Map<string, Promise<Uint8Array>>;
  maskBytes: number;
  /** Designs using the reader now: a replaced trace is closed when the last one lets go. */
  users: number;
  replaced: boolean;
}

const opened = new Map<string, Promise<Opened>>();
let maskBytesKept = 0;

/** One `stat` per file, synchronous: the thread has nothing else to do meanwhile, and a promise costs more. */
function identityOf(files: readonly string[]): string {
  const parts: string[] = [];
  for (const file of files) {
    const s = statSync(file, { bigint: true });
    parts.push(`${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`);
  }
  return parts.join('|');
}

async function openEntry(path: string): Promise<Opened> {
  // Taken before the files are read: a change after this point makes the next look-up differ.
  const before = identityOf([path]);
  const reader = await openTrace(path);
  try {
    const identity =
      reader.files.length === 1 && reader.files[0] === path ? before : identityOf(reader.files);
    return { reader, identity, masks: new Map(), maskBytes: 0, users: 0, replaced: false };
  } catch (error) {
    await reader.close();
    throw error;
  }
}

async function retire(entry: Opened): Promise<void> {
  entry.replaced = true;
  maskBytesKept -= entry.maskBytes;
  entry.maskBytes = 0;
  entry.masks.clear();
  if (entry.users === 0) await entry.reader.close();
}

/** The open, unchanged trace at `path` (opened now if it is new or its files changed), held until `release`. */
async function acquire(path: string): Promise<Opened> {
  for (;;) {
    let pending = opened.get(path);
    if (!pending) {
      pending = openEntry(path);
      opened.set(path, pending);
      // A trace that fails to open is not remembered: the next design reports the same error.
      pending.catch(() => {
        if (opened.get(path) === pending) opened.delete(path);
      });
    }
    const entry = await pending;
    let current: string | undefined;
    try {
      current = identityOf(entry.reader.files);
    } catch {
      current = undefined; // gone: reopening reports it
    }
    if (current === entry.identity) {
      entry.users++;
      return entry;
    }
    if (opened.get(path) === pending) {
      opened.delete(path);
      await retire(entry);
    }
  }
}

async function release(entry: Opened): Promise<void> {
  entry.users--;
  if (entry.replaced && entry.users === 0) await entry.reader.close();
}

/** `checkTensorData`, remembered per tensor while the mask budget lasts. */
function checkedMask(entry: Opened, reader: TraceReader, name: string): Promise<Uint8Array> {
  const kept = entry.masks.get(name);
  if (kept) return kept;
  const checking = checkTensorData(reader, name);
  if (entry.replaced || maskBytesKept >= MASK_BUDGET_BYTES) return checking;
  entry.masks.set(name, checking);
  checking.then(
    (mask) => {
      if (entry.masks.get(name) !== checking) return;
      entry.maskBytes += mask.byteLength;
      maskBytesKept += mask.byteLength;
    },
    () => {
      // A failed check is not remembered: every design that reads the tensor reports it.
      if (entry.masks.get(name) === checking) entry.masks.delete(name);
    },
  );
  return checking;
}

/** What a replay of a cached trace reads through: its reader, and masks checked once per thread. */
export interface CachedTrace {
  readonly reader: TraceReader;
  /** A tensor's mask, checked against its values the first time (the replay's `checkedMask` hook). */
  checkedMask(reader: TraceReader, name: string): Promise<Uint8Array>;
}

/** Runs `use` on the trace at `path`, opened once per thread and reopened when its files change. */
export async function withCachedTrace<T>(path: string, use: (trace: CachedTrace) => Promise<T>): Promise<T> {
  const entry = await acquire(path);
  try {
    return await use({
      reader: entry.reader,
      checkedMask: (reader, name) => checkedMask(entry, reader, name),
    });
  } finally {
    await release(entry);
  }
}
