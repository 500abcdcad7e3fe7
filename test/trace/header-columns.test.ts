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
  findTensor,
  parseHeader,
  parseHeaderMembers,
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
