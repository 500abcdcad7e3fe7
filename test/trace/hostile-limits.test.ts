/**
 * Limits of reading and exporting, on small generated files: chunked reads (a small chunk limit
 * injected instead of a 3 GiB tensor), the per-tensor limit checked before any allocation, export
 * file names for any layer name, and replay checking every tensor it reads.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { tensorName } from '../../src/trace/manifest.js';
import { MAX_NPY_NAME_BYTES, npyRelativePath } from '../../src/trace/npy-export.js';
import { READ_LIMITS, readBatch } from '../../src/trace/read-ahead.js';
import { openTrace } from '../../src/trace/reader.js';
import { MAX_JSON_DEPTH, MAX_TENSORS, parseHeader, parseJsonObject } from '../../src/trace/safetensors.js';
import { TraceError } from '../../src/trace/trace-error.js';
import { runInProcess } from '../cli/run-in-process.js';
import { rewriteHeader, tensorOffset, withoutChecksums } from './corrupt.js';
import { writeWideTrace } from './fixtures.js';
import { GOLDEN_TINY_TRACE } from './make-golden.js';

let dir: string;
const defaults = { ...READ_LIMITS };
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deltasim-limits-'));
});
afterEach(() => {
  Object.assign(READ_LIMITS, defaults);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readAll(path: string, transient: boolean): Promise<Map<string, Uint8Array>> {
  const reader = await openTrace(path);
  try {
    const out = new Map<string, Uint8Array>();
    for (const info of reader.tensors()) {
      const bytes = await reader.readBytes(info.name, { transient });
      out.set(info.name, bytes.slice());
      if (!info.name.endsWith('#mask')) await reader.readValues(info.name, { transient });
    }
    return out;
  } finally {
    await reader.close();
  }
}

async function run(argv: string[]) {
  const { code, stdout, stderr } = await runInProcess(argv, dir);
  return { code, out: stdout, err: stderr };
}

describe('chunked reads', () => {
  test('with a 7-byte chunk limit every tensor reads back identical, windowed, random and transient', async () => {
    const wide = join(dir, 'wide.safetensors');
    await writeWideTrace(wide, { steps: 2 });
    for (const path of [GOLDEN_TINY_TRACE, wide]) {
      const expected = await readAll(path, false);
      READ_LIMITS.maxReadBytes = 7;
      for (const transient of [false, true]) {
        const got = await readAll(path, transient);
        expect([...got.keys()]).toEqual([...expected.keys()]);
        for (const [name, bytes] of expected)
          expect(Buffer.from(got.get(name)!).equals(bytes), name).toBe(true);
      }
      Object.assign(READ_LIMITS, defaults);
    }
  });

  test('a system call never gets more than the limit, nor more than IOV_MAX buffers', () => {
    READ_LIMITS.maxReadBytes = 10;
    const pending = [new Uint8Array(4), new Uint8Array(25), new Uint8Array(3)];
    const batch = readBatch(pending);
    expect(batch.map((b) => b.length)).toEqual([4, 6]);
    expect(batch[1]!.buffer).toBe(pending[1]!.buffer);
    READ_LIMITS.maxReadBytes = 2 ** 30;
    expect(readBatch(Array.from({ length: 2000 }, () => new Uint8Array(1)))).toHaveLength(1024);
  });

  test('a tensor beyond the per-tensor limit: one-line TraceError at open, nothing allocated for it', async () => {
    READ_LIMITS.maxTensorBytes = 64;
    const spy = vi.spyOn(Buffer, 'allocUnsafeSlow');
    try {
      await expect(openTrace(GOLDEN_TINY_TRACE)).rejects.toThrow(/exceed the 64-byte limit of one tensor/);
      const largest = Math.max(0, ...spy.mock.calls.map((c) => c[0]));
      const header = Number(new DataView((await readFile(GOLDEN_TINY_TRACE)).buffer).getBigUint64(0, true));
      // The header and its 8-byte length are all it read.
      expect(largest).toBeLessThanOrEqual(header);
    } finally {
      spy.mockRestore();
    }
    const { code, err } = await run(['trace', 'validate', GOLDEN_TINY_TRACE]);
    expect(code).toBe(1);
    expect(err.trim().split('\n')).toHaveLength(1);
  });

  test('a header claiming a 3 GiB tensor the file does not hold: one line, before any allocation', async () => {
    const bytes = rewriteHeader(new Uint8Array(await readFile(GOLDEN_TINY_TRACE)), (h) => {
      const entry = h[tensorName('conv1', 'weight')] as { shape: number[]; data_offsets: number[] };
      entry.shape = [805_306_368];
      entry.data_offsets = [entry.data_offsets[0]!, entry.data_offsets[0]! + 3 * 2 ** 30];
      return undefined;
    });
    const path = join(dir, 'huge.safetensors');
    await writeFile(path, bytes);
    const spy = vi.spyOn(Buffer, 'allocUnsafeSlow');
    try {
      const error = await openTrace(path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TraceError);
      expect((error as TraceError).toLine()).not.toContain('\n');
      expect(Math.max(0, ...spy.mock.calls.map((c) => c[0]))).toBeLessThanOrEqual(bytes.length);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('header bounds', () => {
  test('more tensors than the limit: one line saying so, before any entry is examined', () => {
    const header = (tensors: number) =>
      new TextEncoder().encode(
        `{"__metadata__":{},${Array.from({ length: tensors }, (_, i) => `"t${i}":0`).join(',')}}`,
      );
    expect(() => parseHeader('many.safetensors', header(11), 0, 10)).toThrow(
      'many.safetensors: header: 11 tensors exceed the limit of 10',
    );
    // At the limit the entries themselves are examined (and these are not valid entries).
    expect(() => parseHeader('many.safetensors', header(10), 0, 10)).toThrow(
      /tensor "t0": entry must be an object/,
    );
    expect(MAX_TENSORS).toBe(1_000_000);
  });

  test('nesting: 64 levels parse, 65 are refused before JSON.parse sees them', () => {
    const nested = (depth: number) => `{"a":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
    expect(parseJsonObject('f', 'header', nested(MAX_JSON_DEPTH))).toHaveProperty('a');
    expect(() => parseJsonObject('f', 'header', nested(MAX_JSON_DEPTH + 1))).toThrow(/nested deeper than 64/);
  });
});

describe('export file names', () => {
  test('escaping is deterministic, portable and injective; long names end in a hash', () => {
    expect(npyRelativePath('S0/conv1/input#mask')).toBe('S0/conv1/input#mask.npy');
    expect(npyRelativePath('L/per%cent ü/weight')).toBe('L/per%25cent%20%C3%BC/weight.npy');
    expect(npyRelativePath('L/..a/weight')).toBe('L/%2E.a/weight.npy');
    expect(npyRelativePath('L/a\\b:c/weight')).toBe('L/a%5Cb%3Ac/weight.npy');
    const long = npyRelativePath(`L/${'x'.repeat(5000)}/weight`);
    const part = long.split('/')[1]!;
    expect(Buffer.byteLength(`${part}.npy`)).toBeLessThanOrEqual(MAX_NPY_NAME_BYTES);
    expect(part).toMatch(/^x+~[0-9a-f]{8}$/);
    expect(npyRelativePath(`L/${'x'.repeat(4999)}y/weight`)).not.toBe(long);
  });

  test('layer names a file system would refuse export under their escaped names, listed in tensors.json', async () => {
    for (const name of ['a'.repeat(300), 'per%cent', 'sp ace', 'ünï', '.hidden', 'x\\y:z']) {
      const path = join(dir, 'named.safetensors');
      const base = new Uint8Array(await readFile(GOLDEN_TINY_TRACE));
      await writeFile(path, renameLayer(base, 'fc3', name));
      const target = join(dir, 'npy-named');
      const { code, err } = await run(['trace', 'export', path, '--npy', target]);
      expect({ code, err }, name).toEqual({ code: 0, err: '' });
      const table = JSON.parse(await readFile(join(target, 'tensors.json'), 'utf8')) as Record<
        string,
        { file: string }
      >;
      const weight = table[tensorName(name, 'weight')]!;
      expect(weight.file).toBe(npyRelativePath(tensorName(name, 'weight')));
      expect((await readFile(join(target, weight.file))).subarray(0, 6)).toEqual(
        Buffer.from('\x93NUMPY', 'latin1'),
      );
      await rm(target, { recursive: true });
    }
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

/** Renames a layer in the manifest and in its tensors' names (checksums of the metadata dropped). */
function renameLayer(bytes: Uint8Array, from: string, to: string): Uint8Array {
  return rewriteHeader(bytes, (h) => {
    const swap = (n: string) => n.replace(`/${from}/`, `/${to}/`);
    const m = JSON.parse(h.__metadata__['deltasim.manifest']!) as { layers: { name: string }[] };
    for (const l of m.layers) if (l.name === from) l.name = to;
    h.__metadata__['deltasim.manifest'] = JSON.stringify(m);
    const table = JSON.parse(h.__metadata__['deltasim.tensors'] ?? '{}') as Record<string, unknown>;
    h.__metadata__['deltasim.tensors'] = JSON.stringify(
      Object.fromEntries(Object.entries(table).map(([k, v]) => [swap(k), v])),
    );
    delete h.__metadata__['deltasim.checksums'];
    return `{${Object.entries(h)
      .map(([k, v]) => `${JSON.stringify(k === '__metadata__' ? k : swap(k))}:${JSON.stringify(v)}`)
      .join(',')}}`;
  });
}

