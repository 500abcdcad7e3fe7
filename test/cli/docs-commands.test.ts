import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  assertBuiltCli,
  lastJsonLine,
  type ProcessResult,
  ROOT,
  runProcess,
  stderrLines,
} from './built-cli.js';

/**
 * Every command the README and docs/*.md show in a code block runs here as a fresh process from the
 * built CLI, so the docs cannot drift from the program: a documented command missing from
 * test/cli/docs-commands.json fails, and so does a table entry no document shows any more.
 */

interface Entry {
  readonly skip?: string;
  readonly set?: Readonly<Record<string, string>>;
  readonly add?: Readonly<Record<string, string>>;
  readonly exit?: number;
  readonly stdout?: string;
  readonly json?: readonly string[];
  readonly files?: readonly string[];
  readonly after?: string;
}

const ENTRY_FIELDS = new Set(['skip', 'set', 'add', 'exit', 'stdout', 'json', 'files', 'after']);
const TABLE_PATH = 'test/cli/docs-commands.json';
const TABLE = (
  JSON.parse(readFileSync(join(ROOT, TABLE_PATH), 'utf8')) as { commands: Record<string, Entry> }
).commands;

/** What gets copied into each run's directory (dist/ and node_modules/ are linked, read-only use). */
const COPIED = ['package.json', 'configs', 'models', 'traces', 'test/golden/traces', 'docs/examples'];
const CLI = 'node dist/cli/main.js';
const COMMAND_START = /^(npx deltasim|deltasim|npm)(\s|$)/;
const PROCESS_TIMEOUT_MS = 150_000;
const WORKERS = 2;

function documentFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs];
}

