/**
 * What the CLI entry lets prestarted pool threads guess from the raw arguments of `replay`
 * (src/cli/commands/replay-prestart.ts, `guessOf`): only a replay of trace files on presets, with
 * `--json` or `--ui plain` (this thread then takes tasks too); any flag that changes the plan, or
 * an output where this thread takes none, gives no guess. A wrong guess would cost time only (the
 * threads check it: test/replay/pool-speculation.test.ts); these keep the guess from being wasted.
 */
import { resolve } from 'node:path';
import { expect, test } from 'vitest';
import { guessOf } from '../../src/cli/commands/replay-prestart.js';
import { VERSION } from '../../src/cli/version.js';

test('trace files, presets, --verify and --workers, with --json or --ui plain: guessed as typed', () => {
  expect(
    guessOf(
      ['a.safetensors', '--preset', 'sparten-like', '--preset=eyeriss-like', '--json', '--workers', '2'],
      2,
      1,
    ),
  ).toEqual({
    traces: [{ path: resolve('a.safetensors'), label: 'a.safetensors' }],
    presets: ['sparten-like', 'eyeriss-like'],
    verify: false,
    toolVersion: VERSION,
    queues: 2,
    home: 1,
  });
  const plain = guessOf(['--ui', 'plain', '--verify', '/t/x', '/t/y', '--workers=3'], 3, 2);
  expect(plain?.traces.map((t) => t.path)).toEqual(['/t/x', '/t/y']);
  expect(plain?.presets).toEqual([]);
  expect(plain?.verify).toBe(true);
  expect(plain?.home).toBe(2);
  expect(guessOf(['t', '--ui=auto', '--json'], 2, 1)).toBeDefined();
});

test('no guess for a flag that changes the plan, an output that leaves this thread no tasks, or no trace', () => {
  const base = ['t.safetensors', '--preset', 'sparten-like', '--json'];
  for (const extra of [
    ['--hw', 'x.yaml'],
    ['--array', '8x8'],
    ['--dataflow', 'ws'],
    ['--precision=fp16'],
    ['--delta'],
    ['--no-delta'],
    ['--synthetic', 'small'],
    ['--schedule', 'recurrent'],
    ['--ui', 'tui'],
    ['--'],
  ])
    expect(guessOf([...base, ...extra], 2, 1), extra.join(' ')).toBeUndefined();
  expect(guessOf(['t.safetensors', '--preset', 'sparten-like'], 2, 1)).toBeUndefined();
  expect(guessOf(['--preset', 'sparten-like', '--json'], 2, 1)).toBeUndefined();
  expect(guessOf(['t.safetensors', '--json', '--preset'], 2, 1)).toBeUndefined();
});
