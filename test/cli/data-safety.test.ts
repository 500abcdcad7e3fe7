/**
 * A user's data is never lost, tested as a user meets it: fresh `node dist/cli/main.js` processes
 * (npm test builds dist/ first). Existing outputs survive without --force and are replaced with it;
 * SIGINT/SIGTERM leave no temporaries; kill -9 leaves a pid-named one that the next run removes;
 * `train --resume` after any of these equals an uninterrupted run byte for byte.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { synthesizeTrace } from '../../src/trace/synthesize.js';
import { TINY_DELTANET_FLAGS } from './deltanet-fixtures.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const main = join(root, 'dist/cli/main.js');
const bundledModel = join(root, 'models/delta-cnn-dal');
const bundledTrace = join(root, 'traces/delta-cnn-dal.safetensors');
const SLOW = 180_000;

interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Running {
  readonly child: ChildProcess;
  readonly done: Promise<Finished>;
}

function start(args: readonly string[], cwd: string): Running {
  const child = spawn(process.execPath, [main, ...args], { cwd, env: { ...process.env, CI: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<Finished>((resolveDone) => {
    child.on('close', (code, signal) => resolveDone({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

const cli = (args: readonly string[], cwd: string) => start(args, cwd).done;

async function until(what: string, condition: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Temporaries (ours: `.deltasim-tmp-<pid>-…`) directly in `dir`. */
const temporariesIn = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith('.deltasim-tmp-')) : [];

/** Training small enough for seconds: 8 batches of 4 clips per epoch, 2 epochs. */
const TRAIN = [
  'train',
  'delta-cnn',
  '--clips',
  '32',
  '--batch-size',
  '4',
  '--validation-clips',
  '4',
  '--epochs',
  '2',
  '--seed',
  '3',
  '--backend',
  'wasm',
];

