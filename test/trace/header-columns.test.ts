/**
 * A trace header is read member by member into columns (src/trace/safetensors.ts, TensorTable) so
 * that opening a long trace leaves no object per tensor alive. Checked against JSON.parse of the
 * whole text as the oracle, on headers with whitespace anywhere JSON allows it, names that need
 * escapes or look like array indices (which JSON.parse orders first), entries with their keys in
 * any order, zero-byte tensors sharing an offset, and duplicate keys; and the tensor table (CRC-32s
 * and scales) the same way against `parseTensorTable`.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  DTYPE_BYTES,
  DTYPES,
  type Dtype,
  encodeHeader,
  findTensor,
  parseHeader,
  parseHeaderCanonical,
  parseHeaderMembers,
  type TensorEntry,
  type TensorTable,
  tableShape,
} from '../../src/trace/safetensors.js';
import { parseTensorTable, tensorRecordColumns } from '../../src/trace/trace-metadata.js';
import { assertBuiltCli, runBuiltCli } from '../cli/built-cli.js';
import { rewriteHeader } from './corrupt.js';
import { GOLDEN_TINY_TRACE } from './make-golden.js';

const NAMES = [
  'a',
  'b',
  'L/conv1/input@0',
  'L/conv1/input@0#mask',
  'q"uote',
  'back\\slash',
  'ü',
  '7',
  '0',
  '01',
  '__proto__',
  '',
];
const space = fc.constantFrom('', ' ', '\n', '\t ', '\r\n  ');

interface Spec {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly order: readonly number[];
}

const spec = fc.record({
  name: fc.constantFrom(...NAMES),
  dtype: fc.constantFrom(...DTYPES),
  // A zero in the shape makes a zero-byte tensor, which shares its offset with the next one.
  shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
  order: fc.shuffledSubarray([0, 1, 2], { minLength: 3, maxLength: 3 }),
});

/** The header text of `specs` stored in the order given, whitespace from `ws` (cycled), metadata at `metaAt`. */
function headerText(
  specs: readonly Spec[],
  ws: readonly string[],
  metaAt: number,
): { text: string; bytes: number } {
  let w = 0;
  const s = () => ws[w++ % ws.length] ?? '';
  const members: string[] = [];
  let offset = 0;
  for (const t of specs) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    const fields = [
      `"dtype"${s()}:${s()}"${t.dtype}"`,
      `"shape"${s()}:${s()}[${t.shape.join(`${s()},${s()}`)}]`,
      `"data_offsets"${s()}:${s()}[${offset},${s()}${offset + bytes}]`,
    ];
    members.push(
      `${JSON.stringify(t.name)}${s()}:${s()}{${s()}${t.order.map((i) => fields[i]).join(`${s()},${s()}`)}${s()}}`,
    );
    offset += bytes;
  }
  members.splice(Math.min(metaAt, members.length), 0, `"__metadata__":{"k":"v\\"x"}`);
  return { text: `{${s()}${members.join(`${s()},${s()}`)}${s()}}${s()}`, bytes: offset };
}

/** What JSON.parse of the whole text means: entries in Object.keys order, stably sorted by offsets. */
function oracle(text: string) {
  const root = JSON.parse(text) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
  return Object.keys(root)
    .filter((k) => k !== '__metadata__')
    .map((name) => ({
      name,
      dtype: root[name]!.dtype,
      shape: root[name]!.shape,
      begin: root[name]!.data_offsets[0]!,
      end: root[name]!.data_offsets[1]!,
    }))
    .sort((a, b) => a.begin - b.begin || a.end - b.end);
}

