/**
 * Thousands of random corruptions of valid traces: the reader either returns exactly the original
 * data or throws a TraceError — never another exception, never a hang, and it never allocates more
 * than the file's size, whatever a (lying) header says. Besides the tiny traces, two "wide" ones have
 * tensors large enough for the WebAssembly scan kernel, and reads are both kept and transient.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, vi } from 'vitest';
import { openTrace } from '../../src/trace/reader.js';
import { TraceError } from '../../src/trace/trace-error.js';
import { validateTrace } from '../../src/trace/validate.js';
import { writeTinyTrace, writeWideTrace } from './fixtures.js';

interface Truth {
  readonly bytes: Uint8Array;
  readonly manifest: string;
  readonly data: ReadonlyMap<string, { values: Uint8Array; mask: Uint8Array }>;
}

let dir: string;
let counter = 0;
const truths: Truth[] = [];

/** Reads every value and mask; transient results are copied at once, as their contract asks. */
async function readEverything(path: string, transient = false): Promise<Omit<Truth, 'bytes'>> {
  const reader = await openTrace(path);
  try {
    const data = new Map<string, { values: Uint8Array; mask: Uint8Array }>();
    for (const info of reader.tensors()) {
      if (info.name.endsWith('#mask')) continue;
      const values = await reader.readValues(info.name, { transient });
      const valueBytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
      const kept = transient ? valueBytes.slice() : valueBytes;
      const mask = await reader.readMask(info.name, { transient });
      data.set(info.name, { values: kept, mask: transient ? mask.slice() : mask });
    }
    return { manifest: JSON.stringify(reader.manifest), data };
  } finally {
    await reader.close();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'deltasim-fuzz-'));
  for (const [i, dtype] of (['F32', 'F16', 'I8'] as const).entries()) {
    const path = join(dir, `base-${dtype}.safetensors`);
    await writeTinyTrace(path, { dtype, steps: 2, seed: 100 + i });
    truths.push({ bytes: new Uint8Array(await readFile(path)), ...(await readEverything(path)) });
  }
  for (const [i, dtype] of (['F32', 'F16'] as const).entries()) {
    const path = join(dir, `wide-${dtype}.safetensors`);
    await writeWideTrace(path, { dtype, steps: 2, seed: 200 + i });
    truths.push({ bytes: new Uint8Array(await readFile(path)), ...(await readEverything(path)) });
  }
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function headerEnd(bytes: Uint8Array): number {
  return 8 + Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
}

function withHeader(truth: Truth, json: string): Uint8Array {
  const end = headerEnd(truth.bytes);
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length + (truth.bytes.length - end));
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(truth.bytes.subarray(end), 8 + text.length);
  return out;
}

function headerObject(truth: Truth): Record<string, { data_offsets?: number[] }> {
  return JSON.parse(new TextDecoder().decode(truth.bytes.subarray(8, headerEnd(truth.bytes))));
}

/** Byte equality (toEqual walks large arrays element by element, far too slowly). */
function same(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b));
}

/** Opens and reads a corrupted file: identical data or TraceError, and no allocation beyond the file size. */
async function check(
  truth: Truth,
  corrupted: Uint8Array,
  transient = false,
): Promise<'identical' | 'rejected'> {
  const path = join(dir, `case-${counter++}.safetensors`);
  writeFileSync(path, corrupted);
  const spy = vi.spyOn(Buffer, 'allocUnsafeSlow');
  try {
    const got = await readEverything(path, transient);
    expect(got.manifest).toBe(truth.manifest);
    expect([...got.data.keys()]).toEqual([...truth.data.keys()]);
    for (const [name, t] of truth.data) {
      expect(same(got.data.get(name)?.values, t.values), name).toBe(true);
      expect(same(got.data.get(name)?.mask, t.mask), `${name}#mask`).toBe(true);
    }
    return 'identical';
  } catch (error) {
    if (!(error instanceof TraceError)) throw error;
    // One line naming the file.
    expect(error.toLine()).not.toContain('\n');
    expect(error.message.startsWith(path)).toBe(true);
    return 'rejected';
  } finally {
    const largest = Math.max(0, ...spy.mock.calls.map((c) => c[0]));
    spy.mockRestore();
    rmSync(path, { force: true });
    expect(largest).toBeLessThanOrEqual(corrupted.length);
  }
}

const truthIndex = fc.nat(4);
/**
 * A position in [0, 1], uniform over the range: fc.double is uniform over representable doubles, so
 * nearly all its values are tiny and the bytes it picks nearly all sit at the start.
 */
const FRACTION_STEPS = 1 << 30;
const fraction = fc.integer({ min: 0, max: FRACTION_STEPS }).map((i) => i / FRACTION_STEPS);
const RUNS = 400;

