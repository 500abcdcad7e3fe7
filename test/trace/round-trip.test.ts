import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { decodeFloat16, encodeFloat16 } from '../../src/trace/float16.js';
import { packMask } from '../../src/trace/mask.js';
import { openTrace } from '../../src/trace/reader.js';
import { borrowKernelBuffer } from '../../src/trace/tensor-scan.js';
import { headerEnd, readHeader } from './corrupt.js';
import { writeTinyTrace } from './fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deltasim-trace-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writer → reader', () => {
  test('F32 values and masks come back bit-identical', async () => {
    const path = join(dir, 'f32.safetensors');
    const expected = await writeTinyTrace(path, { steps: 5 });
    const reader = await openTrace(path);
    try {
      expect(reader.manifest.steps).toHaveLength(5);
      for (const t of expected) {
        const values = await reader.readValues(t.name);
        expect(new Uint32Array(values.buffer, values.byteOffset, values.length)).toEqual(
          new Uint32Array(t.values.buffer, t.values.byteOffset, t.values.length),
        );
        expect(reader.info(t.name).shape).toEqual(t.shape);
        expect(await reader.readMask(t.name)).toEqual(packMask(t.values));
      }
    } finally {
      await reader.close();
    }
  });
});

describe('storage dtypes', () => {
  test('F16 stores the nearest half and the mask of what is stored', async () => {
    const path = join(dir, 'f16.safetensors');
    const expected = await writeTinyTrace(path, { dtype: 'F16' });
    const reader = await openTrace(path);
    try {
      for (const t of expected) {
        const stored = decodeFloat16(encodeFloat16(t.values));
        const values = await reader.readValues(t.name);
        expect(values).toEqual(stored);
        expect(reader.info(t.name).dtype).toBe('F16');
        expect(await reader.readMask(t.name)).toEqual(packMask(stored));
      }
    } finally {
      await reader.close();
    }
  });

  test('I8 stores round(x / scale) with scale = max|x| / 127', async () => {
    const path = join(dir, 'i8.safetensors');
    const expected = await writeTinyTrace(path, { dtype: 'I8' });
    const reader = await openTrace(path);
    try {
      for (const t of expected) {
        const maxAbs = t.values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const scale = reader.scaleOf(t.name);
        expect(scale).toBe(maxAbs / 127);
        const values = await reader.readValues(t.name);
        for (let i = 0; i < values.length; i++) {
          expect(Math.abs(values[i]! - t.values[i]!)).toBeLessThanOrEqual(scale! / 2 + 1e-6 * maxAbs);
        }
        expect(await reader.readMask(t.name)).toEqual(packMask(values));
      }
    } finally {
      await reader.close();
    }
  });
});

describe('sharding', () => {
  test('past shardBytes the path becomes an index and the reader is transparent', async () => {
    const sub = join(dir, 'sharded');
    const path = join(sub, 'trace.safetensors');
    const expected = await writeTinyTrace(path, { steps: 6, shardBytes: 1024 });
    const files = (await readdir(sub)).sort();
    expect(files.length).toBeGreaterThan(3);
    expect(files).toContain('trace.safetensors');
    expect(files.filter((f) => /^trace-\d{5}-of-\d{5}\.safetensors$/.test(f))).toHaveLength(files.length - 1);
    const reader = await openTrace(path);
    try {
      expect(reader.files.length).toBe(files.length);
      for (const t of expected) {
        expect(await reader.readValues(t.name)).toEqual(t.values);
        expect(await reader.readMask(t.name)).toEqual(packMask(t.values));
      }
      // Each shard is a trace on its own too (structure only: not every tensor is in it).
      const shardNames = files.filter((f) => f !== 'trace.safetensors');
      expect(shardNames.length).toBe(reader.files.length - 1);
    } finally {
      await reader.close();
    }
  });
});