function rows(t: TensorTable) {
  return Array.from({ length: t.count }, (_, i) => ({
    name: t.names[i],
    dtype: DTYPES[t.dtypes[i]!],
    shape: tableShape(t, i),
    begin: t.begins[i],
    end: t.ends[i],
  }));
}

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('header columns', () => {
  test('parseHeader = JSON.parse of the whole header; duplicates are the same one-line error', () => {
    fc.assert(
      fc.property(
        fc.array(spec, { maxLength: 6 }),
        fc.array(space, { minLength: 1, maxLength: 5 }),
        fc.nat(6),
        (specs, ws, metaAt) => {
          const { text, bytes } = headerText(specs, ws, metaAt);
          const names = specs.map((t) => t.name);
          if (new Set(names).size !== names.length) {
            expect(parseHeaderMembers(utf8(text), bytes, 100)).toBeUndefined();
            expect(() => parseHeader('f', utf8(text), bytes)).toThrow(/^f: header: duplicate key /);
            return;
          }
          const parsed = parseHeader('f', utf8(text), bytes);
          expect(rows(parsed.tensors)).toEqual(oracle(text));
          expect(parsed.metadata).toEqual({ k: 'v"x' });
          for (const [i, name] of parsed.tensors.names.entries())
            expect(findTensor(parsed.tensors, name)).toBe(i);
          expect(findTensor(parsed.tensors, 'absent')).toBe(-1);
          // Member by member unless a name looks like an array index (JSON.parse orders those first).
          const members = parseHeaderMembers(utf8(text), bytes, 100);
          if (!names.some((n) => /^(0|[1-9]\d*)$/.test(n))) expect(members).toBeDefined();
          if (members) expect(rows(members.tensors)).toEqual(oracle(text));
        },
      ),
    );
  });

  test('a duplicate key inside an entry, bad JSON and a trailing member are left to the general path', () => {
    const entry = '{"dtype":"U8","shape":[1],"data_offsets":[0,1]}';
    const cases = [
      [`{"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, /duplicate key "dtype"/],
      [`{"a":${entry},}`, /not valid JSON/],
      [`{"a":${entry}} x`, /not valid JSON/],
      [`{"a":${entry}]`, /not valid JSON/],
      [`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,2]}}`, /tensor "a"/],
    ] as const;
    for (const [text, error] of cases) {
      expect(parseHeaderMembers(utf8(text), 1, 100)).toBeUndefined();
      expect(() => parseHeader('f', utf8(text), 1)).toThrow(error);
    }
  });

  test('tensor table columns = parseTensorTable by tensor, unknown names checked and ignored', () => {
    const table = parseHeader(
      'f',
      utf8(
        headerText(
          ['a', 'b', 'ü', '7'].map((name) => ({ name, dtype: 'U8', shape: [1], order: [0, 1, 2] })),
          [''],
          0,
        ).text,
      ),
      4,
    ).tensors;
    const record = fc.record({
      crc32: fc.option(fc.nat(0xffffffff), { nil: undefined }),
      scale: fc.option(fc.double({ min: 0, max: 10, noNaN: true }), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'ü', '7', 'other', 'q"'), record), { maxLength: 6 }),
        fc.array(space, { minLength: 1, maxLength: 3 }),
        (entries, ws) => {
          const text = `{${ws[0]}${entries.map(([n, r], i) => `${JSON.stringify(n)}${ws[i % ws.length]}:${JSON.stringify(r)}`).join(',')}}`;
          const names = entries.map(([n]) => n);
          if (new Set(names).size !== names.length) {
            expect(() => tensorRecordColumns('f', text, table)).toThrow(/duplicate key/);
            return;
          }
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
    expect(() => tensorRecordColumns('f', '{"other":{"crc32":-1}}', table)).toThrow(
      /\["other"\]\.crc32: must be an integer/,
    );
    // Records of tensors in the table are checked the same way, with the same messages.
    expect(() => tensorRecordColumns('f', '{"a":{"crc32":1},"b":{"scale":-1}}', table)).toThrow(
      /\["b"\]\.scale: must be a finite number/,
    );
    expect(() => tensorRecordColumns('f', '{"a":[]}', table)).toThrow(/\["a"\]: must be an object/);
  });
});

/*
 * The canonical path: a header written by `encodeHeader` (and the tensor table the writer stores)
 * is read with one regular expression per entry (src/trace/safetensors.ts, `parseHeaderCanonical`;
 * src/trace/trace-metadata.ts, `tensorRecordColumns`): the same columns as the member path and
 * JSON.parse for every header `encodeHeader` writes; anything else (escapes, control characters,
 * array-index names, whitespace, other key orders, exponents, bad entries) is declined and left to
 * the other paths, which read it or name the problem as before.
 */
const entries = fc
  .uniqueArray(
    fc.record({
      name: fc.oneof(fc.constantFrom(...NAMES, 'tab\t'), fc.string({ maxLength: 6 })),
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
          const columns = tensorRecordColumns('f', text, table);
          const column = (values: Float64Array) =>
            Array.from(values, (v) => (Number.isNaN(v) ? undefined : v));
          expect(column(columns.crc32)).toEqual(table.names.map((n) => expected.get(n)?.crc32));
          expect(column(columns.scale)).toEqual(table.names.map((n) => expected.get(n)?.scale));
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

describe('replay of a trace with a bad header (built CLI, fresh process)', () => {
  let dir: string;
  beforeAll(async () => {
    assertBuiltCli();
    dir = await mkdtemp(join(tmpdir(), 'deltasim-header-columns-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a tensor named twice or with a bad dtype: one line naming the file and field, exit 2, nothing on stdout', async () => {
    const good = await readFile(GOLDEN_TINY_TRACE);
    const first = (h: Record<string, unknown>) => Object.keys(h).find((k) => k !== '__metadata__')!;
    const cases = [
      [
        'twice.safetensors',
        rewriteHeader(good, (h) => {
          const name = first(h);
          return `${JSON.stringify(h).slice(0, -1)},${JSON.stringify(name)}:${JSON.stringify(h[name])}}`;
        }),
        /header: duplicate key /,
      ],
      [
        'dtype.safetensors',
        rewriteHeader(good, (h) => {
          (h[first(h)] as { dtype: string }).dtype = 'F64';
          return undefined;
        }),
        /tensor ".*": dtype "F64" is not one of F32, F16, I8, U8/,
      ],
    ] as const;
    for (const [file, bytes, error] of cases) {
      const path = join(dir, file);
      await writeFile(path, bytes);
      const r = await runBuiltCli(['replay', path, '--preset', 'sparten-like', '--json', '--workers', '1']);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(path);
      expect(lines[0]).toMatch(error);
    }
  });
});