let work: string;
beforeAll(async () => {
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first (npm test does)`);
  work = await mkdtemp(join(tmpdir(), 'deltasim-data-safety-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A fresh working directory per test. */
async function cwdFor(name: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

function oneLineError(stderr: string, ...parts: string[]): void {
  const lines = stderr.trimEnd().split('\n');
  expect(lines, stderr).toHaveLength(1);
  for (const part of parts) expect(lines[0]).toContain(part);
}

describe('existing outputs: refused without --force, replaced with it', () => {
  test('simulate --scalesim-report', { timeout: SLOW }, async () => {
    const cwd = await cwdFor('simulate');
    const args = ['simulate', '--topology', join(root, 'configs/topologies/resnet18.csv'), '--json'];
    expect((await cli([...args, '--scalesim-report', 'r'], cwd)).code).toBe(0);
    const report = join(cwd, 'r', 'COMPUTE_REPORT.csv');
    await writeFile(report, 'my edits');
    const refused = await cli([...args, '--scalesim-report', 'r'], cwd);
    expect(refused.code).toBe(2);
    oneLineError(refused.stderr, report, '--force');
    expect(await readFile(report, 'utf8')).toBe('my edits');
    expect((await cli([...args, '--scalesim-report', 'r', '--force'], cwd)).code).toBe(0);
    expect(await readFile(report, 'utf8')).toMatch(/^LayerID, /);
    expect(temporariesIn(join(cwd, 'r'))).toEqual([]);
  });

  test('eval --write-cards rewrites card.json files only with --force', { timeout: SLOW }, async () => {
    const cwd = await cwdFor('write-cards');
    const card = join(root, 'models/delta-cnn-dal/card.json');
    const before = await readFile(card, 'utf8');
    for (const family of ['delta-cnn', 'deltanet']) {
      const refused = await cli(['eval', family, '--write-cards'], cwd);
      expect(refused.code).toBe(2);
      oneLineError(refused.stderr, '--write-cards', '--force');
    }
    expect(await readFile(card, 'utf8')).toBe(before);
  });

  test("train iformer and train deltanet --out DIR: refused without --force; with it the user's file stays", {
    timeout: SLOW,
  }, async () => {
    const runs = [
      ['train', 'iformer', '--data', 'shapes', '--examples', '16', '--batch-size', '16', '--epochs', '1'],
      [
        'train',
        'deltanet',
        '--task',
        'mqar',
        '--seq',
        '64',
        '--pairs',
        '4',
        '--vocab',
        '128',
        '--steps',
        '2',
      ],
    ];
    for (const args of runs) {
      const cwd = await cwdFor(`${args[1]}-force`);
      await mkdir(join(cwd, 'm'));
      await writeFile(join(cwd, 'm', 'notes.txt'), 'keep');
      const refused = await cli([...args, '--out', 'm'], cwd);
      expect(refused.code).toBe(2);
      oneLineError(refused.stderr, join(cwd, 'm'), '--force');
      expect(readdirSync(join(cwd, 'm'))).toEqual(['notes.txt']);
      const forced = await cli([...args, '--out', 'm', '--force'], cwd);
      expect(forced.code, forced.stderr).toBe(0);
      expect(readdirSync(join(cwd, 'm')).sort()).toEqual([
        'card.json',
        'model.json',
        'notes.txt',
        'weights.bin',
      ]);
      expect(await readFile(join(cwd, 'm', 'notes.txt'), 'utf8')).toBe('keep');
    }
  });

  test('trace export --npy', { timeout: SLOW }, async () => {
    const cwd = await cwdFor('export');
    await mkdir(join(cwd, 'npy'));
    await writeFile(join(cwd, 'npy', 'mine.txt'), 'keep');
    const refused = await cli(['trace', 'export', bundledTrace, '--npy', 'npy'], cwd);
    expect(refused.code).toBe(2);
    oneLineError(refused.stderr, join(cwd, 'npy'), '--force');
    expect(readdirSync(join(cwd, 'npy'))).toEqual(['mine.txt']);
    expect((await cli(['trace', 'export', bundledTrace, '--npy', 'npy', '--force'], cwd)).code).toBe(0);
    expect(readdirSync(join(cwd, 'npy'))).toContain('manifest.json');
    expect(temporariesIn(cwd)).toEqual([]);
  });

  test('record: the default output is out/<model>.safetensors, never the bundled trace', {
    timeout: SLOW,
  }, async () => {
    const cwd = await cwdFor('record');
    const args = ['record', 'delta-cnn', '--model', bundledModel, '--clips', '1', '--backend', 'wasm'];
    const first = await cli(args, cwd);
    expect(first.code, first.stderr).toBe(0);
    const out = join(cwd, 'out', 'delta-cnn-dal.safetensors');
    expect(existsSync(out)).toBe(true);
    expect(existsSync(join(cwd, 'traces'))).toBe(false);
    await writeFile(out, 'my notes');
    const refused = await cli(args, cwd);
    expect(refused.code).toBe(2);
    oneLineError(refused.stderr, out, '--force');
    expect(await readFile(out, 'utf8')).toBe('my notes');
    const forced = await cli([...args, '--force'], cwd);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await readFile(out)).length).toBeGreaterThan(100_000);
    expect(temporariesIn(join(cwd, 'out'))).toEqual([]);
  });

  test('train --out: refused when not empty; --force replaces the model files, a user file survives', {
    timeout: SLOW,
  }, async () => {
    const cwd = await cwdFor('train-force');
    await mkdir(join(cwd, 'model'));
    await writeFile(join(cwd, 'model', 'notes.txt'), 'mine');
    const refused = await cli([...TRAIN, '--out', 'model'], cwd);
    expect(refused.code).toBe(2);
    oneLineError(refused.stderr, join(cwd, 'model'), '--force');
    const forced = await cli([...TRAIN, '--epochs', '1', '--out', 'model', '--force'], cwd);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readdirSync(join(cwd, 'model')).sort()).toEqual([
      'card.json',
      'model.json',
      'notes.txt',
      'weights.bin',
    ]);
    expect(await readFile(join(cwd, 'model', 'notes.txt'), 'utf8')).toBe('mine');
  });
});

describe('interruptions', () => {
  let bigTrace: string;
  beforeAll(async () => {
    // Thousands of tensors: an export long enough to be interrupted while it writes.
    bigTrace = join(await cwdFor('big'), 'big.safetensors');
    await synthesizeTrace(bigTrace, { shape: 'small', density: 0.5, steps: 300, seed: 1, dtype: 'F16' });
  }, SLOW);

  const RECORD_LONG = [
    'record',
    'delta-cnn',
    '--model',
    bundledModel,
    '--clips',
    '256',
    '--out',
    't.safetensors',
  ];

  test.each([
    ['SIGINT', 130, 'trace export --npy'],
    ['SIGTERM', 143, 'trace export --npy'],
    ['SIGINT', 130, 'record'],
    ['SIGTERM', 143, 'record'],
  ] as const)(
    '%s → exit %i during %s, nothing left behind',
    { timeout: SLOW },
    async (signal, code, command) => {
      const cwd = await cwdFor(`${command.split(' ')[0]}-${signal}`);
      const args = command === 'record' ? RECORD_LONG : ['trace', 'export', bigTrace, '--npy', 'npy'];
      const run = start(args, cwd);
      await until('the first temporary', () => temporariesIn(cwd).length > 0);
      run.child.kill(signal);
      const result = await run.done;
      expect(result.code, result.stderr).toBe(code);
      expect(result.stderr).toContain(`interrupted (${signal})`);
      expect(readdirSync(cwd)).toEqual([]);
    },
  );

  test('kill -9 during record leaves a pid-named temporary; the next command writing there removes it', {
    timeout: SLOW,
  }, async () => {
    const cwd = await cwdFor('record-kill');
    const run = start(RECORD_LONG, cwd);
    await until('the temporary trace data', () => temporariesIn(cwd).length > 0);
    run.child.kill('SIGKILL');
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');
    const left = temporariesIn(cwd);
    expect(left.length).toBeGreaterThan(0);
    expect(left.every((n) => n.startsWith(`.deltasim-tmp-${run.child.pid}-`))).toBe(true);
    const next = await cli(
      [
        'simulate',
        '--topology',
        join(root, 'configs/topologies/resnet18.csv'),
        '--json',
        '--scalesim-report',
        '.',
      ],
      cwd,
    );
    expect(next.code, next.stderr).toBe(0);
    for (const name of left) expect(next.stderr).toContain(`removed ${join(cwd, name)}`);
    expect(readdirSync(cwd)).toEqual(['COMPUTE_REPORT.csv']);
  });
});

describe('train --resume equals an uninterrupted run, byte for byte', () => {
  let reference: Buffer;
  beforeAll(async () => {
    const cwd = await cwdFor('train-reference');
    const result = await cli(TRAIN, cwd);
    expect(result.code, result.stderr).toBe(0);
    // The default output lands under out/, never on the bundled models/.
    expect(readdirSync(join(cwd, 'out', 'delta-cnn-dense')).sort()).toEqual([
      'card.json',
      'model.json',
      'weights.bin',
    ]);
    reference = await readFile(join(cwd, 'out', 'delta-cnn-dense', 'weights.bin'));
  }, SLOW);

  test('SIGINT inside an epoch: stops at a batch boundary with a checkpoint, no temporaries', {
    timeout: SLOW,
  }, async () => {
    const cwd = await cwdFor('train-sigint');
    const model = join(cwd, 'model');
    const run = start([...TRAIN, '--out', 'model', '--checkpoint-every', '2'], cwd);
    await until('the first checkpoint', () => existsSync(join(model, 'checkpoint.ckpt')));
    run.child.kill('SIGINT');
    const stopped = await run.done;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toContain('--resume');
    expect(readdirSync(model)).toEqual(['checkpoint.ckpt']);
    expect(temporariesIn(cwd)).toEqual([]);
    const resumed = await cli([...TRAIN, '--out', 'model', '--resume'], cwd);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resumed from .* after epoch \d+( and \d+ batches of epoch \d+)?/);
    expect((await readFile(join(model, 'weights.bin'))).equals(reference)).toBe(true);
    expect(readdirSync(model).sort()).toEqual(['card.json', 'model.json', 'weights.bin']);
  });

  test('kill -9 with the last checkpoint: resume sweeps the dead run’s temporaries and ends identical', {
    timeout: SLOW,
  }, async () => {
    const cwd = await cwdFor('train-kill');
    const model = join(cwd, 'model');
    const run = start([...TRAIN, '--out', 'model', '--checkpoint-every', '1'], cwd);
    await until('the first checkpoint', () => existsSync(join(model, 'checkpoint.ckpt')));
    run.child.kill('SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');
    const resumed = await cli([...TRAIN, '--out', 'model', '--resume'], cwd);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await readFile(join(model, 'weights.bin'))).equals(reference)).toBe(true);
    expect(temporariesIn(model)).toEqual([]);
  });

  test('--resume without a checkpoint, and --resume with --force, are one-line errors', {
    timeout: SLOW,
  }, async () => {
    const cwd = await cwdFor('train-resume-errors');
    const missing = await cli([...TRAIN, '--out', 'nothing', '--resume'], cwd);
    expect(missing.code).toBe(2);
    oneLineError(missing.stderr, 'checkpoint.ckpt', 'nothing to --resume');
    const both = await cli([...TRAIN, '--out', 'nothing', '--resume', '--force'], cwd);
    expect(both.code).toBe(2);
    oneLineError(both.stderr, '--force', '--resume');
  });
});

describe('train deltanet: SIGTERM inside a round, then --resume, equals an uninterrupted run', () => {
  // 300 steps in rounds of 100: the first round-end checkpoint marks the run as inside round 2.
  const TRAIN_DELTANET = [
    'train',
    'deltanet',
    ...TINY_DELTANET_FLAGS,
    '--steps',
    '300',
    '--batch-size',
    '4',
    '--backend',
    'wasm',
    '--seed',
    '3',
  ];

  test('stops after the current step with a checkpoint; the resumed weights are byte-identical', {
    timeout: SLOW,
  }, async () => {
    const cwd = await cwdFor('train-deltanet-sigterm');
    const reference = await cli([...TRAIN_DELTANET, '--out', 'reference'], cwd);
    expect(reference.code, reference.stderr).toBe(0);
    const run = start([...TRAIN_DELTANET, '--out', 'model'], cwd);
    await until('the first round-end checkpoint', () => existsSync(join(cwd, 'model', 'checkpoint.ckpt')));
    run.child.kill('SIGTERM');
    const stopped = await run.done;
    expect(stopped.code, stopped.stderr).toBe(143);
    const at = Number(/stopped after step (\d+)\/300/.exec(stopped.stderr)?.[1]);
    expect(at, stopped.stderr).toBeGreaterThan(100);
    expect(at).toBeLessThan(300);
    expect(stopped.stderr).toContain('--resume');
    expect(readdirSync(join(cwd, 'model'))).toEqual(['checkpoint.ckpt']);
    const resumed = await cli([...TRAIN_DELTANET, '--out', 'model', '--resume'], cwd);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resumed from ${join(cwd, 'model')} after step ${at}`);
    const weights = (dir: string) => readFile(join(cwd, dir, 'weights.bin'));
    expect((await weights('model')).equals(await weights('reference'))).toBe(true);
  });
});