describe('corrupted traces: identical data or TraceError', () => {
  test.prop([truthIndex, fraction, fc.boolean()], { numRuns: RUNS })(
    'truncation',
    async (t, at, transient) => {
      const truth = truths[t]!;
      const length = Math.floor(at * (truth.bytes.length - 1));
      expect(await check(truth, truth.bytes.slice(0, length), transient)).toBe('rejected');
    },
  );

  test.prop([truthIndex, fraction, fc.integer({ min: 1, max: 255 })], {
    numRuns: RUNS,
  })('a flipped byte in the header', async (t, at, xor) => {
    const truth = truths[t]!;
    const bytes = truth.bytes.slice();
    const position = Math.min(headerEnd(bytes) - 1, Math.floor(at * headerEnd(bytes)));
    bytes[position]! ^= xor;
    await check(truth, bytes);
  });

  test.prop([truthIndex, fraction, fc.integer({ min: 1, max: 255 }), fc.boolean()], { numRuns: RUNS })(
    'a flipped byte in the data',
    async (t, at, xor, transient) => {
      const truth = truths[t]!;
      const bytes = truth.bytes.slice();
      const start = headerEnd(bytes);
      const position = Math.min(bytes.length - 1, start + Math.floor(at * (bytes.length - start)));
      bytes[position]! ^= xor;
      await check(truth, bytes, transient);
    },
  );

  test.prop(
    [
      truthIndex,
      fc.oneof(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.bigInt({ min: 100_000_000n, max: 2n ** 40n }),
        fc.integer({ min: -64, max: 64 }).map((d) => BigInt(d)),
      ),
    ],
    { numRuns: RUNS },
  )('a lying header length', async (t, raw) => {
    const truth = truths[t]!;
    const bytes = truth.bytes.slice();
    const view = new DataView(bytes.buffer);
    const original = view.getBigUint64(0, true);
    // Small values are offsets from the true length; large ones replace it.
    const length = raw >= -64n && raw <= 64n ? original + raw : raw;
    if (length < 0n || length === original) return;
    view.setBigUint64(0, length, true);
    expect(await check(truth, bytes)).toBe('rejected');
  });

  test.prop([truthIndex, fc.nat(), fc.integer({ min: -40, max: 40 }), fc.boolean()], { numRuns: RUNS })(
    'wrong data_offsets',
    async (t, pick, shift, which) => {
      const truth = truths[t]!;
      const header = headerObject(truth);
      const names = Object.keys(header).filter((k) => k !== '__metadata__');
      const name = names[pick % names.length]!;
      const offsets = header[name]!.data_offsets!;
      if (shift === 0) return;
      offsets[which ? 0 : 1] = Math.max(0, offsets[which ? 0 : 1]! + shift);
      await check(truth, withHeader(truth, JSON.stringify(header)));
    },
  );

  test.prop([truthIndex, fc.nat(), fc.nat(), fc.boolean()], { numRuns: RUNS })(
    'duplicate names',
    async (t, pick, other, sameEntry) => {
      const truth = truths[t]!;
      const entries = Object.entries(headerObject(truth));
      const [name, entry] = entries[pick % entries.length]!;
      const copy = sameEntry ? entry : entries[other % entries.length]![1];
      const parts = entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
      parts.splice(other % (parts.length + 1), 0, `${JSON.stringify(name)}:${JSON.stringify(copy)}`);
      const result = await check(truth, withHeader(truth, `{${parts.join(',')}}`));
      expect(result).toBe('rejected');
    },
  );

  test.prop([truthIndex, fc.uint8Array({ minLength: 1, maxLength: 64 })], { numRuns: 100 })(
    'bytes appended after the data',
    async (t, extra) => {
      const truth = truths[t]!;
      const bytes = new Uint8Array(truth.bytes.length + extra.length);
      bytes.set(truth.bytes);
      bytes.set(extra, truth.bytes.length);
      expect(await check(truth, bytes)).toBe('rejected');
    },
  );

  test.prop([truthIndex, fraction, fc.integer({ min: 1, max: 255 })], {
    numRuns: 100,
  })('validateTrace reports corruption as TraceErrors only', async (t, at, xor) => {
    const truth = truths[t]!;
    const bytes = truth.bytes.slice();
    const position = Math.min(bytes.length - 1, Math.floor(at * bytes.length));
    bytes[position]! ^= xor;
    const path = join(dir, `validate-${counter++}.safetensors`);
    writeFileSync(path, bytes);
    const errors = await validateTrace(path);
    rmSync(path, { force: true });
    for (const e of errors) expect(e).toBeInstanceOf(TraceError);
  });
});
