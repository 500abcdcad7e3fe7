import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { assertBuiltCli } from '../built-cli.js';

/**
 * `--json` (and plain) must never load ink, React or src/tui: they cost ~1 s of start-up. Checked on
 * the built CLI in a child process whose every resolved module is logged by a resolve hook.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const recorder = fileURLToPath(new URL('./fixtures/record-imports.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'deltasim-imports-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TUI_MODULES = /\/node_modules\/(ink|react|@inkjs\/ui|yoga-layout)\/|\/dist\/tui\//;

function importsOf(
  name: string,
  args: readonly string[],
): { urls: readonly string[]; stdout: string; status: number | null } {
  assertBuiltCli();
  const log = join(dir, `${name}.log`);
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      recorder,
      'dist/cli/main.js',
      'simulate',
      '--topology',
      'configs/topologies/resnet18.csv',
      ...args,
    ],
    { cwd: root, encoding: 'utf8', env: { ...process.env, DELTASIM_IMPORT_LOG: log }, timeout: 60_000 },
  );
  const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  return { urls, stdout: result.stdout, status: result.status };
}

test('--json loads no ink, React or TUI module', () => {
  const { urls, stdout, status } = importsOf('json', ['--json']);
  expect(status).toBe(0);
  expect(urls.some((url) => url.includes('/dist/cli/reporters/json.js'))).toBe(true);
  expect(urls.filter((url) => TUI_MODULES.test(url))).toEqual([]);
  const lines = stdout.trimEnd().split('\n');
  expect((JSON.parse(lines.at(-1) ?? '') as { tool?: string }).tool).toBe('deltasim');
});

test('plain (a pipe under --ui auto) loads none either', () => {
  const { urls, status } = importsOf('plain', ['--ui', 'auto']);
  expect(status).toBe(0);
  expect(urls.filter((url) => TUI_MODULES.test(url))).toEqual([]);
});

test('the log does see them when the TUI is asked for (the check can fail)', () => {
  const { urls, status } = importsOf('tui', ['--ui', 'tui']);
  expect(status).toBe(0);
  expect(urls.some((url) => url.includes('/node_modules/ink/'))).toBe(true);
  expect(urls.some((url) => url.includes('/dist/tui/dashboard.js'))).toBe(true);
});