describe('replay checks every tensor it reads', () => {
  const cases: { what: string; tensor: string; at: number; message: RegExp; modes: string[] }[] = [
    {
      what: 'a flipped byte in a weight',
      tensor: tensorName('fc3', 'weight'),
      at: 5,
      message: /tensor "L\/fc3\/weight": CRC-32 mismatch/,
      modes: ['--delta', '--no-delta'],
    },
    {
      what: 'a flipped byte in an input mask',
      tensor: `${tensorName('conv1', 'input', 2)}#mask`,
      at: 1,
      message: /tensor "S2\/conv1\/input#mask": CRC-32 mismatch/,
      modes: ['--no-delta'],
    },
    {
      what: 'a flipped byte in a delta',
      tensor: tensorName('dw2', 'delta', 3),
      at: 9,
      message: /tensor "S3\/dw2\/delta": CRC-32 mismatch/,
      modes: ['--delta'],
    },
  ];
  for (const c of cases) {
    test(`${c.what}: exit 2, one line naming file and tensor`, async () => {
      const bytes = new Uint8Array(await readFile(GOLDEN_TINY_TRACE));
      bytes[tensorOffset(bytes, c.tensor) + c.at]! ^= 0x20;
      const path = join(dir, 'flipped.safetensors');
      await writeFile(path, bytes);
      for (const mode of c.modes) {
        const { code, err } = await run(['replay', path, mode, '--json']);
        expect(code, mode).toBe(2);
        expect(err.trim().split('\n')).toHaveLength(1);
        expect(err).toContain(path);
        expect(err).toMatch(c.message);
      }
    });
  }

  test('NaN or Inf in an operand (checksums dropped): exit 2, one line, as validate rejects it', async () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const bytes = withoutChecksums(new Uint8Array(await readFile(GOLDEN_TINY_TRACE)));
      new DataView(bytes.buffer).setFloat32(
        tensorOffset(bytes, tensorName('dw2', 'input', 1)) + 8,
        value,
        true,
      );
      const path = join(dir, 'nan.safetensors');
      await writeFile(path, bytes);
      expect((await run(['trace', 'validate', path])).code).toBe(1);
      const { code, err } = await run(['replay', path, '--no-delta', '--verify', '--json']);
      expect(code).toBe(2);
      expect(err.trim().split('\n')).toHaveLength(1);
      expect(err).toMatch(/tensor "S1\/dw2\/input": element 2 is NaN or Infinity/);
    }
  });
});
