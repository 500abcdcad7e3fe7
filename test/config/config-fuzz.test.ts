import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';

/**
 * Fuzzing the config and topology edges: mutations of the bundled hardware files (also as JSON),
 * the SCALE-Sim .cfg and the topologies, run through `replay --hw` and `simulate` in-process and, for
 * a handful, as fresh processes of the built CLI. Only clean outcomes pass: exit 0, 1 or 2; on an
 * error exactly one stderr line and never `internal error`; no file left behind. Fixed seed and a
 * fixed budget (case count, with a time cap), so CI runs the same cases each time.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const main = join(root, 'dist/cli/main.js');
const tinyTrace = join(root, 'test/golden/traces/tiny.safetensors');
const SEED = 20_261_129;
const IN_PROCESS_CASES = 240;
const PROCESS_CASES = 6;
const TIME_LIMIT_MS = 45_000;

interface Seed {
  readonly name: string;
  readonly kind: 'hw' | 'cfg' | 'topology' | 'gemm-topology';
  readonly text: string;
}

const seeds: Seed[] = [
  ...readdirSync(join(root, 'configs/hw')).map((f) => ({
    name: f,
    kind: 'hw' as const,
    text: readFileSync(join(root, 'configs/hw', f), 'utf8'),
  })),
  {
    name: 'default.cfg',
    kind: 'cfg',
    text: readFileSync(join(root, 'configs/scalesim/default.cfg'), 'utf8'),
  },
  ...readdirSync(join(root, 'configs/topologies')).map((f) => ({
    name: f,
    kind: f.startsWith('gemm') ? ('gemm-topology' as const) : ('topology' as const),
    text: readFileSync(join(root, 'configs/topologies', f), 'utf8'),
  })),
];

/** Fragments that broke loaders before: units, ranges, aliases, nesting, duplicates, huge counts. */
const SNIPPETS = [
  '"5"',
  '5',
  '1e-300 Hz',
  '1e-300 B/cycle',
  '1e308',
  '-1',
  '0',
  '9999999999',
  '5000000',
  '&a [*a, *a]',
  '*a',
  '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
  '{ a: { b: { c: { d: { e: 1 } } } }',
  'unlimited',
  'unbounded',
  '_DP',
  ', , ,',
  '\r',
  '\n',
  '\ufeff',
  '\0',
  ':',
  '#',
  '- - - - -',
  '!!binary aGVsbG8=',
  '<<: *a',
  'clock: 1 GHz',
];

type Mutation =
  | { readonly op: 'replace'; readonly at: number; readonly length: number; readonly text: string }
  | { readonly op: 'duplicate'; readonly at: number; readonly length: number }
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'repeat'; readonly at: number; readonly times: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    op: fc.constant('replace' as const),
    at: fc.nat(),
    length: fc.nat({ max: 12 }),
    text: fc.oneof(fc.constantFrom(...SNIPPETS), fc.string({ maxLength: 6 })),
  }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 80 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('repeat' as const), at: fc.nat(), times: fc.integer({ min: 2, max: 4000 }) }),
);

function mutate(text: string, m: Mutation): string {
  const at = text.length === 0 ? 0 : m.at % text.length;
  switch (m.op) {
    case 'replace':
      return text.slice(0, at) + m.text + text.slice(at + m.length);
    case 'duplicate':
      return text.slice(0, at + m.length) + text.slice(at, at + m.length) + text.slice(at + m.length);
    case 'truncate':
      return text.slice(0, at);
    case 'repeat': {
      // One character repeated many times: deep brackets, long lines, huge numbers.
      const ch = text[at] ?? '[';
      return text.slice(0, at) + ch.repeat(m.times) + text.slice(at);
    }
  }
}

/** A hardware YAML as JSON (parsed with the yaml package, no loader involved), to fuzz the JSON path too. */
async function asJson(text: string): Promise<string | undefined> {
  const yaml = await import('yaml');
  try {
    return JSON.stringify(yaml.parse(text), null, 1);
  } catch {
    return undefined;
  }
}

interface Case {
  readonly seed: Seed;
  readonly json: boolean;
  readonly mutations: readonly Mutation[];
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  seed: fc.constantFrom(...seeds),
  json: fc.boolean(),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
});

interface Prepared {
  readonly dir: string;
  readonly argv: readonly string[];
  readonly files: readonly string[];
}

