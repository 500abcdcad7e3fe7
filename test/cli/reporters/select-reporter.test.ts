import { describe, expect, test } from 'vitest';
import type { CliIo } from '../../../src/cli/io.js';
import { JsonReporter } from '../../../src/cli/reporters/json.js';
import {
  chooseReporterKind,
  parseUiMode,
  selectReporter,
} from '../../../src/cli/reporters/select-reporter.js';
import { InputError } from '../../../src/common/input-error.js';

function io(isTTY: boolean, env: Record<string, string> = {}): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: { write: (s: string) => out.push(s), isTTY },
    stderr: { write: (s: string) => err.push(s) },
    env,
    cwd: '/',
  };
}

describe('chooseReporterKind', () => {
  test.each([
    ['auto', false, true, {}, 'tui'],
    ['auto', false, false, {}, 'plain'],
    ['auto', false, true, { CI: 'true' }, 'plain'],
    ['auto', false, true, { CI: '1' }, 'plain'],
    ['auto', false, true, { CI: 'false' }, 'tui'],
    ['auto', true, true, {}, 'json'],
    ['tui', true, true, {}, 'json'],
    ['tui', false, false, { CI: 'true' }, 'tui'],
    ['plain', false, true, {}, 'plain'],
  ] as const)('ui %s, json %s, TTY %s, env %j → %s', (ui, json, isTTY, env, expected) => {
    expect(chooseReporterKind({ ui, json, io: io(isTTY, env) })).toBe(expected);
  });
});

test('--ui accepts auto, tui, plain in any case and rejects the rest as bad usage', () => {
  expect(parseUiMode(undefined)).toBe('auto');
  expect(parseUiMode('TUI')).toBe('tui');
  expect(() => parseUiMode('fancy')).toThrow(InputError);
  expect(() => parseUiMode('fancy')).toThrow('--ui: unknown ui "fancy" (use auto, tui, plain)');
});

test('--json gets the NDJSON reporter', async () => {
  expect(await selectReporter({ ui: 'auto', json: true, io: io(true), runs: 1 })).toBeInstanceOf(
    JsonReporter,
  );
});

test('a TUI asked for on an output ink cannot draw on falls back to plain text', async () => {
  const fake = io(true);
  const reporter = await selectReporter({ ui: 'tui', json: false, io: fake, runs: 1 });
  expect(reporter).not.toBeInstanceOf(JsonReporter);
  await reporter.finish();
  expect(fake.out).toEqual([]);
});
