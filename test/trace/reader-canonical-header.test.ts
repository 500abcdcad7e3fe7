/**
 * Opening a trace reads a header written by `encodeHeader` (and the tensor table the writer stores)
 * with one regular expression per entry (src/trace/safetensors.ts, `parseHeaderCanonical`;
 * src/trace/trace-metadata.ts, `tensorRecordColumns`). Checked against the member-by-member path and
 * JSON.parse as oracles: the same columns for every header `encodeHeader` writes, and the fast path
 * declines (leaving the result or the error to the others) for names with escapes, control
 * characters or array-index names, whitespace, other key orders, exponents and bad entries.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  DTYPE_BYTES,
  DTYPES,
  encodeHeader,
  parseHeader,
  parseHeaderCanonical,
  parseHeaderMembers,
  type TensorEntry,
  type TensorTable,
  tableShape,
} from '../../src/trace/safetensors.js';
import { parseTensorTable, tensorRecordColumns } from '../../src/trace/trace-metadata.js';

const NAMES = [
  'a',
  'b',
  'L/conv1/input@0#mask',
  'q"uote',
  'back\\slash',
  'ü',
  '7',
  '01',
  '__proto__',
  '',
  'tab\t',
];

function rows(t: TensorTable) {
  return Array.from({ length: t.count }, (_, i) => ({
    name: t.names[i],
    dtype: DTYPES[t.dtypes[i]!],
    shape: tableShape(t, i),
    begin: t.begins[i],
    end: t.ends[i],
  }));
}

const entries = fc
  .uniqueArray(
    fc.record({
      name: fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 6 })),
      dtype: fc.constantFrom(...DTYPES),
      shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    }),
    { selector: (e) => e.name, maxLength: 8 },
  )
  .map((specs) => {
    let offset = 0;
    return specs.map((s): TensorEntry => {
      const bytes = s.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[s.dtype];
      const e = { ...s, begin: offset, end: offset + bytes };
      offset += bytes;
      return e;
    });
  });

const header = (tensors: readonly TensorEntry[], metadata: Record<string, string>) => {
  const bytes = encodeHeader(tensors, metadata);
  return bytes.subarray(8);
};
const dataBytes = (tensors: readonly TensorEntry[]) => tensors.at(-1)?.end ?? 0;
/** A name the fast path takes: no escape, no control character, not an array index. */
const plain = (name: string) =>
  JSON.stringify(name) === `"${name}"` && !/^(?:0|[1-9]\d{0,9})$/.test(name) && name !== '__metadata__';

