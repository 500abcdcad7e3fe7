import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuiltCli, BUILT_MAIN } from './built-cli.js';
import { runInProcess } from './run-in-process.js';

const repo = resolve(import.meta.dirname, '../..');
const main = BUILT_MAIN;
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'deltasim-iformer-cli-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const run = (argv: string[]) => runInProcess(argv, root);

describe('train / eval iformer', { timeout: 300_000 }, () => {
  it('trains on shapes, saves a card, and a fresh process evaluates the saved model (--json)', async () => {
    const trained = await run([
      'train',
      'iformer',
      '--data',
      'shapes',
      '--mixer',
      'conv',
      '--activation',
      'relu',
      '--examples',
      '18',
      '--batch-size',
      '18',
      '--epochs',
      '1',
      '--backend',
      'wasm',
      '--out',
      'tiny',
    ]);
    expect(trained.stderr).toContain('saved tiny');
    expect(trained.code).toBe(0);
    const card = JSON.parse(await readFile(join(root, 'tiny', 'card.json'), 'utf8')) as {
      family: string;
      variant: string;
      data: Record<string, unknown>;
      metrics: Record<string, number>;
      command: string;
    };
    expect(card).toMatchObject({ family: 'iformer', variant: 'conv' });
    expect(card.data).toMatchObject({ dataset: 'shapes', activation: 'relu', trainExamples: 18, steps: 1 });
    expect(card.command).toContain('--mixer conv');
    expect(existsSync(join(root, 'tiny', 'checkpoint.ckpt'))).toBe(false);
    assertBuiltCli(); // fails, not skips, without a fresh dist/ (npm test builds it first)
    const evaluated = spawnSync(process.execPath, [main, 'eval', 'iformer', '--model', 'tiny', '--json'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(evaluated.stderr).not.toContain('internal error');
    expect(evaluated.status).toBe(0);
    const report = JSON.parse(evaluated.stdout.trimEnd().split('\n').pop()!) as {
      dataset: string;
      results: { model: string; mixer: string; accuracy: number; params: number; macs: number }[];
    };
    expect(report.dataset).toBe('shapes');
    expect(report.results).toHaveLength(1);
    expect(report.results[0]).toMatchObject({ model: 'tiny', mixer: 'conv', params: card.data.params });
    expect(report.results[0]!.accuracy).toBeCloseTo(card.metrics.heldOutAccuracy!, 10);
    expect(report.results[0]!.macs).toBe(card.data.macs);
  });

  it('bad flags are one-line usage errors (exit 2) before any training', async () => {
    for (const [argv, needle] of [
      [['train', 'iformer'], '--data'],
      [['train', 'iformer', '--data', 'cifar'], 'must be mnist or shapes'],
      [['train', 'iformer', '--data', 'mnist', '--mixer', 'mlp'], 'must be inception, attention or conv'],
      [['train', 'iformer', '--data', 'mnist', '--activation', 'tanh'], '--activation'],
      [['record', 'iformer', '--model', 'x'], 'unknown model'],
    ] as const) {
      const { code, stderr } = await run([...argv]);
      expect(code).toBe(2);
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(stderr).toContain(needle);
    }
  });

  it('eval refuses a model of another family with one line', async () => {
    const { code, stderr } = await run([
      'eval',
      'iformer',
      '--model',
      join(repo, 'models', 'delta-cnn-dense'),
    ]);
    expect(code).toBe(2);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toContain('not iformer');
  });
});