describe('reading modes', () => {
  /** The same trace without its `#pad` tensors: valid safetensors whose F32 tensors are unaligned. */
  function withoutPadding(bytes: Uint8Array): Uint8Array {
    const header = readHeader(bytes);
    const start = headerEnd(bytes);
    const entries = Object.entries(header)
      .filter(([name]) => name !== '__metadata__')
      .map(
        ([name, e]) =>
          [name, e as { dtype: string; shape: number[]; data_offsets: [number, number] }] as const,
      )
      .sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
    const kept: Record<string, unknown> = { __metadata__: header.__metadata__ };
    const parts: Uint8Array[] = [];
    let offset = 0;
    for (const [name, e] of entries) {
      if (name.endsWith('#pad')) continue;
      const [begin, end] = e.data_offsets;
      kept[name] = { ...e, data_offsets: [offset, offset + end - begin] };
      parts.push(bytes.subarray(start + begin, start + end));
      offset += end - begin;
    }
    const json = new TextEncoder().encode(JSON.stringify(kept));
    const out = new Uint8Array(8 + json.length + offset);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    let at = 8 + json.length;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  test.each([['F32'], ['F16']] as const)(
    '%s: kept and transient reads agree, aligned or not, in storage order or not',
    async (dtype) => {
      const path = join(dir, `modes-${dtype}.safetensors`);
      const expected = await writeTinyTrace(path, { dtype, steps: 3 });
      const unaligned = join(dir, `modes-${dtype}-unaligned.safetensors`);
      await writeFile(unaligned, withoutPadding(new Uint8Array(await readFile(path))));
      for (const file of [path, unaligned]) {
        const reader = await openTrace(file);
        try {
          for (const order of [expected, [...expected].reverse()]) {
            for (const t of order) {
              const kept = await reader.readValues(t.name);
              const transient = await reader.readValues(t.name, { transient: true });
              expect(transient).toEqual(kept);
              const stored = dtype === 'F16' ? decodeFloat16(encodeFloat16(t.values)) : t.values;
              expect(kept).toEqual(stored);
              expect(await reader.readMask(t.name, { transient: true })).toEqual(packMask(stored));
            }
          }
        } finally {
          await reader.close();
        }
      }
    },
  );
});

test.each([['F32'], ['F16'], ['I8']] as const)(
  '%s: withBytes / withValues judge every tensor as read, with three callers sharing the reader',
  async (dtype) => {
    const path = join(dir, `with-${dtype}.safetensors`);
    const expected = await writeTinyTrace(path, { dtype, steps: 3 });
    const reader = await openTrace(path);
    try {
      const kept = new Map<string, { bytes: Uint8Array; values: Float32Array }>();
      for (const t of expected)
        kept.set(t.name, { bytes: await reader.readBytes(t.name), values: await reader.readValues(t.name) });
      const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
        a.length === b.length && a.every((x, i) => x === b[i]);
      const sameValues = (a: Float32Array, b: Float32Array): boolean =>
        a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
      // Three callers step through interleaved tensors side by side, as a layer's configurations do.
      const judged = await Promise.all(
        [0, 1, 2].map(async (caller) => {
          const verdicts: boolean[] = [];
          for (const [i, t] of expected.entries()) {
            if (i % 3 !== caller) continue;
            const k = kept.get(t.name)!;
            verdicts.push(
              await reader.withBytes(t.name, (bytes) => sameBytes(bytes, k.bytes), { finite: true }),
            );
            verdicts.push(await reader.withValues(t.name, (values) => sameValues(values, k.values)));
          }
          return verdicts;
        }),
      );
      expect(judged.flat()).toHaveLength(2 * expected.length);
      expect(judged.flat().every(Boolean)).toBe(true);
      // What `use` returns is what the call resolves to; what it throws rejects the call.
      const first = expected[0]!.name;
      expect(await reader.withBytes(first, (bytes) => bytes.length)).toBe(kept.get(first)!.bytes.length);
      await expect(
        reader.withValues(first, () => {
          throw new Error('judged');
        }),
      ).rejects.toThrow('judged');
    } finally {
      await reader.close();
    }
  },
);

describe('memory', () => {
  /** How many of the scan kernel's buffers are free right now. */
  function freeKernelBuffers(): number {
    const held = [];
    for (let b = borrowKernelBuffer(); b; b = borrowKernelBuffer()) held.push(b);
    for (const b of held) b.release();
    return held.length;
  }

  test('transient reads of a sharded trace recycle the same few window buffers for all shards', async () => {
    const sub = join(dir, 'sharded-transient');
    const path = join(sub, 'trace.safetensors');
    const expected = await writeTinyTrace(path, { steps: 6, shardBytes: 1024 });
    const before = freeKernelBuffers();
    const reader = await openTrace(path);
    try {
      expect(reader.files.length).toBeGreaterThan(5);
      for (const t of expected) {
        expect(await reader.readValues(t.name, { transient: true })).toEqual(t.values);
        expect(await reader.readMask(t.name, { transient: true })).toEqual(packMask(t.values));
      }
      // Served, read ahead, pinned by the last transient result: three at most, whatever the shards.
      expect(before - freeKernelBuffers()).toBeLessThanOrEqual(3);
    } finally {
      await reader.close();
    }
    expect(freeKernelBuffers()).toBe(before);
  });
});
