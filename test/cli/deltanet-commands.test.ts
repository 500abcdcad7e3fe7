import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuiltCli, BUILT_MAIN } from './built-cli.js';
import { TINY_DELTANET_FLAGS } from './deltanet-fixtures.js';

const main = BUILT_MAIN;
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'deltasim-deltanet-cli-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function deltasim(args: string[]) {
  const r = spawnSync(process.execPath, [main, ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const budget = ['--steps', '4', '--batch-size', '4', '--backend', 'wasm'];
const zeroFillCosine = ['--fill', 'zeros', '--lr-decay', 'cosine'];

// A missing or stale dist/ fails here rather than skipping: npm test builds it first.
assertBuiltCli();

describe('train / eval deltanet as fresh processes (built CLI)', () => {
  it('trains both mixers, then a fresh eval loads the custom layers and prints both accuracies', async () => {
    for (const mixer of ['delta', 'linear']) {
      const r = deltasim([
        'train',
        'deltanet',
        ...TINY_DELTANET_FLAGS,
        ...budget,
        ...zeroFillCosine,
        '--mixer',
        mixer,
        '--out',
        mixer,
      ]);
      expect(r.stderr).toContain('saved');
      expect(r.code).toBe(0);
    }
    const card = JSON.parse(await readFile(join(root, 'delta', 'card.json'), 'utf8')) as {
      family: string;
      variant: string;
      command: string;
      data: { task: string; settings: Record<string, number | string>; steps: number; lrDecay: string };
    };
    expect(card.family).toBe('deltanet');
    expect(card.variant).toBe('delta');
    expect(card.data.task).toBe('mqar');
    expect(card.data.settings).toEqual({ seqLen: 16, pairs: 2, vocab: 32, fill: 'zeros' });
    expect(card.data.steps).toBe(4);
    expect(card.data.lrDecay).toBe('cosine');
    expect(card.command).toContain('--mixer delta --seq 16 --pairs 2 --vocab 32 --fill zeros');
    expect(card.command).toContain('--lr-decay cosine');

    const one = deltasim(['eval', 'deltanet', '--model', 'delta', '--sequences', '16', '--json']);
    expect(one.code).toBe(0);
    const single = JSON.parse(one.stdout.trimEnd().split('\n').pop()!) as { results: { mixer: string }[] };
    expect(single.results.map((x) => x.mixer)).toEqual(['delta']);

    const both = deltasim([
      'eval',
      'deltanet',
      '--delta',
      'delta',
      '--linear',
      'linear',
      '--sequences',
      '16',
      '--json',
    ]);
    expect(both.code).toBe(0);
    const summary = JSON.parse(both.stdout.trimEnd().split('\n').pop()!) as {
      task: string;
      settings: Record<string, number | string>;
      results: { mixer: string; accuracy: number }[];
    };
    expect(summary.task).toBe('mqar');
    expect(summary.settings).toMatchObject({ seqLen: 16, pairs: 2, vocab: 32, fill: 'zeros', sequences: 16 });
    expect(summary.results.map((x) => x.mixer)).toEqual(['delta', 'linear']);
    for (const x of summary.results) expect(x.accuracy).toBeGreaterThanOrEqual(0);
  }, 600_000); // four fresh tfjs processes: minutes on a loaded 2-core machine

  it('records a model with an MLP, a β bias and DAL thresholds; the trace replays with --verify, both schedules', async () => {
    const trained = deltasim([
      'train',
      'deltanet',
      ...TINY_DELTANET_FLAGS,
      ...budget,
      '--mlp',
      '--beta-bias-init',
      '-3',
      '--out',
      'mlp',
    ]);
    expect(trained.code, trained.stderr).toBe(0);
    const card = JSON.parse(await readFile(join(root, 'mlp', 'card.json'), 'utf8')) as {
      command: string;
      data: { model: { betaBiasInit?: number } };
    };
    expect(card.data.model.betaBiasInit).toBe(-3);
    expect(card.command).toContain('--beta-bias-init -3');
    const recorded = deltasim([
      'record',
      'deltanet',
      '--model',
      'mlp',
      '--delta-threshold',
      '0.1',
      '--backend',
      'wasm',
      '--out',
      'mlp.safetensors',
    ]);
    expect(recorded.code, recorded.stderr).toBe(0);
    expect(recorded.stderr).toMatch(/accuracy on the recorded sequences .* with θ = 0\.1 \(exact inputs: /);
    const replayed = deltasim([
      'replay',
      'mlp.safetensors',
      '--preset',
      'sparten-like',
      '--verify',
      '--ui',
      'plain',
    ]);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stdout).toContain('block0_mlp_down');
    expect(replayed.stdout).toContain('block0_conv_v');
    expect(replayed.stderr).toContain('every layer matches the dense product');
    const chunked = deltasim([
      'replay',
      'mlp.safetensors',
      '--preset',
      'sparten-like',
      '--schedule',
      'chunkwise',
      '--verify',
      '--ui',
      'plain',
    ]);
    expect(chunked.code, chunked.stderr).toBe(0);
    expect(chunked.stdout).toContain('block0_chunk_solve');
  }, 600_000);

  it('bad flags: one line naming the flag, exit 2, no output directory', () => {
    const cases: [string[], string][] = [
      [['train', 'deltanet', '--task', 'nope', '--out', 'x'], '--task'],
      [['train', 'deltanet', '--mixer', 'gru', '--out', 'x'], '--mixer'],
      [['train', 'deltanet', '--seq', '64', '--pairs', '17', '--out', 'x'], 'pairs'],
      [['train', 'deltanet', '--dmodel', '64', '--heads', '3', '--out', 'x'], '--heads'],
      [['train', 'deltanet', '--fill', 'ones', '--out', 'x'], '--fill'],
      [['train', 'deltanet', '--task', 'mad-copy', '--fill', 'zeros', '--out', 'x'], '--fill'],
      [['train', 'deltanet', '--lr-decay', 'linear', '--out', 'x'], '--lr-decay'],
      [['train', 'deltanet', '--beta-bias-init', 'low', '--out', 'x'], '--beta-bias-init'],
      [
        ['train', 'deltanet', '--mixer', 'linear', '--beta-bias-init', '-3', '--out', 'x'],
        '--beta-bias-init',
      ],
      [['eval', 'deltanet', '--sequences', '0'], '--sequences'],
      [['record', 'deltanet', '--model', 'x', '--delta-threshold', '0'], '--delta-threshold'],
      [['record', 'deltanet', '--model', 'x', '--delta-threshold', 'big'], '--delta-threshold'],
      [['record', 'delta-cnn', '--model', 'x', '--delta-threshold', '0.1'], '--delta-threshold'],
    ];
    for (const [args, flag] of cases) {
      const r = deltasim(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(flag);
      expect(existsSync(join(root, 'x'))).toBe(false);
    }
  }, 120_000);
});
