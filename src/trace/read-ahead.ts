/**
 * Positioned reads of the tensors of one safetensors file. When the caller walks the tensors in
 * storage order (validate, export, a full scan; from its second consecutive read on), the tensors
 * that follow the one asked for are read with it, up to WINDOW_BYTES per system call, and the next
 * window is already being read on libuv's thread pool while the caller checks the current one. Any
 * other access order (a replay reads a value and its mask, then jumps to the next step) reads just
 * the tensor asked for, and first waits for any read ahead it abandons, so memory stays bounded even
 * for a caller that never lets the event loop run. A read the caller has to wait for anyway (a scan's
 * first window, a random access) is synchronous up to SYNC_READ_BYTES: a thread-pool round trip
 * costs more than copying a few KiB from the page cache, and for a weight of a few MiB it still
 * cost more than it frees (the hop, the event-loop turn that hands the result back).
 *
 * Two kinds of reads. A plain read gets a buffer of the caller's own: windows then read into one
 * fresh buffer per tensor (`readv`), so the page faults of fresh memory are taken on the thread
 * pool. A `transient` read gets a view of recycled memory, valid until the next transient read on
 * the same pool (one pool per trace reader): windows then read into recycled blocks, borrowed from
 * the scan kernel's memory when it has room (./tensor-scan.ts) so the checksum pass reads them in
 * place. That memory is page-aligned, which lets each read land at the same offset within a page as
 * its source in the page cache: on CPUs with "4K aliasing" (this one) the kernel's copy runs ~4x
 * slower when the destination sits 8–24 bytes past the source modulo 4096, where a malloc'd buffer
 * typically lands. Fresh memory also costs page faults (in a VM, about as much as the copy) and
 * garbage collections, which recycled memory does not. A scan's first read decides its kind (a scan
 * that starts on a plain read right after a transient one, as validate alternates values and masks,
 * is recycled); a read of the other kind still gets what it asked for (a copy, or a buffer of its own).
 *
 * Results are handed to a callback while the memory is guaranteed intact. Memory: per pool, three
 * blocks of WINDOW_BYTES or one tensor (the window served, the one read ahead, and the one a
 * transient result pins); a plain scan holds two windows of fresh buffers instead.
 */