describe('canonical header', () => {
  test('every header encodeHeader writes: the same columns and metadata as the member path and JSON.parse', () => {
    fc.assert(
      fc.property(
        entries,
        fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 8 })),
        (tensors, meta) => {
          const json = header(tensors, meta);
          const fast = parseHeaderCanonical(json, dataBytes(tensors), 100);
          const general = parseHeader('f', json, dataBytes(tensors));
          const root = JSON.parse(new TextDecoder().decode(json)) as Record<string, unknown>;
          expect(general.metadata).toEqual(root.__metadata__);
          if (tensors.every((t) => plain(t.name)) && Object.keys(meta).every((k) => k !== '__proto__')) {
            expect(fast).toBeDefined();
            expect(rows(fast!.tensors)).toEqual(rows(general.tensors));
            expect(Array.from(fast!.tensors.byName)).toEqual(Array.from(general.tensors.byName));
            expect(fast!.metadata).toEqual(general.metadata);
            const members = parseHeaderMembers(json, dataBytes(tensors), 100);
            expect(rows(members!.tensors)).toEqual(rows(fast!.tensors));
          } else if (fast) {
            expect(rows(fast.tensors)).toEqual(rows(general.tensors));
          }
        },
      ),
    );
  });

  test('anything but the canonical form is declined and read (or rejected) as before', () => {
    const utf8 = (text: string) => new TextEncoder().encode(text);
    const entry = '{"dtype":"U8","shape":[2],"data_offsets":[0,2]}';
    const declined = [
      `{"a": ${entry}}`,
      `{"a":{"shape":[2],"dtype":"U8","data_offsets":[0,2]}}`,
      `{"a":{"dtype":"U8","shape":[2e0],"data_offsets":[0,2]}}`,
      `{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2.0]}}`,
      `{"7":${entry}}`,
      `{"\\u0061":${entry}}`,
      `{"__metadata__":{"k":1},"a":${entry}}`,
      `{"__metadata__":{"k":"v","k":"w"},"a":${entry}}`,
      `{"a":{"dtype":"U8","shape":[3],"data_offsets":[0,2]}}`,
      `{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,2]}}`,
      `{"a":${entry},"a":${entry}}`,
      `{"a":${entry}} x`,
      `{"a":${entry},}`,
    ];
    for (const text of declined) {
      expect(parseHeaderCanonical(utf8(text), 2, 100), text).toBeUndefined();
      let general: unknown;
      try {
        general = rows(parseHeader('f', utf8(text), 2).tensors);
      } catch (error) {
        general = (error as Error).message;
      }
      expect(general, text).not.toBeUndefined();
    }
    // Taken: metadata first (escapes inside its strings), trailing spaces, no tensors.
    expect(
      rows(
        parseHeaderCanonical(utf8(`{"__metadata__":{"m":"{\\"x\\":[1]}"},"a":${entry}}   `), 2, 100)!.tensors,
      ),
    ).toEqual([{ name: 'a', dtype: 'U8', shape: [2], begin: 0, end: 2 }]);
    expect(parseHeaderCanonical(utf8('{"__metadata__":{}}'), 0, 100)!.tensors.count).toBe(0);
    expect(parseHeaderCanonical(utf8('{}'), 0, 100)!.tensors.count).toBe(0);
    // More entries than the limit: left to the general path, which names it.
    expect(parseHeaderCanonical(utf8(`{"a":${entry}}`), 2, 0)).toBeUndefined();
    expect(() => parseHeader('f', utf8(`{"a":${entry}}`), 2, 0)).toThrow(/exceed the limit of 0/);
  });

  test('the tensor table as the writer stores it: the same columns as parseTensorTable', () => {
    const tensors = ['a', 'b', 'ü', 'c#mask'].map((name, i) => ({
      name,
      dtype: 'U8' as const,
      shape: [1],
      begin: i,
      end: i + 1,
    }));
    const table = parseHeader('f', header(tensors, {}), 4).tensors;
    const record = fc.record(
      {
        crc32: fc.nat(0xffffffff),
        scale: fc.oneof(fc.double({ min: 0, max: 1e30, noNaN: true }), fc.constantFrom(1e-7, 0, 2.5e-300)),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'ü', 'c#mask', 'other', 'q"', '5'), record), {
          selector: ([n]) => n,
          maxLength: 6,
        }),
        (records) => {
          const text = JSON.stringify(Object.fromEntries(records));
          const expected = parseTensorTable('f', text);
          const { crc32, scale } = tensorRecordColumns('f', text, table);
          for (const [i, name] of table.names.entries()) {
            const r = expected.get(name);
            expect(Number.isNaN(crc32[i]!) ? undefined : crc32[i]).toBe(r?.crc32);
            expect(Number.isNaN(scale[i]!) ? undefined : scale[i]).toBe(r?.scale);
          }
        },
      ),
    );
    // A bad value in a canonical record still fails with parseTensorTable's message.
    expect(() => tensorRecordColumns('f', '{"a":{"crc32":4294967296}}', table)).toThrow(
      /\["a"\]\.crc32: must be an integer/,
    );
    expect(() => tensorRecordColumns('f', '{"a":{"crc32":1,"scale":-1}}', table)).toThrow(
      /\["a"\]\.scale: must be a finite number/,
    );
    expect(() => tensorRecordColumns('f', '{"a":{"crc32":1},"a":{"crc32":2}}', table)).toThrow(
      /duplicate key/,
    );
  });
});
