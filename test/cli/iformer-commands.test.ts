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
      [['train', 'iformer', '--data', 'cifar'], 'must be mnist, shapes or video'],
      [['train', 'iformer', '--data', 'mnist', '--mixer', 'mlp'], 'must be inception, attention or conv'],
      [['train', 'iformer', '--data', 'mnist', '--activation', 'tanh'], '--activation'],
      [['record', 'iformer', '--model', 'x'], 'give exactly one of --images N'],
      [['record', 'iformer', '--model', 'x', '--images', '2', '--clips', '1'], 'give exactly one of'],
      [['record', 'iformer', '--model', 'x', '--images', '0'], '--images: 0: must be an integer'],
      [['train', 'iformer', '--data', 'video', '--sp-rate', '-1'], '--sp-rate'],
      [['train', 'iformer', '--data', 'mnist', '--init', 'x'], '--init: x: is for --data video only'],
    ] as const) {
      const { code, stderr } = await run([...argv]);
      expect(code).toBe(2);
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(stderr).toContain(needle);
    }
  });

  it('a video fine-tune refuses an --init that is not a video model, before writing anything', async () => {
    const init = join(repo, 'models', 'iformer-mnist');
    const { code, stderr } = await run([
      'train',
      'iformer',
      '--data',
      'video',
      '--init',
      init,
      '--out',
      'refused',
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain('is not an iformer video model');
    expect(existsSync(join(root, 'refused'))).toBe(false);
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

describe('record iformer', { timeout: 600_000 }, () => {
  const replayVerify = (trace: string) =>
    spawnSync(
      process.execPath,
      [main, 'replay', trace, '--preset', 'neuronflow-like', '--verify', '--ui', 'plain'],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );

  it('an image model records held-out images; a fresh process replays the trace with --verify', async () => {
    const trained = await run([
      'train',
      'iformer',
      '--data',
      'shapes',
      '--activation',
      'relu',
      '--examples',
      '8',
      '--batch-size',
      '8',
      '--epochs',
      '1',
      '--backend',
      'wasm',
      '--out',
      'tiny-image',
    ]);
    expect(trained.code).toBe(0);
    assertBuiltCli();
    const recorded = spawnSync(
      process.execPath,
      [
        main,
        'record',
        'iformer',
        '--model',
        'tiny-image',
        '--images',
        '2',
        '--dtype',
        'F16',
        '--out',
        'image.safetensors',
      ],
      { cwd: root, encoding: 'utf8' },
    );
    expect(recorded.stderr).toContain('2 steps');
    expect(recorded.status).toBe(0);
    const clips = await run([
      'record',
      'iformer',
      '--model',
      'tiny-image',
      '--clips',
      '1',
      '--out',
      'x.safetensors',
    ]);
    expect(clips.code).toBe(2);
    expect(clips.stderr).toContain('record it with --images N');
    expect(existsSync(join(root, 'x.safetensors'))).toBe(false);
    const replayed = replayVerify('image.safetensors');
    expect(replayed.stderr).toContain('every layer matches the dense product');
    expect(replayed.status).toBe(0);
  });

  it('a video-mode model (DALs) trains on clips, records one step per frame, and replays with --verify', async () => {
    const trained = await run([
      'train',
      'iformer',
      '--data',
      'video',
      '--activation',
      'relu',
      '--clips',
      '2',
      '--batch-size',
      '2',
      '--validation-clips',
      '2',
      '--epochs',
      '1',
      '--backend',
      'wasm',
      '--out',
      'tiny-video',
    ]);
    expect(trained.stderr).toContain('saved tiny-video');
    expect(trained.code).toBe(0);
    const card = JSON.parse(await readFile(join(root, 'tiny-video', 'card.json'), 'utf8')) as {
      data: { dataset: string; thresholds: Record<string, number[]>; dalDensity: Record<string, number> };
      metrics: { macWeightedDensity: number; keyFrameDensity: number; deltaFrameDensity: number };
      command: string;
    };
    expect(card.data.dataset).toBe('video');
    // The DAL deltas' density on the held-out clips: later frames send fewer changes than the first.
    expect(card.metrics.macWeightedDensity).toBeGreaterThan(0);
    expect(card.metrics.deltaFrameDensity).toBeLessThan(card.metrics.keyFrameDensity);
    expect(Object.keys(card.data.dalDensity)).toEqual(Object.keys(card.data.thresholds));
    expect(Object.keys(card.data.thresholds)).toContain('stage1_block1_dal_hidden');
    expect(card.command).toContain('--data video');
    const images = await run(['record', 'iformer', '--model', 'tiny-video', '--images', '1']);
    expect(images.code).toBe(2);
    expect(images.stderr).toContain('record it with --clips N');
    const recorded = spawnSync(
      process.execPath,
      [main, 'record', 'iformer', '--model', 'tiny-video', '--clips', '1', '--out', 'video.safetensors'],
      { cwd: root, encoding: 'utf8' },
    );
    expect(recorded.stderr).toContain('8 steps');
    expect(recorded.status).toBe(0);
    const replayed = replayVerify('video.safetensors');
    expect(replayed.stderr).toContain('every layer matches the dense product');
    expect(replayed.status).toBe(0);
  });
});