import { constants as bufferConstants } from 'node:buffer';
import { readSync, readvSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { borrowKernelBuffer, KERNEL_BUFFER_BYTES } from './tensor-scan.js';
import { TraceError, TraceUnreadableError } from './trace-error.js';

/** Source and destination agree modulo this, when the destination's alignment is known. */
const PAGE_BYTES = 4096;
/** Bytes read per window (one tensor may be larger). */
export const WINDOW_BYTES = 4 * 2 ** 20 - PAGE_BYTES;
/** The largest window a kernel buffer takes, leaving room to align it with its page offset. */
const KERNEL_WINDOW_BYTES = KERNEL_BUFFER_BYTES - PAGE_BYTES;
/**
 * The largest read the caller waits for that runs synchronously, on its own thread: any that fits a
 * kernel buffer. (At WINDOW_BYTES, ResNet-18's 4.5 MiB weights went through the thread pool, and a
 * one-step replay took ~2–4 ms longer and ~3–5 ms more CPU.)
 */
const SYNC_READ_BYTES = KERNEL_WINDOW_BYTES;
/** Buffers per `readv` call (Linux's IOV_MAX). */
const MAX_IOV = 1024;

/**
 * Stated limits of reading (docs/trace-format.md, "Reading"). `maxReadBytes`: bytes per system call —
 * Node's fs.read aborts the process past 2^31 − 1 bytes, so a larger tensor is read in chunks.
 * `maxTensorBytes`: the largest tensor (stored, or decoded to f32) a reader will hold, the largest
 * buffer this Node allocates; a header asking for more is a TraceError before any allocation.
 * Mutable only so tests can inject small limits and exercise the chunking on small files.
 */
export const READ_LIMITS = { maxReadBytes: 2 ** 30, maxTensorBytes: bufferConstants.MAX_LENGTH };

export interface Extent {
  /** Absolute file offset. */
  readonly position: number;
  readonly bytes: number;
  /** Alignment padding: read as part of a window, never asked for. */
  readonly padding: boolean;
}

/**
 * The extents of a file as columns: a trace reader keeps thousands (a 64-step ResNet-18 trace has
 * 5,418 tensors), and an object per extent would live as long as the reader in V8's young
 * generation, which grows with what survives its collections (peak RSS).
 */
export interface ExtentList {
  readonly length: number;
  position(index: number): number;
  bytes(index: number): number;
  padding(index: number): boolean;
}

/** An array of extents as an `ExtentList`. */
export function extentList(extents: readonly Extent[]): ExtentList {
  return {
    length: extents.length,
    position: (i) => extents[i]!.position,
    bytes: (i) => extents[i]!.bytes,
    padding: (i) => extents[i]!.padding,
  };
}

export interface ReadAheadFile {
  readonly path: string;
  /**
   * Calls `use` with the bytes of extent `index` and returns what it returns (or throws what it
   * throws). `owned`: the bytes are a buffer of their own (offset 0) that nobody else holds; else a
   * view of recycled memory, intact during the call and — with `transient` — until the next
   * transient read on the pool, but to be copied by a plain read that keeps it.
   */
  read<T>(index: number, transient: boolean, use: (bytes: Uint8Array, owned: boolean) => T): Promise<T>;
  /** Waits for reads in flight, then closes the file (a later read opens it again). */
  close(): Promise<void>;
}

/** Recycled window memory shared by the files of one trace (its shards). */
export interface BlockPool {
  /** Gives borrowed kernel memory back; the pool stays usable (it borrows again when needed). */
  close(): void;
}

interface Block {
  bytes: Uint8Array;
  /** Whether `bytes` starts on a page boundary (kernel memory), so reads can be placed to match. */
  aligned: boolean;
  /** Bumped whenever the block is given to a new window: older windows on it are gone. */
  generation: number;
  /** Reads into it in flight, and reads in progress that will hand out a view of it. */
  users: number;
  /** Returns borrowed kernel memory. */
  release?: () => void;
}

interface Pool extends BlockPool {
  readonly blocks: Block[];
  /** The block holding the last transient result, which stays valid until the next transient read. */
  pinned: Block | undefined;
}

interface Window {
  readonly first: number;
  readonly end: number;
  /** Recycled: the extents back to back in `block` from `offset`, while the generation holds. */
  readonly block?: Block;
  readonly generation: number;
  readonly offset: number;
  /** Fresh: one buffer per extent, handed over (and forgotten) on first use. */
  readonly buffers?: (Uint8Array | undefined)[];
  /** Settles without rejecting once the read is over; `failed` tells whether it worked. */
  done: Promise<void>;
  failed: boolean;
}

const unreleased = new FinalizationRegistry<Block[]>((blocks) => {
  for (const b of blocks) b.release?.();
});

export function createBlockPool(): BlockPool {
  const blocks: Block[] = [];
  const pool: Pool = {
    blocks,
    pinned: undefined,
    close: () => {
      for (const b of blocks) b.release?.();
      blocks.length = 0;
      pool.pinned = undefined;
    },
  };
  // A reader dropped without close still gives its kernel buffers back.
  unreleased.register(pool, blocks);
  return pool;
}

/**
 * `extents` sorted by position and contiguous (the header check guarantees it). `handle`, if given,
 * is an already open handle on `path` that this object takes over; otherwise the file is opened on
 * first read. Without a `pool`, the file has one of its own, given back on close.
 */
export function createReadAheadFile(
  path: string,
  extentsGiven: readonly Extent[] | ExtentList,
  options: { readonly handle?: FileHandle; readonly pool?: BlockPool } = {},
): ReadAheadFile {
  const extents = 'position' in extentsGiven ? extentsGiven : extentList(extentsGiven);
  let opened: Promise<FileHandle> | undefined = options.handle ? Promise.resolve(options.handle) : undefined;
  const pool = (options.pool ?? createBlockPool()) as Pool;
  let expected = nextRequestable(extents, 0);
  /** Consecutive reads in storage order: a scan is under way from the second one on. */
  let streak = 0;
  /** Whether the previous read was transient: a scan that starts on the plain read after it stays recycled. */
  let previousTransient = false;
  /** The window being served from first, then the one read ahead. */
  let windows: Window[] = [];
  const inFlight = new Set<Promise<unknown>>();
  // Memory of our own never exceeds the file's data: a lying header cannot make us allocate more.
  let dataBytes = 0;
  for (let i = 0; i < extents.length; i++) dataBytes += extents.bytes(i);

  const file = (): Promise<FileHandle> => {
    opened ??= openHandle(path);
    return opened;
  };

  /**
   * A block big enough for `bytes` that nothing needs any more: no read in flight into it or
   * handing out a view of it, not pinned by a transient result, not this file's live windows. (A
   * window of another shard on it simply goes stale: its generation moves on.)
   */
  const freeBlock = (bytes: number): Block => {
    const live = new Set(windows.map((w) => w.block));
    let block = pool.blocks.find((b) => b.users === 0 && b !== pool.pinned && !live.has(b));
    if (!block) {
      block = { bytes: new Uint8Array(0), aligned: false, generation: 0, users: 0 };
      pool.blocks.push(block);
    }
    if (block.bytes.length < bytes + (block.aligned ? PAGE_BYTES : 0)) {
      block.release?.();
      const borrowed = bytes <= KERNEL_WINDOW_BYTES ? borrowKernelBuffer() : undefined;
      block.bytes = borrowed?.bytes ?? allocate(Math.max(bytes, Math.min(WINDOW_BYTES, dataBytes)));
      block.aligned = borrowed !== undefined;
      block.release = borrowed?.release;
    }
    block.generation++;
    return block;
  };

  /**
   * Starts reading extents [first, end) into a recycled block or fresh buffers: synchronously (done
   * on return), or on the thread pool.
   */
  const startWindow = (
    h: FileHandle,
    first: number,
    end: number,
    recycled: boolean,
    sync: boolean,
  ): Window => {
    const position = extents.position(first);
    const bytes = extents.position(end - 1) + extents.bytes(end - 1) - position;
    let window: Window;
    let targets: Uint8Array[];
    if (recycled) {
      const block = freeBlock(bytes);
      const offset = block.aligned ? position % PAGE_BYTES : 0;
      targets = [block.bytes.subarray(offset, offset + bytes)];
      window = { first, end, block, generation: block.generation, offset, done: DONE, failed: false };
    } else {
      const buffers: Uint8Array[] = [];
      for (let i = first; i < end; i++) buffers.push(allocate(extents.bytes(i)));
      targets = buffers;
      window = { first, end, buffers, generation: 0, offset: 0, done: DONE, failed: false };
    }
    const w = window;
    if (sync) {
      try {
        readvExactlySync(path, h, targets, position);
      } catch {
        // The caller falls back to a direct read of what it asked for, which reports precisely.
        w.failed = true;
      }
      return w;
    }
    if (w.block) w.block.users++;
    w.done = readvExactly(path, h, targets, position).then(
      () => undefined,
      () => {
        w.failed = true;
      },
    );
    const done = w.done;
    inFlight.add(done);
    void done.then(() => {
      inFlight.delete(done);
      if (w.block) w.block.users--;
    });
    return w;
  };

  /** The run of extents from `first` that fits in one window (at least `first` itself). */
  const windowEnd = (first: number): number => {
    let end = first + 1;
    let bytes = extents.bytes(first);
    while (end < extents.length && end - first < MAX_IOV && bytes + extents.bytes(end) <= WINDOW_BYTES) {
      bytes += extents.bytes(end);
      end++;
    }
    return end;
  };

  const holds = (w: Window, index: number): boolean =>
    w.first <= index && index < w.end && (!w.block || w.block.generation === w.generation);

  /** Extent `index` of window `w`, if it still has it: [bytes, owned]. */
  const take = (w: Window, index: number): [Uint8Array, boolean] | undefined => {
    if (w.failed || !holds(w, index)) return undefined;
    if (w.buffers) {
      const own = w.buffers[index - w.first];
      w.buffers[index - w.first] = undefined;
      return own && [own, true];
    }
    const start = w.offset + extents.position(index) - extents.position(w.first);
    return [w.block!.bytes.subarray(start, start + extents.bytes(index)), false];
  };

  return {
    path,
    read: async (index, transient, use) => {
      if (!(index >= 0 && index < extents.length)) throw new RangeError(`no extent ${index} in ${path}`);
      const extent = { position: extents.position(index), bytes: extents.bytes(index) };
      const h = await file();
      if (transient) pool.pinned = undefined;
      streak = index === expected ? streak + 1 : 0;
      // One tensor after another (a value, then its mask, as a replay step reads them) is not yet a
      // scan: reading a window ahead for it would read megabytes to serve kilobytes.
      const sequential = streak >= 2;
      expected = nextRequestable(extents, index + 1);
      // A caller alternating transient values and plain masks (validate, export) scans in recycled
      // memory: the masks are copied out, but the values, most of the bytes, are checked in place.
      const recycledScan = transient || previousTransient;
      previousTransient = transient;
      let window = windows.find((w) => holds(w, index));
      if (!window) {
        // Reads ahead abandoned here still hold their memory until their completion runs, which
        // needs a turn of the event loop; a caller whose reads are all synchronous never gives one,
        // so wait for them now: memory stays bounded however long the access pattern.
        if (inFlight.size > 0) await Promise.allSettled(inFlight);
        // A new scan reads a whole window; random access just the tensor. Nothing to overlap this
        // read with yet: synchronous unless large.
        windows = [];
        const end = sequential ? windowEnd(index) : index + 1;
        const bytes = extents.position(end - 1) + extents.bytes(end - 1) - extent.position;
        window = startWindow(h, index, end, sequential ? recycledScan : transient, bytes <= SYNC_READ_BYTES);
        if (sequential) windows = [window];
      } else {
        windows = windows.slice(windows.indexOf(window));
      }
      if (sequential && windows.length === 1 && window.end < extents.length) {
        const next = window.end;
        windows.push(startWindow(h, next, windowEnd(next), window.block !== undefined, false));
      }
      const w = window;
      if (w.block) w.block.users++;
      try {
        await w.done;
        const got = take(w, index);
        if (!got) {
          // Read just this extent into a buffer of its own: a failure then names it precisely,
          // and an extent before the damage still reads. (Also a second request from a fresh window.)
          if (w.failed) windows = [];
          const own = allocate(extent.bytes);
          if (extent.bytes <= SYNC_READ_BYTES) readvExactlySync(path, h, [own], extent.position);
          else await readvExactly(path, h, [own], extent.position);
          return use(own, true);
        }
        const result = use(got[0], got[1]);
        if (transient && !got[1]) pool.pinned = w.block;
        return result;
      } finally {
        if (w.block) w.block.users--;
      }
    },
    close: async () => {
      windows = [];
      await Promise.allSettled(inFlight);
      if (!options.pool) pool.close();
      const h = opened;
      opened = undefined;
      if (h) await (await h.catch(() => undefined))?.close().catch(() => undefined);
    },
  };
}

const DONE = Promise.resolve();

function nextRequestable(extents: ExtentList, from: number): number {
  let i = from;
  while (i < extents.length && extents.padding(i)) i++;
  return i;
}

/** A fresh, unpooled buffer: offset 0, so typed-array views over it are always aligned. */
export function allocate(bytes: number): Uint8Array {
  const out = Buffer.allocUnsafeSlow(bytes);
  return new Uint8Array(out.buffer, out.byteOffset, bytes);
}

export async function openHandle(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (error) {
    throw new TraceUnreadableError(path, '', `cannot open (${errorCode(error)})`);
  }
}

export function errorCode(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string')
    return error.code;
  return error instanceof Error ? error.message : String(error);
}

function shortRead(source: string, position: number, length: number, at: number): TraceError {
  return new TraceError(source, 'data', `file ends at byte ${at}, before the ${length} bytes at ${position}`);
}

/** Exactly `length` bytes at `position` into a fresh buffer; a short file is a TraceError. */
export async function readExactly(
  source: string,
  handle: FileHandle,
  length: number,
  position: number,
): Promise<Uint8Array> {
  const out = allocate(length);
  await readvExactly(source, handle, [out], position);
  return out;
}

/** Fills `buffers` back to back from `position`, in as few `readv` calls as the OS allows. */
async function readvExactly(
  source: string,
  handle: FileHandle,
  buffers: readonly Uint8Array[],
  position: number,
): Promise<void> {
  const length = buffers.reduce((sum, b) => sum + b.length, 0);
  let pending = buffers.filter((b) => b.length > 0);
  let done = 0;
  while (done < length) {
    let bytesRead: number;
    try {
      const batch = readBatch(pending);
      ({ bytesRead } =
        batch.length === 1
          ? await handle.read(batch[0]!, 0, batch[0]!.length, position + done)
          : await handle.readv(batch, position + done));
    } catch (error) {
      throw new TraceUnreadableError(source, '', `read failed (${errorCode(error)})`);
    }
    if (bytesRead === 0) throw shortRead(source, position, length, position + done);
    done += bytesRead;
    pending = afterRead(pending, bytesRead);
  }
}

/** Fills `buffers` back to back from `position`, in as few `readv` calls as the OS allows. */
function readvExactlySync(
  source: string,
  handle: FileHandle,
  buffers: readonly Uint8Array[],
  position: number,
): void {
  const length = buffers.reduce((sum, b) => sum + b.length, 0);
  let pending = buffers.filter((b) => b.length > 0);
  let done = 0;
  while (done < length) {
    let bytesRead: number;
    try {
      const batch = readBatch(pending);
      bytesRead =
        batch.length === 1
          ? readSync(handle.fd, batch[0]!, 0, batch[0]!.length, position + done)
          : readvSync(handle.fd, batch, position + done);
    } catch (error) {
      throw new TraceUnreadableError(source, '', `read failed (${errorCode(error)})`);
    }
    if (bytesRead === 0) throw shortRead(source, position, length, position + done);
    done += bytesRead;
    pending = afterRead(pending, bytesRead);
  }
}

/** What one system call fills: at most MAX_IOV buffers and READ_LIMITS.maxReadBytes bytes. */
export function readBatch(pending: readonly Uint8Array[]): Uint8Array[] {
  const batch: Uint8Array[] = [];
  let room = READ_LIMITS.maxReadBytes;
  for (const b of pending) {
    if (batch.length === MAX_IOV || room === 0) break;
    batch.push(b.length <= room ? b : b.subarray(0, room));
    room -= Math.min(b.length, room);
  }
  return batch;
}

/** The buffers still to fill once `bytesRead` bytes went into the first ones. */
function afterRead(pending: readonly Uint8Array[], bytesRead: number): Uint8Array[] {
  let skip = bytesRead;
  let i = 0;
  while (i < pending.length && pending[i]!.length <= skip) skip -= pending[i++]!.length;
  const rest = pending.slice(i);
  if (skip > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(skip);
  return rest;
}