/** Documented command → where it is shown (`file:line`), in document order. */
function documentedCommands(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of documentFiles()) {
    let inBlock = false;
    readFileSync(join(ROOT, file), 'utf8')
      .split('\n')
      .forEach((raw, index) => {
        const line = raw.trim();
        if (/^(```|~~~)/.test(line)) {
          inBlock = !inBlock;
          return;
        }
        if (!inBlock) return;
        const shown = line.replace(/^\$ /, '');
        if (!COMMAND_START.test(shown)) return;
        const command = shown
          .replace(/\s+#(\s.*)?$/, '')
          .replace(/\s+/g, ' ')
          .trim();
        found.set(command, [...(found.get(command) ?? []), `${file}:${index + 1}`]);
      });
  }
  return found;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function flagPattern(flag: string): RegExp {
  return new RegExp(`(\\s${escapeRegExp(flag)})(?:=|\\s+)\\S+`);
}

/** One deltasim call shortened: `set` flags get their value replaced where given, `add` flags appended. */
function withFlags(call: string, entry: Entry): string {
  let out = call;
  for (const [flag, value] of Object.entries(entry.set ?? {}))
    out = out.replace(flagPattern(flag), `$1 ${value}`);
  for (const [flag, value] of Object.entries(entry.add ?? {})) out = `${out} ${flag} ${value}`;
  return out;
}

/** A shell command line with every deltasim call pointed at the built CLI and shortened. */
function shellCommand(command: string, entry: Entry): string {
  return command
    .split(/(\s*(?:&&|\|\||\||;)\s*)/)
    .map((part) => {
      const call = part.replace(/^(npx )?deltasim(?=\s|$)/, CLI);
      return call.startsWith(CLI) ? withFlags(call, entry) : call;
    })
    .join('');
}

const NPM_SCRIPT = /^npm (?:start|run ([\w:.-]+))$/;

/** The package.json script `npm start` / `npm run X` runs, or undefined for other commands. */
function npmScriptName(command: string): string | undefined {
  const match = NPM_SCRIPT.exec(command);
  if (!match) return undefined;
  return match[1] ?? 'start';
}

function prepareDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'deltasim-docs-'));
  for (const path of COPIED) cpSync(join(ROOT, path), join(dir, path), { recursive: true });
  symlinkSync(join(ROOT, 'dist'), join(dir, 'dist'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

interface Outcome {
  readonly shell: string;
  readonly cwd: string;
  readonly result?: ProcessResult;
  readonly elapsedMs?: number;
  /** Why the command could not run (a failed `after` command, a table error). */
  readonly notRun?: string;
}

async function runEntry(command: string, entry: Entry, cwd: string): Promise<Outcome> {
  const script = npmScriptName(command);
  let shell = command;
  if (script !== undefined) {
    const pkgPath = join(cwd, 'package.json');
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { scripts: Record<string, string> };
    const body = pkg.scripts[script];
    if (body === undefined) return { shell, cwd, notRun: `package.json has no script "${script}"` };
    const unused = Object.keys(entry.set ?? {}).filter((flag) => !flagPattern(flag).test(body));
    if (unused.length > 0) return { shell, cwd, notRun: `set: the script never passes ${unused.join(', ')}` };
    // dist/ is the suite's own build, linked in: building again here has nothing to compile.
    pkg.scripts.build = 'node -e ""';
    pkg.scripts[script] = shellCommand(body, entry);
    writeFileSync(pkgPath, JSON.stringify(pkg, null, 2));
  } else {
    const unused = Object.keys(entry.set ?? {}).filter((flag) => !flagPattern(flag).test(command));
    if (unused.length > 0)
      return { shell, cwd, notRun: `set: the command never passes ${unused.join(', ')}` };
    shell = shellCommand(command, entry);
  }
  const started = Date.now();
  const result = await runProcess('sh', ['-c', shell], {
    cwd,
    timeoutMs: PROCESS_TIMEOUT_MS,
    env: { npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
  });
  return { shell, cwd, result, elapsedMs: Date.now() - started };
}

/** Runs chains of entries (an entry and those `after` it share a directory) on a small pool. */
function startRuns(commands: readonly string[], dirs: string[]): Map<string, Promise<Outcome>> {
  const rootOf = (command: string): string => {
    const after = TABLE[command]?.after;
    return after === undefined ? command : rootOf(after);
  };
  const depth = (command: string): number => {
    const after = TABLE[command]?.after;
    return after === undefined ? 0 : 1 + depth(after);
  };
  const chains = new Map<string, string[]>();
  for (const command of commands) {
    const root = rootOf(command);
    chains.set(root, [...(chains.get(root) ?? []), command]);
  }
  // Shortened (long) commands first, so the pool does not end on one of them.
  const shortened = (chain: readonly string[]): number =>
    Number(chain.some((c) => TABLE[c]?.set || TABLE[c]?.add));
  const queue = [...chains.values()]
    .map((chain) => chain.sort((a, b) => depth(a) - depth(b)))
    .sort((a, b) => shortened(b) - shortened(a));
  const settle = new Map<string, (outcome: Outcome) => void>();
  const outcomes = new Map<string, Promise<Outcome>>();
  for (const command of commands) {
    outcomes.set(command, new Promise((resolvePromise) => settle.set(command, resolvePromise)));
  }
  const worker = async (): Promise<void> => {
    for (let chain = queue.shift(); chain; chain = queue.shift()) {
      const cwd = prepareDirectory();
      dirs.push(cwd);
      let failedBefore: string | undefined;
      for (const command of chain) {
        const outcome: Outcome = failedBefore
          ? { shell: command, cwd, notRun: `it runs after "${failedBefore}", which failed` }
          : await runEntry(command, TABLE[command]!, cwd).catch((error: unknown) => ({
              shell: command,
              cwd,
              notRun: String(error),
            }));
        const expected = TABLE[command]?.exit ?? 0;
        if (outcome.notRun || outcome.result?.code !== expected) failedBefore ??= command;
        settle.get(command)!(outcome);
      }
    }
  };
  for (let w = 0; w < WORKERS; w++) void worker();
  return outcomes;
}

function fieldAt(value: unknown, path: string): unknown {
  let at: unknown = value;
  for (const key of path.split('.')) {
    if (at === null || typeof at !== 'object' || !(key in at)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** Bundled data a user already has: a documented command must never change the repository's copy. */
function snapshot(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const stat = statSync(path);
        files.set(relative(ROOT, path), `${stat.size} ${stat.mtimeMs}`);
      }
    }
  };
  for (const dir of ['models', 'traces', 'configs', 'test/golden/traces']) walk(join(ROOT, dir));
  return files;
}

const documented = documentedCommands();
const runnable = [...documented.keys()].filter((command) => TABLE[command] && !TABLE[command].skip);

describe('documented commands (README.md, docs/*.md) as fresh processes of the built CLI', () => {
  const dirs: string[] = [];
  let outcomes: Map<string, Promise<Outcome>>;
  let before: Map<string, string>;

  beforeAll(() => {
    before = snapshot();
    assertBuiltCli();
    outcomes = startRuns(runnable, dirs);
  });
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test(`every documented command has an entry in ${TABLE_PATH}, and every entry is documented`, () => {
    expect(documented.size).toBeGreaterThan(10);
    const missing = [...documented]
      .filter(([command]) => !TABLE[command])
      .map(([command, where]) => `${where.join(', ')}: "${command}"`);
    expect(missing, `documented commands missing from ${TABLE_PATH} (add a one-line entry each)`).toEqual([]);
    const stale = Object.keys(TABLE).filter((command) => !documented.has(command));
    expect(stale, `${TABLE_PATH} entries no document shows (remove them)`).toEqual([]);
  });

  test('every table entry is well-formed: a reason for each exclusion, known fields, `after` a runnable entry', () => {
    for (const [command, entry] of Object.entries(TABLE)) {
      const unknown = Object.keys(entry).filter((key) => !ENTRY_FIELDS.has(key));
      expect(unknown, `${command}: unknown fields`).toEqual([]);
      if (entry.skip !== undefined) {
        expect(entry.skip.trim().length, `${command}: skip needs a reason`).toBeGreaterThan(10);
        expect(Object.keys(entry), `${command}: a skipped entry has nothing else`).toEqual(['skip']);
      }
      if (entry.after !== undefined) {
        expect(TABLE[entry.after] && !TABLE[entry.after]!.skip, `${command}: after "${entry.after}"`).toBe(
          true,
        );
      }
      if (entry.add !== undefined) {
        expect(/^(npx )?deltasim /.test(command), `${command}: add needs a deltasim command`).toBe(true);
      }
    }
  });

  test.each(runnable)(
    '%s',
    async (command) => {
      const entry = TABLE[command]!;
      const outcome = await outcomes.get(command)!;
      expect(outcome.notRun, `${command}: not run`).toBeUndefined();
      const result = outcome.result!;
      const context = `$ ${outcome.shell}  (in ${outcome.cwd}, ${outcome.elapsedMs} ms)\nexit ${result.code}${result.timedOut ? ' (killed: timeout)' : ''}\nstderr: ${result.stderr.slice(-1500)}\nstdout (end): ${result.stdout.slice(-1500)}`;
      expect(result.timedOut, context).toBe(false);
      expect(result.code, context).toBe(entry.exit ?? 0);
      expect(result.stderr, context).not.toMatch(/internal error|\n\s+at /);
      if ((entry.exit ?? 0) !== 0) {
        const lines = stderrLines(result.stderr);
        expect(lines, context).toHaveLength(1);
        expect(lines[0], context).toMatch(/^deltasim: /);
      }
      if (entry.stdout !== undefined) expect(result.stdout, context).toMatch(new RegExp(entry.stdout, 'm'));
      if (entry.json !== undefined) {
        const last = lastJsonLine(result.stdout);
        for (const path of entry.json) expect(fieldAt(last, path), `${context}\nfield ${path}`).toBeDefined();
      }
      for (const file of entry.files ?? []) {
        expect(
          statSync(join(outcome.cwd, file), { throwIfNoEntry: false })?.size,
          `${context}\nfile ${file}`,
        ).toBeGreaterThan(0);
      }
    },
    300_000,
  );

  test("no documented command changed the repository's bundled models, traces or configs", async () => {
    await Promise.all(outcomes.values());
    expect(snapshot()).toEqual(before);
  }, 300_000);
});
