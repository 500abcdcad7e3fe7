/**
 * Fuzz at the command level: mutations of the bundled tiny trace (flipped bytes, truncation, header
 * and manifest edits, offsets, names, nesting, counts, NaN, masks) through `trace validate`,
 * `trace inspect`, `replay --verify` and `trace export --npy`, in-process for most cases and as
 * fresh processes of the built CLI for a handful. Only clean outcomes are allowed: exit 0, 1 or 2;
 * a bad input (exit 2) is exactly one stderr line; a failed check (exit 1) prints only
 * `deltasim: ` lines (validate lists each problem, verify each differing layer-step); never an
 * internal error; nothing left behind; and a trace that validates is never rejected by replay.
 * The budget is fixed (cases below), the seed too, so a CI run is repeatable.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import { editManifest, readHeader, rewriteHeader, tensorOffset, withoutChecksums } from './corrupt.js';
import { GOLDEN_TINY_TRACE } from './make-golden.js';

const IN_PROCESS_CASES = 200;
const FRESH_PROCESS_CASES = 4;
const SEED = 20261129;
const root = fileURLToPath(new URL('../..', import.meta.url));
const main = join(root, 'dist/cli/main.js');

type Manifest = Record<string, unknown> & {
  layers: Record<string, unknown>[];
  steps: Record<string, unknown>[];
};
type Entry = { dtype: string; shape: number[]; data_offsets: [number, number] };

let dir: string;
let base: Uint8Array;
beforeAll(() => {
  dir = join(tmpdir(), `deltasim-cli-fuzz-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  base = new Uint8Array(readFileSync(GOLDEN_TINY_TRACE));
});
afterAll(() => {
  // The tallies, whatever the outcome (the figures a report quotes).
  const lines = [...tally.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `  ${k}: ${v}`);
  console.log(
    `trace CLI fuzz tallies (${FRESH_PROCESS_CASES} of the cases as fresh processes):\n${lines.join('\n')}`,
  );
  rmSync(dir, { recursive: true, force: true });
});

/** Values a fuzzed manifest field takes: plausible, off by one, absurd, wrong type. */
const FIELD_VALUES: readonly unknown[] = [
  0,
  1,
  2,
  3,
  4,
  9,
  36,
  1e9,
  2 ** 53,
  -1,
  1.5,
  null,
  'x',
  [],
  [1],
  [2, 2],
  [0, 0],
  [3, 3],
  [1, 1, 1, 1],
  [6, 6, 2],
  [1, 36],
  [36, 5],
  { m: 36, n: 4, k: 18 },
  { m: 1e7, n: 1e7, k: 1e7 },
  ['input'],
  ['weight'],
  ['input', 'delta'],
  ['delta', 'weight'],
  ['input', 'rhs'],
  ['rhs'],
  ['input', 'weight', 'rhs'],
];
const LAYER_FIELDS = [
  'op',
  'inputShape',
  'outputShape',
  'operandShape',
  'kernel',
  'stride',
  'padding',
  'dilation',
  'gemm',
  'gemm.m',
  'gemm.n',
  'gemm.k',
  'gemmCount',
  'roles',
  'structural',
  'deltaThreshold',
  'elementwiseOps',
] as const;
const STEP_FIELDS = ['index', 'sequence', 'position', 'keyFrame'] as const;
const NAMES = [
  'a'.repeat(60),
  'b'.repeat(300),
  'c'.repeat(5000),
  'with space',
  'per%cent',
  'back\\slash',
  'co:lon',
  'ünï©ødé',
  '..a',
  '.hidden',
  'CON',
  'tab\tname',
  'new\nline',
  'x/y',
  'q#r',
  '',
  '.',
  '..',
];

interface Mutation {
  readonly kind: string;
  readonly bytes: Uint8Array;
}

const fraction = fc.integer({ min: 0, max: 1 << 30 }).map((i) => i / (1 << 30));

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let o = target;
  for (const p of parts.slice(0, -1)) {
    if (o[p] === null || typeof o[p] !== 'object') o[p] = {};
    o = o[p] as Record<string, unknown>;
  }
  o[parts[parts.length - 1]!] = value;
}

