import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { SIZE_LIMITS } from '../../src/cli/size-limits.js';
import { ROOT, runBuiltCli, stderrLines } from './built-cli.js';

// An empty directory: a size that slipped through could not train into, or overwrite, anything real.
const cwd = mkdtempSync(join(tmpdir(), 'deltasim-limits-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

const tiny = join(ROOT, 'test/golden/traces/tiny.safetensors');
const model = join(ROOT, 'models/delta-cnn-dal');
const L = SIZE_LIMITS;

const CASES: readonly (readonly [readonly string[], string])[] = [
  [
    ['replay', '--synthetic', `small:0.5:${L.syntheticSteps + 1}`],
    `--synthetic: steps: ${L.syntheticSteps + 1} is more than ${L.syntheticSteps}`,
  ],
  [
    ['replay', tiny, '--array', `${L.arrayDim + 1}x4`],
    `--array: "${L.arrayDim + 1}x4": rows and columns must each be at most ${L.arrayDim}`,
  ],
  [
    [
      'simulate',
      '--topology',
      join(ROOT, 'configs/topologies/gemm-small.csv'),
      '--gemm',
      '--array',
      `4x${L.arrayDim * 2}`,
    ],
    '--array:',
  ],
  [
    ['replay', '--synthetic', 'small', '--seed', `${L.seed + 1}`],
    `--seed: ${L.seed + 1}: must be an integer in [0, ${L.seed}]`,
  ],
  [['replay', '--synthetic', 'small', '--seed', '-1'], '--seed: -1:'],
  [
    ['train', 'delta-cnn', '--clips', `${L.clips + 1}`],
    `--clips: ${L.clips + 1}: must be an integer in [1, ${L.clips}]`,
  ],
  [
    ['train', 'delta-cnn', '--epochs', `${L.epochs + 1}`],
    `--epochs: ${L.epochs + 1}: must be an integer in [1, ${L.epochs}]`,
  ],
  [['train', 'delta-cnn', '--batch-size', `${L.batchSize + 1}`], '--batch-size:'],
  [['train', 'delta-cnn', '--batch-size', '0x10'], '--batch-size: 0x10:'],
  [['train', 'delta-cnn', '--validation-clips', '1e9'], '--validation-clips: 1e9:'],
  [['train', 'delta-cnn', '--lr', ''], '--lr:'],
  [['eval', 'delta-cnn', '--clips', `${L.clips + 1}`], '--clips:'],
  [
    ['record', 'delta-cnn', '--model', model, '--clips', `${L.recordClips + 1}`],
    `--clips: ${L.recordClips + 1}: must be an integer in [1, ${L.recordClips}]`,
  ],
];

test('every size a user types is checked against its stated limit: one stderr line, exit 2, nothing written', async () => {
  const results = await Promise.all(CASES.map(([args]) => runBuiltCli(args, { cwd, timeoutMs: 60_000 })));
  results.forEach((result, i) => {
    const [args, message] = CASES[i]!;
    const context = `deltasim ${args.join(' ')}\n${result.stderr}`;
    expect(result.code, context).toBe(2);
    expect(stderrLines(result.stderr), context).toHaveLength(1);
    expect(result.stderr, context).toContain(message);
    expect(result.stdout, context).toBe('');
  });
  expect(readdirSync(cwd)).toEqual([]);
});

test('the limits themselves are accepted (the check is not off by one)', async () => {
  const result = await runBuiltCli(
    ['replay', '--synthetic', 'small:0.5:2', '--seed', `${L.seed}`, '--array', `${L.arrayDim}x1`, '--json'],
    { cwd },
  );
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
});
