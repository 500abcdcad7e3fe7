import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, vi } from 'vitest';
import { createPrng } from '../../src/common/prng.js';
import {
  createReadAheadFile,
  type Extent,
  type ReadAheadFile,
  WINDOW_BYTES,
} from '../../src/trace/read-ahead.js';
import { TraceError } from '../../src/trace/trace-error.js';

let dir: string;
let path: string;
let bytes: Uint8Array;
let extents: Extent[];

/** Tensor-like extents (8-byte aligned, padding between) over ~3 windows of data, after a header. */
function makeExtents(seed: number, header: number, total: number): Extent[] {
  const prng = createPrng(seed);
  const out: Extent[] = [];
  let position = header;
  while (position < header + total) {
    const size = prng.next() < 0.3 ? Math.floor(prng.next() * 2 ** 20) : Math.floor(prng.next() * 40_000);
    const n = Math.min(size, header + total - position);
    out.push({ position, bytes: n, padding: false });
    position += n;
    const pad = (8 - (n % 8)) % 8;
    if (pad > 0) {
      out.push({ position, bytes: pad, padding: true });
      position += pad;
    }
  }
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'deltasim-read-ahead-'));
  path = join(dir, 'data.bin');
  extents = makeExtents(5, 64, Math.floor(3.5 * WINDOW_BYTES));
  const last = extents[extents.length - 1]!;
  bytes = new Uint8Array(last.position + last.bytes);
  const prng = createPrng(6);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(prng.next() * 256);
  writeFileSync(path, bytes);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function expected(index: number): Uint8Array {
  const e = extents[index]!;
  return bytes.subarray(e.position, e.position + e.bytes);
}

/** Byte equality (toEqual walks megabyte arrays element by element, far too slowly). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

const requestable = () => extents.flatMap((e, i) => (e.padding ? [] : [i]));

/** A transient read: the view itself, valid until the next transient read. */
const view = (file: ReadAheadFile, index: number) => file.read(index, true, (b) => b);
/** A plain read: the callback copies what it keeps (checking the bytes while they are lent). */
const copy = (file: ReadAheadFile, index: number) =>
  file.read(index, false, (b) => {
    expect(same(b, expected(index))).toBe(true);
    return b.slice();
  });

/** Access patterns: storage-order runs (which read ahead) broken by random jumps. */
const pattern = fc.array(
  fc.record({
    start: fc.nat(),
    run: fc.integer({ min: 1, max: 40 }),
    transient: fc.oneof(fc.boolean(), fc.constant('mixed' as const)),
  }),
  { minLength: 1, maxLength: 4 },
);