function deep(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** Renames layer `index` in the manifest and in every tensor name (and the CRC table) that uses it. */
function renameLayer(bytes: Uint8Array, index: number, to: string): Uint8Array {
  return rewriteHeader(bytes, (h) => {
    const m = JSON.parse(h.__metadata__['deltasim.manifest']!) as Manifest;
    const layer = m.layers[index % m.layers.length]!;
    const from = layer.name as string;
    layer.name = to;
    const swap = (name: string) => name.replace(`/${from}/`, `/${to}/`);
    const parts: string[] = [];
    const table = JSON.parse(h.__metadata__['deltasim.tensors'] ?? '{}') as Record<string, unknown>;
    const renamedTable = Object.fromEntries(Object.entries(table).map(([k, v]) => [swap(k), v]));
    h.__metadata__['deltasim.manifest'] = JSON.stringify(m);
    h.__metadata__['deltasim.tensors'] = JSON.stringify(renamedTable);
    delete h.__metadata__['deltasim.checksums'];
    for (const [k, v] of Object.entries(h))
      parts.push(`${JSON.stringify(k === '__metadata__' ? k : swap(k))}:${JSON.stringify(v)}`);
    return `{${parts.join(',')}}`;
  });
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fraction, fc.integer({ min: 1, max: 255 })).map(([at, xor]) => {
    const bytes = base.slice();
    bytes[Math.floor(at * (bytes.length - 1))]! ^= xor;
    return { kind: 'flip', bytes };
  }),
  fraction.map((at) => ({ kind: 'truncate', bytes: base.slice(0, Math.floor(at * (base.length - 1))) })),
  fc
    .tuple(fc.nat(), fc.constantFrom(...LAYER_FIELDS), fc.constantFrom(...FIELD_VALUES))
    .map(([i, field, value]) => ({
      kind: 'layer-field',
      bytes: editManifest(base, (m) => {
        const layers = m.layers as Record<string, unknown>[];
        setPath(layers[i % layers.length]!, field, value);
      }),
    })),
  fc
    .tuple(
      fc.nat(),
      fc.constantFrom(...STEP_FIELDS, 'drop', 'duplicate', 'empty'),
      fc.constantFrom(...FIELD_VALUES, true, false),
    )
    .map(([i, field, value]) => ({
      kind: 'steps',
      bytes: editManifest(base, (m) => {
        const steps = m.steps as Record<string, unknown>[];
        const at = i % steps.length;
        if (field === 'drop') steps.splice(at, 1);
        else if (field === 'duplicate') steps.splice(at, 0, { ...steps[at] });
        else if (field === 'empty') steps.length = 0;
        else steps[at]![field] = value;
      }),
    })),
  fc
    .tuple(
      fc.nat(),
      fc.integer({ min: -64, max: 64 }),
      fc.constantFrom('begin', 'end', 'alias', 'swap', 'huge'),
    )
    .map(([i, shift, how]) => ({
      kind: 'offsets',
      bytes: rewriteHeader(base, (h) => {
        const names = Object.keys(h).filter((k) => k !== '__metadata__');
        const entry = h[names[i % names.length]!] as Entry;
        const other = h[names[(i + 1) % names.length]!] as Entry;
        if (how === 'begin') entry.data_offsets[0] = Math.max(0, entry.data_offsets[0] + shift);
        else if (how === 'end') entry.data_offsets[1] = Math.max(0, entry.data_offsets[1] + shift);
        else if (how === 'swap')
          [entry.data_offsets, other.data_offsets] = [other.data_offsets, entry.data_offsets];
        else if (how === 'huge') {
          // A 3 GiB tensor the file cannot hold.
          entry.shape = [805_306_368];
          entry.dtype = 'F32';
          entry.data_offsets = [entry.data_offsets[0], entry.data_offsets[0] + 3 * 2 ** 30];
        } else {
          const first = h[names[0]!] as Entry;
          for (const n of names) (h[n] as Entry).data_offsets = [...first.data_offsets];
        }
        return undefined;
      }),
    })),
  fc
    .tuple(fc.nat(), fc.constantFrom(...NAMES))
    .map(([i, name]) => ({ kind: 'name', bytes: renameLayer(base, i, name) })),
  fc.tuple(fc.constantFrom(10, 100, 1000, 50_000), fc.boolean()).map(([depth, inHeader]) => ({
    kind: 'nesting',
    bytes: inHeader
      ? rewriteHeader(base, (h) => `${JSON.stringify(h).slice(0, -1)},"deep":${deep(depth)}}`)
      : rewriteHeader(base, (h) => {
          const text = h.__metadata__['deltasim.manifest']!;
          h.__metadata__['deltasim.manifest'] = `${text.slice(0, -1)},"extra":${deep(depth)}}`;
          delete h.__metadata__['deltasim.checksums'];
          return undefined;
        }),
  })),
  fc.constantFrom('bom', 'dup-header', 'dup-manifest', 'dup-tensor-key').map((how) => ({
    kind: 'json',
    bytes: rewriteHeader(base, (h) => {
      const text = JSON.stringify(h);
      if (how === 'bom') return `\uFEFF${text}`;
      if (how === 'dup-header')
        return `${text.slice(0, -1)},"__metadata__":${JSON.stringify(h.__metadata__)}}`;
      if (how === 'dup-tensor-key') {
        const name = Object.keys(h).find((k) => k !== '__metadata__')!;
        const e = h[name] as Entry;
        return text.replace(
          `${JSON.stringify(name)}:{`,
          `${JSON.stringify(name)}:{"dtype":${JSON.stringify(e.dtype)},`,
        );
      }
      const manifest = h.__metadata__['deltasim.manifest']!;
      h.__metadata__['deltasim.manifest'] = `${manifest.slice(0, -1)},"seed":3}`;
      delete h.__metadata__['deltasim.checksums'];
      return undefined;
    }),
  })),
  fc.constantFrom(10, 1000, 5000).map((count) => ({
    kind: 'count',
    bytes: rewriteHeader(base, (h) => {
      for (let i = 0; i < count; i++)
        (h as Record<string, unknown>)[`extra/${i}`] = { dtype: 'U8', shape: [0], data_offsets: [0, 0] };
      return undefined;
    }),
  })),
  fc
    .tuple(
      fc.nat(),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
      fc.boolean(),
    )
    .map(([i, value, keepCrc]) => {
      const header = readHeader(base);
      const names = Object.keys(header).filter((k) => !k.includes('#') && k !== '__metadata__');
      const name = names[i % names.length]!;
      const bytes = keepCrc ? base.slice() : withoutChecksums(base);
      new DataView(bytes.buffer).setFloat32(tensorOffset(bytes, name), value, true);
      return { kind: 'nan', bytes };
    }),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([i, bit]) => {
    const header = readHeader(base);
    const names = Object.keys(header).filter((k) => k.endsWith('#mask'));
    const bytes = withoutChecksums(base);
    bytes[tensorOffset(bytes, names[i % names.length]!)]! ^= 1 << bit;
    return { kind: 'mask', bytes };
  }),
);