async function prepare(c: Case, scratch: string): Promise<Prepared> {
  const dir = mkdtempSync(join(scratch, 'case-'));
  let text = c.seed.text;
  let ext = c.seed.name.slice(c.seed.name.lastIndexOf('.'));
  if (c.seed.kind === 'hw' && c.json) {
    const json = await asJson(text);
    if (json !== undefined) {
      text = json;
      ext = '.json';
    }
  }
  for (const m of c.mutations) text = mutate(text, m);
  const name = `${basename(c.seed.name, c.seed.name.slice(c.seed.name.lastIndexOf('.')))}${ext}`;
  const path = join(dir, name);
  writeFileSync(path, text);
  const argv =
    c.seed.kind === 'hw'
      ? c.json
        ? [
            'simulate',
            '--topology',
            join(root, 'configs/topologies/gemm-small.csv'),
            '--gemm',
            '--config',
            path,
          ]
        : ['replay', tinyTrace, '--hw', path]
      : c.seed.kind === 'cfg'
        ? [
            'simulate',
            '--topology',
            join(root, 'configs/topologies/gemm-small.csv'),
            '--gemm',
            '--config',
            path,
          ]
        : ['simulate', '--topology', path, ...(c.seed.kind === 'gemm-topology' ? ['--gemm'] : [])];
  return { dir, argv: [...argv, '--json', '--ui', 'plain'], files: [name] };
}

type Outcome =
  | 'exit 0'
  | 'exit 1'
  | 'exit 2'
  | 'other exit'
  | 'internal error'
  | 'not one line'
  | 'leftover files';

const tally = new Map<Outcome, number>();
const violations: string[] = [];
let cases = 0;

function judge(c: Case, p: Prepared, code: number | null, stderr: string): void {
  cases++;
  const lines = stderr.split('\n').filter((l) => l !== '');
  const leftovers = readdirSync(p.dir).filter((f) => !p.files.includes(f));
  let outcome: Outcome = code === 0 ? 'exit 0' : code === 1 ? 'exit 1' : code === 2 ? 'exit 2' : 'other exit';
  if (stderr.includes('internal error')) outcome = 'internal error';
  else if (code !== 0 && lines.length !== 1) outcome = 'not one line';
  else if (leftovers.length > 0) outcome = 'leftover files';
  tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
  if (outcome !== 'exit 0' && outcome !== 'exit 1' && outcome !== 'exit 2') {
    violations.push(
      `${outcome}: ${c.seed.name}${c.json ? ' (json)' : ''} ${JSON.stringify(c.mutations).slice(0, 300)} → ${stderr.slice(0, 200)}`,
    );
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'deltasim-config-fuzz-'));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  // The tallies go to the test log: the before/after comparison reads them from here.
  console.log(`config fuzz: ${cases} cases`, Object.fromEntries([...tally].sort()));
});

describe('config and topology fuzz', () => {
  test('in-process: simulate / replay --hw on mutated files end cleanly', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const p = await prepare(c, scratch);
        let stderr = '';
        const io: CliIo = {
          stdout: { write: () => {} },
          stderr: { write: (s: string) => (stderr += s) },
          env: {},
          cwd: p.dir,
        };
        const code = await runCli([...p.argv], io);
        judge(c, p, code, stderr);
        return true; // outcomes are judged together below, so every case runs and is tallied
      }),
      {
        seed: SEED,
        numRuns: IN_PROCESS_CASES,
        interruptAfterTimeLimit: TIME_LIMIT_MS,
        markInterruptAsFailure: false,
      },
    );
    expect(violations).toEqual([]);
    expect(cases).toBeGreaterThan(20);
  }, 90_000);

  test('fresh processes of the built CLI end cleanly too', async () => {
    expect(existsSync(main), `${main} missing: npm test builds it before the tests`).toBe(true);
    const samples = fc.sample(caseArb, { seed: SEED + 1, numRuns: PROCESS_CASES });
    for (const c of samples) {
      const p = await prepare(c, scratch);
      const r = spawnSync(process.execPath, [main, ...p.argv], {
        cwd: p.dir,
        encoding: 'utf8',
        timeout: 30_000,
      });
      judge(c, p, r.status, r.stderr);
    }
    expect(violations).toEqual([]);
  }, 240_000);
});