describe('read-ahead reads', () => {
  test.prop([pattern], { numRuns: 25 })(
    'every read returns the extent bytes; kept results never change; transient ones last until the next transient read',
    async (segments) => {
      const file = createReadAheadFile(path, extents);
      const wanted = requestable();
      const kept: { index: number; data: Uint8Array }[] = [];
      let lastTransient: { index: number; data: Uint8Array } | undefined;
      try {
        let step = 0;
        for (const { start, run, transient } of segments) {
          const from = start % wanted.length;
          for (const index of wanted.slice(from, from + run)) {
            const isTransient = transient === 'mixed' ? step++ % 2 === 0 : transient;
            const data = isTransient ? await view(file, index) : await copy(file, index);
            expect(same(data, expected(index))).toBe(true);
            if (!isTransient) {
              kept.push({ index, data });
            } else {
              expect(data.byteOffset % 8).toBe(extents[index]!.position % 8);
              lastTransient = { index, data };
            }
            // A transient result survives any number of non-transient reads, and the reads ahead they
            // start (given a moment to land).
            if (lastTransient && !isTransient) {
              await new Promise((resolve) => setTimeout(resolve, 1));
              expect(same(lastTransient.data, expected(lastTransient.index))).toBe(true);
            }
          }
        }
        for (const k of kept) expect(same(k.data, expected(k.index))).toBe(true);
      } finally {
        await file.close();
      }
    },
  );

  test('a scan alternating transient and kept reads (as validate does) keeps each transient result intact', async () => {
    for (const parity of [0, 1]) {
      const file = createReadAheadFile(path, extents);
      try {
        let last: { index: number; data: Uint8Array } | undefined;
        for (const [i, index] of requestable().entries()) {
          if (i % 2 === parity) {
            last = { index, data: await view(file, index) };
          } else {
            expect(same(await copy(file, index), expected(index))).toBe(true);
            await new Promise((resolve) => setTimeout(resolve, 2));
          }
          if (last) expect(same(last.data, expected(last.index))).toBe(true);
        }
      } finally {
        await file.close();
      }
    }
  });

  test('a scan alternating transient values and kept masks reads the values into recycled memory', async () => {
    const file = createReadAheadFile(path, extents);
    try {
      const memory = new Set<ArrayBufferLike>();
      let owned = 0;
      for (const [i, index] of requestable().entries()) {
        if (i % 2 === 1) {
          await copy(file, index);
          continue;
        }
        await file.read(index, true, (b, own) => {
          // The first read is random access (a tensor of its own); the scan starts at the second.
          if (i > 0) {
            memory.add(b.buffer);
            if (own) owned++;
          }
        });
      }
      // The window served, the one read ahead and the pinned result: never a buffer per tensor.
      expect(owned).toBe(0);
      expect(memory.size).toBeLessThanOrEqual(3);
    } finally {
      await file.close();
    }
  });

  test.prop([fc.array(fc.nat(), { minLength: 1, maxLength: 30 }), fc.boolean()], { numRuns: 20 })(
    'plain reads issued all at once (runs in storage order among them) each get their own bytes',
    async (picks, transientFirst) => {
      const file = createReadAheadFile(path, extents);
      const wanted = requestable();
      try {
        // A transient scan may be under way: plain reads running alongside must not disturb it or it them.
        const first = wanted[picks[0]! % wanted.length]!;
        const pinned = transientFirst ? await view(file, first) : undefined;
        const indices = picks.flatMap((p) => {
          const from = p % wanted.length;
          return wanted.slice(from, from + (p % 5) + 1);
        });
        const results = await Promise.all(indices.map((index) => copy(file, index)));
        for (const [i, index] of indices.entries()) expect(same(results[i]!, expected(index))).toBe(true);
        if (pinned) expect(same(pinned, expected(first))).toBe(true);
      } finally {
        await file.close();
      }
    },
  );

  test('a file cut short after opening: intact extents still read, the rest is a TraceError', async () => {
    const cut = join(dir, 'cut.bin');
    writeFileSync(cut, bytes);
    const file = createReadAheadFile(cut, extents);
    const cutAt = Math.floor(bytes.length / 2);
    truncateSync(cut, cutAt);
    try {
      for (const index of requestable()) {
        const e = extents[index]!;
        if (e.position + e.bytes <= cutAt) {
          const data = index % 2 === 0 ? await view(file, index) : await copy(file, index);
          expect(same(data, expected(index))).toBe(true);
        } else {
          await expect(copy(file, index)).rejects.toBeInstanceOf(TraceError);
        }
      }
    } finally {
      await file.close();
    }
  });

  test('close waits for reads ahead; a later read opens the file again', async () => {
    const file = createReadAheadFile(path, extents);
    const first = requestable()[0]!;
    await view(file, first);
    await file.close();
    expect(same(await copy(file, first), expected(first))).toBe(true);
    await file.close();
  });

  test('a value then its mask, step after step (as replay reads), reads just those tensors: no windows ahead', async () => {
    const wanted = requestable();
    const pairs = wanted.flatMap((index, i) =>
      i + 1 < wanted.length && wanted[i + 1] === index + 1 ? [[index, index + 1] as const] : [],
    );
    // Jump around the file, as a replay's layer-major walk over step-major storage does.
    const order = pairs.filter((_, i) => i % 3 === 0).reverse();
    const spy = vi.spyOn(Buffer, 'allocUnsafeSlow');
    const file = createReadAheadFile(path, extents);
    try {
      let asked = 0;
      for (const [value, mask] of order) {
        expect(same(await view(file, value), expected(value))).toBe(true);
        expect(same(await copy(file, mask), expected(mask))).toBe(true);
        asked += extents[mask]!.bytes;
      }
      const allocated = spy.mock.calls.reduce((sum, c) => sum + Number(c[0]), 0);
      // The masks' own buffers, and at most one recycled block for the transient values.
      expect(allocated).toBeLessThanOrEqual(asked + WINDOW_BYTES);
    } finally {
      spy.mockRestore();
      await file.close();
    }
  });

  test("a weight of several MiB read on its own is read on the caller's thread, not through the thread pool", async () => {
    const big = join(dir, 'big.bin');
    const n = WINDOW_BYTES + 2 ** 20;
    const data = new Uint8Array(n + 1000);
    for (let i = 0; i < data.length; i += 997) data[i] = i & 255;
    writeFileSync(big, data);
    const handle = await open(big, 'r');
    const pool = [vi.spyOn(handle, 'read'), vi.spyOn(handle, 'readv')];
    const file = createReadAheadFile(
      big,
      [
        { position: 0, bytes: n, padding: false },
        { position: n, bytes: 1000, padding: false },
      ],
      { handle },
    );
    try {
      // The mask, then its value (as replay and validate read them): random access, both waited for.
      expect(same(await file.read(1, false, (b) => b.slice()), data.subarray(n))).toBe(true);
      expect(same(await file.read(0, true, (b) => b.slice()), data.subarray(0, n))).toBe(true);
      expect(pool.reduce((calls, spy) => calls + spy.mock.calls.length, 0)).toBe(0);
    } finally {
      await file.close();
    }
  });

  test('windows never allocate more than the file holds', async () => {
    const small = join(dir, 'small.bin');
    writeFileSync(small, bytes.subarray(0, 1000));
    const few: Extent[] = [
      { position: 0, bytes: 600, padding: false },
      { position: 600, bytes: 400, padding: false },
    ];
    const spy = vi.spyOn(Buffer, 'allocUnsafeSlow');
    const file = createReadAheadFile(small, few);
    try {
      for (const transient of [false, true, false]) {
        expect(same(await file.read(0, transient, (b) => b.slice()), bytes.subarray(0, 600))).toBe(true);
        expect(same(await file.read(1, transient, (b) => b.slice()), bytes.subarray(600, 1000))).toBe(true);
      }
      expect(Math.max(0, ...spy.mock.calls.map((c) => c[0]))).toBeLessThanOrEqual(1000);
    } finally {
      spy.mockRestore();
      await file.close();
    }
  });
});