interface Outcome {
  readonly code: number;
  readonly stderr: string;
}

const COMMANDS: readonly ((trace: string, out: string, delta: boolean) => string[])[] = [
  (t) => ['trace', 'validate', t],
  (t) => ['trace', 'inspect', t],
  (t, _o, delta) => ['replay', t, '--verify', '--json', delta ? '--delta' : '--no-delta'],
  (t, out) => ['trace', 'export', t, '--npy', out],
];

/** A command still running after this long counts as a hang (the case moves on). */
const HANG_MS = 20_000;

async function inProcess(argv: string[], cwd: string): Promise<Outcome> {
  let stderr = '';
  const io: CliIo = {
    stdout: { write: () => true },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
    cwd,
  };
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<number>((resolve) => {
    timer = setTimeout(() => resolve(-1), HANG_MS);
  });
  const code = await Promise.race([runCli(argv, io), hang]);
  clearTimeout(timer);
  return { code, stderr: code === -1 ? `${stderr}(hang)` : stderr };
}

function freshProcess(argv: string[], cwd: string): Outcome {
  const r = spawnSync(process.execPath, [main, ...argv], { cwd, encoding: 'utf8', timeout: HANG_MS });
  return { code: r.status ?? -1, stderr: r.stderr };
}

const tally = new Map<string, number>();
const violations: string[] = [];
const count = (key: string) => tally.set(key, (tally.get(key) ?? 0) + 1);

