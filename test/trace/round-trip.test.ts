import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { decodeFloat16, encodeFloat16 } from '../../src/trace/float16.js';
import { packMask } from '../../src/trace/mask.js';
import { openTrace } from '../../src/trace/reader.js';
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
