/**
 * A reader handed over to another thread (`traceHandover` → postMessage → `adoptTrace`), as a
 * `replay --workers N` pool thread gets it: it reads the same tensors as the reader that opened and
 * checked the trace, and refuses a damaged tensor with the same one-line error, without parsing the
 * headers again. `structuredClone` is the serialization postMessage uses.
 */
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { labelled } from '../../src/replay/replay-driver.js';
import { adoptTrace, openTrace, type TraceReader, traceHandover } from '../../src/trace/reader.js';
import { TraceError, TraceUnreadableError } from '../../src/trace/trace-error.js';
import { tensorOffset, withoutTensorCrcs } from './corrupt.js';
import { writeTinyTrace } from './fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deltasim-handover-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The reader another thread builds from `reader`'s handover, posted as postMessage would. */
const adopted = (reader: TraceReader): TraceReader => adoptTrace(structuredClone(traceHandover(reader)));

/** Whatever a read gives: its bytes, or its error's message. */
async function outcome(read: () => Promise<ArrayBufferView>): Promise<Uint8Array | string> {
  try {
    const view = await read();
    return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
  } catch (error) {
    return error instanceof TraceError ? `${error.constructor.name}: ${error.message}` : String(error);
  }
}

async function expectSameReads(a: TraceReader, b: TraceReader): Promise<void> {
  expect(b.path).toBe(a.path);
  expect(b.files).toEqual(a.files);
  expect(b.manifest).toEqual(a.manifest);
  expect(b.tensors()).toEqual(a.tensors());
  for (const { name } of a.tensors()) {
    expect(b.has(name)).toBe(true);
    expect(b.info(name)).toEqual(a.info(name));
    expect(b.scaleOf(name)).toBe(a.scaleOf(name));
    expect(await outcome(() => b.readBytes(name))).toEqual(await outcome(() => a.readBytes(name)));
    if (!name.endsWith('#mask')) {
      expect(await outcome(() => b.readValues(name))).toEqual(await outcome(() => a.readValues(name)));
      expect(await outcome(() => b.readMask(name, { transient: true }))).toEqual(
        await outcome(() => a.readMask(name, { transient: true })),
      );
    }
  }
  expect(b.has('S0/no-such/input')).toBe(false);
  expect(() => b.info('S0/no-such/input')).toThrow(a.path);
}

describe('a handed-over reader', () => {
  test.each([
    ['F16', {}],
    ['I8', {}],
    ['F32 sharded', { shardBytes: 1024 }],
  ] as const)('reads every tensor of a %s trace as the opening reader does', async (kind, extra) => {
    const sub = await mkdtemp(join(dir, 'same-'));
    const path = join(sub, 'trace.safetensors');
    const dtype = kind.startsWith('F32') ? 'F32' : kind === 'I8' ? 'I8' : 'F16';
    await writeTinyTrace(path, { steps: 5, dtype, ...extra });
    const reader = await openTrace(path);
    const other = adopted(reader);
    try {
      if ('shardBytes' in extra) expect(reader.files.length).toBeGreaterThan(2);
      await expectSameReads(reader, other);
    } finally {
      await Promise.all([reader.close(), other.close()]);
    }
  });

  test('is typed arrays and a string of names per shard, not an object per tensor', async () => {
    const path = join(dir, 'compact.safetensors');
    await writeTinyTrace(path, { steps: 6 });
    const reader = await openTrace(path);
    try {
      const { shards } = traceHandover(reader);
      expect(shards).toHaveLength(1);
      for (const value of Object.values(shards[0]!))
        expect(typeof value !== 'object' || ArrayBuffer.isView(value)).toBe(true);
      // Every tensor, padding included, is in it.
      expect(shards[0]!.nameEnds.length).toBeGreaterThan(reader.tensors().length);
    } finally {
      await reader.close();
    }
  });

  test('refuses a tensor damaged after the header was checked: same one-line error, naming file and tensor', async () => {
    const path = join(dir, 'damaged.safetensors');
    const expected = await writeTinyTrace(path, { steps: 3, dtype: 'F32' });
    const reader = await openTrace(path);
    const other = adopted(reader);
    try {
      const name = expected.find((t) => t.name.startsWith('S1/'))!.name;
      const bytes = new Uint8Array(await readFile(path));
      bytes[tensorOffset(bytes, name) + 5]! ^= 0x10;
      await writeFile(path, bytes);
      const error = await outcome(() => other.readValues(name));
      expect(error).toBe(await outcome(() => reader.readValues(name)));
      expect(error).toBe(`TraceError: ${path}: tensor "${name}": CRC-32 mismatch: data corrupted`);
    } finally {
      await Promise.all([reader.close(), other.close()]);
    }
  });

  test('without checksums it still refuses a NaN, and keeps the opening reader’s verifyChecksums', async () => {
    const written = join(dir, 'nan-source.safetensors');
    const expected = await writeTinyTrace(written, { steps: 2, dtype: 'F32' });
    const name = expected.find((t) => t.name.startsWith('S0/'))!.name;
    const good = new Uint8Array(await readFile(written));
    // No CRCs: a NaN is found by the finiteness check.
    const noCrc = withoutTensorCrcs(good);
    new DataView(noCrc.buffer).setUint32(tensorOffset(noCrc, name) + 4, 0x7fc00000, true);
    const nanPath = join(dir, 'nan.safetensors');
    await writeFile(nanPath, noCrc);
    // CRCs kept but not verified: a flipped low mantissa bit reads back as it is.
    const flipped = good.slice();
    flipped[tensorOffset(flipped, name)]! ^= 0x01;
    const flippedPath = join(dir, 'flipped.safetensors');
    await writeFile(flippedPath, flipped);
    const readers = [await openTrace(nanPath), await openTrace(flippedPath, { verifyChecksums: false })];
    const others = readers.map(adopted);
    try {
      const nan = await outcome(() => others[0]!.readValues(name));
      expect(nan).toBe(`TraceError: ${nanPath}: tensor "${name}": element 1 is NaN or Infinity`);
      expect(nan).toBe(await outcome(() => readers[0]!.readValues(name)));
      const read = await outcome(() => others[1]!.readBytes(name));
      expect(read).toEqual(await outcome(() => readers[1]!.readBytes(name)));
      expect((read as Uint8Array)[0]).toBe(flipped[tensorOffset(flipped, name)]);
    } finally {
      await Promise.all([...readers, ...others].map((r) => r.close()));
    }
  });

  test('opens its files on the first read: a file gone by then is one error naming it', async () => {
    const path = join(dir, 'gone.safetensors');
    const expected = await writeTinyTrace(path, { steps: 1 });
    const reader = await openTrace(path);
    const handover = structuredClone(traceHandover(reader));
    await reader.close();
    await unlink(path);
    const other = adoptTrace(handover);
    try {
      expect(other.tensors().length).toBeGreaterThan(0);
      const error = await other.readBytes(expected[0]!.name).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TraceUnreadableError);
      expect((error as Error).message).toContain(path);
    } finally {
      await other.close();
    }
  });

  test('only a reader openTrace returned has a handover', async () => {
    const path = join(dir, 'proxy.safetensors');
    await writeTinyTrace(path, { steps: 1 });
    const reader = await openTrace(path);
    try {
      expect(() => traceHandover(labelled(reader, 'label'))).toThrow(TypeError);
      expect(() => traceHandover({ ...reader })).toThrow(TypeError);
    } finally {
      await reader.close();
    }
  });
});