/** Runs the four commands on one mutated trace and records every outcome and rule broken. */
async function runCase(index: number, m: Mutation, delta: boolean, fresh: boolean): Promise<void> {
  const caseDir = join(dir, `case-${index}`);
  mkdirSync(caseDir);
  const trace = join(caseDir, 'trace.safetensors');
  writeFileSync(trace, m.bytes);
  const out = join(caseDir, 'npy');
  const codes: number[] = [];
  for (const [c, command] of COMMANDS.entries()) {
    const argv = command(trace, out, delta);
    const o = fresh ? freshProcess(argv, caseDir) : await inProcess(argv, caseDir);
    const name = `${argv[0]}${argv[0] === 'trace' ? ` ${argv[1]}` : ''}`;
    count(`${name} exit ${o.code}`);
    codes.push(o.code);
    const lines = o.stderr.split('\n').filter((l) => l !== '');
    const problem = (what: string) => {
      count(`violation: ${what}`);
      violations.push(`${m.kind} #${index} ${name}: ${what}: ${o.stderr.slice(0, 300)}`);
    };
    if (o.code === -1) problem('hang');
    else if (![0, 1, 2].includes(o.code)) problem(`exit ${o.code}`);
    if (o.stderr.includes('internal error')) problem('internal error');
    if (o.code === 2 && lines.length !== 1) problem(`${lines.length} stderr lines`);
    if (o.code === 1 && !lines.every((l) => l.startsWith('deltasim: '))) problem('stray stderr');
    const left = (o.code === -1 ? [] : readdirSync(caseDir)).filter(
      (f) => f !== 'trace.safetensors' && !(f === 'npy' && c === 3 && o.code === 0),
    );
    if (left.length > 0) problem(`left behind ${left.join(', ')}`);
    if (c === 3 && o.code === 0 && codes[0] !== 0) problem('export wrote what validate rejects');
  }
  if (codes[0] === 0 && codes[2] === 2) {
    count('violation: validates but replay rejects');
    violations.push(`${m.kind} #${index}: validates but replay rejects`);
  }
  count(`kind ${m.kind}`);
  rmSync(caseDir, { recursive: true, force: true });
}

test(
  'mutated tiny traces: clean outcomes only, in-process and as fresh processes',
  async () => {
    const cases = fc.sample(fc.tuple(mutation, fc.boolean()), {
      numRuns: IN_PROCESS_CASES + FRESH_PROCESS_CASES,
      seed: SEED,
    });
    // Fresh processes need the built CLI: `npm test` builds before the tests run.
    expect(existsSync(main), `${main} missing: run npm run build`).toBe(true);
    for (const [i, [m, delta]] of cases.entries()) {
      const t0 = performance.now();
      await runCase(i, m, delta, i >= IN_PROCESS_CASES);
      if (process.env.FUZZ_DEBUG)
        process.stderr.write(`${i} ${m.kind} ${(performance.now() - t0).toFixed(0)} ms\n`);
    }
    const lines = [...tally.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `  ${k}: ${v}`);
    console.log(
      `trace CLI fuzz: ${cases.length} cases (${FRESH_PROCESS_CASES} as fresh processes)\n${lines.join('\n')}`,
    );
    expect(violations.slice(0, 20)).toEqual([]);
  },
  Number(process.env.FUZZ_TIMEOUT_MS ?? 240_000),
);
