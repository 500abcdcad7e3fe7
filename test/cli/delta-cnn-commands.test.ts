import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTrace } from '../../src/trace/reader.js';
import { runInProcess } from './run-in-process.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'deltasim-delta-cnn-cli-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const run = (argv: string[]) => runInProcess(argv, root);

describe('train / eval / record delta-cnn', () => {
  it('trains dense, fine-tunes dal from it, evaluates both (--json) and records a trace', async () => {
    const small = [
      '--epochs',
      '1',
      '--clips',
      '2',
      '--batch-size',
      '2',
      '--validation-clips',
      '1',
      '--backend',
      'wasm',
    ];
    const dense = await run(['train', 'delta-cnn', '--variant', 'dense', ...small, '--out', 'dense']);
    expect(dense.stderr).toContain('saved');
    expect(dense.code).toBe(0);
    const dal = await run([
      'train',
      'delta-cnn',
      '--variant',
      'dal',
      '--init',
      'dense',
      ...small,
      '--out',
      'dal',
    ]);
    expect(dal.code).toBe(0);
    const card = JSON.parse(await readFile(join(root, 'dal', 'card.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    // A fine-tuned model counts its starting point's epoch too.
    expect(card).toMatchObject({
      name: 'dal',
      family: 'delta-cnn',
      variant: 'dal',
      epochs: 2,
      backend: 'wasm',
    });

    const evaluated = await run([
      'eval',
      'delta-cnn',
      '--dense',
      'dense',
      '--dal',
      'dal',
      '--clips',
      '2',
      '--json',
      '--write-cards',
      '--force',
      '--backend',
      'wasm',
    ]);
    expect(evaluated.code).toBe(0);
    const lines = evaluated.stdout.trim().split('\n');
    const report = JSON.parse(lines[lines.length - 1]!) as {
      variants: { name: string; accuracy: number; macWeightedDensity: number }[];
    };
    expect(report.variants.map((v) => v.name)).toEqual(['dense', 'naive-delta', 'dal']);
    for (const v of report.variants) {
      expect(v.accuracy).toBeGreaterThanOrEqual(0);
      expect(v.macWeightedDensity).toBeGreaterThan(0);
    }
    const updated = JSON.parse(await readFile(join(root, 'dal', 'card.json'), 'utf8')) as {
      metrics: Record<string, number>;
    };
    expect(updated.metrics.macWeightedDensity).toBe(report.variants[2]!.macWeightedDensity);

    const recorded = await run([
      'record',
      'delta-cnn',
      '--model',
      'dal',
      '--clips',
      '1',
      '--out',
      'trace.safetensors',
      '--backend',
      'wasm',
    ]);
    expect(recorded.code).toBe(0);
    const trace = await openTrace(join(root, 'trace.safetensors'));
    expect(trace.manifest.steps).toHaveLength(8);
    expect(trace.manifest.model.card).toBe('dal/card.json');
    await trace.close();
  });

  it('rejects bad input with one line and exit 2', async () => {
    await writeFile(join(root, 'a-file'), 'not a model directory');
    for (const argv of [
      ['train', 'resnet'],
      ['train', 'delta-cnn', '--variant', 'sparse'],
      ['train', 'delta-cnn', '--epochs', '0'],
      ['eval', 'delta-cnn', '--dense', 'no-such-dir'],
      ['record', 'delta-cnn', '--model', 'no-such-dir'],
      ['train', 'delta-cnn', '--resume', '--out', 'nothing-here', '--backend', 'wasm'],
      ['eval', 'delta-cnn', '--clips', 'abc'],
      ['eval', 'delta-cnn', '--dense', 'a-file'],
      ['train', 'delta-cnn', '--out', 'a-file'],
      ['train', 'delta-cnn', '--out', 'a-file/model'],
      ['record', 'delta-cnn', '--model', 'no-such-dir', '--out', 'a-file/x.safetensors'],
      ['record', 'delta-cnn', '--model', 'no-such-dir', '--clips', '-3'],
    ]) {
      const { code, stderr } = await run(argv);
      expect(code, argv.join(' ')).toBe(2);
      expect(
        stderr
          .trim()
          .split('\n')
          .filter((l) => !l.startsWith('tfjs:')),
      ).toHaveLength(1);
    }
  });
});
